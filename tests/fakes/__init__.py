"""Fake external services that speak the real protocols, for tests."""
