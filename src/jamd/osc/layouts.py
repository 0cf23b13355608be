"""Ready-made control surfaces for jamd's OSC addresses (docs/osc.md, "Layouts").

``python -m jamd.osc.layouts OUTDIR`` writes ``OUTDIR/touchosc/jamd.tosc`` (TouchOSC, Hexler's
current app) and ``OUTDIR/open-stage-control/jamd.json`` (an Open Stage Control 1.x session).
Both are built here from ``Space``: a control on an address the space does not take is an error,
so the layouts cannot drift from it. Buttons send 1 when pressed and 0 when released, faders
0..1, and every control listens on the address it sends on, where jamd's feedback comes back.

A ``.tosc`` file is a zlib stream of one XML document: ``<lexml version='3'>`` holding a tree of
``<node type='GROUP'>`` (``PAGER``, ``BUTTON``, ...), each with ``<properties>``, ``<values>``,
``<messages>`` and ``<children>``. Hexler publishes no schema, so elements and property sets
follow files the TouchOSC editor saved (properties in alphabetical order, as it writes them).
"""

import json
import sys
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from jamd.live.commands import PARTS
from jamd.osc.space import SERVER_ADDRESSES, STATE_ONLY, STREAMED, Space

GENRES = ("blues", "classical", "country", "electronic", "hip-hop", "jazz", "pop", "rock")
SECTIONS = ("intro", "verse", "chorus", "bridge", "outro")
MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
# (label, what is sent); the long form is what jamd's /jamd/key feedback says
KEYS = (
    *((tonic, f"{tonic} major") for tonic in MAJOR_TONICS),
    *((f"{tonic}m", f"{tonic} minor") for tonic in MINOR_TONICS),
)
TRANSPORT = (
    ("/jamd/play", "PLAY"),
    ("/jamd/stop", "STOP"),
    ("/jamd/continue", "CONTINUE"),
    ("/jamd/panic", "PANIC"),
)
SECTION_BUTTONS = (
    ("/jamd/section/next", "NEXT"),
    ("/jamd/section/fill", "FILL"),
    ("/jamd/section/ending", "ENDING"),
)
DISPLAYS = (
    ("/jamd/transport", "transport"),
    ("/jamd/section", "section"),
    ("/jamd/bar", "bar"),
    ("/jamd/beat", "beat"),
    ("/jamd/chord", "chord"),
    ("/jamd/tempo", "BPM"),
    ("/jamd/key", "key"),
    ("/jamd/genre", "genre"),
)
FADERS = (("/jamd/tempo/fader", "TEMPO"), ("/jamd/energy", "ENERGY"), ("/jamd/mood", "MOOD"))
TRACK_SLIDERS = ("pan", "reverb", "delay", "tone")  # a strip's 0..1 controls besides volume
REGENERATE = "/jamd/regenerate"  # sent once, without an argument: a fresh seed
SUBSCRIBE = "/jamd/subscribe"
TOUCHOSC_RECEIVE_PORT = 9001  # TouchOSC's SYNC button asks for feedback on this port
OSC_VERSION = "1.30.1"  # the session's own; Open Stage Control converts older sessions


def _control(space: Space, path: str) -> str:
    if path not in space.addresses and path not in SERVER_ADDRESSES:
        raise ValueError(f"{path} is not an address jamd takes (docs/osc.md)")
    return path


def _shown(space: Space, path: str) -> str:
    if path not in space.addresses and path not in STATE_ONLY and path not in STREAMED:
        raise ValueError(f"{path} is not an address jamd sends (docs/osc.md)")
    return path


def _name(path: str) -> str:
    """A control's name (TouchOSC) or id (Open Stage Control): ``track_bass_mute``."""
    return path.removeprefix("/jamd/").replace("/", "_")


def _default(path: str) -> float:
    """Where a 0..1 control sits until feedback moves it."""
    if path.endswith(("/pan", "/tone")):
        return 0.5
    if path.endswith("/volume") or path == "/jamd/master":
        return 0.909  # 0 dB
    return 0.0


