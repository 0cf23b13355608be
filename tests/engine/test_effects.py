"""Effects as patches: effect files, inserts in an instrument's chain, the master patch and its
true-peak limiter, rendered offline by real pyo."""

from pathlib import Path

import numpy as np
import pytest
from test_offline import SR, onsets, render_stems

from jamd.engine.effects import TRUE_PEAK_MARGIN_DB
from jamd.engine.loudness import measure
from jamd.engine.notes import Note
from jamd.engine.offline import OfflineEngine, render_to_wav
from jamd.engine.patches import (
    ChorusEffect,
    CompressorEffect,
    DriveEffect,
    Effect,
    LimiterEffect,
    MasterPatch,
    Patch,
    PatchError,
    PatchLibrary,
    default_master,
    default_patch_dirs,
    parse_master,
    parse_patch,
)
from jamd.engine.wavfile import read_wav

LIBRARY = PatchLibrary(default_patch_dirs())
DRY = {"reverb": 0.0, "delay": 0.0}
LIMITER_ONLY = MasterPatch(kind="master", effects=(LimiterEffect(kind="limiter"),))
SAMPLE_CEILING = 10 ** ((-1.0 - TRUE_PEAK_MARGIN_DB) / 20)  # the limiter's, for -1 dBTP
PCM24_STEP = 1 / (2**23 - 1)


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


