"""Effects as patches: effect files and inserts in an instrument's chain, rendered offline by
real pyo."""

from pathlib import Path

import numpy as np
import pytest
from test_offline import SR, render_stems

from jamd.engine.notes import Note
from jamd.engine.patches import (
    ChorusEffect,
    DriveEffect,
    Effect,
    Patch,
    PatchError,
    PatchLibrary,
    default_patch_dirs,
    parse_patch,
)

LIBRARY = PatchLibrary(default_patch_dirs())
DRY = {"reverb": 0.0, "delay": 0.0}


def keys(effects: list[object], *, gain_db: float = -18.0, wave: str = "saw") -> Patch:
    return parse_patch(
        {
            "kind": "subtractive",
            "wave": wave,
            "voices": 6,
            "harmonics": 64,
            "envelope": {"attack": 0.002, "sustain": 1.0, "release": 0.05},
            "effects": effects,
            "mix": {**DRY, "gain_db": gain_db},
        },
        "test keys",
    )


def chords(track: str, bars: int = 4, beat: int = SR // 2) -> list[Note]:
    notes = []
    for index in range(bars):
        root = (48, 53, 55, 57)[index % 4]
        notes += [
            Note(track, index * beat, (index + 1) * beat, root + step, 1.0)
            for step in (0, 4, 7, 12, 16, 19)
        ]
    return notes


def shipped_effects() -> list[str]:
    return list(LIBRARY.effect_names())


def test_names_lists_instruments_and_effects_are_listed_apart() -> None:
    assert not [n for n in LIBRARY.names() if n.startswith("fx/")]
    assert "keys/organ" in LIBRARY.names()
    kinds = {LIBRARY.load_effect(name).kind for name in LIBRARY.effect_names()}
    assert kinds == {"reverb", "delay", "chorus", "phaser", "drive", "eq", "compressor"}


@pytest.mark.parametrize("name", shipped_effects())
def test_a_track_through_every_shipped_effect_is_finite_sounding_and_not_clipping(
    name: str,
) -> None:
    effect = LIBRARY.load_effect(name)
    notes = chords("keys")
    frames = 3 * SR
    dry = render_stems({"keys": keys([])}, notes, frames, 256)["keys"]
    wet = render_stems({"keys": keys([effect])}, notes, frames, 256)["keys"]
    assert np.all(np.isfinite(wet)), name
    assert float(np.sqrt(np.mean(wet**2))) > 0.01, f"{name}: silent"
    assert float(np.max(np.abs(wet))) < 1.0, f"{name}: clips"
    assert float(np.max(np.abs(wet - dry))) > 0.01, f"{name}: changes nothing"


def test_a_reverb_insert_rings_on_after_the_last_voice_stops() -> None:
    """The track's chain sleeps once its voices are silent, but only after its effects' tails."""
    notes = [Note("keys", 0, SR // 5, 60, 1.0)]
    frames = 3 * SR
    hall = LIBRARY.load_effect("fx/hall")
    for effects, expected in (([hall], True), ([], False)):
        stem = render_stems({"keys": keys(effects)}, notes, frames, 256)["keys"]
        later = stem[SR + SR // 5 : 2 * SR]  # a second after the note ended
        assert (float(np.max(np.abs(later))) > 1e-3) is expected


def test_the_converted_fx_tables_keep_their_old_settings() -> None:
    """[fx] drive d was Disto(drive 0.2 + 0.75 d, slope 0.6); chorus c was Chorus(depth 1 + 2 c,
    feedback 0.1, bal 0.5)."""
    old = {"bass/808": (0.3, 0.0), "bass/synth": (0.25, 0.0), "keys/organ": (0.1, 0.45)}
    for name, (drive, chorus) in old.items():
        patch = LIBRARY.load(name)
        expected: list[Effect] = [DriveEffect(kind="drive", drive=0.2 + 0.75 * drive, slope=0.6)]
        if chorus:
            expected.append(
                ChorusEffect(kind="chorus", depth=1 + 2 * chorus, feedback=0.1, mix=0.5)
            )
        assert len(patch.effects) == len(expected), name
        for got, want in zip(patch.effects, expected, strict=True):
            assert got.model_dump() == pytest.approx(want.model_dump()), name


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(error: PatchError) -> list[str]:
    return str(error).splitlines()


def test_a_broken_effect_file_names_the_file_the_key_and_what_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "fx/bad", 'kind = "reverb"\nsize = 2.0\nroom = 1\n')
    library = PatchLibrary([tmp_path])
    with pytest.raises(PatchError) as caught:
        library.load_effect("fx/bad")
    assert problems_of(caught.value) == [
        f"{path}: size: must be at most 0.95, got 2.0",
        f"{path}: room: unknown key (allowed: damp, kind, mix, size, width)",
    ]
    write(tmp_path, "fx/nokind", "size = 0.5\n")
    with pytest.raises(PatchError, match=r"kind: must be one of reverb, delay, .*compressor"):
        library.load_effect("fx/nokind")


def test_an_instrument_naming_a_broken_effect_file_names_both_files(tmp_path: Path) -> None:
    effect = write(tmp_path, "fx/bad", 'kind = "chorus"\ndepth = 9.0\n')
    patch = write(tmp_path, "keys/x", 'kind = "fm"\neffects = ["fx/bad"]\n')
    with pytest.raises(PatchError) as caught:
        PatchLibrary([tmp_path]).load("keys/x")
    assert problems_of(caught.value) == [
        f"{patch}: effects.0: {effect}: depth: must be at most 5, got 9.0"
    ]


def test_bad_inline_effects_are_all_reported_with_their_key_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "keys/x",
        'kind = "subtractive"\n'
        'effects = [{kind = "drive", amount = 0.3}, {kind = "flanger"},'
        ' {kind = "eq", bands = [{kind = "low-cut", freq = 10.0, gain_db = 3.0}]}]\n',
    )
    with pytest.raises(PatchError) as caught:
        PatchLibrary([tmp_path]).load("keys/x")
    assert problems_of(caught.value) == [
        f"{path}: effects.0.amount: unknown key (allowed: drive, kind, mix, slope)",
        f"{path}: effects.1.kind: must be one of reverb, delay, chorus, phaser, drive, eq,"
        " compressor, got 'flanger'",
        f"{path}: effects.2.bands.0.freq: must be at least 20, got 10.0",
        f"{path}: effects.2.bands.0.gain_db: unknown key (allowed: freq, kind, q)",
    ]


def test_an_unknown_effect_is_an_error_that_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "keys/x", 'kind = "fm"\neffects = ["fx/plate", "fx/nope"]\n')
    library = PatchLibrary([tmp_path, *default_patch_dirs()])
    with pytest.raises(PatchError) as caught:
        library.load("keys/x")
    known = ", ".join(library.effect_names())
    assert problems_of(caught.value) == [
        f"{path}: effects.1: fx/nope: no such effect; known effects: {known}"
    ]
    assert "fx/plate" in known


def test_a_named_effect_file_is_read_in_where_it_is_named(tmp_path: Path) -> None:
    write(tmp_path, "keys/x", 'kind = "fm"\neffects = ["fx/plate", {kind = "drive"}]\n')
    patch = PatchLibrary([tmp_path, *default_patch_dirs()]).load("keys/x")
    assert patch.effects == (LIBRARY.load_effect("fx/plate"), DriveEffect(kind="drive"))


def test_an_instrument_chain_takes_no_look_ahead(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "keys/x",
        'kind = "fm"\neffects = ["fx/glue", {kind = "compressor", lookahead_ms = 5.0}]\n',
    )
    with pytest.raises(PatchError) as caught:
        PatchLibrary([tmp_path, *default_patch_dirs()]).load("keys/x")
    assert problems_of(caught.value) == [
        f"{path}: effects.1.lookahead_ms: must be 0 in an instrument's chain (a look-ahead"
        " delays the track, its notes would sound late), got 5",
    ]
    made_in_code = keys([{"kind": "compressor", "lookahead_ms": 2.0}])  # not checked by parse_patch
    with pytest.raises(ValueError, match="must be 0 in an instrument's chain"):
        render_stems({"keys": made_in_code}, [], SR // 10, 256)
