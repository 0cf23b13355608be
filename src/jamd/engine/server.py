"""The one import of pyo, and the pyo server's lifecycle.

pyo checks ``PYO_GUI_WX`` when imported; jamd is headless, so the variable is set first.
pyo allows one server per process: a ``ManualServer`` must be closed before the next one boots.
"""

import os

os.environ.setdefault("PYO_GUI_WX", "0")

import pyo  # the environment above must be set before pyo is imported

__all__ = ["ManualServer", "pyo"]


class ManualServer:
    """A pyo server that computes a buffer only when asked: faster than real time, repeatable."""

    def __init__(self, sample_rate: int, buffer_size: int, seed: int) -> None:
        self.sample_rate = sample_rate
        self.buffer_size = buffer_size
        self._server = pyo.Server(
            sr=sample_rate, nchnls=2, buffersize=buffer_size, duplex=0, audio="manual"
        )
        self._server.setVerbosity(1)  # errors only
        self._server.boot()
        self._server.setGlobalSeed(max(1, seed % (2**31)))  # 0 would mean "seed from the clock"
        self._started = False
        self.samples = 0

    def start(self) -> None:
        self._server.start()
        self._started = True

    def process(self, buffers: int) -> None:
        for _ in range(buffers):
            self._server.process()
        self.samples += buffers * self.buffer_size

    def close(self) -> None:
        if self._started:
            self._server.stop()
        self._server.shutdown()
