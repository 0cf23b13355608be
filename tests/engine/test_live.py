"""The live engine: its writer, late and retracted notes, patch changes, stalls, recordings.

The engine runs on the silent backend with a clock the test moves (real pyo, real rings, real
recordings; only time is the test's), so every sample position is exact and repeatable.
"""

import gc
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from audio import onsets
from jamd.engine.backends import AudioSpec, NullBackend
from jamd.engine.interface import Recording
from jamd.engine.live import AHEAD_SECONDS, CHUNK_SECONDS, LiveEngine
from jamd.engine.notes import Note
from jamd.engine.patches import PatchLibrary, default_patch_dirs
from jamd.engine.wavfile import read_wav

SR = 48000
CLICKS = Path(__file__).parents[1] / "live" / "patches"
LIBRARY = PatchLibrary([CLICKS, *default_patch_dirs()])


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Rig:
    """A live engine on the null backend, stepped every 5 ms of a clock the test owns."""

    def __init__(
        self, tmp_path: Path, lanes: tuple[str, ...] = ("drums", "keys"), *, record: bool = True
    ) -> None:
        self.clock = Clock()
        spec = AudioSpec(backend="null", sample_rate=SR, buffer_size=256)
        self.stems = tmp_path / "stems"
        recording = Recording(master=tmp_path / "master.wav", stems=self.stems)
        self.engine = LiveEngine(
            spec,
            lanes,
            delay_seconds=0.3,
            recording=recording if record else None,
            backend=NullBackend(spec, clock=self.clock),
        )

    def play_for(self, seconds: float, step: float = 0.005) -> None:
        end = self.clock.now + seconds
        while self.clock.now < end:
            self.clock.now = min(end, self.clock.now + step)
            self.engine.step()

    def close(self) -> dict[str, np.ndarray]:
        self.engine.close()
        return {path.stem: read_wav(path)[0] for path in self.stems.glob("*.wav")}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path)
    made.engine.change_patch("drums", LIBRARY.load("drums/acoustic"), made.engine.guard)
    made.engine.change_patch("keys", LIBRARY.load("keys/organ"), made.engine.guard)
    yield made
    if hasattr(made.engine, "graph"):
        made.engine.close()


