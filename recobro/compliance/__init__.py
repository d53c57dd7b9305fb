"""Collections calling rules as data and pure functions; every refusal names its rule."""
