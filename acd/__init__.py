"""Automatic call distribution: agent states and skill routing."""
