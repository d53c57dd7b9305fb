"""The IVR: a FastAGI server, prompts, and the self-service flows."""
