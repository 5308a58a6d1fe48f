"""A terminal judge for senior AI-engineering interview questions."""

__version__ = "0.1.0"
