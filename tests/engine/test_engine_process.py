"""The engine's process (``jamd.engine.process``) as the daemon drives it: a real child on
the null backend, the requests through the real pipe."""

import asyncio
import time

import pytest

from jamd.engine.backends import AudioSpec
from jamd.engine.notes import Note
from jamd.engine.process import EngineProcess


def _wait_for(predicate: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the engine's process did not get there"
        time.sleep(0.02)


def test_notes_cross_the_pipe_and_a_malformed_one_changes_nothing(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Notes go to the child as plain rows and are made into notes (and checked) there: a
    lane the engine does not have drops its note (counted), a row that is no note is
    refused (logged by the child) and the ones after it are still taken."""

    async def run() -> None:
        process = EngineProcess.spawn()
        process.configure(AudioSpec(backend="null"), ("keys",), delay_seconds=0.375, recording=None)
        try:
            await process.start({})
            assert process.stats().dropped_notes == 0
            at = process.position() + process.lead + 4800
            process.schedule([Note("nowhere", at, at + 4800, 60.0, 0.8)])
            await asyncio.to_thread(_wait_for, lambda: process.stats().dropped_notes == 1)
            process._send("schedule", [("nowhere", at, at + 4800, 60.0, 5.0)])  # velocity > 1
            process._send("schedule", [("nowhere", at)])  # not a note's fields
            process.schedule([Note("nowhere", at + 9600, at + 14400, 62.0, 0.8)])
            await asyncio.to_thread(_wait_for, lambda: process.stats().dropped_notes == 2)
            assert process.alive
        finally:
            await process.close()

    asyncio.run(run())
    refusals = [line for line in capfd.readouterr().err.splitlines() if "refused schedule" in line]
    assert len(refusals) == 2, refusals
    assert "velocity must be in (0, 1]" in refusals[0]
