"""jamd.compose."""
