"""pyo leaks a reference on the stream of every object it makes; the reaper gives them back,
only for objects that are gone."""

import gc

import numpy as np

from jamd.engine.server import ManualServer, pyo, reaper


def streams_alive() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj).__name__ == "Stream")


def test_streams_of_freed_objects_are_freed_and_those_of_live_ones_wait() -> None:
    server = ManualServer(48000, 256, seed=1)
    try:
        clock = pyo.Sig(0.0)
        before = streams_alive()
        with reaper.watch(clock) as made:
            kept = pyo.Sine(freq=440.0, mul=pyo.Sig(0.5) * 0.5)  # pyo makes a Dummy too
            dropped = [pyo.Sig(0.0) for _ in range(10)]
        assert len(made) == 13
        reaper.bury(made)
        del made, dropped
        assert reaper.reap(clock) == 10
        assert reaper.waiting == 3  # the sine, its gain and the Dummy still play
        capture = pyo.NewTable(512 / 48000.0)
        with reaper.watch(clock) as recording:
            recorder = pyo.TableRec(kept, capture).play()
        reaper.bury(recording)
        server.start()
        server.process(4)
        assert np.max(np.abs(np.asarray(capture.getBuffer()))) > 0.2  # the sine sounds
        del kept, recorder, recording
        assert reaper.reap(clock) == 3 + 4  # the recorder and what pyo made for it
        assert streams_alive() == before
    finally:
        reaper.forget()
        server.close()
