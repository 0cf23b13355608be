"""The offline engine: real pyo rendering in manual mode, onsets found in the audio."""

import os
from pathlib import Path

import numpy as np
import pyo
import pytest

from jamd.engine.effects import db_to_gain
from jamd.engine.graph import RING_SAMPLES
from jamd.engine.interface import Fader
from jamd.engine.loudness import LoudnessTarget, measure
from jamd.engine.notes import Note, PatchChange
from jamd.engine.offline import OfflineEngine, OfflineMaster, render_to_wav
from jamd.engine.patches import Patch, PatchLibrary, default_master, default_patch_dirs, parse_patch
from jamd.engine.wavfile import read_wav

SR = 48000
DRY = {"reverb": 0.0, "delay": 0.0}

CLICK = parse_patch(
    {
        "kind": "drumkit",
        "mix": DRY,
        "pieces": {"rim": {"notes": [37], "model": "rim", "tune": 1700.0, "decay": 0.02}},
    },
    "test click",
)
TONE = parse_patch(
    {
        "kind": "subtractive",
        "wave": "square",
        "voices": 2,
        "envelope": {"attack": 0.0005, "decay": 0.1, "sustain": 0.8, "release": 0.005},
        "mix": DRY,
    },
    "test tone",
)


def beat_positions(tempo: float, beats: int) -> list[int]:
    """Onsets on beats and on triplet offbeats, so positions fall between buffer boundaries."""
    samples_per_beat = SR * 60.0 / tempo
    return [
        round((beat + offset) * samples_per_beat)
        for beat in range(beats)
        for offset in (0.0, 2 / 3)
    ]


def onsets(
    signal: np.ndarray, expected: list[int], *, window: int = 64, threshold: float = 1e-4
) -> list[int]:
    """For each expected onset, where sound actually begins after silence nearby."""
    found = []
    for position in expected:
        lo = max(0, position - window)
        loud = np.flatnonzero(np.abs(signal[lo : position + window]) > threshold)
        assert len(loud), f"no sound near sample {position}"
        found.append(lo + int(loud[0]))
    return found


def render_stems(
    patches: dict[str, Patch], notes: list[Note], frames: int, buffer_size: int
) -> dict[str, np.ndarray]:
    stems: dict[str, list[np.ndarray]] = {}
    with OfflineEngine(patches, sample_rate=SR, buffer_size=buffer_size, stems=True) as engine:
        engine.schedule(notes)
        for block in engine.blocks(frames):
            for name, stem in block.stems.items():
                stems.setdefault(name, []).append(stem)
            stems.setdefault("master", []).append(block.master)
    return {name: np.concatenate(parts) for name, parts in stems.items()}


@pytest.mark.parametrize("buffer_size", [64, 512])
@pytest.mark.parametrize("tempo", [97.0, 143.0])
def test_every_onset_lands_within_one_sample_of_its_event(tempo: float, buffer_size: int) -> None:
    positions = beat_positions(tempo, beats=8)
    notes = [Note("click", p, p + 10, 37, 1.0) for p in positions]
    notes += [Note("tone", p, p + 600, 81, 1.0) for p in positions]
    frames = positions[-1] + SR // 2
    stems = render_stems({"click": CLICK, "tone": TONE}, notes, frames, buffer_size)
    for track in ("click", "tone"):
        found = onsets(stems[track][:, 0], positions)
        errors = [f - e for f, e in zip(found, positions, strict=True)]
        assert max(abs(error) for error in errors) <= 1, f"{track}: onset errors {errors}"
    found = onsets(stems["master"][:, 0], positions)
    assert max(abs(f - e) for f, e in zip(found, positions, strict=True)) <= 1


