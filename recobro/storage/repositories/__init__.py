"""Repositories: the SQL behind the subsystems' ports (calls, campaigns, agents, dispositions)."""
