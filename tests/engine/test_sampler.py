"""The sampler: zones from WAV files and their names, clear errors for broken sample folders,
pitch shifting, velocity layers, a bounded cache, the shipped set; and pitched one-shots in the
hit scheduler (voices and stealing, release at key-up, re-strike, retraction, exact onsets)."""

import struct
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from jamd.engine.control import HitScheduler, release_curve
from jamd.engine.notes import Note
from jamd.engine.offline import OfflineEngine
from jamd.engine.patches import (
    Patch,
    PatchError,
    PatchLibrary,
    SamplerPatch,
    default_patch_dirs,
    load_patch_file,
    parse_patch,
    sample_name,
)
from jamd.engine.sampler import SampledSounds
from jamd.engine.sounds import SoundCache
from jamd.engine.wavfile import read_pcm, to_pcm24

SR = 48000
REPOSITORY = Path(__file__).resolve().parents[2]


def write_wav(path: Path, frames: np.ndarray, *, rate: int = SR, width: int = 2) -> Path:
    """Frames (frames, channels) in [-1, 1] as 16- or 24-bit PCM (8-bit for a wrong file)."""
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(frames.shape[1])
        writer.setsampwidth(width)
        writer.setframerate(rate)
        if width == 3:
            writer.writeframes(to_pcm24(frames.astype(np.float32)))
        elif width == 2:
            writer.writeframes(np.round(frames * 32767).astype("<i2").tobytes())
        else:
            writer.writeframes((np.round(frames * 127) + 128).astype(np.uint8).tobytes())
    return path


def level(value: float, frames: int = SR) -> np.ndarray:
    """A constant recording: its level shows in the ring exactly, shifted or not."""
    return np.full((frames, 1), value)


def sine(hz: float, seconds: float = 1.0, rate: int = SR) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)[:, np.newaxis]


def sampler(folder: Path, **keys: object) -> SamplerPatch:
    patch = parse_patch({"kind": "sampler", "samples": str(folder), **keys}, "test sampler")
    assert isinstance(patch, SamplerPatch)
    return patch


def patch_file(root: Path, text: str) -> Path:
    """A patch file keys/x.toml in a patches directory ``root``."""
    (root / "keys").mkdir(parents=True, exist_ok=True)
    path = root / "keys" / "x.toml"
    path.write_text(f'kind = "sampler"\n{text}\n')
    return path


def problems(path: Path) -> str:
    with pytest.raises(PatchError) as caught:
        load_patch_file(path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("C4", (60, 0)), ("60", (60, 0)), ("F#3", (54, 0)), ("Eb2_v2", (39, 2)),
        ("bb3-v1", (58, 1)), ("A0", (21, 0)), ("C-1", (0, 0)), ("G9", (127, 0)),
        ("G#9", None), ("128", None), ("piano", None), ("C4_soft", None), ("H3", None),
    ],
)  # fmt: skip
def test_a_file_name_gives_the_root_note_and_the_velocity_layer(
    stem: str, expected: tuple[int, int] | None
) -> None:
    assert sample_name(stem) == expected


def test_a_folder_shares_keys_and_velocities_out_by_its_file_names(tmp_path: Path) -> None:
    for name in ("C3.wav", "C4_v1.wav", "C4_v2.WAV", "72.wav"):
        write_wav(tmp_path / name, level(0.1, 100))
    (tmp_path / "README.txt").write_text("not a sample: ignored")
    patch = sampler(tmp_path)
    zones = {(zone.file, zone.root, zone.keys, zone.velocities) for zone in patch.zones}
    assert zones == {
        ("72.wav", 72, (67, 127), (0.0, 1.0)),
        ("C3.wav", 48, (0, 54), (0.0, 1.0)),
        ("C4_v1.wav", 60, (55, 66), (0.0, 0.5)),
        ("C4_v2.WAV", 60, (55, 66), (0.5, 1.0)),
    }


