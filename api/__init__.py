"""Ladder: the loyalty service (domain features plus the app wiring around them)."""
