"""The store: one SQLite file for what jamd learns and keeps (training samples, style models,
presets, songs played, learned MIDI maps, feedback). ``jamd.store.records`` holds the plain
values that cross it; ``jamd.store.db`` the asynchronous store itself (docs/store.md)."""

from jamd.store.db import MIGRATIONS, VERSION, Store, StoreError, read_samples
from jamd.store.records import SOURCES, Feedback, Sample, SongRecord, StyleStats

__all__ = [
    "MIGRATIONS",
    "SOURCES",
    "VERSION",
    "Feedback",
    "Sample",
    "SongRecord",
    "Store",
    "StoreError",
    "StyleStats",
    "read_samples",
]
