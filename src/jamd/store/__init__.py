"""The store: one SQLite file for what jamd learns and keeps (training samples, style models,
presets, songs played, learned MIDI maps, feedback). ``jamd.store.records`` holds the plain
values that cross it; ``jamd.store.db`` the asynchronous store itself."""
