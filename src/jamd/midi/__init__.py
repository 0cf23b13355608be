"""jamd.midi: MIDI in and out (issue 5). ``messages`` parses bytes into typed messages."""
