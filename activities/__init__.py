"""Temporal activities: run agents, persist versions, accept steps, export the package."""
