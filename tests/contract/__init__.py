"""One TelephonyPort test suite, run against every adapter."""
