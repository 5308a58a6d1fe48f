"""Timed practice, the candidate's side: workspace.py lays out a workspace and keeps its clock,
history.py records every submit in a local SQLite database and computes the statistics."""
