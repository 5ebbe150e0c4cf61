"""Temporal workflow definitions: deterministic, no I/O, no environment reads."""