def loud_song() -> tuple[dict[str, Patch], list[Note]]:
    library = PatchLibrary(default_patch_dirs())
    patches = {
        "drums": library.load("drums/acoustic"),
        "keys": library.load("keys/organ"),
        "bass": library.load("bass/808"),
    }
    beat = SR // 2
    notes = []
    for index in range(16):
        start = index * beat
        notes += [Note("drums", start, start + 10, pitch, 1.0) for pitch in (36, 38, 49)]
        notes += [
            Note("keys", start, start + beat, pitch, 1.0) for pitch in (48, 55, 60, 64, 67, 72)
        ]
        notes.append(Note("bass", start, start + beat, 36, 1.0))
    return patches, notes


def test_wav_has_the_exact_length_is_not_silent_and_peaks_under_minus_one_dbfs(
    tmp_path: Path,
) -> None:
    patches, notes = loud_song()
    frames = 8 * SR + 123  # not a multiple of any buffer size
    report = render_to_wav(patches, notes, frames, out=tmp_path / "song.wav", stems_dir=tmp_path)
    audio, rate = read_wav(tmp_path / "song.wav")
    assert rate == SR
    assert audio.shape == (frames, 2)
    assert float(np.sqrt(np.mean(audio**2))) > 0.05
    assert float(np.max(np.abs(audio))) <= 10 ** (-1 / 20)
    assert report.peak <= 10 ** (-1 / 20)
    assert sorted(path.name for path in tmp_path.glob("*.wav")) == [
        "bass.wav",
        "drums.wav",
        "fx.wav",
        "keys.wav",
        "song.wav",
    ]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_the_same_notes_and_seed_give_identical_audio(tmp_path: Path) -> None:
    patches, notes = loud_song()
    render_to_wav(patches, notes, 2 * SR, out=tmp_path / "a.wav", seed=5)
    render_to_wav(patches, notes, 2 * SR, out=tmp_path / "b.wav", seed=5)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_a_failed_render_leaves_no_file(tmp_path: Path) -> None:
    patches, notes = loud_song()
    with pytest.raises(FileNotFoundError):
        render_to_wav(patches, notes, SR, out=tmp_path / "song.wav", stems_dir=tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []


STREAMING = LoudnessTarget(lufs=-14.0, window_lu=0.5)


@pytest.mark.parametrize("master_db", [0.0, -9.0])  # 2.4 LU too loud, 3.9 LU too quiet
def test_a_master_off_its_loudness_target_is_levelled_and_its_true_peak_still_held(
    tmp_path: Path, master_db: float
) -> None:
    patches, notes = loud_song()
    report = render_to_wav(
        patches, notes, 4 * SR, out=tmp_path / "song.wav", stems_dir=tmp_path,
        master_gain=db_to_gain(master_db), loudness=STREAMING,
    )  # fmt: skip
    loudness = measure(*read_wav(tmp_path / "song.wav"))
    assert abs(loudness.integrated_lufs + 14.0) <= 0.5, loudness
    assert loudness.true_peak_dbtp <= -1.0, loudness
    assert 1 <= report.master_passes <= 1 + STREAMING.passes
    assert report.loudness_lufs == pytest.approx(loudness.integrated_lufs, abs=0.01)
    assert (report.correction_db < 0.0) == (master_db == 0.0)
    assert report.peak == pytest.approx(float(np.max(np.abs(read_wav(tmp_path / "song.wav")[0]))))
    assert not list(tmp_path.glob(".*"))  # neither the other takes nor the kept bus are left
    assert len(list(tmp_path.glob("*.wav"))) == 5  # the master and four stems


def test_levelling_gives_the_same_bytes_every_time(tmp_path: Path) -> None:
    patches, notes = loud_song()
    for name in ("a.wav", "b.wav"):
        render_to_wav(patches, notes, 2 * SR, out=tmp_path / name, seed=5, loudness=STREAMING)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


@pytest.mark.parametrize("master_db", [0.0, -9.0])
def test_the_first_take_follows_the_buss_loudness_and_one_inside_the_window_is_kept(
    tmp_path: Path, master_db: float
) -> None:
    """The bus 9 dB quieter: a first correction 9 dB higher, the same master within a 2 LU
    window in one pass of the chain."""
    patches, notes = loud_song()
    wide = LoudnessTarget(lufs=-14.0, window_lu=2.0)
    loud = render_to_wav(patches, notes, 2 * SR, out=tmp_path / "a.wav", loudness=wide)
    quiet = render_to_wav(
        patches, notes, 2 * SR, out=tmp_path / "b.wav", loudness=wide,
        master_gain=db_to_gain(master_db),
    )  # fmt: skip
    assert (loud.master_passes, quiet.master_passes) == (1, 1)
    assert quiet.correction_db - loud.correction_db == pytest.approx(-master_db, abs=0.01)
    assert abs(measure(*read_wav(tmp_path / "b.wav")).integrated_lufs + 14.0) <= 2.0


def test_a_take_that_misses_goes_through_the_chain_again_and_the_nearest_is_kept(
    tmp_path: Path,
) -> None:
    patches, notes = loud_song()
    narrow = LoudnessTarget(lufs=-14.0, window_lu=0.01, passes=2)
    report = render_to_wav(patches, notes, 2 * SR, out=tmp_path / "song.wav", loudness=narrow)
    assert report.master_passes == 3  # the first and two more, none within 0.01 LU
    assert report.loudness_lufs == pytest.approx(
        measure(*read_wav(tmp_path / "song.wav")).integrated_lufs, abs=0.01
    )
    assert abs(report.loudness_lufs + 14.0) <= 0.5  # type: ignore[operator]
    assert not list(tmp_path.glob(".*"))  # the other takes are gone


def test_the_master_chain_alone_gives_the_graphs_master_again_from_its_bus(
    tmp_path: Path,
) -> None:
    """Within one lap of the rings (1.37 s), sample for sample."""
    patches, notes = loud_song()
    frames = SR
    masters = []
    with OfflineEngine(patches, master_gain=db_to_gain(3.0)) as engine:  # the chain in it
        engine.schedule(notes)
        for block in engine.blocks(frames):
            masters.append(block.master)
    with (tmp_path / "bus").open("w+b") as bus:
        with OfflineEngine(patches, master_gain=db_to_gain(3.0), levelling=True) as engine:
            engine.schedule(notes)
            for block in engine.blocks(frames):
                assert block.master is None  # no chain: the bus instead
                assert block.bus is not None
                bus.write(block.bus.tobytes())
            bus.write(engine.bus_ahead().tobytes())
        with OfflineMaster(default_master(), 1.0, sample_rate=SR, buffer_size=256, seed=1) as chain:
            again = np.concatenate([block for block, _ in chain.blocks(bus, frames)])
    assert np.array_equal(np.concatenate(masters), again)
    assert float(np.max(np.abs(again))) > 0.5  # the limiter had work to do


LIBRARY = PatchLibrary(default_patch_dirs())


@pytest.mark.parametrize("name", LIBRARY.names())
def test_every_shipped_patch_loads_and_sounds_at_low_middle_and_high_notes(name: str) -> None:
    patch = LIBRARY.load(name)
    pitches = [36, 38, 42, 46, 49, 51] if patch.kind == "drumkit" else [31, 57, 84]
    notes = [Note("t", i * SR // 2, i * SR // 2 + SR // 4, p, 0.9) for i, p in enumerate(pitches)]
    stems = render_stems({"t": patch}, notes, len(pitches) * SR // 2 + SR // 2, 256)
    audio = stems["t"]
    assert np.all(np.isfinite(audio))
    rms = float(np.sqrt(np.mean(audio**2)))
    assert abs(float(np.mean(audio))) < 0.02 * rms, f"{name}: DC offset"
    assert float(np.max(np.abs(audio))) < 1.0, f"{name}: clips"
    for index in range(len(pitches)):
        part = audio[index * SR // 2 : index * SR // 2 + SR // 4]
        assert float(np.max(np.abs(part))) > 1e-3, f"{name}: silent on note {pitches[index]}"


def test_the_mixer_scales_and_mutes_a_track_and_unknown_tracks_are_counted() -> None:
    def steady_rms(blocks: list[np.ndarray]) -> float:
        second = np.concatenate(blocks)[SR // 2 :]  # after the 50 ms glide of the fader
        return float(np.sqrt(np.mean(second**2)))

    with OfflineEngine({"t": TONE}, stems=True) as engine:
        engine.schedule([Note("t", 0, 4 * SR, 69, 1.0), Note("nowhere", 0, 10, 60, 1.0)])
        full = steady_rms([block.stems["t"] for block in engine.blocks(SR)])
        engine.graph.lanes["t"].set_fader(Fader(level_db=-6.0))
        quieter = steady_rms([block.stems["t"] for block in engine.blocks(SR)])
        engine.graph.lanes["t"].set_fader(Fader(level_db=-6.0, pan=-1.0))
        hard_left = np.concatenate([block.stems["t"] for block in engine.blocks(SR)])[SR // 2 :]
        engine.graph.lanes["t"].set_fader(Fader(muted=True))
        muted = steady_rms([block.stems["t"] for block in engine.blocks(SR)])
        assert engine.unknown_track_notes == 1
    assert quieter / full == pytest.approx(10 ** (-6 / 20), rel=0.01)
    assert float(np.max(np.abs(hard_left[:, 1]))) < 1e-6 < float(np.max(np.abs(hard_left[:, 0])))
    assert muted == 0.0


def test_rendered_files_get_the_usual_permissions(tmp_path: Path) -> None:
    patches, notes = loud_song()
    render_to_wav(patches, notes, SR // 10, out=tmp_path / "song.wav")
    mode = (tmp_path / "song.wav").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_a_lane_changes_patch_on_its_sample_offline_and_a_held_note_carries_on() -> None:
    sine = parse_patch({**TONE.model_dump(), "wave": "sine"}, "test sine")
    change = SR // 2 + 123
    notes = [
        Note("tone", 1000, SR, 69, 0.9),  # held across the change
        Note("tone", change + 2000, change + 8000, 81, 0.9),
    ]
    with OfflineEngine(
        {"tone": TONE}, sample_rate=SR, stems=True, changes=[PatchChange("tone", sine, change)]
    ) as engine:
        engine.schedule(notes)
        audio = np.concatenate([block.stems["tone"] for block in engine.blocks(SR + SR // 4)])[:, 0]
        tracks = engine.graph.lanes["tone"].tracks
    assert [track.patch for track in tracks] == [sine]  # the square was freed once silent

    def odd_harmonics(part: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
        hz = np.fft.rfftfreq(len(part), 1 / SR)
        return float(spectrum[np.abs(hz - 1320) < 20].max() / spectrum[np.abs(hz - 440) < 20].max())

    assert odd_harmonics(audio[change - 4800 : change]) > 0.2  # a square: a strong third
    assert odd_harmonics(audio[change + 4800 : change + 9600]) < 0.01  # the sine takes it up


def test_the_sample_clock_counts_modulo_the_ring_size_lap_after_lap() -> None:
    """The clock every ring is read and written at: sample n of the song at ring position
    n mod RING_SAMPLES, in every lap. (pyo's Count includes its max: max=RING_SAMPLES would
    count 65,537 positions, one more than the rings hold, and what the engine plays would
    fall a sample later every lap against what it was told, 55 ms an hour at 48 kHz.)"""
    laps = 3
    with OfflineEngine({"click": CLICK}, sample_rate=SR, buffer_size=256) as engine:
        table = pyo.DataTable(laps * RING_SAMPLES)
        recorder = pyo.TableRec(engine.graph.clock, table).play()
        for _ in engine.blocks(laps * RING_SAMPLES):
            pass
        counted = np.asarray(table.getTable(), dtype=np.int64)
        recorder.stop()
    expected = np.arange(laps * RING_SAMPLES) % RING_SAMPLES
    assert np.array_equal(counted, expected), (counted.max(), int(np.argmax(counted != expected)))
