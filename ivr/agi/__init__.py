"""The AGI protocol: a sans-I/O codec (``codec``)."""
