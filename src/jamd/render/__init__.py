"""jamd.render."""
