"""The ready-made layouts (config/touchosc, config/open-stage-control): committed as generated,
and every message they send, with the values their controls can take, is one jamd takes."""

import json
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jamd.live.commands import PARTS, GotoSection, Regenerate, SetGenre, SetKey
from jamd.live.session import Session
from jamd.osc import layouts
from jamd.osc.space import SERVER_ADDRESSES, STREAMED, OscError, Space

CONFIG = Path(__file__).parents[2] / "config"
SPACE = Space(layouts.GENRES)
Message = tuple[str, tuple[Any, ...]]
Parsed = tuple[list[Message], set[str]]  # what a layout sends, and the addresses it listens on


# -- TouchOSC: zlib, then XML; a control's messages are simulated from the values it can take --


def _tosc(path: Path) -> ET.Element:
    document = ET.fromstring(zlib.decompress(path.read_bytes()))
    assert document.tag == "lexml"
    assert document.get("version") == "3"
    return document


def _props(node: ET.Element) -> dict[str, ET.Element]:
    return {str(p.findtext("key")): p for p in node.findall("properties/property")}


def _positions(node: ET.Element) -> list[float]:
    """The values ``x`` a control goes through: a button pressed then released, a fader at
    either end and half-way, each step of a radio."""
    kind = node.get("type")
    if kind == "BUTTON":
        return [1.0, 0.0]
    if kind == "FADER":
        return [0.0, 0.5, 1.0]
    if kind == "RADIO":
        return [float(x) for x in range(int(str(_props(node)["steps"].findtext("value"))))]
    raise AssertionError(f"{kind} sends, and this test does not know its values")


def _argument(partial: ET.Element, x: float) -> Any:
    kind, conversion = partial.findtext("type"), partial.findtext("conversion")
    value = str(partial.findtext("value"))
    if kind == "CONSTANT":
        raw: Any = value
    else:
        assert (kind, value) == ("VALUE", "x")
        low = float(str(partial.findtext("scaleMin")))
        high = float(str(partial.findtext("scaleMax")))
        raw = low + x * (high - low)
    convert: dict[str | None, Callable[[Any], Any]] = {
        "STRING": str,
        "INTEGER": lambda raw: int(float(raw)),
        "FLOAT": float,
        "BOOLEAN": lambda raw: bool(float(raw)),
    }
    return convert[conversion](raw)


def touchosc(path: Path = CONFIG / layouts.TOUCHOSC_FILE) -> Parsed:
    sent: list[Message] = []
    received: set[str] = set()
    for node in _tosc(path).iter("node"):
        for osc in node.findall("messages/osc"):
            partials = osc.findall("path/partial")
            assert all(p.findtext("type") == "CONSTANT" for p in partials)
            address = "".join(str(p.findtext("value")) for p in partials)
            if osc.findtext("receive") == "1":
                received.add(address)
            if osc.findtext("send") != "1":
                continue
            assert osc.findtext("triggers/trigger/var") == "x"
            rise = osc.findtext("triggers/trigger/condition") == "RISE"
            positions = _positions(node)
            for x in positions[:1] if rise else positions:  # RISE: the press alone
                args = tuple(_argument(p, x) for p in osc.findall("arguments/partial"))
                sent.append((address, args))
    return sent, received


# -- Open Stage Control: JSON; a widget's messages follow from its mode, range or values -------


