"""docflow: a project idea in, a documentation package out."""

__version__ = "0.1.0"