def test_notes_sound_at_their_exact_samples(rig: Rig) -> None:
    starts = [SR // 2 + i * 12345 for i in range(5)]
    rig.engine.schedule([Note("drums", s, s + 10, 38, 1.0) for s in starts])
    rig.play_for(2.0)
    stems = rig.close()
    assert onsets(stems["drums"][:, 0])[:5] == starts


def test_a_note_inside_the_guard_is_late_dropped_and_counted(rig: Rig) -> None:
    rig.play_for(0.5)
    now = rig.engine.position()
    rig.engine.schedule(
        [
            Note("drums", now + 10, now + 20, 38, 1.0),
            Note("drums", now + SR // 4, now + SR // 4 + 9, 38, 1.0),
        ]
    )
    rig.play_for(0.5)
    assert rig.engine.stats().late_notes == 1
    stems = rig.close()
    assert onsets(stems["drums"][:, 0]) == [now + SR // 4]


def test_retracting_written_control_rewrites_it_before_it_plays(rig: Rig) -> None:
    rig.play_for(0.3)
    at = rig.engine.position() + rig.engine.lead + 2000
    assert at - rig.engine.slot_delay < rig.engine.position() + rig.engine.ahead  # written
    rig.engine.schedule([Note("drums", at, at + 10, 38, 1.0)])
    rig.play_for(0.01)
    rig.engine.retract(at)
    rig.engine.schedule([Note("drums", at + 1000, at + 1010, 38, 1.0)])
    rig.play_for(0.6)
    stems = rig.close()
    assert onsets(stems["drums"][:, 0]) == [at + 1000]
    assert rig.engine.stats().underruns == 0


def test_a_patch_change_takes_over_on_its_sample_and_held_notes_cross_fade(rig: Rig) -> None:
    rig.play_for(0.2)
    change = rig.engine.position() + SR // 2
    held = Note("keys", change - SR // 4, change + SR // 2, 60, 1.0)  # across the change
    rig.engine.schedule([held])
    rig.engine.change_patch("keys", LIBRARY.load("pad/warm"), change)
    lane = rig.engine.graph.lanes["keys"]
    assert [track.patch for track in lane.tracks] == [
        LIBRARY.load("keys/organ"),
        LIBRARY.load("pad/warm"),
    ]
    rig.play_for(0.3)
    assert len(lane.tracks) == 2  # the organ fades out, its chain's tail after it
    rig.play_for(1.0)  # the organ's note would have been held till now: it was handed over
    assert [track.patch for track in lane.tracks] == [LIBRARY.load("pad/warm")]
    assert rig.engine.stats().patch_changes == 3  # two at start, this one
    assert rig.engine.stats().broken_buffers == 0  # the new patch's buffers start cleared
    stems = rig.close()
    keys = stems["keys"][:, 0].astype(np.float64)
    crossfade = int(0.05 * SR)
    assert np.max(np.abs(keys[change - SR // 8 : change])) > 0.01  # the organ before
    after = keys[change + crossfade : change + SR // 2]
    assert np.max(np.abs(after)) > 0.01  # the held note goes on, on the pad
    spectrum = np.abs(np.fft.rfft(after * np.hanning(len(after))))
    hz = np.fft.rfftfreq(len(after), 1 / SR)
    assert abs(hz[np.argmax(spectrum[hz < 2000])] - 261.6) < 8.0  # at its pitch, C4
    steps = np.abs(np.diff(keys))
    around = steps[change - 96 : change + 96].max()  # 2 ms each side of the change
    steady = max(
        steps[change - SR // 8 : change - 96].max(), steps[change + 96 : change + SR // 4].max()
    )
    assert around <= 1.1 * steady, "a click at the patch change"


def test_a_writer_that_falls_behind_leaves_silence_and_counts_an_underrun(tmp_path: Path) -> None:
    rig = Rig(tmp_path, lanes=("pad",))
    rig.engine.change_patch("pad", LIBRARY.load("pad/warm"), rig.engine.guard)
    rig.play_for(0.2)
    start = rig.engine.position() + rig.engine.lead
    rig.engine.schedule([Note("pad", start, start + 2 * SR, 60, 1.0)])  # a held chord
    rig.play_for(0.5)
    stalled_at = rig.engine.position()
    rig.clock.now += 0.15  # the loop stalls 150 ms: 35 ms more than the writer is ahead
    rig.play_for(0.5)
    assert rig.engine.stats().underruns == 1
    stems = rig.close()
    pad = stems["pad"][:, 0]
    written = stalled_at + rig.engine.ahead + rig.engine.slot_delay  # heard from here
    unwritten = pad[written + 64 : stalled_at + int(0.15 * SR)]
    assert len(unwritten) > SR // 50
    assert np.max(np.abs(unwritten)) < 1e-3  # the filter's last ringing, then silence:
    assert np.count_nonzero(unwritten[-SR // 100 :]) == 0  # not the ring's last cycle
    assert np.max(np.abs(pad[written - SR // 10 : written])) > 0.05  # the chord before
    assert np.max(np.abs(pad[written + SR // 10 :][: SR // 10])) > 0.05  # and after


def test_the_master_recording_is_aligned_with_the_notes_like_an_offline_render(rig: Rig) -> None:
    start = SR // 2 + 77
    rig.engine.schedule([Note("drums", start, start + 10, 38, 1.0)])
    rig.play_for(1.0)
    rig.close()
    master, rate = read_wav(rig.stems.parent / "master.wav")
    assert rate == SR
    assert onsets(master[:, 0])[0] == start


def test_fading_out_takes_the_master_to_silence(rig: Rig) -> None:
    start = SR // 4
    rig.engine.schedule([Note("keys", start, start + 3 * SR, 60, 1.0)])
    rig.play_for(0.8)
    rig.engine.fade_out(0.2)
    rig.play_for(0.5)
    rig.close()
    master, _ = read_wav(rig.stems.parent / "master.wav")
    assert np.max(np.abs(master[int(0.6 * SR) : int(0.75 * SR)])) > 0.05
    assert np.max(np.abs(master[int(1.1 * SR) : int(1.25 * SR)])) < 1e-3


def test_the_writer_stays_its_horizon_ahead_of_the_audio_topping_it_up_by_chunks(
    rig: Rig,
) -> None:
    engine = rig.engine
    written = []
    for _ in range(40):
        rig.play_for(0.013)
        ahead = engine._written - engine.position()
        assert engine.ahead - engine.chunk < ahead <= engine.ahead
        written.append(engine._written)
    tops = [b - a for a, b in itertools.pairwise(written) if b != a]
    assert tops
    assert min(tops) >= engine.chunk  # never a sliver: a chunk or more at a time
    assert engine.ahead - engine.chunk >= (AHEAD_SECONDS - CHUNK_SECONDS) * SR


def test_patch_after_patch_never_breaks_the_audio(tmp_path: Path) -> None:
    """Swaps free and allocate pyo objects while the music runs: none may start from the
    memory it inherits (a NaN there would stay in the echo and the limiter for good)."""
    rig = Rig(tmp_path, lanes=("keys", "lead"))
    names = ["keys/organ", "keys/piano", "keys/epiano", "lead/flute", "lead/saw", "lead/horn"]
    rig.play_for(0.1)
    for turn in range(24):
        at = rig.engine.position() + rig.engine.lead + 500
        for lane in ("keys", "lead"):
            name = names[(turn + (3 if lane == "lead" else 0)) % len(names)]
            rig.engine.change_patch(lane, LIBRARY.load(name), at)
            rig.engine.schedule([Note(lane, at, at + SR // 8, 60 + turn % 12, 0.9)])
        rig.play_for(0.08)
    rig.play_for(1.0)
    stats = rig.engine.stats()
    rig.close()
    assert stats.broken_buffers == 0
    assert stats.patch_changes >= 40
    master, _ = read_wav(tmp_path / "master.wav")
    assert np.all(np.isfinite(master))


def resident_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def test_a_thousand_patch_changes_leave_no_memory_behind(tmp_path: Path) -> None:
    """Each change builds a track (pyo objects, 256 kB rings per voice) and frees the one it
    replaced: after warming up, memory stays flat. A track kept per change would add 1.5 MB or
    more each time; a Python object kept per change would show in the object count."""
    rig = Rig(tmp_path, lanes=("keys", "drums"), record=False)
    names = ["keys/organ", "keys/piano", "keys/epiano", "pad/warm", "pad/supersaw", "lead/saw"]
    kits = [LIBRARY.load("drums/808"), LIBRARY.load("drums/909")]
    patches = [LIBRARY.load(name) for name in names]

    def swaps(turns: range) -> None:
        for turn in turns:
            at = rig.engine.position() + rig.engine.lead + 500
            rig.engine.change_patch("keys", patches[turn % len(patches)], at)
            rig.engine.schedule([Note("keys", at, at + SR // 8, 60 + turn % 12, 0.9)])
            if turn % 4 == 0:
                rig.engine.change_patch("drums", kits[turn // 4 % 2], at)
                rig.engine.schedule([Note("drums", at, at + 100, 36, 0.9)])
            rig.play_for(0.02)

    swaps(range(200))
    gc.collect()
    memory, objects = resident_mb(), len(gc.get_objects())
    swaps(range(200, 1200))
    gc.collect()
    grown, more_objects = resident_mb() - memory, len(gc.get_objects()) - objects
    stats = rig.engine.stats()
    lanes = rig.engine.graph.lanes
    assert max(len(lanes["keys"].tracks), len(lanes["drums"].tracks)) <= 3
    rig.engine.close()
    assert stats.patch_changes >= 1200 + 300
    assert stats.broken_buffers == 0
    assert grown < 8.0, f"{grown:.1f} MB more after 1,000 more patch changes"
    assert more_objects < 500, f"{more_objects} more Python objects after 1,000 patch changes"


def test_a_held_back_rendered_note_is_released_by_a_stop_like_any_other(tmp_path: Path) -> None:
    rig = Rig(tmp_path, lanes=("keys",))
    rig.engine.change_patch("keys", LIBRARY.load("keys/clean-guitar"), rig.engine.guard)
    rig.play_for(0.1)
    start = rig.engine.position() + SR  # beyond the writer: held back while its sound is made
    rig.engine.schedule([Note("keys", start, start + 2 * SR, 52, 0.9)])
    stop = start + SR // 2
    rig.engine.release(stop + rig.engine.slot_delay)
    rig.play_for(2.5)
    stems = rig.close()
    keys = stems["keys"][:, 0]
    release = int(LIBRARY.load("keys/clean-guitar").envelope.release * SR)
    assert np.max(np.abs(keys[start : start + SR // 4])) > 0.01  # it sounded
    tail = keys[stop + release + int(0.35 * SR) : start + 2 * SR]
    assert len(tail) > SR // 20
    assert np.max(np.abs(tail)) < 1e-4  # and stopped where the stop said, not at its key-up
