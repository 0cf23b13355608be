"""jamd: a daemon that plays generative, genre-aware music live, and renders it offline."""

__version__ = "0.1.0"
