"""The pure domain model: standard library only, no I/O, no clock of its own."""
