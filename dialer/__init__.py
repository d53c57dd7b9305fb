"""The dialer: hopper (which numbers next), pacing (how many now), and the campaign runner."""
