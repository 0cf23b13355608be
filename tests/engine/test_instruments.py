"""Instrument kinds from plugins: the documented example (docs/examples/jamd-bell) registered
through a real ``jamd.instruments`` entry point, and plugins that are broken."""

import logging
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from jamd.engine.instruments import plugin_kinds
from jamd.engine.notes import Note
from jamd.engine.offline import OfflineEngine
from jamd.engine.patches import PatchError, PatchLibrary, kind_models

SR = 48000
EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "jamd-bell"


def install(site: Path, name: str, entry_points: str, modules: dict[str, str]) -> None:
    """What pip leaves in site-packages: the modules and a dist-info naming the entry points."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[jamd.instruments]\n{entry_points}\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path standing in for site-packages; plugins are looked up afresh."""
    directory = tmp_path / "site-packages"
    directory.mkdir()
    sys.path.insert(0, str(directory))
    plugin_kinds.cache_clear()
    yield directory
    sys.path.remove(str(directory))
    for module in [m for m in sys.modules if m.startswith(("jamd_bell", "broken_"))]:
        del sys.modules[module]
    plugin_kinds.cache_clear()


def patch_dir(tmp_path: Path, text: str) -> PatchLibrary:
    (tmp_path / "patches" / "keys").mkdir(parents=True)
    (tmp_path / "patches" / "keys" / "bell.toml").write_text(text)
    return PatchLibrary([tmp_path / "patches"])


def test_the_documented_plugin_registers_a_kind_whose_patches_play(
    site: Path, tmp_path: Path
) -> None:
    entry = next(
        line.strip()
        for line in (EXAMPLE / "pyproject.toml").read_text().splitlines()
        if line.startswith("bell =")
    )
    install(site, "jamd_bell", entry.replace('"', ""), {})
    shutil.copy(EXAMPLE / "jamd_bell.py", site / "jamd_bell.py")
    assert "bell" in kind_models()
    library = patch_dir(tmp_path, (EXAMPLE / "bell.toml").read_text())
    bell = library.load("keys/bell")
    assert bell.kind == "bell"

    notes = [
        Note("bell", i * SR // 2, i * SR // 2 + SR // 4, p, 0.9) for i, p in enumerate([48, 67, 84])
    ]
    master = []
    with OfflineEngine({"bell": bell}, sample_rate=SR, buffer_size=256, stems=True) as engine:
        engine.schedule(notes)
        stems = [block.stems["bell"] for block in engine.blocks(2 * SR)]
        master = np.concatenate(stems)
    assert np.all(np.isfinite(master))
    for index in range(3):
        part = master[index * SR // 2 : index * SR // 2 + SR // 4]
        assert float(np.max(np.abs(part))) > 1e-3, f"silent on note {index}"
    spectrum = np.abs(np.fft.rfft(master[SR // 2 : SR // 2 + SR // 4, 0]))
    peaks = np.argsort(spectrum)[-40:] * 4.0  # 4 Hz a bin over a quarter second
    g4 = 392.0
    assert np.any(np.abs(peaks - g4 * 1.183) < 8.0), "the bell's inharmonic partial is missing"


def test_a_bell_patch_with_a_bad_key_names_the_file_the_key_and_what_is_allowed(
    site: Path, tmp_path: Path
) -> None:
    install(site, "jamd_bell", "bell = jamd_bell:KIND", {})
    shutil.copy(EXAMPLE / "jamd_bell.py", site / "jamd_bell.py")
    library = patch_dir(tmp_path, 'kind = "bell"\nbrightness = 2.0\nvoice = 3\n')
    with pytest.raises(PatchError) as caught:
        library.load("keys/bell")
    message = str(caught.value)
    assert "bell.toml: brightness: must be at most 1, got 2.0" in message
    assert "voice: unknown key; did you mean 'voices'?" in message


@pytest.mark.parametrize(
    ("entry", "source", "complaint"),
    [
        ("bell = broken_import:KIND", "raise RuntimeError('no libbell')", "no libbell"),
        ("bell = broken_type:KIND", "KIND = 42", "not a jamd.engine.instruments.InstrumentKind"),
        (
            "fm = broken_taken:KIND",
            "from jamd.engine.instruments import InstrumentKind\n"
            "from jamd.engine.patches import FmPatch\n"
            "KIND = InstrumentKind('fm', FmPatch, lambda patch, voices: [])\n",
            "kind 'fm' is taken already",
        ),
        (
            "bell = broken_name:KIND",
            "from jamd.engine.instruments import InstrumentKind\n"
            "from jamd.engine.patches import FmPatch\n"
            "KIND = InstrumentKind('gong', FmPatch, lambda patch, voices: [])\n",
            "the entry point is named 'bell' but its kind is 'gong'",
        ),
    ],
)
def test_a_broken_plugin_is_logged_and_left_out_and_jamds_kinds_still_load(
    site: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    entry: str,
    source: str,
    complaint: str,
) -> None:
    module = entry.split("= ")[1].split(":", maxsplit=1)[0]
    install(site, module, entry, {module: source})
    with caplog.at_level(logging.ERROR, logger="jamd.engine.instruments"):
        models = kind_models()
    assert complaint in caplog.text
    assert "bell" not in models
    assert "gong" not in models
    assert {"subtractive", "fm", "organ", "supersaw", "wavetable", "drumkit"} <= set(models)
    library = patch_dir(tmp_path, 'kind = "bell"\n')
    with pytest.raises(PatchError, match=r"bell.toml: kind: must be one of .*fm.*, got 'bell'"):
        library.load("keys/bell")
