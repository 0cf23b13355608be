"""Style files: every built-in genre validates; broken files say where and what, all at once."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jamd.compose import SongParams, compose_song, plan_song
from jamd.errors import InputError
from jamd.styles import PATCHES, SectionKind
from jamd.styles.library import StyleError, StyleLibrary, load_style, load_style_file
from jamd.theory import parse_key

GENRES = ["blues", "classical", "country", "electronic", "hip-hop", "jazz", "pop", "rock"]
BUILTIN = Path(__file__).parents[2] / "src" / "jamd" / "styles" / "data"

NINTH_GENRE = """
# Roots reggae: a ninth genre as data only.
description = "Roots reggae: one-drop drums, off-beat organ skank, deep bass"
typical_keys = ["Am", "G", "C"]

[tempo]
min = 60
max = 100
default = 76

[meter]
numerator = 4
denominator = 4

[feel]
swing = 0.56

[form]
start = ["intro 4", "verse 8", "chorus 8"]
repeat = [["verse 8", "chorus 8"]]
end = ["outro 4"]
elastic = ["outro", "intro"]

[energy]
intro = 0.4
verse = 0.5
chorus = 0.7
outro = 0.4

[[harmony.default]]
chords = "I IV I V"
[[harmony.default]]
chords = "i iv i bVII"
tonality = "minor"

[instruments]
drums = ["drums/acoustic"]
bass = ["bass/finger"]
keys = ["keys/organ"]
pad = ["pad/warm"]
lead = ["lead/horn"]

[arrangement]
intro = { drums = 0.6, bass = 0.8, keys = 1.0 }
verse = { drums = 0.8, bass = 1.0, keys = 0.8, lead = 0.8 }
chorus = { drums = 1.0, bass = 1.0, keys = 1.0, lead = 1.0 }
outro = { drums = 0.7, bass = 0.9, keys = 1.0, lead = 0.6 }

[drums.use]
intro = ["one_drop"]
verse = ["one_drop"]
chorus = ["one_drop"]
outro = ["one_drop"]

[drums.patterns.one_drop]
kick       = "........X......."
side_stick = "........x......."
hat        = "x.x.x.x.x.x.x.x."

[[drums.fills]]
snare = "x.x.xxX."

[bass]
style = "root"
rhythm = "x--.....x-x-...."

[comping]
rhythms = ["..x-..x-..x-..x-"]