# -- TouchOSC -------------------------------------------------------------------------------

W, H, TAB = 1280, 800, 50  # the document, and the height of the page tabs
PAGE_H = H - TAB
M = 10  # margin, and the gap between controls
Frame = tuple[int, int, int, int]
Color = tuple[float, float, float, float]
BG: Color = (0.08, 0.08, 0.1, 1)
PANEL: Color = (0.16, 0.16, 0.19, 1)
WHITE: Color = (1, 1, 1, 1)
GREY: Color = (0.45, 0.45, 0.5, 1)
GREEN: Color = (0.2, 0.65, 0.35, 1)
RED: Color = (0.8, 0.25, 0.25, 1)
BLUE: Color = (0.2, 0.45, 0.8, 1)
ORANGE: Color = (0.85, 0.5, 0.15, 1)
PURPLE: Color = (0.55, 0.35, 0.8, 1)
TEAL: Color = (0.15, 0.6, 0.65, 1)
YELLOW: Color = (0.8, 0.7, 0.2, 1)
_IDS = uuid.UUID("6a616d64-0000-4000-8000-746f7563686f")  # a node's ID is uuid5(_IDS, name)
Prop = tuple[str, Any]  # (TouchOSC's type letter, value)
Partial = tuple[str, str, str, float, float]  # type, conversion, value, scale min and max
X: Partial = ("VALUE", "FLOAT", "x", 0, 1)  # the control's value x, 0..1, as a float
_APOSTROPHE = {"'": "&apos;"}


class _CData(str):
    """Text the editor writes as ``<![CDATA[...]]>``: names, strings, keys."""


def _text(parent: ET.Element, tag: str, text: object) -> None:
    ET.SubElement(parent, tag).text = str(text)


def _cdata(parent: ET.Element, tag: str, text: object) -> None:
    ET.SubElement(parent, tag).text = _CData(text)


def _serialized(element: ET.Element) -> str:
    """XML as the TouchOSC editor writes it: unindented, attributes in single quotes."""
    attributes = "".join(
        f" {key}='{escape(value, _APOSTROPHE)}'" for key, value in element.attrib.items()
    )
    if len(element):
        inner = "".join(_serialized(child) for child in element)
    elif isinstance(element.text, _CData):
        if "]]>" in element.text:
            raise ValueError(f"cannot write {element.text!r} in CDATA")
        inner = f"<![CDATA[{element.text}]]>"
    else:
        inner = escape(element.text or "")
    return f"<{element.tag}{attributes}>{inner}</{element.tag}>"


def _number(value: float) -> str:
    return f"{value:g}"


def _property(parent: ET.Element, kind: str, key: str, value: Any) -> None:
    element = ET.SubElement(parent, "property", type=kind)
    _cdata(element, "key", key)
    if kind in ("c", "r"):  # a colour r g b a, 0..1; a frame x y w h, whole points
        box = ET.SubElement(element, "value")
        fields = "rgba" if kind == "c" else "xywh"
        for field, part in zip(fields, value, strict=True):
            _text(box, field, _number(part) if kind == "c" else int(part))
    elif kind == "b":
        _text(element, "value", int(bool(value)))
    elif kind == "f":
        _text(element, "value", _number(value))
    elif kind == "i":
        _text(element, "value", int(value))
    else:
        _cdata(element, "value", value)


