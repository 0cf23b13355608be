"""jamd.styles."""
