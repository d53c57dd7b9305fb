"""Asterisk through AMI: a sans-I/O codec, an asyncio client and the TelephonyPort adapter."""
