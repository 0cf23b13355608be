"""analyse(): songs with known tempo, meter, key, chords and grooves, and broken files."""

import io
from pathlib import Path

import mido
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from midilib_files import write_broken

from jamd.theory import QUALITY_INTERVALS, Key, Mode, parse_roman
from jamd.training.midifile import (
    _TEMPLATES,
    REASONS,
    MidiFileError,
    analyse,
    numeral,
)
from jamd.training.synthetic import (
    BLUES_12_BAR,
    GROOVES,
    PROGRESSIONS,
    SongSpec,
    song_midi,
    write_song,
)


def _analysed(tmp_path: Path, spec: SongSpec, name: str = "song.mid") -> dict[str, object]:
    path = tmp_path / name
    write_song(spec, path)
    return analyse(path)


@pytest.mark.parametrize("tonic", [0, 2, 5, 7, 10, 11])
def test_twelve_bar_blues_in_any_key_reads_as_its_numerals(tmp_path: Path, tonic: int) -> None:
    spec = SongSpec(numerals=BLUES_12_BAR * 2, tonic=tonic, tempo=96.0, drums=GROOVES["shuffle"])
    features = _analysed(tmp_path, spec)
    assert features["progression"] == list(BLUES_12_BAR * 2)
    assert (features["key"], features["mode"]) == (tonic, 1)
    assert features["tempo"] == 96.0
    assert features["meter"] == [4, 4]
    assert features["time_signature"] == 4
    assert features["bars"] == 24


@pytest.mark.parametrize(
    ("genre", "numerals", "mode"),
    [
        (genre, numerals, mode)
        for genre, progressions in PROGRESSIONS.items()
        for numerals, mode in progressions
    ],
)
@pytest.mark.parametrize("tonic", [1, 4, 9])
def test_every_genres_progressions_are_found_in_their_key(
    tmp_path: Path, genre: str, numerals: tuple[str, ...], mode: Mode, tonic: int
) -> None:
    spec = SongSpec(numerals=numerals * 2, tonic=tonic, mode=mode, tempo=123.0)
    features = _analysed(tmp_path, spec)
    assert features["progression"] == list(numerals * 2), genre
    assert features["key"] == tonic
    assert features["mode"] == (1 if mode is Mode.MAJOR else 0)
    assert 0 < features["key_confidence"] <= 1


@given(
    st.sampled_from([progression for group in PROGRESSIONS.values() for progression in group]),
    st.integers(0, 11),
    st.integers(60, 180),
)
@settings(max_examples=40, deadline=None)
def test_a_song_in_a_random_key_is_heard_the_same_relative_to_it(
    tmp_path_factory: pytest.TempPathFactory,
    progression: tuple[tuple[str, ...], Mode],
    tonic: int,
    tempo: int,
) -> None:
    numerals, mode = progression
    path = tmp_path_factory.mktemp("song") / "song.mid"
    write_song(SongSpec(numerals=numerals, tonic=tonic, mode=mode, tempo=float(tempo)), path)
    features = analyse(path)
    assert features["key"] == tonic
    assert features["progression"] == list(numerals)
    assert features["tempo"] == pytest.approx(tempo, abs=0.01)


def test_drum_grids_are_the_share_of_bars_with_a_hit_on_each_sixteenth(tmp_path: Path) -> None:
    groove = GROOVES["rock"]
    spec = SongSpec(numerals=("I", "IV", "V", "I"), tonic=0, drums=groove)
    drums = _analysed(tmp_path, spec)["drums"]
    assert drums == {
        piece: [1.0 if mark == "x" else 0.0 for mark in grid] for piece, grid in groove.items()
    }


def test_three_four_bars_have_twelve_steps(tmp_path: Path) -> None:
    spec = SongSpec(
        numerals=("I", "IV", "V", "I") * 2, tonic=7, meter=(3, 4), drums=GROOVES["waltz"]
    )
    features = _analysed(tmp_path, spec)
    assert features["meter"] == [3, 4]
    assert features["progression"] == ["I", "IV", "V", "I"] * 2
    assert {piece: len(grid) for piece, grid in features["drums"].items()} == {
        "kick": 12,
        "snare": 12,
        "hat": 12,
    }
    assert features["drums"]["snare"] == [1.0 if mark == "x" else 0.0 for mark in "....x...x..."]


def test_the_tempo_that_covers_most_bars_wins(tmp_path: Path) -> None:
    spec = SongSpec(numerals=("I",) * 8, tonic=0, tempo=90.0, tempo_changes=((2, 140.0),))
    assert _analysed(tmp_path, spec)["tempo"] == 140.0
    spec = SongSpec(numerals=("I",) * 8, tonic=0, tempo=90.0, tempo_changes=((6, 140.0),))
    assert _analysed(tmp_path, spec, "b.mid")["tempo"] == 90.0


def test_a_type_0_file_reads_like_a_type_1_file(tmp_path: Path) -> None:
    spec = SongSpec(numerals=BLUES_12_BAR, tonic=3, drums=GROOVES["shuffle"])
    single = SongSpec(numerals=BLUES_12_BAR, tonic=3, drums=GROOVES["shuffle"], single_track=True)
    assert _analysed(tmp_path, spec, "a.mid") == _analysed(tmp_path, single, "b.mid")


