"""``jamd send``: one OSC message to a running jamd, for scripts, and what it answers.

Arguments are typed as a shell user means them: ``128`` is an int, ``0.5`` a float, anything
else a string (``--string`` keeps them all strings). jamd answers errors (``/jamd/error``) and
``/jamd/state`` to the sender; ``send`` waits ``wait`` seconds for answers and returns them.
"""

import contextlib
import socket
import time
from collections.abc import Collection, Sequence
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket, ParseError

from jamd.errors import InputError

Reply = tuple[str, tuple[Any, ...]]


def typed(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def send(
    host: str,
    port: int,
    address: str,
    args: Sequence[Any],
    *,
    wait: float = 0.3,
    until: Collection[str] = (),
) -> list[Reply]:
    """Send one message from a fresh UDP socket; the messages that come back within ``wait``
    seconds (``/jamd/beat`` left out), or until one on an address in ``until``. The socket
    unsubscribes before it closes, since jamd subscribes whoever sends it a control."""
    if not address.startswith("/"):
        raise InputError(f"an OSC address starts with '/', got {address!r}")
    builder = OscMessageBuilder(address=address)
    for value in args:
        builder.add_arg(value)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:  # connected: a port where nothing listens answers with an error, not silence
            sock.connect((host, port))
            sock.send(builder.build().dgram)
        except OSError as error:
            raise InputError(f"cannot send to {host}:{port}: {error.strerror or error}") from None
        replies: list[Reply] = []
        deadline = time.monotonic() + wait
        try:
            _collect(sock, deadline, replies, host, port, until=until)
        finally:
            with contextlib.suppress(OSError):
                sock.send(OscMessageBuilder(address="/jamd/unsubscribe").build().dgram)
        return replies


def _collect(
    sock: socket.socket,
    deadline: float,
    replies: list[Reply],
    host: str,
    port: int,
    *,
    until: Collection[str],
) -> None:
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionRefusedError:
            raise InputError(f"nothing listens on {host}:{port} (is jamd running?)") from None
        try:
            messages = OscPacket(data).messages
        except ParseError:
            continue
        replies.extend(
            (str(timed.message.address), tuple(timed.message.params))
            for timed in messages
            if timed.message.address != "/jamd/beat"
        )
        if any(address in until for address, _ in replies):
            return