def _node(
    kind: str,
    name: str,
    frame: Frame,
    color: Color,
    *,
    props: dict[str, Prop] | None = None,
    values: dict[str, str] | None = None,
    messages: Sequence[ET.Element] = (),
    children: Sequence[ET.Element] = (),
) -> ET.Element:
    """One control: the properties every control has (``props`` adds or overrides), its values
    (``touch`` and ``values``, key to default), OSC messages and children."""
    node = ET.Element("node", ID=str(uuid.uuid5(_IDS, name)), type=kind)
    touchable = kind not in ("GROUP", "TEXT")
    common: dict[str, Prop] = {
        "background": ("b", True),
        "color": ("c", color),
        "cornerRadius": ("f", 4),
        "frame": ("r", frame),
        "grabFocus": ("b", touchable),
        "interactive": ("b", touchable),
        "locked": ("b", False),
        "name": ("s", name),
        "orientation": ("i", 0),
        "outline": ("b", True),
        "outlineStyle": ("i", 0),
        "pointerPriority": ("i", 0),
        "shape": ("i", 1),
        "visible": ("b", True),
    }
    properties = ET.SubElement(node, "properties")
    for key, (letter, value) in sorted({**common, **(props or {})}.items()):
        _property(properties, letter, key, value)
    box = ET.SubElement(node, "values")
    for key, default in sorted({"touch": "false", **(values or {})}.items()):
        value = ET.SubElement(box, "value")
        _cdata(value, "key", key)
        _text(value, "locked", 0)
        _text(value, "lockedDefaultCurrent", int(key == "text"))
        _cdata(value, "default", default)
        _text(value, "defaultPull", 0)
    if messages:
        ET.SubElement(node, "messages").extend(messages)
    if children:
        ET.SubElement(node, "children").extend(children)
    return node


def _partials(parent: ET.Element, tag: str, partials: Sequence[Partial]) -> None:
    box = ET.SubElement(parent, tag)
    for kind, conversion, value, low, high in partials:
        partial = ET.SubElement(box, "partial")
        _text(partial, "type", kind)
        _text(partial, "conversion", conversion)
        _cdata(partial, "value", value)
        _text(partial, "scaleMin", _number(low))
        _text(partial, "scaleMax", _number(high))


def _osc(
    path: str,
    arguments: Sequence[Partial],
    *,
    send: bool = True,
    receive: bool = True,
    trigger: str = "x",
    condition: str = "ANY",
) -> ET.Element:
    """An OSC message on connection 1: sent when value ``trigger`` changes (``ANY`` change, or
    ``RISE``: only upwards, as a press), and taking what is received on ``path``."""
    message = ET.Element("osc")
    _text(message, "enabled", 1)
    _text(message, "send", int(send))
    _text(message, "receive", int(receive))
    _text(message, "feedback", 0)
    _text(message, "connections", "00001")
    when = ET.SubElement(ET.SubElement(message, "triggers"), "trigger")
    _cdata(when, "var", trigger)
    _text(when, "condition", condition)
    _partials(message, "path", [("CONSTANT", "STRING", path, 0, 1)])
    _partials(message, "arguments", arguments)
    return message


def _caption(name: str, frame: Frame, text: str, *, size: int = 18, align: int = 2) -> ET.Element:
    """Text over a control (``align`` 1 left, 2 centre); it takes no touches, so they reach the
    control below."""
    props: dict[str, Prop] = {
        "background": ("b", False),
        "font": ("i", 0),
        "outline": ("b", False),
        "textAlignH": ("i", align),
        "textColor": ("c", WHITE),
        "textSize": ("i", size),
    }
    return _node("TEXT", f"{name}_caption", frame, PANEL, props=props, values={"text": text})


def _display(space: Space, path: str, frame: Frame) -> ET.Element:
    """Text showing what jamd sends on ``path``."""
    props: dict[str, Prop] = {
        "font": ("i", 1),
        "outline": ("b", False),
        "textAlignH": ("i", 2),
        "textColor": ("c", WHITE),
        "textSize": ("i", 22),
    }
    text: Partial = ("VALUE", "STRING", "text", 0, 1)
    shows = _osc(_shown(space, path), [text], send=False, trigger="text")
    name = f"show_{_name(path)}"
    return _node("TEXT", name, frame, PANEL, props=props, values={"text": "-"}, messages=[shows])