def test_without_tempo_or_meter_a_file_is_120_bpm_in_four_four(tmp_path: Path) -> None:
    midi = mido.MidiFile()
    notes = [mido.Message("note_on", note=pitch, velocity=80, time=0) for pitch in (60, 64, 67)]
    offs = [
        mido.Message("note_off", note=pitch, time=1920 if n == 0 else 0)
        for n, pitch in enumerate((60, 64, 67))
    ]
    midi.tracks.append(mido.MidiTrack([*notes, *offs]))
    midi.save(tmp_path / "plain.mid")
    features = analyse(tmp_path / "plain.mid")
    assert (features["tempo"], features["meter"], features["bars"]) == (120.0, [4, 4], 1)
    assert features["progression"] == ["I"]
    assert features["drums"] == {}


def test_an_empty_bar_has_no_numeral(tmp_path: Path) -> None:
    midi = mido.MidiFile()
    track = mido.MidiTrack()
    for at_bar in (0, 2):
        start = 0 if at_bar == 0 else 1920
        track += [
            mido.Message("note_on", note=pitch, velocity=80, time=start if i == 0 else 0)
            for i, pitch in enumerate((57, 60, 64))
        ]
        track += [
            mido.Message("note_off", note=pitch, time=1920 if i == 0 else 0)
            for i, pitch in enumerate((57, 60, 64))
        ]
    midi.tracks.append(track)
    midi.save(tmp_path / "gap.mid")
    features = analyse(tmp_path / "gap.mid")
    assert features["bars"] == 3
    assert features["progression"][1] == ""


def test_louder_and_busier_songs_have_more_energy(tmp_path: Path) -> None:
    quiet = _analysed(tmp_path, SongSpec(numerals=("I",) * 4, tonic=0, velocity=0.4), "q.mid")
    loud = _analysed(
        tmp_path,
        SongSpec(numerals=("I",) * 4, tonic=0, velocity=0.95, drums=GROOVES["rock"]),
        "l.mid",
    )
    assert 0 <= quiet["energy"] < loud["energy"] <= 1
    assert quiet["density"] < loud["density"]


@pytest.mark.parametrize(("name", "upper", "suffix"), _TEMPLATES)
def test_every_numeral_written_reads_back_as_its_chord(name: str, upper: bool, suffix: str) -> None:
    key = Key(2, Mode.MAJOR)
    intervals = QUALITY_INTERVALS["" if name == "5" else name]
    for above in range(12):
        chord = parse_roman(numeral(above, name), key)
        assert chord.root == (2 + above) % 12
        assert chord.intervals == intervals


def test_numerals_are_spelled_as_the_style_files_write_them() -> None:
    assert [numeral(0, "7"), numeral(5, "7"), numeral(2, "m7"), numeral(10, "")] == [
        "I7", "IV7", "ii7", "bVII",
    ]  # fmt: skip
    assert [numeral(2, "m7b5"), numeral(6, "dim7"), numeral(6, "7"), numeral(11, "dim")] == [
        "iiø7", "#iv°7", "bV7", "vii°",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="quality must be one of"):
        numeral(0, "13")


def test_broken_files_raise_their_reason(tmp_path: Path) -> None:
    expected = write_broken(tmp_path)
    reasons = {}
    for name in expected:
        with pytest.raises(MidiFileError) as raised:
            analyse(tmp_path / name)
        reasons[name] = raised.value.reason
    assert reasons == expected


def test_missing_and_folder_paths_are_unreadable(tmp_path: Path) -> None:
    (tmp_path / "folder.mid").mkdir()
    with pytest.raises(MidiFileError, match="unreadable: Is a directory"):
        analyse(tmp_path / "folder.mid")
    with pytest.raises(MidiFileError, match="unreadable: No such file or directory"):
        analyse(tmp_path / "gone.mid")


def test_a_size_cap_below_the_file_makes_it_too_large(tmp_path: Path) -> None:
    write_song(SongSpec(numerals=BLUES_12_BAR, tonic=0), tmp_path / "a.mid")
    with pytest.raises(MidiFileError, match="too large"):
        analyse(tmp_path / "a.mid", max_bytes=100)


def _song_bytes() -> bytes:
    buffer = io.BytesIO()
    song_midi(SongSpec(numerals=BLUES_12_BAR, tonic=2, drums=GROOVES["shuffle"])).save(file=buffer)
    return buffer.getvalue()


SONG = _song_bytes()


@given(
    st.lists(st.tuples(st.integers(0, len(SONG) - 1), st.integers(0, 255)), max_size=12),
    st.integers(0, len(SONG)),
)
@settings(max_examples=300, deadline=None)
def test_a_damaged_file_gives_features_or_a_reason_never_another_error(
    tmp_path_factory: pytest.TempPathFactory, damage: list[tuple[int, int]], length: int
) -> None:
    data = bytearray(SONG)
    for at, value in damage:
        data[at] = value
    del data[length:]
    path = tmp_path_factory.mktemp("damaged") / "song.mid"
    path.write_bytes(bytes(data))
    reason = None
    try:
        features = analyse(path)
    except MidiFileError as error:
        reason = error.reason
    if reason is not None:
        assert reason in REASONS
    else:
        assert 0 <= features["key"] <= 11
        assert 0 <= features["energy"] <= 1
        assert len(features["progression"]) == features["bars"]
