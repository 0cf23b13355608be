"""Control rings: voice allocation, envelopes and hits written at exact samples (numpy only)."""

import numpy as np
import pytest

from jamd.engine.control import EnvelopeShape, HitScheduler, VoiceScheduler, ring_spans
from jamd.engine.notes import Note

RING = 4096


def rings(count: int) -> list[np.ndarray]:
    return [np.zeros(RING, dtype=np.float32) for _ in range(count)]


def shape(
    attack: float = 48, decay: float = 4800, sustain: float = 0.5, release: float = 480
) -> EnvelopeShape:
    return EnvelopeShape(
        attack=attack, decay=decay, sustain=sustain, release=release, velocity_curve=1.0
    )


def unwrap(ring: np.ndarray, start: int, stop: int) -> np.ndarray:
    return np.concatenate([ring[lo:hi] for lo, hi, _ in ring_spans(start, stop, len(ring))])


def test_ring_spans_split_at_the_wrap() -> None:
    assert list(ring_spans(4000, 4200, RING)) == [(4000, 4096, 4000), (0, 104, 4096)]
    assert list(ring_spans(10, 10, RING)) == []


def test_envelope_starts_on_its_onset_sample_and_ends_at_zero() -> None:
    envelope = shape()
    levels = envelope.levels(0, 2000, gate=1000, start_level=0.0)
    assert levels[0] > 0.0  # the onset sample itself already sounds
    assert levels[47] == pytest.approx(1.0)  # the attack peaks at its last sample
    assert np.all(np.diff(levels[:48]) > 0)
    assert levels[999] > levels[1001] > 0.0  # release falls from where the decay left it
    assert envelope.levels(1000 + 480, 1000 + 490, gate=1000, start_level=0.0) == pytest.approx(0.0)


def test_envelope_is_the_same_whether_rendered_at_once_or_in_pieces() -> None:
    envelope = shape(decay=300, release=200)
    whole = envelope.levels(0, 1500, gate=700, start_level=0.2)
    pieces = np.concatenate(
        [envelope.levels(a, a + 100, gate=700, start_level=0.2) for a in range(0, 1500, 100)]
    )
    np.testing.assert_allclose(whole, pieces)


def test_a_note_is_written_from_its_exact_start_sample_across_the_ring_wrap() -> None:
    frequency, amplitude = rings(1), rings(1)
    scheduler = VoiceScheduler(shape(), frequency_rings=frequency, amplitude_rings=amplitude)
    scheduler.add(Note("keys", start=4090, end=4200, pitch=69, velocity=1.0))
    scheduler.render(4000, 4400)
    written = unwrap(amplitude[0], 4000, 4400)
    assert np.count_nonzero(written[:90]) == 0
    assert written[90] > 0
    assert unwrap(frequency[0], 4090, 4200) == pytest.approx(440.0)


def test_chords_take_separate_voices_and_overflow_steals_the_oldest() -> None:
    scheduler = VoiceScheduler(shape(), frequency_rings=rings(3), amplitude_rings=rings(3))
    for pitch in (60, 64, 67):
        scheduler.add(Note("keys", 0, 1000, pitch, 0.8))
    assert scheduler.stolen == 0
    scheduler.add(Note("keys", 500, 1500, 72, 0.8))
    assert scheduler.stolen == 1


def test_a_re_struck_key_reuses_its_voice() -> None:
    amplitude = rings(2)
    scheduler = VoiceScheduler(shape(), frequency_rings=rings(2), amplitude_rings=amplitude)
    scheduler.add(Note("keys", 0, 300, 60, 0.8))
    scheduler.add(Note("keys", 400, 700, 60, 0.8))  # still in its release at 400
    scheduler.render(0, 2000)
    assert np.count_nonzero(amplitude[1]) == 0


def test_mono_legato_glides_without_retriggering() -> None:
    frequency, amplitude = rings(1), rings(1)
    scheduler = VoiceScheduler(
        shape(attack=10, sustain=1.0),
        frequency_rings=frequency,
        amplitude_rings=amplitude,
        glide=100,
        mono=True,
    )
    scheduler.add(Note("bass", 0, 1000, 57, 1.0))  # A3, 220 Hz
    scheduler.add(Note("bass", 900, 2000, 69, 1.0))  # overlaps: legato up an octave to 440 Hz
    scheduler.render(0, 2000)
    assert frequency[0][899] == pytest.approx(220.0)
    assert 220.0 < frequency[0][950] < 440.0
    assert frequency[0][1000] == pytest.approx(440.0)
    assert np.min(amplitude[0][880:1000]) > 0.9  # no dip to zero at the joint


def test_release_all_cuts_held_notes_and_drops_future_ones() -> None:
    amplitude = rings(2)
    scheduler = VoiceScheduler(
        shape(release=100), frequency_rings=rings(2), amplitude_rings=amplitude
    )
    scheduler.add(Note("pad", 0, 4000, 60, 1.0))
    scheduler.add(Note("pad", 3000, 3500, 64, 1.0))
    scheduler.release_all(1000)
    scheduler.render(0, 4000)
    assert np.count_nonzero(amplitude[0][1101:]) == 0
    assert np.count_nonzero(amplitude[1]) == 0