def test_listed_zones_override_what_the_names_would_give(tmp_path: Path) -> None:
    write_wav(tmp_path / "soft.wav", level(0.1, 100))
    write_wav(tmp_path / "D4.wav", level(0.4, 100))
    patch = sampler(
        tmp_path,
        zones=[
            {"file": "soft.wav", "root": 62, "velocities": [0.0, 0.3]},
            {"file": "D4.wav", "keys": [50, 70]},
        ],
    )
    assert [(z.root, z.keys, z.velocities) for z in patch.zones] == [
        (62, (0, 127), (0.0, 0.3)),  # one root: it plays the whole keyboard
        (62, (50, 70), (0.5, 1.0)),  # the upper of the root's two layers (its name has none)
    ]


def test_the_samples_folder_is_found_beside_the_patch_files_role_folders(tmp_path: Path) -> None:
    folder = tmp_path / "samples" / "set"
    folder.mkdir(parents=True)
    write_wav(folder / "C4.wav", level(0.1, 100))
    patch_file(tmp_path, 'samples = "samples/set"')
    patch = PatchLibrary([tmp_path]).load("keys/x")
    assert isinstance(patch, SamplerPatch)
    assert patch.samples == tmp_path / "samples" / "set"
    assert PatchLibrary([tmp_path]).names() == ("keys/x",)  # a samples folder is not a role


def float_wav(path: Path) -> None:
    """A valid 32-bit float WAV, which jamd does not read (format 3)."""
    data = np.zeros(10, dtype="<f4").tobytes()
    header = b"fmt " + struct.pack("<IHHIIHH", 16, 3, 1, SR, SR * 4, 4, 32)
    body = b"WAVE" + header + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def test_broken_sample_files_are_named_with_the_patch_file_the_key_and_the_problem(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "samples" / "broken"
    folder.mkdir(parents=True)
    (folder / "C4.wav").write_text("not audio")
    write_wav(folder / "D4.wav", level(0.1, 100), width=1)
    float_wav(folder / "E4.wav")
    (folder / "F4.wav").mkdir()
    write_wav(folder / "G4.wav", level(0.1, 100))
    write_wav(folder / "67.wav", level(0.1, 100))
    write_wav(folder / "piano.wav", level(0.1, 100))
    write_wav(folder / "A4.wav", level(0.1, 0))
    path = patch_file(tmp_path, 'samples = "samples/broken"')
    message = problems(path)
    lines = message.splitlines()
    assert all(line.startswith(f"{path}: samples: ") for line in lines), message
    riff = "not a 16- or 24-bit PCM WAV file (file does not start with RIFF id)"
    assert f"{riff}, got '{folder / 'C4.wav'}'" in message
    assert f"must be 16- or 24-bit PCM, got 8-bit, got '{folder / 'D4.wav'}'" in message
    assert "(32-bit float is not read)" in message
    assert f"cannot read it: Is a directory, got '{folder / 'F4.wav'}'" in message
    assert "67.wav and G4.wav both play note 67, layer 0" in message
    assert "cannot tell the note from the file name; name files like C4.wav" in message
    assert f"holds no audio, got '{folder / 'A4.wav'}'" in message
    assert len(lines) == 7  # every problem at once


def test_a_missing_or_empty_folder_and_missing_zone_files_are_named(tmp_path: Path) -> None:
    path = patch_file(tmp_path, 'samples = "samples/none"')
    assert (
        problems(path) == f"{path}: samples: no such folder, got '{tmp_path / 'samples' / 'none'}'"
    )
    (tmp_path / "samples" / "empty").mkdir(parents=True)
    path = patch_file(tmp_path, 'samples = "samples/empty"')
    assert problems(path).endswith(
        f"samples: no .wav files in the folder, got '{tmp_path / 'samples' / 'empty'}'"
    )
    path = patch_file(
        tmp_path, 'samples = "samples/empty"\n[[zones]]\nfile = "gone.wav"\nroot = 60'
    )
    gone = tmp_path / "samples" / "empty" / "gone.wav"
    assert problems(path) == f"{path}: zones.0.file: no such file, got '{gone}'"
    path = patch_file(
        tmp_path, 'samples = "samples/empty"\n[[zones]]\nfile = "x.wav"\nkeys = [70, 60]'
    )
    assert problems(path).startswith(
        f"{path}: zones.0.keys: the lowest key must not be above the highest"
    )  # the files are checked once the patch's own keys are valid


def test_a_zone_without_a_root_its_name_cannot_give_says_so(tmp_path: Path) -> None:
    write_wav(tmp_path / "soft.wav", level(0.1, 100))
    with pytest.raises(PatchError, match=r"zones\.0\.root: cannot tell the note from the file"):
        sampler(tmp_path, zones=[{"file": "soft.wav"}])


def test_a_relative_folder_needs_the_patch_files_directory() -> None:
    with pytest.raises(PatchError, match="samples: a relative folder needs the patches directory"):
        parse_patch({"kind": "sampler", "samples": "samples/grand"}, "data")


def test_an_envelope_filter_is_refused_with_the_other_errors(tmp_path: Path) -> None:
    write_wav(tmp_path / "C4.wav", level(0.1, 100))
    with pytest.raises(PatchError) as caught:
        sampler(tmp_path, filter={"env_amount": 1.0}, voices=40)
    assert str(caught.value).splitlines() == [
        "test sampler: voices: must be at most 16, got 40",
        "test sampler: filter.env_amount: must be 0: a rendered note has no envelope for the "
        "filter to follow, got 1.0",
    ]


def test_16_and_24_bit_mono_and_stereo_files_are_read_and_stereo_is_mixed_to_mono(
    tmp_path: Path,
) -> None:
    stereo = np.column_stack([np.full(100, 0.5), np.full(100, 0.1)])
    write_wav(tmp_path / "C4.wav", stereo, width=3)
    frames, rate = read_pcm(tmp_path / "C4.wav")
    assert (rate, frames.shape) == (SR, (100, 2))
    np.testing.assert_allclose(frames[0], [0.5, 0.1], atol=1e-6)
    write_wav(tmp_path / "C5.wav", level(-0.25, 100))
    sounds = SampledSounds(sampler(tmp_path), SR)
    sound = sounds(60.0, 1.0)
    assert sound is not None
    assert sound.shape == (1, 100)
    assert sound[0, 0] == pytest.approx(0.3, abs=1e-6)
    low = sounds(72.0, 1.0)
    assert low is not None
    assert low[0, 0] == pytest.approx(-0.25, abs=1e-4)


def fundamental(sound: np.ndarray) -> float:
    size = 1 << 21
    spectrum = np.abs(np.fft.rfft(sound * np.hanning(len(sound)), size))
    peak = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[peak - 1 : peak + 2])
    return float((peak + 0.5 * (a - c) / (a - 2 * b + c)) * SR / size)