def _button(
    name: str, frame: Frame, color: Color, *, text: str, message: ET.Element, toggle: bool = False
) -> list[ET.Element]:
    props: dict[str, Prop] = {
        "buttonType": ("i", 1 if toggle else 0),  # 0 momentary, 1 toggle
        "press": ("b", True),
        "release": ("b", True),
        "valuePosition": ("b", False),
    }
    values = {"x": "0"}
    button = _node("BUTTON", name, frame, color, props=props, values=values, messages=[message])
    return [button, _caption(name, frame, text, size=20)]


def _push(space: Space, path: str, frame: Frame, *, text: str, color: Color) -> list[ET.Element]:
    """Sends 1 when pressed and 0 when released; lit while jamd sends 1 on its address."""
    message = _osc(_control(space, path), [X])
    return _button(_name(path), frame, color, text=text, message=message)


def _toggle(space: Space, path: str, frame: Frame, *, text: str, color: Color) -> list[ET.Element]:
    """Sends 1 and 0 a touch each; follows jamd's 1 / 0 on its address."""
    message = _osc(_control(space, path), [X])
    return _button(_name(path), frame, color, text=text, message=message, toggle=True)


def _sender(
    space: Space,
    name: str,
    frame: Frame,
    *,
    path: str,
    text: str,
    args: Sequence[Partial],
    color: Color = GREY,
) -> list[ET.Element]:
    """Sends ``args`` (constants, or nothing) once a press; takes no feedback."""
    message = _osc(_control(space, path), args, receive=False, condition="RISE")
    return _button(name, frame, color, text=text, message=message)


def _constant(conversion: str, value: object) -> Partial:
    return ("CONSTANT", conversion, str(value), 0, 1)


def _fader(
    space: Space, path: str, frame: Frame, *, text: str, color: Color, vertical: bool = False
) -> list[ET.Element]:
    props: dict[str, Prop] = {
        "bar": ("b", True),
        "barDisplay": ("i", 0),
        "cursor": ("b", True),
        "cursorDisplay": ("i", 0),
        "grid": ("b", False),
        "gridColor": ("c", (0, 0, 0, 0.25)),
        "gridSteps": ("i", 10),
        "orientation": ("i", 0 if vertical else 1),  # 0 NORTH: upwards, 1 EAST: to the right
        "response": ("i", 0),
        "responseFactor": ("i", 100),
    }
    values = {"x": _number(_default(path))}
    message = _osc(_control(space, path), [X])
    fader = _node(
        "FADER", _name(path), frame, color, props=props, values=values, messages=[message]
    )
    x, y, w, h = frame
    caption = (x, y + h - 40, w, 40) if vertical else (x + M, y, w - M, h)
    return [fader, _caption(_name(path), caption, text, size=16, align=2 if vertical else 1)]


def _radio(space: Space, path: str, frame: Frame, labels: Sequence[str]) -> list[ET.Element]:
    """Sends the index of the step touched (0, 1, ...) as an int. jamd's feedback on the same
    address is a name, so the radio does not listen to it."""
    props: dict[str, Prop] = {
        "orientation": ("i", 1),
        "radioType": ("i", 0),
        "steps": ("i", len(labels)),
    }
    index: Partial = ("VALUE", "INTEGER", "x", 0, 1)  # x is the step, 0 .. steps - 1
    message = _osc(_control(space, path), [index], receive=False)
    name = _name(path)
    radio = _node("RADIO", name, frame, PURPLE, props=props, values={"x": "0"}, messages=[message])
    cells = _row(*frame, len(labels))
    captions = [
        _caption(f"{name}_{label}", cell, label) for label, cell in zip(labels, cells, strict=True)
    ]
    return [radio, *captions]


def _row(x: int, y: int, w: int, h: int, n: int) -> list[Frame]:
    """``n`` frames side by side across ``w``."""
    each = (w - M * (n - 1)) // n
    return [(x + i * (each + M), y, each, h) for i in range(n)]


