"""The conductor: bars planned ahead, every command on its boundary, songs one after another.

All against the engine's recording twin (``jamd.engine.twin``), which refuses anything sent
inside its lead, so every test also checks that nothing is ever scheduled too late.
"""

import pytest
from band import SR, TICK, MakeBand

from jamd.compose import Part
from jamd.engine.interface import Fader
from jamd.engine.notes import Note
from jamd.live.commands import (
    Boundary,
    CommandError,
    Continue,
    Ending,
    Fill,
    GotoSection,
    NextSection,
    Panic,
    Play,
    Regenerate,
    SetChord,
    SetEnergy,
    SetGenre,
    SetKey,
    SetLevel,
    SetMood,
    SetPatch,
    SetSolo,
    SetTempo,
    SetTone,
    Stop,
)
from jamd.live.conductor import START_SECONDS
from jamd.live.session import Transport

BEAT = SR // 2  # at 120 BPM
LEAD = 1024
GAP = round(START_SECONDS * SR)  # the transport starts this long after the lead
START = LEAD + GAP  # beat 0, when the music starts at sample 0


def test_bars_are_planned_at_least_a_bar_ahead_of_the_clock(make_band: MakeBand) -> None:
    band = make_band()
    bar = 4 * BEAT
    for sample in range(TICK, 40 * SR, 37 * TICK):
        band.run_to(sample)
        last = band.conductor.planned[-1]
        assert band.beat_sample(last.end_beat) >= sample + LEAD + bar


def test_the_music_starts_with_a_count_in_then_plays_the_form(make_band: MakeBand) -> None:
    band = make_band()
    band.run_to(20 * SR)
    start = START
    assert band.onsets("stick")[:4] == [start + beat * BEAT for beat in range(4)]
    assert band.onsets("hat")[:7] == [start + (4 + beat) * BEAT for beat in range(7)]
    assert band.onsets("tom")[0] == start + 11 * BEAT  # the intro's last beat fills
    assert band.onsets("kick")[0] == start + 12 * BEAT
    assert band.session.transport is Transport.PLAYING
    assert band.session.section == "chorus 1"


def test_a_tempo_change_during_beat_n_gives_the_new_beat_length_from_beat_n_plus_1(
    make_band: MakeBand,
) -> None:
    band = make_band()
    band.run_to(band.beat_sample(17.5))  # during beat 17 (0-based), a verse beat
    outcome = band.apply(SetTempo(150.0))
    assert outcome.beat == 18
    band.run_to(band.beat_sample(26))
    kicks = band.onsets("kick")
    beat_17 = kicks.index(START + 17 * BEAT)
    lengths = [b - a for a, b in zip(kicks[beat_17:], kicks[beat_17 + 1 :], strict=False)]
    assert lengths[0] == BEAT  # beat 17 keeps its length
    assert lengths[1:6] == [19200] * 5  # 60 / 150 s from beat 18 on
    assert band.session.tempo == 150.0