def test_a_hand_over_fades_held_notes_in_the_fade_and_says_what_they_were() -> None:
    amplitude = rings(3)
    scheduler = VoiceScheduler(
        shape(release=2000), frequency_rings=rings(3), amplitude_rings=amplitude
    )
    scheduler.add(Note("pad", 0, 3000, 60, 0.9))
    scheduler.add(Note("pad", 0, 800, 64, 0.7))  # let go before the change: releases as ever
    scheduler.add(Note("pad", 1500, 3500, 67, 0.5))  # starts after: not the old patch's
    assert scheduler.hand_over(1000, fade=100) == [(60, 0.9, 3000)]
    scheduler.render(0, RING)
    assert amplitude[0][1099] > 0
    assert np.count_nonzero(amplitude[0][1100:]) == 0  # 100 samples, not the 2000 of release
    assert amplitude[1][2700] > 0  # 800 + its whole release


def test_a_retract_before_a_hand_over_gives_the_held_notes_back() -> None:
    held = Note("keys", 0, 3000, 60, 0.8)
    amplitude = rings(1)
    scheduler = VoiceScheduler(
        shape(release=100), frequency_rings=rings(1), amplitude_rings=amplitude
    )
    scheduler.add(held)
    scheduler.render(0, 900)
    scheduler.hand_over(1500, fade=50)
    scheduler.retract(1200)  # the patch change is called off
    scheduler.render(900, RING)
    np.testing.assert_array_equal(np.stack(amplitude), render_voices([held], voices=1))


def stereo_click(length: int = 50) -> np.ndarray:
    return np.ones((2, length), dtype=np.float32)


def test_hits_are_mixed_at_their_onset_sample_with_their_velocity() -> None:
    left_right = rings(2)
    hits = HitScheduler.kit([stereo_click()], [(36,)], [None], rings=left_right, velocity_curve=1.0)
    hits.add(Note("drums", 4090, 4091, 36, 0.5))
    hits.add(Note("drums", 4100, 4101, 36, 1.0))
    hits.add(Note("drums", 4100, 4101, 99, 1.0))  # no piece plays 99: counted, ignored
    hits.render(4000, 4300)
    left = unwrap(left_right[0], 4000, 4300)
    assert np.flatnonzero(left)[0] == 90
    assert left[90] == pytest.approx(0.5)
    assert left[100] == pytest.approx(1.5)  # overlapping hits add
    assert hits.unmapped == 1


def test_a_choke_group_fades_the_open_hat_out_when_the_closed_one_hits() -> None:
    left_right = rings(2)
    samples = [stereo_click(1000), stereo_click(10)]
    hits = HitScheduler.kit(
        samples, [(46,), (42,)], ["hat", "hat"], rings=left_right, velocity_curve=1.0
    )
    hits.add(Note("drums", 0, 1, 46, 1.0))
    hits.add(Note("drums", 500, 501, 42, 1.0))
    hits.render(0, 1200)
    left = left_right[0]
    assert left[499] == pytest.approx(1.0)
    assert left[500] == pytest.approx(2.0)  # the closed hat starts, the open one starts fading
    assert left[520] < 2.0
    assert np.count_nonzero(left[500 + HitScheduler.CHOKE_SAMPLES :]) == 0


def test_vibrato_wobbles_the_frequency_around_the_note_with_one_phase_for_all_windows() -> None:
    frequency = rings(1)
    depth = 2.0 ** (50 / 1200.0) - 1.0  # 50 cents
    scheduler = VoiceScheduler(
        shape(), frequency_rings=frequency, amplitude_rings=rings(1),
        vibrato_rate=5.0 / 48000, vibrato_depth=depth,
    )  # fmt: skip
    scheduler.add(Note("lead", 0, 4000, 69, 1.0))
    scheduler.render(0, 1000)
    scheduler.render(1000, 4000)
    expected = 440.0 * (1.0 + depth * np.sin(2 * np.pi * 5.0 * np.arange(4000) / 48000))
    np.testing.assert_allclose(frequency[0][:4000], expected, rtol=1e-6)


def test_releasing_a_kit_drops_hits_not_yet_struck_and_lets_struck_ones_ring() -> None:
    left_right = rings(2)
    hits = HitScheduler.kit(
        [stereo_click(300)], [(36,)], [None], rings=left_right, velocity_curve=1.0
    )
    hits.add(Note("drums", 0, 1, 36, 1.0))
    hits.add(Note("drums", 1000, 1001, 36, 1.0))
    hits.release_all(500)
    hits.render(0, 2000)
    assert np.count_nonzero(left_right[0][:300]) == 300
    assert np.count_nonzero(left_right[0][300:]) == 0


