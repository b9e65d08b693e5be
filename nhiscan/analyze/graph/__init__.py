"""The escalation graph."""
