"""The HTTP API (FastAPI). Must never import CrewAI or activity code."""