def _page(name: str, label: str, children: list[ET.Element]) -> ET.Element:
    props: dict[str, Prop] = {
        "outline": ("b", False),
        "tabColorOff": ("c", PANEL),
        "tabColorOn": ("c", BLUE),
        "tabLabel": ("s", label),
        "textColorOff": ("c", WHITE),
        "textColorOn": ("c", WHITE),
    }
    return _node("GROUP", name, (0, TAB, W, PAGE_H), BG, props=props, children=children)


def _play_page(space: Space) -> ET.Element:
    """What plays now, transport, sections, genre, key, and the tempo, energy and mood faders."""
    width = W - 2 * M
    c: list[ET.Element] = []
    for (path, caption), (x, _, w, _) in zip(
        DISPLAYS, _row(M, 0, width, 0, len(DISPLAYS)), strict=True
    ):
        c += [_caption(f"show_{_name(path)}", (x, 6, w, 22), caption, size=14)]
        c += [_display(space, path, (x, 30, w, 44))]

    frames = _row(M, 90, width, 80, len(TRANSPORT) + 2)
    for (path, text), frame, color in zip(
        TRANSPORT, frames, (GREEN, RED, TEAL, ORANGE), strict=False
    ):
        c += _push(space, path, frame, text=text, color=color)
    c += _sender(
        space, "regenerate", frames[4], path=REGENERATE, text="NEW SONG", args=[], color=YELLOW
    )
    port = [_constant("INTEGER", TOUCHOSC_RECEIVE_PORT)]
    sync = f"SYNC :{TOUCHOSC_RECEIVE_PORT}"
    c += _sender(space, "subscribe", frames[5], path=SUBSCRIBE, text=sync, args=port)

    frames = _row(M, 185, width, 70, len(SECTION_BUTTONS) + len(SECTIONS))
    for (path, text), frame in zip(SECTION_BUTTONS, frames, strict=False):
        c += _push(space, path, frame, text=text, color=BLUE)
    for section, frame in zip(SECTIONS, frames[len(SECTION_BUTTONS) :], strict=True):
        goto = [_constant("STRING", section)]
        text = section.upper()
        c += _sender(
            space, f"goto_{section}", frame, path="/jamd/section", text=text, args=goto, color=TEAL
        )

    c += _radio(space, "/jamd/genre", (M, 270, width, 60), space.genres)
    for row, keys in enumerate((KEYS[:12], KEYS[12:])):
        for (label, key), frame in zip(keys, _row(M, 345 + row * 62, width, 55, 12), strict=True):
            name = f"key_{label.replace('#', 'sharp')}"
            sent = [_constant("STRING", key)]
            c += _sender(space, name, frame, path="/jamd/key", text=label, args=sent)

    for i, (path, text) in enumerate(FADERS):
        c += _fader(space, path, (M, 480 + i * 88, width, 78), text=text, color=ORANGE)
    return _page("page_play", "PLAY", c)


def _mix_page(space: Space) -> ET.Element:
    """A strip a part (mute, solo, pan, sends, tone, volume), and the master."""
    c: list[ET.Element] = []
    strips = _row(M, M, W - 2 * M, PAGE_H - 2 * M, len(PARTS) + 1)
    for part, (x, y, w, h) in zip(PARTS, strips, strict=False):
        track = f"/jamd/track/{part}"
        c += [_caption(part, (x, y, w, 40), part.upper(), size=20)]
        mute, solo = _row(x, y + 50, w, 60, 2)
        c += _toggle(space, f"{track}/mute", mute, text="MUTE", color=RED)
        c += _toggle(space, f"{track}/solo", solo, text="SOLO", color=YELLOW)
        for i, what in enumerate(TRACK_SLIDERS):
            frame = (x, y + 120 + i * 58, w, 50)
            c += _fader(space, f"{track}/{what}", frame, text=what.upper(), color=TEAL)
        frame = (x, y + 360, w, h - 360)
        c += _fader(space, f"{track}/volume", frame, text="VOLUME", color=GREEN, vertical=True)
    x, y, w, h = strips[-1]
    c += [_caption("master_strip", (x, y, w, 40), "MASTER", size=20)]
    c += _fader(space, "/jamd/master", (x, y + 50, w, h - 50), text="", color=ORANGE, vertical=True)
    return _page("page_mix", "MIX", c)


