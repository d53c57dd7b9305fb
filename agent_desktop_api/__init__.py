"""The agent desktop and supervisor API (FastAPI + websockets) and the web pages."""
