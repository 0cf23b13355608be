"""Reading recordings in tests: where each sound starts."""

import itertools

import numpy as np


def onsets(signal: np.ndarray, threshold: float = 1e-4, quiet: int = 400) -> list[int]:
    """Where sound starts after at least ``quiet`` samples of silence (the test kit's clicks
    last 20 ms; beats are hundreds of ms apart)."""
    loud = np.flatnonzero(np.abs(signal) > threshold)
    if not len(loud):
        return []
    return [int(loud[0])] + [int(b) for a, b in itertools.pairwise(loud) if b - a > quiet]