def test_a_command_inside_the_engine_lead_lands_on_the_boundary_after(
    make_band: MakeBand,
) -> None:
    band = make_band()
    band.run_to(band.beat_sample(18) - LEAD // 2)  # too close to beat 18 to change it
    assert band.apply(SetTempo(150.0)).beat == 19
    band.run_to(band.beat_sample(24))
    kicks = band.onsets("kick")
    beat_18 = kicks.index(START + 18 * BEAT)
    assert kicks[beat_18 + 1] - kicks[beat_18] == BEAT
    assert kicks[beat_18 + 2] - kicks[beat_18 + 1] == 19200


def test_a_section_jump_lands_on_the_next_bar_line(make_band: MakeBand) -> None:
    band = make_band()
    band.run_to(band.beat_sample(14.2))  # verse, bar 1 of 4 (beats 12..15)
    outcome = band.apply(GotoSection("chorus"))
    next_bar = START + 16 * BEAT
    assert outcome.at == next_bar
    assert "chorus" in outcome.detail
    band.run_to(band.beat_sample(24))
    assert [k for k in band.onsets("kick") if k >= next_bar] == []
    assert band.onsets("snare")[0] == next_bar
    assert band.session.section == "chorus 1"


def test_next_section_fill_and_the_session_bar(make_band: MakeBand) -> None:
    band = make_band()
    band.run_to(band.beat_sample(5))  # intro bar 1
    assert band.apply(NextSection()).at == START + 8 * BEAT  # the verse, at the next bar line
    band.run_to(band.beat_sample(9))
    assert band.session.section == "verse 1"
    assert band.session.bar == 3  # the song's third bar: the intro's first was cut short
    band.apply(Fill())  # at the end of the bar starting on beat 12
    band.run_to(band.beat_sample(17))
    toms = [tom for tom in band.onsets("tom") if tom < START + 20 * BEAT]  # before the verse's own
    assert toms == [START + 15 * BEAT + step * BEAT // 4 for step in range(4)]


def test_genre_changes_at_the_next_section_by_default(make_band: MakeBand) -> None:
    band = make_band()
    band.run_to(band.beat_sample(13))  # verse bar 1 of 4: the chorus starts on beat 28
    outcome = band.apply(SetGenre("hip-hop"))
    assert "next section" in outcome.detail
    assert band.session.pending == ("genre hip-hop",)
    band.run_to(band.beat_sample(27))
    assert band.session.genre == "click"
    band.run_to(band.beat_sample(29))
    assert band.session.genre == "hip-hop"
    assert band.session.pending == ()
    changes = band.engine.transcript.patch_changes()
    assert {at for _, _, at in changes[5:]} == {START + 28 * BEAT}  # the 808 kit and bass
    assert {lane for lane, _, _ in changes[5:]} >= {"drums", "bass"}
    # 120 BPM is outside hip-hop's range: the new genre's song takes its own tempo there
    assert band.session.tempo == 88.0
    assert band.beat_sample(29) - band.beat_sample(28) == round(SR * 60 / 88)


def test_genre_can_change_on_the_next_bar(make_band: MakeBand) -> None:
    band = make_band(genre_change=Boundary.BAR)
    band.run_to(band.beat_sample(13))
    assert band.apply(SetGenre("pop")).at == START + 16 * BEAT
    band.run_to(band.beat_sample(17))
    assert band.session.genre == "pop"


def test_an_unknown_section_or_genre_is_refused_and_changes_nothing(make_band: MakeBand) -> None:
    band = make_band()
    band.run_to(band.beat_sample(13))
    entries = list(band.engine.transcript.entries)
    session = band.session
    with pytest.raises(CommandError, match="did you mean 'chorus'"):
        band.apply(GotoSection("chorsu"))
    with pytest.raises(CommandError, match="unknown genre 'jaz'; did you mean 'jazz'"):
        band.apply(SetGenre("jaz"))
    assert band.engine.transcript.entries == entries
    assert band.session == session


def test_a_song_ends_then_a_count_in_leads_into_a_new_song(make_band: MakeBand) -> None:
    band = make_band(song_seconds=16.0)  # 7 bars: intro 2, verse 4, outro 1
    plan = band.conductor.planned[-1].song.plan
    first = band.session.seed
    band.run_to(START + (4 + plan.total_bars * 4 + 1) * BEAT)
    song_end = START + (4 + plan.total_bars * 4) * BEAT
    sticks = [s for s in band.onsets("stick") if s >= song_end]
    assert sticks == [song_end + beat * BEAT for beat in range(4)]
    assert band.session.song == 2
    assert band.session.seed != first
    assert band.session.section == "count-in"


def test_ending_plays_the_outro_then_stops(make_band: MakeBand) -> None:
    band = make_band()
    band.run_to(band.beat_sample(13))
    outcome = band.apply(Ending())
    assert outcome.at == START + 16 * BEAT
    assert band.session.transport is Transport.ENDING
    band.run_to(band.beat_sample(17))
    assert band.session.section == "outro"
    outro = band.conductor.planned[0].song.plan.sections[-1]
    end = START + (16 + 4 * outro.bars) * BEAT
    band.run_to(end + SR)
    assert band.session.transport is Transport.STOPPED
    assert max(note.start for note in band.notes()) < end
    assert band.conductor.planned == ()


def test_stop_releases_at_once_and_continue_resumes_from_the_next_bar(
    make_band: MakeBand,
) -> None:
    band = make_band()
    band.run_to(band.beat_sample(13.5))
    stopped_at = band.engine.clock + LEAD
    band.apply(Stop())
    assert band.session.transport is Transport.STOPPED
    assert [e.args[0] for e in band.engine.transcript.of("release")] == [stopped_at]
    band.run_to(band.engine.clock + 3 * SR)
    assert all(note.start < stopped_at for note in band.notes())
    resume = band.engine.clock + LEAD + GAP
    band.apply(Continue())
    band.run_to(resume + 4 * BEAT)
    assert band.session.section == "verse 1"
    assert band.session.bar == 5  # bar 4 (the verse's second) was cut; bar 5 resumes
    kicks = [kick for kick in band.onsets("kick") if kick >= resume]
    assert kicks[:4] == [resume + beat * BEAT for beat in range(4)]


def test_play_while_playing_restarts_the_song_at_the_next_bar(make_band: MakeBand) -> None:
    band = make_band()
    band.run_to(band.beat_sample(13))
    assert band.apply(Play()).at == START + 16 * BEAT
    band.run_to(band.beat_sample(17))
    assert band.session.section == "intro"
    assert band.session.bar == 1


def test_commands_given_while_stopped_wait_for_the_music(make_band: MakeBand) -> None:
    band = make_band(autoplay=False)
    band.run_to(SR)
    assert band.engine.transcript.of("schedule") == []
    band.apply(SetTempo(100.0))
    band.apply(GotoSection("chorus"))
    start = band.engine.clock + LEAD + GAP
    band.apply(Continue())
    band.run_to(start + 2 * SR)
    assert band.session.section == "chorus 1"
    assert band.onsets("snare")[:2] == [start, start + round(SR * 60 / 100)]


def test_a_new_key_replans_the_chords_from_the_next_bar(make_band: MakeBand) -> None:
    band = make_band("pop", key="C")
    band.run_to(band.beat_sample(13))
    band.apply(SetKey.parse("Eb"))
    band.run_to(band.beat_sample(17))
    assert band.session.key == "Eb major"
    bar = band.conductor.planned[0]
    assert bar.start_beat == 16
    bass = [n.pitch % 12 for n in band.notes("bass") if n.start >= START + 16 * BEAT]
    eb_major = {3, 5, 7, 8, 10, 0, 2}
    assert set(bass) <= eb_major | {1, 6}  # approach notes may be chromatic, not much else
    assert band.session.chord.startswith(("Eb", "Ab", "Bb", "Cm", "Fm", "Gm", "Db"))


def test_a_held_chord_plays_until_released(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(13))
    band.apply(SetChord("Dm7"))
    band.run_to(band.beat_sample(17))
    held = [bar.chord for bar in band.conductor.planned]
    assert held == ["Dm7"] * len(held)
    keys = {n.pitch % 12 for n in band.notes("keys") if n.start >= START + 16 * BEAT}
    assert keys <= {2, 5, 9, 0, 4}  # D F A C (and the ninth a coloured voicing may add)
    band.apply(SetChord(None))
    band.run_to(band.beat_sample(25))
    assert band.session.chord != "Dm7" or band.conductor.planned[-1].chord != "Dm7"
    assert band.session.chord_hold is None


D_MINOR_7 = {2, 5, 9, 0, 4}  # D F A C (and the ninth a coloured voicing may add)


def _heard(notes: list[Note], before: int) -> list[tuple[str, int, int, float]]:
    """The notes started before sample ``before``, cut there (as a release there cuts them)."""
    return [(n.track, n.start, min(n.end, before), n.pitch) for n in notes if n.start < before]


def test_a_chord_on_the_beat_lands_on_the_next_beat_inside_the_bar(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(36.5))  # a verse bar (beats 36..39) on Am
    planned = band.engine.transcript.notes()
    outcome = band.apply(SetChord("Dm7", Boundary.BEAT))
    beat = START + 37 * BEAT
    assert (outcome.at, outcome.bar, outcome.beat) == (beat, 9, 37)
    assert outcome.detail == "chord Dm7 on beat 2 of bar 10 (verse)"
    band.run_to(beat - 1)
    assert (band.session.chord, band.session.bar) == ("Am", 9)
    band.run_to(beat)
    assert (band.session.chord, band.session.bar) == ("Dm7", 9)  # the bar keeps its number
    band.run_to(band.beat_sample(44))
    played = band.engine.transcript.notes()
    assert _heard(played, beat) == _heard(planned, beat)  # what was heard stays as it was
    bar_end = START + 40 * BEAT
    pitched = [n for n in played if beat <= n.start < bar_end and n.track in ("bass", "keys")]
    assert {n.pitch % 12 for n in pitched} <= D_MINOR_7
    # the bass and keys held across the beat strike the new chord on it, for what is left
    struck = [n for n in pitched if n.start == beat]
    assert {n.track for n in struck} == {"bass", "keys"}
    assert {n.end for n in struck if n.track == "keys"} == {START + 38 * BEAT}
    drums = [(n.start, n.pitch) for n in planned if n.track == "drums" and beat <= n.start]
    assert [(n.start, n.pitch) for n in band.notes() if beat <= n.start < bar_end] == [
        hit for hit in drums if hit[0] < bar_end
    ]  # the drums go on as planned: no hit struck again on the beat
    assert {n.pitch % 12 for n in band.notes("keys") if n.start >= bar_end} <= D_MINOR_7
    numbers = [bar.number for bar in band.conductor.planned]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert {bar.chord for bar in band.conductor.planned} == {"Dm7"}


def test_a_chord_on_the_bar_leaves_the_rest_of_the_bar_as_planned(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(36.5))
    planned = band.engine.transcript.notes()
    bar_line = START + 40 * BEAT
    outcome = band.apply(SetChord("Dm7"))
    assert (outcome.at, outcome.bar, outcome.beat) == (bar_line, 10, 40)
    band.run_to(bar_line - 1)
    assert band.session.chord == "Am"
    band.run_to(band.beat_sample(44))
    assert band.session.chord == "Dm7"
    played = band.engine.transcript.notes()
    assert _heard(played, bar_line) == _heard(planned, bar_line)
    keys = [n for n in played if n.track == "keys" and n.start >= bar_line]
    assert keys
    assert {n.pitch % 12 for n in keys} <= D_MINOR_7


def test_a_chord_on_the_beat_that_is_a_bar_line_is_the_bar_s_change(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(39.5))
    outcome = band.apply(SetChord("Dm7", Boundary.BEAT))
    assert (outcome.at, outcome.bar, outcome.beat) == (START + 40 * BEAT, 10, 40)
    assert all(bar.chord_changes == () for bar in band.conductor.planned)


def test_chords_on_successive_beats_each_show_from_their_own_beat(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(36.5))
    band.apply(SetChord("Dm7", Boundary.BEAT))  # beat 37
    band.run_to(band.beat_sample(37.5))
    band.apply(SetChord("G7", Boundary.BEAT))  # beat 38
    band.run_to(band.beat_sample(38.5))
    assert band.session.chord == "G7"
    band.apply(SetChord(None, Boundary.BEAT))  # beat 39: the song's own again
    band.run_to(band.beat_sample(39.5))
    assert (band.session.chord, band.session.chord_hold) == ("Am", None)
    bar = next(bar for bar in band.conductor.planned if bar.number == 9)
    assert bar.chord_changes == ((37.0, "Dm7"), (38.0, "G7"), (39.0, "Am"))
    assert [bar.chord_at(beat) for beat in (36, 37, 38, 39)] == ["Am", "Dm7", "G7", "Am"]
    g7 = {7, 11, 2, 5}
    keys = [n for n in band.notes("keys") if START + 38 * BEAT <= n.start < START + 39 * BEAT]
    assert keys
    assert {n.pitch % 12 for n in keys} <= g7


def test_a_chord_on_the_beat_while_stopped_waits_for_the_music(make_band: MakeBand) -> None:
    band = make_band("pop", autoplay=False)
    band.run_to(SR)
    outcome = band.apply(SetChord("ii7", Boundary.BEAT))
    assert outcome.detail == "chord Dm7 when the music starts"
    assert band.engine.transcript.of("schedule") == []
    band.apply(Play())
    band.run_to(band.engine.clock + 3 * SR)
    assert {bar.chord for bar in band.conductor.planned if bar.song_bar is not None} == {"Dm7"}


def test_energy_replans_from_the_next_bar_and_keeps_the_instruments(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(13))
    before = dict(band.conductor.planned[-1].song.patches)
    band.apply(SetEnergy(1.0))
    band.run_to(band.beat_sample(21))
    after = band.conductor.planned[-1].song
    assert dict(after.patches) == before
    assert after.plan.params.energy == 1.0
    assert band.session.energy == 1.0


def test_regenerate_starts_a_new_song_at_the_same_kind_of_section(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(20))
    kind = band.conductor.planned[0].song.plan.section_at(band.session.bar - 1).kind
    band.apply(Regenerate(seed=77))
    band.run_to(band.beat_sample(29))
    assert band.session.seed == 77
    assert band.session.song == 2
    song = band.conductor.planned[0].song
    assert song.plan.section_at(band.session.bar - 1).kind is kind


def test_the_mixer_moves_at_once_and_solo_mutes_the_other_parts(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(SR)
    band.apply(SetLevel("bass", -6.0))
    assert band.engine.faders["bass"] == Fader(level_db=-6.0)
    band.apply(SetSolo("keys", True))
    muted = {part for part, fader in band.engine.faders.items() if fader.muted}
    assert muted == {"drums", "bass", "pad", "lead"}
    band.apply(SetTone("lead", 1.0))
    assert band.engine.tones["lead"] == 4.0  # two octaves brighter
    band.apply(SetMood(0.0))
    assert band.engine.tilt == -6.0


def test_panic_releases_the_held_notes_and_the_music_goes_on(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(13.5))
    at = band.engine.clock + LEAD
    band.apply(Panic())
    band.run_to(band.beat_sample(20))
    assert at in [entry.args[0] for entry in band.engine.transcript.of("release")]
    assert all(note.end <= at for note in band.notes("pad") if note.start < at)
    assert any(note.start >= at for note in band.notes("drums"))


def test_the_same_commands_at_the_same_times_give_the_same_transcript(
    make_band: MakeBand,
) -> None:
    def perform() -> list[tuple[str, int, int, float]]:
        band = make_band("jazz", key="Bb", tempo=132.0, seed=11)
        for beat, command in [
            (6.3, SetTempo(120.0)),
            (9.1, NextSection()),
            (14.7, SetChord("ii7")),
            (19.2, Fill()),
            (22.4, SetChord("V7", Boundary.BEAT)),
            (25.5, Regenerate(seed=5)),
        ]:
            band.run_to(band.beat_sample(beat))
            band.apply(command)
        band.run_to(band.beat_sample(40))
        return [(n.track, n.start, n.end, n.pitch) for n in band.engine.transcript.notes()]

    assert perform() == perform()


def test_a_patch_change_lands_on_the_next_bar_and_holds_in_the_next_songs(
    make_band: MakeBand,
) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(13))
    first = band.session.patches["bass"]
    outcome = band.apply(SetPatch("bass", "upright"))
    assert outcome.at == START + 16 * BEAT
    assert band.session.mixer["bass"].patch == "bass/upright"
    band.run_to(band.beat_sample(17))
    assert band.session.patches["bass"] == "bass/upright"
    upright = band.conductor.patch_library.load("bass/upright")
    bass = [(patch, at) for lane, patch, at in band.engine.transcript.patch_changes()
            if lane == "bass"]  # fmt: skip
    assert bass[-1] == (upright, START + 16 * BEAT)
    band.apply(Regenerate(seed=99))  # a new song keeps the performer's choice
    band.run_to(band.beat_sample(25))
    assert band.session.seed == 99
    assert band.session.patches["bass"] == "bass/upright"
    band.apply(SetPatch("bass", None))  # back to what the genre chose for this song
    band.run_to(band.beat_sample(33))
    assert band.session.mixer["bass"].patch is None
    assert band.session.patches["bass"] == band.conductor.planned[-1].song.arrangement.patch(
        Part.BASS
    )
    assert first.startswith("bass/")


def test_a_patch_that_is_not_there_is_refused_and_changes_nothing(make_band: MakeBand) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(13))
    entries = list(band.engine.transcript.entries)
    session = band.session
    with pytest.raises(CommandError, match=r"no such patch; known patches: bass/808, bass/fin"):
        band.apply(SetPatch("bass", "tuba"))
    assert band.engine.transcript.entries == entries
    assert band.session == session
    with pytest.raises(CommandError, match="the bass part plays bass patches"):
        SetPatch("bass", "keys/piano")


def test_changes_made_while_stopped_play_from_the_top_too(make_band: MakeBand) -> None:
    band = make_band("pop", autoplay=False)
    band.run_to(SR)
    band.apply(SetKey.parse("Eb"))
    band.apply(SetPatch("keys", "organ"))
    band.apply(SetChord("ii7"))
    band.apply(Play())
    band.run_to(band.engine.clock + 3 * SR)
    assert band.session.key == "Eb major"
    assert band.conductor.planned[-1].song.plan.key.name == "Eb major"
    assert band.session.patches["keys"] == "keys/organ"
    assert {bar.chord for bar in band.conductor.planned if bar.song_bar is not None} == {"Fm7"}


def test_a_chorus_plays_its_own_pad_from_its_first_bar_and_the_outro_takes_the_songs_back(
    make_band: MakeBand,
) -> None:
    band = make_band("pop")  # pop: a warm pad in quiet sections, strings in the choruses
    song = band.conductor.planned[0].song
    plan = song.plan
    assert song.arrangement.patch(Part.PAD) == "pad/warm"
    sections = {s.label: s for s in plan.sections}
    count_in = band.conductor.settings.count_in_bars * plan.beats_per_bar

    def bar_sample(bar: int) -> int:
        return band.beat_sample(count_in + plan.bar_start(bar))

    band.run_to(bar_sample(sections["outro"].start_bar) + 1)
    pad = [(p.name, at) for lane, p, at in band.engine.transcript.patch_changes() if lane == "pad"]
    library = band.conductor.patch_library
    warm, strings = library.load("pad/warm").name, library.load("pad/strings").name
    assert pad[-2:] == [  # chorus 2 goes on with the strings: no change there
        (strings, bar_sample(sections["chorus 1"].start_bar)),
        (warm, bar_sample(sections["outro"].start_bar)),
    ]


def test_a_part_the_performer_holds_keeps_its_patch_through_the_sections(
    make_band: MakeBand,
) -> None:
    band = make_band("pop")
    plan = band.conductor.planned[0].song.plan
    chorus = next(s for s in plan.sections if s.label == "chorus 1")
    count_in = band.conductor.settings.count_in_bars * plan.beats_per_bar
    band.run_to(band.beat_sample(count_in + 4))
    held = band.apply(SetPatch("pad", "warm"))
    band.run_to(band.beat_sample(count_in + plan.bar_start(chorus.start_bar + chorus.bars) + 1))
    changes = [at for lane, _, at in band.engine.transcript.patch_changes() if lane == "pad"]
    assert all(at <= held.at for at in changes)
    assert band.conductor.planned[-1].song.arrangement.patches_in(2)[Part.PAD] == "pad/warm"