@pytest.mark.parametrize(("pitch", "rate"), [(60.0, SR), (67.0, SR), (55.5, SR), (64.0, 44100)])
def test_a_recording_is_shifted_to_the_notes_pitch(tmp_path: Path, pitch: float, rate: int) -> None:
    write_wav(tmp_path / "C4.wav", sine(261.6256, rate=rate), rate=rate)
    sound = SampledSounds(sampler(tmp_path), SR)(pitch, 1.0)
    assert sound is not None
    wanted = 440.0 * 2 ** ((pitch - 69) / 12)
    assert abs(1200 * np.log2(fundamental(sound[0].astype(np.float64)) / wanted)) < 5.0
    assert sound.shape[1] == pytest.approx(SR * 261.6256 / wanted, rel=0.01)


def test_velocity_picks_the_layer_and_keys_outside_every_zone_play_nothing(tmp_path: Path) -> None:
    write_wav(tmp_path / "C4_v1.wav", level(0.1, 100))
    write_wav(tmp_path / "C4_v2.wav", level(0.4, 100))
    sounds = SampledSounds(sampler(tmp_path), SR)
    played = {velocity: sounds(60.0, velocity) for velocity in (0.2, 0.5, 0.51, 1.0)}
    assert [float(s[0, 0]) for s in played.values() if s is not None] == pytest.approx(
        [0.1, 0.1, 0.4, 0.4], abs=1e-4
    )
    narrow = SampledSounds(sampler(tmp_path, zones=[{"file": "C4_v1.wav", "keys": [60, 62]}]), SR)
    assert narrow(63.0, 1.0) is None
    assert narrow(62.0, 1.0) is not None


