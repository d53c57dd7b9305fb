"""Shared fixtures: real services (tests/services.py) and a fresh database per test."""

from __future__ import annotations

pytest_plugins = ["tests.services"]
