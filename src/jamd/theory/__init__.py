"""jamd.theory."""