def test_the_cache_of_shifted_recordings_keeps_within_its_budget(tmp_path: Path) -> None:
    write_wav(tmp_path / "C4.wav", sine(261.6256))
    budget = 1 << 20
    sounds = SampledSounds(sampler(tmp_path), SR, cache=SoundCache(max_bytes=budget))
    for pitch in range(30, 100):
        sounds(float(pitch), 0.8)
        assert sounds.cache.bytes <= budget
    assert sounds.cache.rendered == 70
    assert sounds(99.0, 0.8) is sounds(99.0, 0.8)


def test_the_shipped_grand_is_what_its_generator_makes(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(REPOSITORY / "patches" / "samples" / "generate.py"),
            "--out",
            str(tmp_path),
        ],
        check=True,
    )
    shipped = sorted((REPOSITORY / "patches" / "samples" / "grand").glob("*.wav"))
    assert [path.name for path in shipped] == sorted(path.name for path in tmp_path.iterdir())
    for path in shipped:
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), path.name
    assert sum(path.stat().st_size for path in shipped) < 3_000_000
    grand = PatchLibrary(default_patch_dirs()).load("keys/grand")
    assert isinstance(grand, SamplerPatch)
    assert len(grand.zones) == 16
    assert len({zone.root for zone in grand.zones}) == 8


