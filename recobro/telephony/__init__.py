"""The telephony port and its adapters (simulated PBX, Asterisk through AMI)."""