def _widgets(widget: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield widget
    for child in [*widget.get("widgets", []), *widget.get("tabs", [])]:
        yield from _widgets(child)


def _session(path: Path) -> dict[str, Any]:
    session: dict[str, Any] = json.loads(path.read_text())
    assert session["type"] == "session"
    assert session["content"]["type"] == "root"
    return session


def _values(widget: dict[str, Any]) -> list[tuple[Any, ...]]:
    kind = widget["type"]
    if kind == "button":
        mode = widget["mode"]
        if mode == "momentary":
            return [()]
        if mode == "tap":
            return [(widget["on"],)]
        assert mode in ("push", "toggle")
        return [(widget["on"],), (widget["off"],)]
    if kind in ("fader", "knob"):
        low, high = widget["range"]["min"], widget["range"]["max"]
        assert widget["typeTags"] == "f"
        return [(float(low),), ((low + high) / 2.0,), (float(high),)]
    if kind == "dropdown":
        return [(value,) for value in widget["values"].values()]
    if kind == "input":
        examples = ["F#m", "Eb minor", "D dorian", "c"]
        assert all(re.fullmatch(widget["validation"], typed) for typed in examples)
        assert not re.fullmatch(widget["validation"], "")  # an emptied field sends nothing
        return [(typed,) for typed in examples]
    raise AssertionError(f"{kind} {widget['id']} sends, and this test does not know its values")


def open_stage_control(path: Path = CONFIG / layouts.OSC_FILE) -> Parsed:
    sent: list[Message] = []
    received: set[str] = set()
    for widget in _widgets(_session(path)["content"]):
        address = widget.get("address")
        if address is not None and address.startswith("/jamd/"):
            received.add(address)
        if widget.get("bypass"):  # sends nothing: containers and text
            continue
        assert address is not None, f"{widget['id']} would send on /{widget['id']}"
        sent += [(address, args) for args in _values(widget)]
    return sent, received


LAYOUTS = [pytest.param(touchosc, id="touchosc"), pytest.param(open_stage_control, id="osc")]


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("file", [layouts.TOUCHOSC_FILE, layouts.OSC_FILE], ids=str)
def test_the_committed_layouts_are_what_the_generator_writes(tmp_path: Path, file: Path) -> None:
    layouts.write(tmp_path)
    stale = (
        f"config/{file} is not what the generator writes: run `python -m jamd.osc.layouts config`"
    )
    assert (CONFIG / file).read_bytes() == (tmp_path / file).read_bytes(), stale


@pytest.mark.parametrize("parse", LAYOUTS)
def test_every_message_a_layout_sends_is_one_jamd_takes(parse: Callable[[], Parsed]) -> None:
    sent, _ = parse()
    assert sent
    for path, args in sent:
        if path in SERVER_ADDRESSES:
            assert path == "/jamd/subscribe"
            assert args == () or [type(arg) for arg in args] == [int]
            continue
        assert path in SPACE.addresses, f"{path} is not a control address"
        try:
            SPACE.command(path, args)
        except OscError as error:
            pytest.fail(f"{path} {args}: {error}")


@pytest.mark.parametrize("parse", LAYOUTS)
def test_new_song_sends_no_argument_so_the_seed_is_fresh(parse: Callable[[], Parsed]) -> None:
    sent, _ = parse()
    regenerate = [args for path, args in sent if path == "/jamd/regenerate"]
    assert regenerate
    for args in regenerate:  # never a seed: a new song is a fresh one
        assert SPACE.command("/jamd/regenerate", args) in (Regenerate(seed=None), None)


@pytest.mark.parametrize("parse", LAYOUTS)
def test_a_layout_listens_where_jamd_sends(parse: Callable[[], Parsed]) -> None:
    sent, received = parse()
    state = SPACE.state(Session(genre="jazz", key="F# minor", tempo=120.0))
    # a button jamd sends nothing back for (panic, fill) may listen on its own address
    assert received <= {*state, *STREAMED, *(path for path, _ in sent)}
    shown = {"/jamd/section", "/jamd/bar", "/jamd/chord", "/jamd/transport", "/jamd/beat"}
    assert shown | {"/jamd/tempo", "/jamd/genre", "/jamd/key"} <= received
    # controls follow jamd on the address they send on
    mixer = {f"/jamd/track/{part}/{what}" for part in PARTS for what in ("volume", "mute", "pan")}
    assert {"/jamd/play", "/jamd/tempo/fader", "/jamd/master", *mixer} <= received


@pytest.mark.parametrize("parse", LAYOUTS)
def test_a_layout_has_every_control(parse: Callable[[], Parsed]) -> None:
    sent, _ = parse()
    addresses = {path for path, _ in sent}
    transport = {"/jamd/play", "/jamd/stop", "/jamd/continue", "/jamd/panic"}
    sections = {"/jamd/section/next", "/jamd/section/fill", "/jamd/section/ending"}
    faders = {"/jamd/tempo/fader", "/jamd/energy", "/jamd/mood", "/jamd/master"}
    strip = ("volume", "pan", "mute", "solo", "reverb", "delay")
    mixer = {f"/jamd/track/{part}/{what}" for part in PARTS for what in strip}
    others = {"/jamd/genre", "/jamd/key", "/jamd/section", "/jamd/regenerate"}
    assert transport | sections | faders | mixer | others <= addresses

    for path in transport | sections | {f"/jamd/track/{part}/mute" for part in PARTS}:
        assert sorted(float(args[0]) for p, args in sent if p == path) == [0.0, 1.0], path
    for path in faders | {f"/jamd/track/{part}/volume" for part in PARTS}:
        values = [args[0] for p, args in sent if p == path]
        assert all(isinstance(value, float) for value in values), path
        assert (min(values), max(values)) == (0.0, 1.0), path

    commands = [SPACE.command(path, args) for path, args in sent if path in SPACE.addresses]
    assert {c.genre for c in commands if isinstance(c, SetGenre)} == set(layouts.GENRES)
    assert {c.name for c in commands if isinstance(c, GotoSection)} == set(layouts.SECTIONS)
    keys = {c.key.name for c in commands if isinstance(c, SetKey)}
    assert {"C major", "F# minor", "Bb minor", "Eb major"} <= keys
    assert len(keys) >= 24


def test_touchosc_controls_are_unique_and_lie_within_their_parent() -> None:
    nodes = list(_tosc(CONFIG / layouts.TOUCHOSC_FILE).iter("node"))
    assert len({node.get("ID") for node in nodes}) == len(nodes)
    names = [str(_props(node)["name"].findtext("value")) for node in nodes]
    assert len(set(names)) == len(names)
    for node in nodes:
        _, _, width, height = _frame(node)
        for child in node.findall("children/node"):
            x, y, w, h = _frame(child)
            name = _props(child)["name"].findtext("value")
            assert min(x, y) >= 0, name
            assert x + w <= width, name
            assert y + h <= height, name


def _frame(node: ET.Element) -> tuple[int, ...]:
    box = _props(node)["frame"].find("value")
    assert box is not None
    return tuple(int(str(box.findtext(part))) for part in "xywh")


def test_open_stage_control_ids_are_unique() -> None:
    ids = [widget["id"] for widget in _widgets(_session(CONFIG / layouts.OSC_FILE)["content"])]
    assert len(set(ids)) == len(ids)


def test_the_layouts_follow_the_genres_they_are_made_for(tmp_path: Path) -> None:
    layouts.write(tmp_path, genres=("jazz", "pop", "my-funk"))
    for parse in (touchosc, open_stage_control):
        file = layouts.TOUCHOSC_FILE if parse is touchosc else layouts.OSC_FILE
        sent, _ = parse(tmp_path / file)
        genres = [args[0] for path, args in sent if path == "/jamd/genre"]
        assert genres in ([0, 1, 2], ["jazz", "pop", "my-funk"])
