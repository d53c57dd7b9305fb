"""The composition root: settings, wiring of adapters, the ``recobro`` command line."""
