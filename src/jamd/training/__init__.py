"""Learning in the background: sources of training data (Spotify, a MIDI library), style
models fitted from what the store holds, and the side task that refreshes both."""