def render_voices(
    notes: list[Note], *, voices: int = 2, retract_at: int | None = None, then: list[Note] = ()
) -> np.ndarray:
    """The rings after writing past ``retract_at``, retracting there, adding ``then`` and writing
    again from there, as the live engine does when a command replans the future."""
    amplitude = rings(voices)
    scheduler = VoiceScheduler(
        shape(release=100), frequency_rings=rings(voices), amplitude_rings=amplitude
    )
    for note in notes:
        scheduler.add(note)
    if retract_at is None:
        scheduler.render(0, RING)
        return np.stack(amplitude)
    scheduler.render(0, retract_at + 500)
    scheduler.retract(retract_at)
    for note in then:
        scheduler.add(note)
    scheduler.render(retract_at, RING)
    return np.stack(amplitude)


def test_retracting_the_future_leaves_the_rings_as_if_it_had_never_been_planned() -> None:
    held = Note("keys", 0, 3000, 60, 0.8)
    replaced = [Note("keys", 2000, 2500, 64, 0.8), Note("keys", 2000, 2500, 67, 0.8)]
    replacement = [Note("keys", 2000, 2600, 62, 0.8)]
    retracted = render_voices([held, *replaced], retract_at=2000, then=replacement)
    planned_once = render_voices([held, *replacement])
    np.testing.assert_array_equal(retracted, planned_once)


def test_a_retracted_note_gives_back_the_voice_it_stole() -> None:
    """The stolen note's tail returns: it sounds through its own release, not cut at 2000."""
    held = Note("keys", 0, 3000, 60, 0.8)
    thief = Note("keys", 2000, 2500, 72, 0.8)
    restored = render_voices([held, thief], voices=1, retract_at=2000)
    never_stolen = render_voices([held], voices=1)
    np.testing.assert_array_equal(restored, never_stolen)
    assert restored[0][2999] > 0
    assert restored[0][3100] == 0


def test_retracting_hits_restores_what_they_choked() -> None:
    left_right = rings(2)
    samples = [stereo_click(1000), stereo_click(10)]
    hits = HitScheduler.kit(
        samples, [(46,), (42,)], ["hat", "hat"], rings=left_right, velocity_curve=1.0
    )
    hits.add(Note("drums", 0, 1, 46, 1.0))
    hits.add(Note("drums", 500, 501, 42, 1.0))
    hits.render(0, 1200)
    hits.retract(500)
    hits.render(400, 1200)
    assert np.count_nonzero(left_right[0][:1000]) == 1000  # the open hat rings its whole length
    assert left_right[0][500] == pytest.approx(1.0)  # and the closed one is gone


def test_silencing_played_samples_leaves_zeros_for_a_writer_that_falls_behind() -> None:
    amplitude = rings(1)
    scheduler = VoiceScheduler(shape(), frequency_rings=rings(1), amplitude_rings=amplitude)
    scheduler.add(Note("pad", 0, RING * 2, 60, 1.0))
    scheduler.render(0, 1000)
    scheduler.silence(0, 600)
    assert np.count_nonzero(amplitude[0][:600]) == 0
    assert np.count_nonzero(amplitude[0][600:1000]) == 400
    left_right = rings(2)
    hits = HitScheduler.kit([stereo_click(900)], [(36,)], [None], rings=left_right)
    hits.add(Note("drums", 0, 1, 36, 1.0))
    hits.render(0, 1000)
    hits.silence(0, 600)
    assert np.count_nonzero(left_right[1][:600]) == 0 < np.count_nonzero(left_right[1][600:])


def test_silent_from_says_when_a_scheduler_has_nothing_left_to_play() -> None:
    scheduler = VoiceScheduler(
        shape(release=100), frequency_rings=rings(1), amplitude_rings=rings(1)
    )
    scheduler.add(Note("keys", 0, 500, 60, 1.0))
    scheduler.render(0, 1000)
    assert not scheduler.silent_from(550)
    assert scheduler.silent_from(600)
    hits = HitScheduler.kit([stereo_click(300)], [(36,)], [None], rings=rings(2))
    hits.add(Note("drums", 100, 101, 36, 1.0))
    hits.render(0, 1000)
    assert not hits.silent_from(399)
    assert hits.silent_from(400)


def test_a_rendered_note_is_handed_over_in_the_fade_and_given_back_on_a_retract() -> None:
    ring = rings(1)
    tone = np.ones((1, 3000), dtype=np.float32)
    hits = HitScheduler(lambda pitch, velocity: tone, rings=ring, voices=4, release=2000, cut=5)
    hits.add(Note("keys", 0, 2500, 60, 0.5))
    assert hits.hand_over(1000, fade=100) == [(60, 0.5, 2500)]
    hits.render(0, RING)
    assert ring[0][1099] > 0
    assert np.count_nonzero(ring[0][1100:]) == 0  # 100 samples, not the release's 2000
    hits.retract(800)  # the change is called off: the note rings to its own key-up
    hits.render(800, RING)
    assert ring[0][2400] > 0
    drums = HitScheduler.kit([stereo_click()], [(36,)], [None], rings=rings(2))
    drums.add(Note("drums", 0, 10, 36, 1.0))
    assert drums.hand_over(5, fade=100) == []  # a hit rings out
