"""Synthesise jamd's sample sets (CC0, made by jamd): today ``grand/``, a felt grand piano.

Run from the repository root with the project's interpreter:

    .venv/bin/python patches/samples/generate.py  [--out FOLDER]

It rewrites every file of the set, byte for byte the same each time (seeded), so the WAVs in
the repository can always be remade and checked.

A piano note here is a sum of string partials: stretched (inharmonic, f_n = n f0 sqrt(1 + B n^2),
B rising up the keyboard), two or three strings per note a cent or less apart (they beat), each
partial falling in two stages (a fast prompt sound, then a slow aftersound; the overtones die
sooner), the spectrum set by the hammer (where it strikes and how hard: the soft layer is
darker), plus the hammer's felt thump and noise in the first milliseconds.
"""

import argparse
import wave
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 48000
ROOTS = {"E1": 28, "C2": 36, "G2": 43, "D3": 50, "A3": 57, "E4": 64, "C5": 72, "A5": 81}
LAYERS = {1: 0.35, 2: 1.0}  # velocity layer (file suffix _v1, _v2) -> hammer velocity
PEAK = 0.89  # -1 dBFS
HIGHEST_PARTIAL_HZ = 11000.0  # zones shift up to 4 semitones: still under 14 kHz
STRIKE_POINT = 1 / 7.5  # the hammer strikes the string a seventh or so along it
FOLDER = Path(__file__).resolve().parent / "grand"

Samples = npt.NDArray[np.float64]


def note(midi: int, velocity: float, rng: np.random.Generator) -> Samples:
    """One recording: ``midi`` struck with hammer ``velocity`` (0..1), peak-normalised."""
    f0 = 440.0 * 2.0 ** ((midi - 69) / 12)
    register = (midi - 28) / (81 - 28)  # 0 at the lowest root, 1 at the highest
    seconds = 2.2 - 1.0 * register
    t = np.arange(int(seconds * RATE)) / RATE
    inharmonicity = float(np.clip(1e-4 * 2.0 ** ((midi - 40) / 12), 5e-5, 5e-3))
    aftersound = 7.0 * 0.3**register  # seconds: the slow decay of the fundamental
    strings = 1 if midi < 34 else 2 if midi < 48 else 3
    detune = rng.uniform(-0.8, 0.8, strings)  # cents
    detune -= detune.mean()
    tilt = 1.7 - 0.9 * velocity  # harder: flatter spectrum (brighter)
    corner = 900.0 + 4500.0 * velocity**1.5  # the felt's low-pass, in Hz
    sound = np.zeros(len(t))
    n = 1
    while True:
        frequency = n * f0 * np.sqrt(1.0 + inharmonicity * n * n)
        if frequency > HIGHEST_PARTIAL_HZ or n > 80:
            break
        level = (0.04 + abs(np.sin(np.pi * n * STRIKE_POINT))) / n**tilt
        level /= 1.0 + (frequency / corner) ** 2
        slow = aftersound / (1.0 + frequency / 900.0)
        fast = 0.12 * slow
        envelope = 0.65 * np.exp(-t / fast) + 0.35 * np.exp(-t / slow)
        for cents in detune:
            phase = rng.uniform(0.0, 2.0 * np.pi)
            partial = np.sin(2.0 * np.pi * frequency * 2.0 ** (cents / 1200) * t + phase)
            sound += (level / strings) * envelope * partial
        n += 1
    attack = 1.0 - np.exp(-(t + 1.0 / RATE) / (0.0025 - 0.0015 * velocity))
    sound *= attack
    sound += hammer(t, velocity, f0, rng) * float(np.max(np.abs(sound)))
    fade = min(len(t), int(0.25 * RATE))
    sound[len(t) - fade :] *= np.linspace(1.0, 0.0, fade) ** 2
    return sound * (PEAK / float(np.max(np.abs(sound))))


def hammer(t: Samples, velocity: float, f0: float, rng: np.random.Generator) -> Samples:
    """The felt hitting the string: a short band of noise and a soft low knock."""
    noise = rng.standard_normal(len(t))
    spectrum = np.fft.rfft(noise)
    frequency = np.fft.rfftfreq(len(t), 1.0 / RATE)
    top = 1500.0 + 4000.0 * velocity
    frequency[0] = 1.0
    spectrum /= np.sqrt((1.0 + (150.0 / frequency) ** 4) * (1.0 + (frequency / top) ** 4))
    band = np.fft.irfft(spectrum, n=len(t))
    band /= float(np.max(np.abs(band[: RATE // 10]))) or 1.0
    knock = np.sin(2.0 * np.pi * min(f0, 90.0) * t) * np.exp(-t / 0.03)
    felt = 0.05 + 0.1 * velocity
    return felt * band * np.exp(-t / (0.012 - 0.006 * velocity)) + 0.08 * velocity * knock


def write(path: Path, sound: Samples, rng: np.random.Generator) -> None:
    """16-bit mono PCM with triangular dither."""
    dither = rng.uniform(-0.5, 0.5, len(sound)) + rng.uniform(-0.5, 0.5, len(sound))
    pcm = np.clip(np.round(sound * 32767.0 + dither), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(pcm.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=FOLDER, help=f"default: {FOLDER}")
    folder = parser.parse_args().out
    folder.mkdir(exist_ok=True)
    for name, midi in ROOTS.items():
        for layer, velocity in LAYERS.items():
            rng = np.random.default_rng(zlib.crc32(f"grand:{name}:{layer}".encode()))
            write(folder / f"{name}_v{layer}.wav", note(midi, velocity, rng), rng)


if __name__ == "__main__":
    main()