def kit_pattern(track: str, beats: int = 16, beat: int = SR // 4) -> list[Note]:
    return [
        Note(track, index * beat, index * beat + 10, pitch, 1.0)
        for index in range(beats)
        for pitch in ((36, 42) if index % 2 == 0 else (38, 46, 49))
    ]


def shipped_effects() -> list[str]:
    return list(LIBRARY.effect_names())


def test_names_lists_instruments_and_effects_and_masters_are_listed_apart() -> None:
    assert not [n for n in LIBRARY.names() if n.startswith(("fx/", "master/"))]
    assert "keys/organ" in LIBRARY.names()
    assert "master/default" in LIBRARY.master_names()
    kinds = {LIBRARY.load_effect(name).kind for name in LIBRARY.effect_names()}
    assert kinds == {
        "reverb", "delay", "chorus", "phaser", "drive", "eq", "compressor", "limiter"
    }  # fmt: skip


@pytest.mark.parametrize("name", shipped_effects())
def test_a_track_through_every_shipped_effect_is_finite_sounding_and_not_clipping(
    name: str,
) -> None:
    effect = LIBRARY.load_effect(name)
    notes = chords("keys")
    frames = 3 * SR
    if effect.kind == "limiter":  # the limiter belongs at the end of the master chain
        master = MasterPatch(kind="master", effects=(effect,))
        with OfflineEngine({"keys": keys([], gain_db=12.0)}, master=master) as engine:
            engine.schedule(notes)
            audio = np.concatenate([block.master for block in engine.blocks(frames)])
        assert np.all(np.isfinite(audio))
        assert float(np.sqrt(np.mean(audio**2))) > 0.1
        assert float(np.max(np.abs(audio))) <= SAMPLE_CEILING
        return
    dry = render_stems({"keys": keys([])}, notes, frames, 256)["keys"]
    wet = render_stems({"keys": keys([effect])}, notes, frames, 256)["keys"]
    # the same effect on the master's stereo bus, before its limiter
    master = MasterPatch(kind="master", effects=(effect, LimiterEffect(kind="limiter")))
    with OfflineEngine({"keys": keys([])}, master=master) as engine:
        engine.schedule(notes)
        bus = np.concatenate([block.master for block in engine.blocks(frames)])
    for audio in (wet, bus):
        assert np.all(np.isfinite(audio)), name
        assert float(np.sqrt(np.mean(audio**2))) > 0.01, f"{name}: silent"
        assert float(np.max(np.abs(audio))) < 1.0, f"{name}: clips"
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
    with pytest.raises(PatchError, match=r"kind: must be one of reverb, delay, chorus, .*limiter"):
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
        " compressor, limiter, got 'flanger'",
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


def test_an_instrument_chain_takes_no_limiter_and_no_look_ahead(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "keys/x",
        'kind = "fm"\neffects = [{kind = "compressor", lookahead_ms = 5.0}, "fx/limiter"]\n',
    )
    with pytest.raises(PatchError) as caught:
        PatchLibrary([tmp_path, *default_patch_dirs()]).load("keys/x")
    assert problems_of(caught.value) == [
        f"{path}: effects.0.lookahead_ms: must be 0 in an instrument's chain (a look-ahead"
        " delays the track, its notes would sound late), got 5",
        f"{path}: effects.1: a limiter belongs at the end of the master chain",
    ]
    made_in_code = keys([{"kind": "limiter"}])  # parse_patch alone does not check placement
    with pytest.raises(ValueError, match="a limiter belongs at the end of the master chain"):
        render_stems({"keys": made_in_code}, [], SR // 10, 256)


def test_a_master_chain_without_a_final_limiter_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "master/loud", 'kind = "master"\neffects = ["fx/limiter", "fx/glue"]\n')
    with pytest.raises(PatchError) as caught:
        PatchLibrary([tmp_path, *default_patch_dirs()]).load_master("master/loud")
    assert problems_of(caught.value) == [
        f'{path}: effects: the master chain must end in a limiter (kind = "limiter"),'
        " got compressor last"
    ]
    with pytest.raises(PatchError, match="must end in a limiter"):
        parse_master({"kind": "master", "effects": [{"kind": "eq", "bands": [
            {"kind": "peak", "freq": 1000.0, "gain_db": 3.0}]}]}, "inline")  # fmt: skip
    with pytest.raises(PatchError) as caught:
        parse_master({"kind": "master", "effects": []}, "inline")
    assert problems_of(caught.value) == [
        'inline: effects: the master chain must end in a limiter (kind = "limiter"), got no effects'
    ]
    unguarded = MasterPatch(kind="master", effects=(CompressorEffect(kind="compressor"),))
    with pytest.raises(ValueError, match="must end in a limiter"):
        render_to_wav({"keys": keys([])}, [], SR // 10, out=None, master=unguarded)


def test_the_shipped_master_compresses_then_limits() -> None:
    master = default_master()
    assert [effect.kind for effect in master.effects] == ["compressor", "limiter"]
    assert master is default_master()  # read once


HOT = {"gain_db": 12.0, **DRY}


def hot_kit(name: str) -> Patch:
    patch = LIBRARY.load(name)
    return patch.model_copy(update={"mix": patch.mix.model_copy(update=HOT)})


def hot_material(case: str) -> tuple[dict[str, Patch], list[Note]]:
    if case == "saw chords":
        return {"keys": keys([], gain_db=12.0)}, chords("keys")
    if case == "square chords":
        return {"keys": keys([], gain_db=12.0, wave="square")}, chords("keys")
    if case == "everything":
        patches = {
            "keys": keys([], gain_db=12.0),
            "lead": keys([], gain_db=12.0, wave="square"),
            "drums": hot_kit("drums/909"),
        }
        return patches, chords("keys") + chords("lead") + kit_pattern("drums")
    return {"drums": hot_kit(case)}, kit_pattern("drums")


def render_master(
    patches: dict[str, Patch], notes: list[Note], frames: int, master: MasterPatch
) -> tuple[np.ndarray, np.ndarray]:
    """The master and the tracks' sum before it, as the engine computes them (floats: a WAV
    file would clip the stems at full scale)."""
    masters, summed = [], []
    with OfflineEngine(patches, stems=True, master=master) as engine:
        engine.schedule(notes)
        for block in engine.blocks(frames):
            masters.append(block.master)
            summed.append(sum(block.stems[name] for name in patches))
    return np.concatenate(masters), np.concatenate(summed)


@pytest.mark.parametrize("master", ["default", "limiter only"])
@pytest.mark.parametrize(
    "case",
    ["saw chords", "square chords", "drums/808", "drums/909", "drums/acoustic", "everything"],
)
def test_the_limiter_holds_true_peak_under_minus_1_dbtp_far_over_full_scale(
    case: str, master: str
) -> None:
    patches, notes = hot_material(case)
    chain = default_master() if master == "default" else LIMITER_ONLY
    audio, before = render_master(patches, notes, 4 * SR, chain)
    assert float(np.max(np.abs(before))) > 2.5  # 8 dB and more over full scale
    loudness = measure(audio, SR)
    assert loudness.true_peak_dbtp <= -1.0
    assert float(np.max(np.abs(audio))) <= SAMPLE_CEILING
    assert loudness.integrated_lufs > -20.0  # limited, not crushed into silence


def test_a_rendered_file_keeps_the_true_peak_under_minus_1_dbtp(tmp_path: Path) -> None:
    patches, notes = hot_material("everything")
    render_to_wav(patches, notes, 4 * SR, out=tmp_path / "song.wav")
    audio, rate = read_wav(tmp_path / "song.wav")
    loudness = measure(audio, rate)
    assert loudness.true_peak_dbtp <= -1.0
    assert float(np.max(np.abs(audio))) <= SAMPLE_CEILING + PCM24_STEP


def test_the_master_latency_is_the_chains_exact_look_ahead_at_any_rate() -> None:
    rate = 44100
    master = MasterPatch(
        kind="master",
        effects=(
            CompressorEffect(kind="compressor", lookahead_ms=3.3),
            LimiterEffect(kind="limiter", lookahead_ms=7.1),
        ),
    )
    click = parse_patch(
        {
            "kind": "drumkit",
            "mix": DRY,
            "pieces": {"rim": {"notes": [37], "model": "rim", "tune": 1700.0, "decay": 0.02}},
        },
        "test click",
    )
    positions = [1000, 23456, 40001]
    notes = [Note("click", p, p + 10, 37, 1.0) for p in positions]
    with OfflineEngine({"click": click}, sample_rate=rate, stems=True, master=master) as engine:
        assert engine.graph.latency == round(3.3 * 44.1) + round(7.1 * 44.1)
        engine.schedule(notes)
        blocks = list(engine.blocks(positions[-1] + rate // 2))
    heard = np.concatenate([block.master for block in blocks])[:, 0]
    found = onsets(heard, positions)
    assert [f - p for f, p in zip(found, positions, strict=True)] == [0, 0, 0]


def test_the_master_patch_sets_the_sends_returns() -> None:
    notes = [Note("keys", 0, SR // 4, 60, 1.0)]

    def fx_tail(size: float, tone: float) -> tuple[float, float]:
        wet = keys([]).model_copy(
            update={"mix": keys([]).mix.model_copy(update={"reverb": 0.5, "delay": 0.5})}
        )
        master = parse_master(
            {
                "kind": "master",
                "reverb": {"size": size},
                "delay": {"tone": tone},
                "effects": [{"kind": "limiter"}],
            },
            "test master",
        )
        with OfflineEngine({"keys": wet}, stems=True, master=master) as engine:
            engine.schedule(notes)
            fx = np.concatenate([block.stems["fx"] for block in engine.blocks(3 * SR)])
        tail = fx[2 * SR :, 0]
        highs = np.diff(fx[:SR, 0])  # a first difference weighs the highs
        return float(np.sqrt(np.mean(tail**2))), float(np.sqrt(np.mean(highs**2)))

    small_room, _ = fx_tail(0.3, 20000.0)
    large_room, bright = fx_tail(0.9, 20000.0)
    _, dark = fx_tail(0.9, 800.0)
    assert large_room > 4 * small_room
    assert dark < 0.8 * bright