[melody]
plan = "abab"
"""


def broken(tmp_path: Path, genre: str, *edits: tuple[str, str]) -> Path:
    """A copy of a built-in style file with text replaced (each edit must apply)."""
    text = (BUILTIN / f"{genre}.toml").read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / f"{genre}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(StyleError) as caught:
        load_style_file(path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_the_eight_genres_are_built_in() -> None:
    assert StyleLibrary().names() == tuple(GENRES)


@pytest.mark.parametrize("genre", GENRES)
def test_every_style_file_validates(genre: str) -> None:
    style = load_style(genre)
    assert style.name == genre
    assert style.tempo.min <= style.tempo.default <= style.tempo.max
    assert style.form.kinds <= set(style.energy)
    for role in PATCHES:
        assert {choice.patch for choice in style.instruments.for_role(role)} <= set(PATCHES[role])


@pytest.mark.parametrize(
    ("genre", "numerator"), [("classical", 3), ("jazz", 4), ("blues", 4), ("pop", 4)]
)
def test_meters(genre: str, numerator: int) -> None:
    assert load_style(genre).meter.numerator == numerator


def test_an_out_of_range_default_names_the_file_and_the_key_path(tmp_path: Path) -> None:
    path = broken(tmp_path, "jazz", ("default = 152", "default = 300"))
    assert problems(path) == ("jazz.toml: tempo.default: must be within 80..260, got 300",)


def test_every_structural_error_comes_at_once(tmp_path: Path) -> None:
    path = broken(
        tmp_path,
        "jazz",
        ("default = 152", "default = 300"),
        ('style = "walking"', 'style = "walkin"'),
        ("[meter]", "[meter]\nbeats = 4"),
        ('unit = "eighth"', 'unit = "quarter"'),
    )
    found = problems(path)
    assert len(found) == 4
    assert "jazz.toml: tempo.default: must be within 80..260, got 300" in found
    assert any(p.startswith("jazz.toml: bass.style: ") and "'walkin'" in p for p in found)
    assert any(p.startswith("jazz.toml: meter.beats: unknown key") for p in found)
    assert any(p.startswith("jazz.toml: feel.unit: ") for p in found)


def test_every_reference_error_comes_at_once(tmp_path: Path) -> None:
    path = broken(
        tmp_path,
        "jazz",
        ('head = ["time_soft", "time"]', 'head = ["time_soft", "tim"]'),
        ('ride      = "x...X.x.x...X.x."', 'ride      = "x...X.x."'),
        ("ii7 V7 Imaj7 Imaj7 v7 I7", "ii7 V7 Imaj7 Imaj7 v7 X7"),
        ('"lead/horn"', '"lead/horns"'),
        ("solo = 0.75\n", ""),
    )
    found = problems(path)
    assert "jazz.toml: energy.solo: required" in found
    assert (
        "jazz.toml: drums.use.head.1: unknown pattern (patterns: time, time_busy, time_soft),"
        " got 'tim'" in found
    )
    assert (
        "jazz.toml: drums.patterns.time_soft.ride: must have 16 steps"
        " (a 4/4 bar at 4 steps per beat), got 'x...X.x.'" in found
    )
    assert (
        "jazz.toml: harmony.progressions.head.1.chords: not a Roman numeral the theory layer"
        " reads, got 'X7'" in found
    )
    assert any(p.startswith("jazz.toml: instruments.lead.0.patch: must be one of") for p in found)


def test_an_unknown_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = broken(tmp_path, "pop", ("[tempo]", "[tempoo]"))
    found = problems(path)
    assert any(p.startswith("pop.toml: tempoo: unknown key; did you mean 'tempo'?") for p in found)
    assert "pop.toml: tempo: required" in found


def test_an_unknown_section_kind_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = broken(tmp_path, "jazz", ("\nsolo = ", "\nsoloo = "))
    found = problems(path)
    assert any(
        p.startswith("jazz.toml: energy.soloo: unknown key; did you mean 'solo'?") for p in found
    )


def test_a_file_that_is_not_toml_says_so(tmp_path: Path) -> None:
    path = tmp_path / "pop.toml"
    path.write_text("[tempo\nmin = 1\n", encoding="utf-8")
    (problem,) = problems(path)
    assert problem.startswith("pop.toml: not valid TOML: ")


def test_a_file_may_not_name_itself(tmp_path: Path) -> None:
    path = tmp_path / "pop.toml"
    path.write_text('name = "rock"\n' + (BUILTIN / "pop.toml").read_text(), encoding="utf-8")
    assert problems(path) == ("pop.toml: name: unknown key (a genre is named by its file name)",)


def test_an_unknown_genre_gets_a_did_you_mean() -> None:
    with pytest.raises(InputError, match=r"unknown genre 'jaz'; did you mean 'jazz'\?"):
        StyleLibrary().get("jaz")


def test_a_ninth_genre_is_a_data_file_and_composes_with_no_code(tmp_path: Path) -> None:
    (tmp_path / "reggae.toml").write_text(NINTH_GENRE, encoding="utf-8")
    library = StyleLibrary([tmp_path])
    assert library.names() == tuple(sorted([*GENRES, "reggae"]))

    style = library.get("reggae")
    params = SongParams("reggae", parse_key("Am"), style.tempo.default, 60, seed=3)
    plan = plan_song(params, style, random.Random(3))
    song = compose_song(plan, style, 3)
    assert [s.kind for s in plan.sections][:2] == [SectionKind.INTRO, SectionKind.VERSE]
    assert plan.chords[-1].chord.root == parse_key("Am").tonic
    assert {event.part.value for event in song.events} == {"drums", "bass", "keys", "lead"}


def test_an_extra_directory_can_replace_a_built_in_genre(tmp_path: Path) -> None:
    broken(tmp_path, "pop", ("default = 112", "default = 99"))
    assert StyleLibrary([tmp_path]).get("pop").tempo.default == 99
    assert StyleLibrary().get("pop").tempo.default == 112


def test_reading_every_genre_at_once_gives_the_broken_ones_errors_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    (tmp_path / "polka.toml").write_text("this is not = = toml", encoding="utf-8")
    library = StyleLibrary([tmp_path])
    errors = library.read_all()
    assert [str(error).split(":")[0] for error in errors] == ["polka.toml"]
    assert "not valid TOML" in str(errors[0])
    assert set(library.loaded()) == set(library.names()) - {"polka"}  # read once, kept
    assert library.get("jazz") is library.get("jazz")


def test_threads_that_ask_for_a_genre_at_once_get_one_style() -> None:
    library = StyleLibrary()
    start = threading.Barrier(6)

    def ask() -> object:
        start.wait()
        return library.get("jazz")

    with ThreadPoolExecutor(6) as pool:
        styles = list(pool.map(lambda _: ask(), range(6)))
    assert all(style is styles[0] for style in styles)  # a song's style is compared by identity
