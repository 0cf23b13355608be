"""The one import of pyo, and the pyo server's lifecycle.

pyo checks ``PYO_GUI_WX`` when imported; jamd is headless, so the variable is set first.
pyo allows one server per process: a ``ManualServer`` must be closed before the next one boots.
"""

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Self

os.environ.setdefault("PYO_GUI_WX", "0")

import pyo  # the environment above must be set before pyo is imported

__all__ = ["Closing", "ManualServer", "pyo", "reaper"]


class Closing:
    """What holds a pyo server or its objects: a context manager that ``close``s on exit."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class StreamReaper:
    """Frees the streams pyo 1.1.0 leaks: every object it makes keeps its 96-byte stream alive
    for good after the object is freed (references taken as the object is built and wired are
    never given back). A patch change frees some 40 objects, so each would leave 4 kB behind.

    What a track's build makes is watched (``watch``); once the track is done with, its streams
    are buried. Once an object is gone (pyo takes its stream off the server's list when it frees
    it, and only then), the references left on its stream are pyo's leaks: ``reap`` gives them
    back and the stream goes. A stream whose object lives on waits for a later ``reap``. A pyo
    without the leak leaves nothing to give back. ``forget`` drops what is buried before the
    server shuts down.
    """

    def __init__(self) -> None:
        self._buried: list[Any] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def watch(self, made_by: Any) -> Iterator[list[Any]]:
        """The streams made inside the block (on the server of the pyo object ``made_by``):
        those of the objects made there and of every object pyo made for them."""
        before = {id(stream) for stream in _streams(made_by)}
        made: list[Any] = []
        yield made
        made.extend(stream for stream in _streams(made_by) if id(stream) not in before)

    def bury(self, streams: Iterable[Any]) -> None:
        """Streams (from ``watch``) to be freed once their objects are."""
        with self._lock:
            self._buried.extend(streams)

    def reap(self, server_of: Any) -> int:
        """Free the buried streams whose objects are gone (on the server of the pyo object
        ``server_of``, which must be running); how many."""
        with self._lock:
            if not self._buried:
                return 0
            registered = {id(stream) for stream in _streams(server_of)}
            gone = [stream for stream in self._buried if id(stream) not in registered]
            self._buried = [stream for stream in self._buried if id(stream) in registered]
        for stream in gone:
            # what is left: ``gone``'s reference, the loop's and getrefcount's argument
            for _ in range(sys.getrefcount(stream) - 3):
                ctypes.pythonapi.Py_DecRef(ctypes.py_object(stream))
        return len(gone)

    def forget(self) -> None:
        with self._lock:
            self._buried = []

    @property
    def waiting(self) -> int:
        return len(self._buried)


def _streams(obj: Any) -> list[Any]:
    """Every stream on the server of a pyo object."""
    streams: list[Any] = obj._base_objs[0].getServer().getStreams()
    return streams


reaper = StreamReaper()


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