def touchosc(space: Space) -> bytes:
    """The ``.tosc`` file: a PLAY page and a MIX page, one under each tab."""
    props: dict[str, Prop] = {
        "outline": ("b", False),
        "tabLabels": ("b", True),
        "tabbar": ("b", True),
        "tabbarDoubleTap": ("b", False),
        "tabbarSize": ("i", TAB),
        "textSizeOff": ("i", 20),
        "textSizeOn": ("i", 20),
    }
    pages = [_play_page(space), _mix_page(space)]
    pager = _node(
        "PAGER", "pages", (0, 0, W, H), PANEL, props=props, values={"page": "0"}, children=pages
    )
    root = _node(
        "GROUP", "jamd", (0, 0, W, H), BG, props={"outline": ("b", False)}, children=[pager]
    )
    document = ET.Element("lexml", version="3")
    document.append(root)
    xml = "<?xml version='1.0' encoding='UTF-8'?>" + _serialized(document)
    return zlib.compress(xml.encode(), 9)


# -- Open Stage Control ---------------------------------------------------------------------

Widget = dict[str, Any]


def _panel(id: str, layout: str, widgets: list[Widget], **props: Any) -> Widget:
    """A container; ``bypass`` keeps its own value (the tab shown, a scroll) off the wire."""
    return {
        "type": "panel",
        "id": id,
        "layout": layout,
        "bypass": True,
        **props,
        "widgets": widgets,
    }


def _label(id: str, text: str, **props: Any) -> Widget:
    """Text: ``text`` until a message on its ``address`` (if it has one) replaces it."""
    return {"type": "text", "id": id, "default": text, "bypass": True, **props}


def _captioned(caption: str, widget: Widget) -> Widget:
    label = _label(f"{widget['id']}_caption", caption, height=30)
    return _panel(f"{widget['id']}_box", "vertical", [label, widget], expand=True)


def _osc_button(space: Space, path: str, label: str, mode: str, **props: Any) -> Widget:
    """``push``: 1 when pressed, 0 when released; ``toggle``: 1 and 0 a touch each; ``tap``:
    ``on`` once a touch; ``momentary``: the address alone, without an argument."""
    on_off = {"on": 1, "off": 0} if mode in ("push", "toggle") else {}
    return {
        "type": "button",
        "id": _name(path),
        "label": label,
        "mode": mode,
        **on_off,
        "address": _control(space, path),
        "expand": True,
        **props,
    }


def _slider(space: Space, kind: str, path: str, **props: Any) -> Widget:
    return {
        "type": kind,
        "id": _name(path),
        "address": _control(space, path),
        "range": {"min": 0, "max": 1},
        "default": _default(path),
        "typeTags": "f",
        "decimals": 4 if path == "/jamd/tempo/fader" else 3,  # a tempo step: 0.03 BPM
        "expand": True,
        **props,
    }