def test_the_tracks_filter_shapes_a_sampler_as_any_other_patch() -> None:
    grand = PatchLibrary(default_patch_dirs()).load("keys/grand")
    dark = grand.model_copy(update={"filter": grand.filter.model_copy(update={"cutoff": 300.0})})

    def centroid(patch: Patch) -> float:
        with OfflineEngine({"t": patch}, stems=True) as engine:
            engine.schedule([Note("t", 0, SR // 2, 72.0, 1.0)])
            stem = np.concatenate([block.stems["t"][:, 0] for block in engine.blocks(SR // 2)])
        power = np.abs(np.fft.rfft(stem)) ** 2
        return float(np.sum(power * np.fft.rfftfreq(len(stem), 1 / SR)) / np.sum(power))

    assert centroid(dark) < 0.5 * centroid(grand)


# Pitched one-shots in the hit scheduler, with constant recordings: levels show exactly.

RING = 1 << 16
CUT = 240
LEVEL = 0.25


@pytest.fixture
def constant(tmp_path: Path) -> SampledSounds:
    write_wav(tmp_path / "C4.wav", level(LEVEL, SR))
    return SampledSounds(sampler(tmp_path), SR)


def scheduler_of(
    sounds: SampledSounds, *, voices: int = 3, release: int = 480
) -> tuple[HitScheduler, np.ndarray]:
    ring = np.zeros(RING, dtype=np.float32)
    scheduler = HitScheduler(
        sounds, rings=[ring], velocity_curve=1.0, cut=CUT, voices=voices, release=release
    )
    return scheduler, ring


def test_no_more_than_voices_notes_sound_and_the_oldest_is_stolen_without_a_click(
    constant: SampledSounds,
) -> None:
    scheduler, ring = scheduler_of(constant, voices=3)
    starts = [0, 1000, 2000, 3000, 4000, 4500, 7000, 7001]
    for index, start in enumerate(starts):
        scheduler.add(Note("keys", start, start + 20000, 60.0 + index, 1.0))
    held = [scheduler.sounding(at) for at in range(0, 30000, 7)]
    assert max(held) == 3
    assert scheduler.stolen == 5
    scheduler.render(0, 24000)  # before any key-up
    cutting = np.zeros(24000, dtype=bool)
    for start in starts[3:]:
        cutting[start : start + CUT] = True
    assert float(np.max(ring[:24000][~cutting])) <= 3 * LEVEL + 1e-6  # three notes at most
    assert float(np.max(ring[:24000])) <= 5 * LEVEL + 1e-6  # and those fading out
    steps = np.diff(ring[:24000].astype(np.float64))
    steps[np.array(starts[1:]) - 1] -= LEVEL  # a new note's own start is its onset: a step up
    fading_at_once = 2  # at 7000 and 7001 two notes are stolen
    assert float(np.max(np.abs(steps))) <= fading_at_once * LEVEL / CUT + 1e-6  # no click


def test_key_up_starts_the_release_fade_and_it_ends_in_silence(constant: SampledSounds) -> None:
    scheduler, ring = scheduler_of(constant, release=480)
    scheduler.add(Note("keys", 100, 5000, 60.0, 1.0))
    scheduler.render(0, 4000)
    scheduler.render(4000, 8000)
    assert ring[4999] == pytest.approx(LEVEL)
    expected = LEVEL * release_curve(np.arange(480) / 480)
    np.testing.assert_allclose(ring[5000:5480], expected, rtol=1e-5, atol=1e-7)
    assert np.count_nonzero(ring[5480:8000]) == 0
    assert scheduler.silent_from(5480)
    assert not scheduler.silent_from(5479)


def test_a_re_struck_pitch_fades_the_previous_strike_and_steals_nothing(
    constant: SampledSounds,
) -> None:
    scheduler, ring = scheduler_of(constant, voices=2)
    scheduler.add(Note("keys", 0, 9000, 60.0, 1.0))
    scheduler.add(Note("keys", 3000, 9000, 60.0, 1.0))
    scheduler.add(Note("keys", 3000, 9000, 64.0, 1.0))
    scheduler.render(0, 12000)
    assert scheduler.stolen == 0
    assert ring[3000] == pytest.approx(3 * LEVEL)  # the first strike starts fading here
    assert ring[3000 + CUT] == pytest.approx(2 * LEVEL)  # and is gone after the cut
    assert scheduler.sounding(3000) == 2


def test_notes_start_on_their_exact_sample_across_the_rings_wrap(constant: SampledSounds) -> None:
    scheduler, ring = scheduler_of(constant)
    start = RING - 10
    scheduler.add(Note("keys", start, start + 100, 60.0, 0.5))
    scheduler.render(RING - 500, RING + 500)
    assert np.count_nonzero(ring[RING - 500 : RING - 10]) == 0
    assert ring[RING - 10] == pytest.approx(0.5 * LEVEL)
    assert np.count_nonzero(ring[:90]) == 90


def test_a_retracted_note_gives_back_the_voice_it_stole(constant: SampledSounds) -> None:
    stolen, kept = scheduler_of(constant, voices=1), scheduler_of(constant, voices=1)
    for scheduler, _ in (stolen, kept):
        scheduler.add(Note("keys", 0, 6000, 60.0, 1.0))
    stolen[0].add(Note("keys", 3000, 4000, 67.0, 1.0))
    stolen[0].render(0, 5000)
    stolen[0].retract(3000)
    assert stolen[0].sounding(3500) == 1
    stolen[0].render(0, 10000)
    kept[0].render(0, 10000)
    np.testing.assert_array_equal(stolen[1], kept[1])


def test_release_all_lets_held_notes_go_and_forgets_later_ones(constant: SampledSounds) -> None:
    scheduler, ring = scheduler_of(constant, release=480)
    scheduler.add(Note("keys", 0, 20000, 60.0, 1.0))
    scheduler.add(Note("keys", 9000, 20000, 62.0, 1.0))
    scheduler.release_all(2000)
    scheduler.render(0, 21000)
    assert ring[1999] == pytest.approx(LEVEL)
    assert np.count_nonzero(ring[2480:21000]) == 0
    assert scheduler.silent_from(2480)


def test_silence_zeroes_what_was_played(constant: SampledSounds) -> None:
    scheduler, ring = scheduler_of(constant)
    scheduler.add(Note("keys", 0, 20000, 60.0, 1.0))
    scheduler.render(0, 1000)
    scheduler.silence(0, 600)
    assert np.count_nonzero(ring[:600]) == 0
    assert np.count_nonzero(ring[600:1000]) == 400
