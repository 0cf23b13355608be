"""What the conductor gives a band (docs/band.md): each member plays only its parts, a shared
command lands from the moment the band gave it, a peer's song planned from its description is
the song the peer plays, a member that joins mid-bar plays what is still to come in the bar."""

from dataclasses import replace

from band import SR, MakeBand

from jamd.band.wire import Song, heard
from jamd.compose import Part
from jamd.live.commands import NextSection, SetEnergy, SetKey, SetPatch
from jamd.live.conductor import Cursor

BEAT = SR // 2  # 120 BPM


def test_a_member_plays_only_its_parts(make_band: MakeBand) -> None:
    whole = make_band("pop")
    member = make_band("pop", parts=frozenset({"drums", "bass"}))
    for band in (whole, member):
        band.run_to(band.beat_sample(24))
    every = {note.track for note in whole.engine.transcript.notes()}
    assert {"drums", "bass", "keys"} <= every  # the whole band has more to leave out
    assert {note.track for note in member.engine.transcript.notes()} == {"drums", "bass"}
    # and its drums and bass are the whole band's, note for note
    for part in ("drums", "bass"):
        assert member.notes(part) == whole.notes(part)


def test_a_shared_command_lands_on_the_first_boundary_after_the_moment_given(
    make_band: MakeBand,
) -> None:
    band = make_band()
    band.run_to(band.beat_sample(13))
    soonest = band.conductor.apply(NextSection(), band.engine.clock)
    other = make_band()
    other.run_to(other.beat_sample(13))
    later = other.conductor.apply(
        NextSection(), other.engine.clock, earliest=soonest.at + 1
    )  # just past the bar line the engine could still take
    assert soonest.bar is not None
    assert later.bar == soonest.bar + 1
    for each in (band, other):
        each.run_to(soonest.at + BEAT)
    labels = {b.number: b.label for b in band.conductor.planned}
    others = {b.number: b.label for b in other.conductor.planned}
    assert labels[soonest.bar] == others[later.bar] == "chorus 1"
    assert others[soonest.bar] != "chorus 1"  # the bar before it: as it was
    assert (
        other.conductor.start_sample(
            next(b for b in other.conductor.planned if b.number == later.bar)
        )
        == soonest.at + 4 * BEAT
    )


def test_a_peer_s_song_planned_from_its_description_is_the_same_song(
    make_band: MakeBand,
) -> None:
    band = make_band("pop")
    band.run_to(band.beat_sample(9))
    for command in (SetEnergy(0.9), SetKey.parse("A minor"), SetPatch("keys", "organ")):
        band.apply(command)
        band.run_to(band.engine.clock + 4 * BEAT)
    peer = make_band("pop", seed=99)  # another member, playing another song until told
    for bar in band.conductor.planned:
        cursor = bar.before
        song = Song.of(cursor)
        again = peer.conductor.band_song(song.params(), song.patches, frozenset(song.held))
        theirs = Cursor(again, cursor.bar, hold=cursor.hold, stop_after_song=cursor.stop_after_song)
        assert heard(theirs) == heard(cursor)
        assert again.plan.chords == cursor.song.plan.chords
        assert again.arrangement == cursor.song.arrangement
    assert Part.KEYS in again.held
    # and a different song is heard as different
    other = peer.conductor.band_song(replace(song.params(), seed=5), song.patches, frozenset())
    assert heard(Cursor(other, 0)) != heard(Cursor(again, 0))


def test_advancing_past_the_last_bar_goes_into_the_next_song_s_count_in(
    make_band: MakeBand,
) -> None:
    band = make_band()
    cursor = band.conductor.planned[0].before
    total = cursor.song.plan.total_bars
    last = band.conductor.advance(replace(cursor, bar=0), total - 1)
    assert last is not None
    assert last.bar == total - 1
    assert last.song is cursor.song
    following = band.conductor.advance(last, 1)
    assert following is not None
    assert following.bar == -band.conductor.settings.count_in_bars
    assert following.song.seed != cursor.song.seed
    assert band.conductor.advance(following, 1) == replace(following, bar=0)


def test_a_member_that_joins_mid_bar_plays_what_is_still_to_come_in_it(
    make_band: MakeBand,
) -> None:
    whole = make_band("pop")
    whole.run_to(whole.beat_sample(40))
    joined = make_band("pop", autoplay=False)
    start = whole.beat_sample(8)  # song bar 2 (after a one-bar count-in) starts here
    cursor = Cursor(whole.conductor.planned[0].song, 1)
    joined.engine.clock = start + 2 * BEAT + 100  # beat 3 of that bar
    joined.conductor.place(cursor, start, joined.engine.clock)
    joined.run_to(start + 12 * BEAT)
    soonest = start + 2 * BEAT + 100 + joined.engine.lead
    notes = joined.engine.transcript.notes()
    assert notes
    assert min(note.start for note in notes) >= soonest
    # the drums of the rest of the bar, and every note of the bars after, are the band's
    for part in ("drums", "bass"):
        expected = [n for n in whole.notes(part) if soonest <= n.start < start + 12 * BEAT]
        got = [n for n in joined.notes(part) if soonest < n.start < start + 12 * BEAT]
        assert got == [n for n in expected if n.start > soonest]
    # what was held across the moment it joined is struck then, not lost
    held = [
        n
        for n in whole.engine.transcript.notes()
        if n.track != "drums" and n.start < soonest < n.end and n.start >= start
    ]
    struck = [n for n in notes if n.start == soonest]
    assert len(struck) == len(held) > 0