def _play_tab(space: Space) -> Widget:
    shows = [
        _captioned(
            name, _label(f"show_{_name(path)}", "-", address=_shown(space, path), expand=True)
        )
        for path, name in DISPLAYS
    ]
    transport = [
        *(_osc_button(space, path, text.title(), "push") for path, text in TRANSPORT),
        _osc_button(space, REGENERATE, "New song", "momentary"),
        # without an argument: feedback to the port it came from, and the whole state now
        _osc_button(space, SUBSCRIBE, "Sync", "momentary"),
    ]
    sections = [
        *(_osc_button(space, path, text.title(), "push") for path, text in SECTION_BUTTONS),
        *(
            _osc_button(
                space, "/jamd/section", name.title(), "tap", id=f"goto_{name}", on=name, off=""
            )
            for name in SECTIONS
        ),
    ]
    genre = {
        "type": "dropdown",
        "id": "genre",
        "address": _control(space, "/jamd/genre"),
        "values": {name: name for name in space.genres},
        "expand": True,
    }
    key = {
        "type": "dropdown",
        "id": "key",
        "address": _control(space, "/jamd/key"),
        "values": dict(KEYS),
        "expand": True,
    }
    typed = {
        "type": "input",
        "id": "key_typed",
        "address": _control(space, "/jamd/key"),
        "validation": "[A-Ga-g][#b]? ?[A-Za-z]*",  # a tonic and a mode; nothing else is sent
        "expand": True,
    }
    faders = [
        _captioned(text.lower(), _slider(space, "fader", path, horizontal=True))
        for path, text in FADERS
    ]
    rows = [
        _panel("state", "horizontal", shows, height=90),
        _panel("transport", "horizontal", transport, height=90),
        _panel("sections", "horizontal", sections, height=80),
        _panel(
            "choices",
            "horizontal",
            [
                _captioned("genre", genre),
                _captioned("key", key),
                _captioned("key: F#m, D dorian", typed),
            ],
            height=90,
        ),
        _panel("faders", "vertical", faders, expand=True),
    ]
    return {
        "type": "tab",
        "id": "tab_play",
        "label": "Play",
        "layout": "vertical",
        "bypass": True,
        "widgets": rows,
    }


def _strip(space: Space, part: str) -> Widget:
    track = f"/jamd/track/{part}"
    buttons = [
        _osc_button(space, f"{track}/mute", "Mute", "toggle"),
        _osc_button(space, f"{track}/solo", "Solo", "toggle"),
    ]
    knobs = [_captioned(what, _slider(space, "knob", f"{track}/{what}")) for what in TRACK_SLIDERS]
    widgets = [
        _label(f"{part}_name", part, height=40),
        _panel(f"{part}_buttons", "horizontal", buttons, height=60),
        _panel(f"{part}_knobs", "horizontal", knobs[:2], height=110),
        _panel(f"{part}_sends", "horizontal", knobs[2:], height=110),
        _slider(space, "fader", f"{track}/volume"),
    ]
    return _panel(f"{part}_strip", "vertical", widgets, expand=True)


def _mix_tab(space: Space) -> Widget:
    master = [_label("master_name", "master", height=40), _slider(space, "fader", "/jamd/master")]
    strips = [_strip(space, part) for part in PARTS]
    strips.append(_panel("master_strip", "vertical", master, expand=True))
    return {
        "type": "tab",
        "id": "tab_mix",
        "label": "Mix",
        "layout": "horizontal",
        "bypass": True,
        "widgets": strips,
    }


def open_stage_control(space: Space) -> str:
    """The session file, as Open Stage Control saves one: a Play tab and a Mix tab."""
    root = {
        "type": "root",
        "id": "root",
        "bypass": True,
        "tabs": [_play_tab(space), _mix_tab(space)],
    }
    session = {
        "createdWith": "Open Stage Control",
        "version": OSC_VERSION,
        "type": "session",
        "content": root,
    }
    return json.dumps(session, indent=2, ensure_ascii=False) + "\n"


# -- files ----------------------------------------------------------------------------------

TOUCHOSC_FILE = Path("touchosc") / "jamd.tosc"
OSC_FILE = Path("open-stage-control") / "jamd.json"


def write(outdir: Path, genres: Sequence[str] = GENRES) -> list[Path]:
    """Both layouts, for ``genres``, under ``outdir``; the files written."""
    space = Space(genres)
    files = {
        outdir / TOUCHOSC_FILE: touchosc(space),
        outdir / OSC_FILE: open_stage_control(space).encode(),
    }
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return list(files)


def main(argv: Sequence[str] = sys.argv[1:]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m jamd.osc.layouts OUTDIR\n")
        return 2
    for path in write(Path(argv[0])):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
