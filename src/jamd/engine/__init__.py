"""jamd.engine."""
