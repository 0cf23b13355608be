"""The OSC server: UDP, and optionally TCP, on the daemon's asyncio loop (python-osc parses;
``encode`` builds).

Every message becomes a ``Command`` on the daemon's bus (``space``), or an answer to the sender
(``/jamd/state``, ``/jamd/error <address> <message>``). Senders outside the allow-list are
dropped and counted. Feedback: whenever the session changes, whatever changed it, each
subscriber gets the addresses whose values changed, in one bundle per turn of the loop; since
only changes are sent, a surface that echoes what it receives cannot start a loop.

Over TCP a packet is framed as OSC 1.1 says (SLIP: python-osc's ``slip``) or as OSC 1.0 did
(a 4-byte size first, liblo's default): the first byte a client sends tells which, and answers
go back framed the same way on the same connection.

A bundle whose timetag is in the future is held on a timer of the loop (never a sleep) and
its messages are taken at that time, so they land on the boundary after it; at most
``max_ahead`` seconds ahead, and at most ``MAX_SCHEDULED`` held at once.
"""

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pythonosc import slip
from pythonosc.osc_packet import OscPacket, ParseError

from jamd.errors import InputError
from jamd.live.commands import PARTS, Command, Regenerate
from jamd.live.presets import PresetStore
from jamd.live.session import Session
from jamd.logs import Throttled
from jamd.training.state import TrainingState

if TYPE_CHECKING:
    from jamd.training.refresh import Trainer
from jamd.osc.space import BAND_ADDRESSES, Args, OscError, Space, training_state

log = logging.getLogger("jamd.osc")


def _not_python_osc(record: logging.LogRecord) -> bool:
    """python-osc warns on the root logger for every odd type tag it meets; the server
    reports bad packets itself, rate-limited, so those lines are dropped."""
    return "pythonosc" not in record.pathname


Address = tuple[str, int]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOG_EVERY_SECONDS = 10.0  # errors and refusals are logged at most this often (and counted)
MAX_BUNDLE_BYTES = 8192  # feedback bundles are split to stay well under a UDP datagram
RECEIVE_BUFFER = 1 << 20  # bytes the kernel holds for a burst (about 20,000 small messages)
IP_RECVERR, IPV6_RECVERR = 11, 25  # Linux <linux/in.h>, <linux/in6.h>
_UNREACHABLE = frozenset(
    {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}
)
READ_BATCH = 256  # datagrams read per turn of the loop, so timers and the conductor keep up
MAX_SCHEDULED = 1000  # messages held for their timetag at once
LATE_SECONDS = 0.002  # a timetag this close to now (or past) is taken at once
MAX_PACKET = 65536  # bytes in one packet, as over UDP; a longer TCP frame is refused
NO_STORE = "presets are off: the store is not open (see jamd's log)"
NO_SONGS = "songs are not kept: the store is not open (see jamd's log)"
MAX_STREAMS = 64  # TCP connections at once
STREAM_BACKLOG = 1 << 20  # bytes waiting to go to a TCP client that reads too slowly


class Stream:
    """A TCP client: its address, and its connection framed as it framed its first packet."""

    def __init__(self, address: Address, writer: asyncio.StreamWriter, slipped: bool) -> None:
        self.address = address
        self.writer = writer
        self.slipped = slipped

    def __str__(self) -> str:
        return f"{self.address[0]}:{self.address[1]} (TCP)"

    def frame(self, packet: bytes) -> bytes:
        return slip.encode(packet) if self.slipped else _SIZE.pack(len(packet)) + packet


Peer = Address | Stream  # who sent a packet, and where its answers go


def _named(peer: Peer | None) -> str:
    if peer is None:
        return "another surface"
    return str(peer) if isinstance(peer, Stream) else f"{peer[0]}:{peer[1]}"


def _host(peer: Peer) -> str:
    return peer.address[0] if isinstance(peer, Stream) else peer[0]


@dataclass(slots=True)
class OscStats:
    received: int = 0  # packets from allowed senders
    commands: int = 0  # sent on to the bus
    errors: int = 0  # answered with /jamd/error
    scheduled: int = 0  # messages held for a future timetag
    refused: int = 0  # packets (or TCP connections) from outside the allow-list, dropped
    sent: int = 0  # packets sent: feedback, state and error answers
    unsent: int = 0  # packets the socket would not take (full buffer, unreachable peer)
    dropped: int = 0  # subscribers dropped: unreachable, or silent past the timeout


class OscServer:
    """Listens on ``host:port``; ``submit`` puts a command on the daemon's bus; ``session``
    gives the latest session (for ``/jamd/state``)."""

    def __init__(
        self,
        space: Space,
        submit: Callable[[Command], "asyncio.Future[object]"],
        session: Callable[[], Session],
        *,
        allow: Sequence[Network],
        auto_subscribe: bool = True,
        max_ahead: float = 60.0,
        beat: Callable[[], float | None] | None = None,
        beat_hz: float = 0.0,
        subscriber_timeout: float = 0.0,
        presets: PresetStore | None = None,
    ) -> None:
        self.space = space
        self.presets = presets
        self._submit = submit
        self._session = session
        self._allow = tuple(allow)
        self.auto_subscribe = auto_subscribe
        self.max_ahead = max_ahead
        self.subscriber_timeout = subscriber_timeout
        self._held: set[asyncio.TimerHandle] = set()
        self._beat = beat
        self._beat_hz = beat_hz
        self._feeder: asyncio.Task[None] | None = None
        self.subscribers: dict[Peer, float] = {}  # peer -> when it last sent anything
        self.stats = OscStats()
        self._socket: socket.socket | None = None
        self._tcp: asyncio.Server | None = None
        self.tcp_address: Address | None = None
        self._streams: set[Stream] = set()
        self._unpublished: Session | None = None  # the session subscribers last heard
        self._latest = session()
        self._flush: asyncio.Handle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._answers: dict[str, Callable[[Peer, str, Args], None]] = {
            "/jamd/state": lambda peer, _path, _args: self._send_state(peer),
            "/jamd/subscribe": self._subscription,
            "/jamd/unsubscribe": self._subscription,
            "/jamd/preset/save": self._preset,
            "/jamd/preset/load": self._preset,
            "/jamd/preset/list": self._preset,
            **{f"/jamd/track/{part}/patches": self._patches for part in PARTS},
            "/jamd/midi/learn": self._midi_learn,
            "/jamd/like": self._feedback,
            "/jamd/skip": self._feedback,
            "/jamd/song/replay": self._replay,
            "/jamd/training/refresh": self._training_refresh,
            **dict.fromkeys(BAND_ADDRESSES, self._no_band),
        }
        # the song log, once the store is open: (kind, detail) -> the row's id, when written
        self.feedback: Callable[[str, dict[str, Any]], asyncio.Future[int]] | None = None
        # a recorded song's commands to play it again (InputError: no such song)
        self.replay: Callable[[int], Awaitable[list[Command]]] | None = None
        # MIDI learn, once MIDI runs: (target, told which control it became)
        self.learn: Callable[[str, Callable[[str], None]], None] | None = None
        self.training: Trainer | None = None  # the side task, when training is on
        self._log = Throttled(log, LOG_EVERY_SECONDS).warning
        root = logging.getLogger()
        if _not_python_osc not in root.filters:
            root.addFilter(_not_python_osc)

    async def start(self, host: str, port: int, tcp_port: int | None = None) -> Address:
        """Bind and listen on UDP (and TCP on ``tcp_port``, if given); the UDP address bound
        (port 0 takes a free one; ``tcp_address`` has the TCP one)."""
        loop = asyncio.get_running_loop()
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.bind((host, port))
        except OSError as error:
            raise InputError(
                f"osc: cannot listen on {host}:{port} ({error.strerror or error}); set osc.port "
                "to a free port, or osc.enabled = false"
            ) from None
        if tcp_port is not None:
            try:
                self._tcp = await asyncio.start_server(
                    self._connected, host, tcp_port, limit=MAX_PACKET
                )
            except OSError as error:
                sock.close()
                raise InputError(
                    f"osc: cannot listen on {host}:{tcp_port} over TCP "
                    f"({error.strerror or error}); set osc.tcp_port to a free port, or "
                    "osc.tcp = false"
                ) from None
            bound_tcp = self._tcp.sockets[0].getsockname()
            self.tcp_address = (str(bound_tcp[0]), int(bound_tcp[1]))
            log.info("OSC listening on %s:%d (TCP)", *self.tcp_address)
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # Linux: ICMP errors name the peer (_unreachable)
            level = socket.IPPROTO_IPV6 if family == socket.AF_INET6 else socket.IPPROTO_IP
            sock.setsockopt(level, IPV6_RECVERR if level == socket.IPPROTO_IPV6 else IP_RECVERR, 1)
        self._socket = sock
        loop.add_reader(sock.fileno(), self._read)
        if self._beat is not None and self._beat_hz > 0:
            self._feeder = asyncio.create_task(self._feed_beats(self._beat, self._beat_hz))
        bound = sock.getsockname()
        log.info("OSC listening on %s:%d (UDP)", bound[0], bound[1])
        return str(bound[0]), int(bound[1])

    def close(self) -> None:
        if self._feeder is not None:
            self._feeder.cancel()
            self._feeder = None
        for handle in self._held:
            handle.cancel()
        self._held.clear()
        for task in self._tasks:
            task.cancel()
        if self._flush is not None:
            self._flush.cancel()
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None
        for stream in self._streams:
            stream.writer.close()
        if self._socket is not None:
            asyncio.get_running_loop().remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = None

    # -- receiving ----------------------------------------------------------------------------

    def _read(self) -> None:
        """Every datagram waiting, up to a batch (asyncio's own datagram transport reads one
        per turn of the loop, which made a burst cost a turn per message)."""
        assert self._socket is not None
        for _ in range(READ_BATCH):
            try:
                data, addr = self._socket.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # an ICMP error from an earlier send, reported here
                if error.errno in _UNREACHABLE:
                    self._unreachable(error)
                else:
                    self._log("socket", "OSC socket error: %s", error)
                continue
            self.datagram_received(data, addr)

    def _unreachable(self, error: OSError) -> None:
        """A subscriber whose port or host is gone (the kernel got an ICMP error for a packet
        sent to it, and says so on the socket's next send or receive) is dropped: the error
        queue names it."""
        assert self._socket is not None
        while True:
            try:
                _, _, _, address = self._socket.recvmsg(512, 512, socket.MSG_ERRQUEUE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._log("socket", "OSC socket error: %s", error)
                return
            peer = (str(address[0]), int(address[1]))
            if self.subscribers.pop(peer, None) is not None:
                self._count(dropped=1)
                log.info("OSC subscriber %s dropped: %s", _named(peer), error)

    def _expire(self, now: float) -> None:
        """Subscribers that have sent nothing for ``subscriber_timeout`` seconds go."""
        if self.subscriber_timeout <= 0:
            return
        for peer, seen in list(self.subscribers.items()):
            if now - seen > self.subscriber_timeout:
                del self.subscribers[peer]
                self._count(dropped=1)
                log.info(
                    "OSC subscriber %s dropped: silent for %g s (osc.subscriber_timeout)",
                    _named(peer),
                    self.subscriber_timeout,
                )

    def datagram_received(self, data: bytes, addr: Any) -> None:
        peer: Address = (str(addr[0]), int(addr[1]))
        if not self._allowed(peer[0]):
            self._count(refused=1)
            self._log("refused", "OSC from %s:%d dropped: not in osc.allow", *peer)
            return
        self.packet_received(data, peer)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One TCP client, packet by packet, until it goes (or breaks the framing)."""
        name = writer.get_extra_info("peername")
        address: Address = (str(name[0]), int(name[1]))
        if not self._allowed(address[0]) or len(self._streams) >= MAX_STREAMS:
            self._count(refused=1)
            why = "not in osc.allow" if len(self._streams) < MAX_STREAMS else "too many clients"
            self._log("refused", "OSC TCP from %s:%d closed: %s", address[0], address[1], why)
            writer.close()
            return
        stream: Stream | None = None
        try:
            first = await reader.readexactly(1)
            stream = Stream(address, writer, slipped=first == slip.END)
            self._streams.add(stream)
            if stream.slipped:
                await self._read_slip(stream, reader)
            else:
                await self._read_sized(stream, reader, first)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went
        finally:
            if stream is not None:
                self._streams.discard(stream)
                self.subscribers.pop(stream, None)
            writer.close()

    async def _read_slip(self, stream: Stream, reader: asyncio.StreamReader) -> None:
        """Frames between END bytes (OSC 1.1 sends one on either side; empty ones are none)."""
        while True:
            try:
                frame = await reader.readuntil(slip.END)
            except asyncio.LimitOverrunError:
                self._error(stream, "", f"a SLIP frame over {MAX_PACKET} bytes: connection closed")
                return
            packet = frame[:-1]
            if not packet:
                continue
            try:
                self.packet_received(slip.decode(packet), stream)
            except slip.ProtocolError:
                self._count(received=1)
                self._error(
                    stream, "", "malformed SLIP frame (ESC not followed by ESC_END/ESC_ESC)"
                )

    async def _read_sized(self, stream: Stream, reader: asyncio.StreamReader, first: bytes) -> None:
        """Packets each after its size, a 4-byte big-endian int (OSC 1.0 over a stream)."""
        head = first + await reader.readexactly(3)
        while True:
            size = int.from_bytes(head, "big")
            if size > MAX_PACKET:
                self._error(stream, "", f"a packet of {size} bytes, over {MAX_PACKET}: closed")
                return
            self.packet_received(await reader.readexactly(size), stream)
            head = await reader.readexactly(4)

    def packet_received(self, data: bytes, peer: Peer) -> None:
        """One packet from an allowed sender."""
        self._count(received=1)
        if peer in self.subscribers:
            self.subscribers[peer] = time.monotonic()
        try:
            check_packet(data)
            messages = OscPacket(data).messages
        except (ParseError, ValueError) as error:
            self._error(peer, "", f"malformed packet: {error}")
            return
        except Exception as error:  # noqa: BLE001  (python-osc raises others on odd bytes)
            self._error(peer, "", f"malformed packet: {type(error).__name__}: {error}")
            return
        now = time.time()
        for timed in messages:
            path, args = str(timed.message.address), tuple(timed.message.params)
            ahead = timed.time - now
            if ahead <= LATE_SECONDS:
                self._handle(peer, path, args)
            else:
                self._hold(peer, path, args, ahead)

    def _hold(self, peer: Peer, path: str, args: Args, ahead: float) -> None:
        """Take the message ``ahead`` seconds from now (its bundle's timetag)."""
        if ahead > self.max_ahead:
            self._error(
                peer, path, f"timetag {ahead:.1f} s ahead: at most {self.max_ahead:g} s (osc)"
            )
            return
        if len(self._held) >= MAX_SCHEDULED:
            self._error(peer, path, f"{MAX_SCHEDULED} messages already wait for their timetag")
            return

        def due() -> None:
            self._held.discard(handle)
            self._handle(peer, path, args)

        handle = asyncio.get_running_loop().call_later(ahead, due)
        self._held.add(handle)
        self._count(scheduled=1)

    def _handle(self, peer: Peer, path: str, args: Args) -> None:
        answer = self._answers.get(path)
        if answer is not None:
            answer(peer, path, args)
            return
        try:
            command = self.space.command(path, args)
        except OscError as error:
            self._error(peer, path, str(error))
            return
        if self.auto_subscribe and peer not in self.subscribers:
            self.subscribers[peer] = time.monotonic()
        if command is None:  # a button's release
            return
        self._submit_command(peer, path, command)

    def answer(self, path: str, handler: Callable[[Peer, str, Args], None]) -> None:
        """Answer ``path`` with ``handler`` (a band member's messages); the ``InputError`` it
        raises is answered to the sender as ``/jamd/error``, counted and logged."""

        def answered(peer: Peer, path: str, args: Args) -> None:
            try:
                handler(peer, path, args)
            except InputError as error:
                self._error(peer, path, str(error))

        self._answers[path] = answered

    def send_message(self, path: str, args: Args, peer: Peer) -> None:
        """One message to ``peer``, from this server's socket (its answers come back here)."""
        self._sendto(encode(path, args), peer)

    def _no_band(self, peer: Peer, path: str, _args: Args) -> None:
        self._error(peer, path, "this jamd is in no band ([band] peers in its config)")

    def _submit_command(self, peer: Peer | None, path: str, command: Command) -> None:
        self._count(commands=1)
        future = self._submit(command)
        future.add_done_callback(lambda done: self._answered(done, peer, path))

    def _send_state(self, peer: Peer) -> None:
        values = self.space.state(self._session())
        if self.training is not None:
            values |= training_state(self.training.state)
        self._send(peer, values.items())

    def _subscription(self, peer: Peer, path: str, args: Args) -> None:
        """Feedback to the sender (over TCP: down its connection), or to ``port`` on its host
        by UDP."""
        target: Peer = peer
        if args:
            value = args[0]
            if len(args) > 1 or isinstance(value, bool) or not isinstance(value, int):
                self._error(peer, path, "takes nothing, or the port (int) feedback goes to")
                return
            if not 1 <= value <= 65535:
                self._error(peer, path, f"port must be 1..65535, got {value}")
                return
            target = (_host(peer), value)
        if path == "/jamd/unsubscribe":
            self.subscribers.pop(target, None)
            return
        self.subscribers[target] = time.monotonic()
        self._send_state(target)

    def _patches(self, peer: Peer, path: str, args: Args) -> None:
        """The patches a part can play, in the order ``.../patch`` takes indices in."""
        if args:
            self._error(peer, path, "takes nothing")
            return
        part = path.split("/")[3]
        self._sendto(encode(path, self.space.patches[part]), peer)

    def _midi_learn(self, peer: Peer, path: str, args: Args) -> None:
        """The next MIDI control moved drives the target; ``/jamd/midi/learned TARGET SOURCE``
        then goes to the sender and every subscriber."""
        if len(args) != 1 or not isinstance(args[0], str):
            self._error(peer, path, "takes the target's OSC address (a string)")
            return
        if self.learn is None:
            self._error(peer, path, "MIDI is off (see the log, or midi.enabled)")
            return
        target = args[0]

        def learned(source: str) -> None:
            data = encode("/jamd/midi/learned", (target, source))
            for someone in {peer, *self.subscribers}:
                self._sendto(data, someone)

        try:
            self.learn(target, learned)
        except InputError as error:
            self._error(peer, path, str(error))

    # -- songs and feedback -------------------------------------------------------------------

    def _feedback(self, peer: Peer, path: str, args: Args) -> None:
        """A like or a skip against the song playing; a skip then moves on to a new song."""
        if args:
            self._error(peer, path, "takes nothing")
            return
        if self.feedback is None:
            self._error(peer, path, NO_SONGS)
            return
        kind = path.rsplit("/", 1)[1]
        written = self.feedback(kind, {"from": _named(peer)})
        written.add_done_callback(lambda done: self._recorded(done, peer, path))
        if kind == "skip":
            self._submit_command(peer, path, Regenerate())

    def _recorded(self, done: "asyncio.Future[int]", peer: Peer, path: str) -> None:
        if done.cancelled():
            return
        error = done.exception()
        if isinstance(error, InputError):
            self._error(peer, path, str(error))

    def _replay(self, peer: Peer, path: str, args: Args) -> None:
        if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], int):
            self._error(peer, path, "takes a song's id (an int; jamd songs lists them)")
            return
        if self.replay is None:
            self._error(peer, path, NO_SONGS)
            return
        self._spawn(self._play_again(self.replay, peer, path, args[0]))

    async def _play_again(
        self, replay: Callable[[int], Awaitable[list[Command]]], peer: Peer, path: str, song: int
    ) -> None:
        try:
            commands = await replay(song)
        except InputError as error:
            self._error(peer, path, str(error))
            return
        for command in commands:
            self._submit_command(peer, path, command)
        log.info("OSC %s: song %d plays again (%d changes)", _named(peer), song, len(commands))

    # -- training -----------------------------------------------------------------------------

    def _training_refresh(self, peer: Peer, path: str, args: Args) -> None:
        """A refresh now: of the genres named, else of every genre. ``/jamd/training/state``
        follows to the sender and every subscriber as it goes."""
        if self.training is None:
            self._error(peer, path, "training is off (training.enabled = false, or no store)")
            return
        if not all(isinstance(arg, str) for arg in args):
            self._error(peer, path, "takes nothing, or the genres to refresh (strings)")
            return
        genres = [str(arg) for arg in args] or None
        try:
            started = self.training.request(genres)
        except InputError as error:
            self._error(peer, path, str(error))
            return
        if not started:
            busy = self.training.state.status() or "a refresh is running"
            self._error(peer, path, f"{busy}: one refresh at a time")
            return
        log.info("OSC %s: training refresh of %s", _named(peer), ", ".join(genres or ["all"]))
        self._sendto(encode(path, ("started", *(genres or ()))), peer)

    def publish_training(self, state: TrainingState) -> None:
        """The side task moved on: subscribers hear ``/jamd/training/state``."""
        self._expire(time.monotonic())
        if not self.subscribers:
            return
        packets = bundles(training_state(state).items())
        for peer in list(self.subscribers):
            for packet in packets:
                self._sendto(packet, peer)

    # -- presets ------------------------------------------------------------------------------

    def _preset(self, peer: Peer, path: str, args: Args) -> None:
        if self.presets is None:
            self._error(peer, path, NO_STORE)
            return
        if path == "/jamd/preset/list":
            if args:
                self._error(peer, path, "takes nothing")
                return
            self._spawn(self._list_presets(self.presets, peer, path))
            return
        if len(args) != 1 or not isinstance(args[0], str):
            self._error(peer, path, "takes the preset's name (a string)")
            return
        if path == "/jamd/preset/save":
            self._spawn(self._save_preset(self.presets, peer, path, args[0]))
        else:
            self._spawn(self._load_preset(self.presets, peer, path, args[0]))

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _list_presets(self, store: PresetStore, peer: Peer, path: str) -> None:
        try:
            names = await store.names()
        except InputError as error:
            self._error(peer, path, str(error))
            return
        self._sendto(encode(path, tuple(names)), peer)

    async def _save_preset(self, store: PresetStore, peer: Peer, path: str, name: str) -> None:
        """Saved in the store (its thread waits for the disk, never the loop);
        ``/jamd/preset NAME`` tells every subscriber."""
        try:
            await store.save(name, self._session())
        except InputError as error:
            self._error(peer, path, str(error))
            return
        log.info("OSC %s: preset %r saved in %s", _named(peer), name, store.store.path)
        self._announce_preset(peer, name)

    def recall(self, name: str) -> None:
        """A preset another surface asks for (a MIDI program change): loaded as over OSC, its
        problems logged (there is no one to answer)."""
        if self.presets is None:
            self._error(None, "/jamd/preset/load", NO_STORE)
            return
        self._spawn(self._load_preset(self.presets, None, "/jamd/preset/load", name))

    async def _load_preset(
        self, store: PresetStore, peer: Peer | None, path: str, name: str
    ) -> None:
        """Each value that differs becomes a command, landing on its own boundary."""
        try:
            preset = await store.load(name)
            commands = preset.commands(self._session())
        except InputError as error:
            self._error(peer, path, str(error))
            return
        for command in commands:
            self._submit_command(peer, path, command)
        log.info("OSC %s: preset %r loaded (%d changes)", _named(peer), name, len(commands))
        self._announce_preset(peer, name)

    def _announce_preset(self, peer: Peer | None, name: str) -> None:
        data = encode("/jamd/preset", (name,))
        for target in {*([] if peer is None else [peer]), *self.subscribers}:
            self._sendto(data, target)

    def _answered(self, future: "asyncio.Future[object]", peer: Peer | None, path: str) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if isinstance(error, InputError):
            self._error(peer, path, str(error))
        elif error is not None:
            log.error("OSC %s: %s", path, error)

    # -- sending ------------------------------------------------------------------------------

    def publish(self, old: Session, new: Session) -> None:
        """The session changed: every subscriber gets what changed, once the loop's turn is
        over (the commands of one turn, a flood's fader moves, make one bundle)."""
        self._latest = new
        if self._unpublished is None:
            self._unpublished = old
            self._flush = asyncio.get_running_loop().call_soon(self._send_changes)

    def _send_changes(self) -> None:
        old, self._unpublished, self._flush = self._unpublished, None, None
        self._expire(time.monotonic())
        if old is None or not self.subscribers:
            return
        changed = self.space.changes(old, self._latest)
        if not changed:
            return
        packets = bundles(changed)  # built once for every subscriber
        for peer in list(self.subscribers):
            for packet in packets:
                self._sendto(packet, peer)

    async def _feed_beats(self, beat: Callable[[], float | None], hz: float) -> None:
        """``/jamd/beat`` (the beat in the bar, counted from 1, with its fraction) to every
        subscriber, ``hz`` times a second while the music plays."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += 1.0 / hz
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            where = beat()
            if where is None or not self.subscribers:
                continue
            data = encode("/jamd/beat", (1.0 + where,))
            for peer in list(self.subscribers):
                self._sendto(data, peer)

    def _send(self, peer: Peer, values: Iterable[tuple[str, Args]]) -> None:
        for packet in bundles(values):
            self._sendto(packet, peer)

    def _sendto(self, data: bytes, peer: Peer) -> None:
        if isinstance(peer, Stream):
            self._stream_send(data, peer)
            return
        if self._socket is None:
            return
        try:
            self._socket.sendto(data, peer)
        except OSError as error:  # a full buffer, or an earlier packet's ICMP error
            self._count(unsent=1)
            if error.errno in _UNREACHABLE:
                self._unreachable(error)
            else:
                self._log("send", "OSC to %s not sent: %s", _named(peer), error)
            return
        self._count(sent=1)

    def _stream_send(self, data: bytes, stream: Stream) -> None:
        """Down the connection; a client that reads too slowly loses packets (counted), never
        holds up the loop."""
        transport = stream.writer.transport
        if transport.is_closing() or transport.get_write_buffer_size() > STREAM_BACKLOG:
            self._count(unsent=1)
            self._log("send", "OSC to %s not sent: it is not reading", stream)
            return
        stream.writer.write(stream.frame(data))
        self._count(sent=1)

    def _error(self, peer: Peer | None, path: str, text: str) -> None:
        self._count(errors=1)
        self._log("error", "OSC %s from %s: %s", path or "(packet)", _named(peer), text)
        if peer is not None:
            self._sendto(encode("/jamd/error", (path, text)), peer)

    # -- bookkeeping --------------------------------------------------------------------------

    def _allowed(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._allow)

    def _count(self, **counts: int) -> None:
        for name, n in counts.items():
            setattr(self.stats, name, getattr(self.stats, name) + n)


_FIXED = {"i": 4, "f": 4, "r": 4, "m": 4, "c": 4, "h": 8, "d": 8, "t": 8}
_EMPTY = frozenset("TFNI[]")


def check_packet(data: bytes) -> None:
    """``ValueError`` unless ``data`` is exactly one OSC 1.0 packet: every size a multiple of
    4, type tags present (every current client sends them), every argument whole. python-osc
    pads a float cut short (for Reaktor), so a packet truncated in transit would otherwise
    pass with a different value."""
    if len(data) % 4:
        raise ValueError(f"{len(data)} bytes: an OSC packet is a multiple of 4")
    if data.startswith(b"#bundle\0"):
        at = 16
        while at < len(data):
            if at + 4 > len(data):
                raise ValueError("a bundle element's size is cut short")
            size = int.from_bytes(data[at : at + 4], "big")
            if size % 4 or at + 4 + size > len(data):
                raise ValueError("a bundle element's size does not match the packet")
            check_packet(data[at + 4 : at + 4 + size])
            at += 4 + size
        return
    at = _string_end(data, 0, "the address")
    if data[at : at + 1] != b",":  # also a message cut short after its address
        raise ValueError("the type tags do not start with ','")
    end = _string_end(data, at, "the type tags")
    for tag in data[at + 1 : data.index(0, at)].decode("ascii", "replace"):
        if tag in _FIXED:
            end += _FIXED[tag]
        elif tag in "sS":
            end = _string_end(data, end, "a string argument")
        elif tag == "b":
            size = int.from_bytes(data[end : end + 4], "big")
            end += 4 + size + (-size % 4)
        elif tag not in _EMPTY:
            raise ValueError(f"unknown type tag {tag!r}")
        if end > len(data):
            raise ValueError("an argument is cut short")
    if end != len(data):
        raise ValueError(f"{len(data) - end} bytes after the last argument")


def _string_end(data: bytes, at: int, what: str) -> int:
    """Where the padded, NUL-terminated string at ``at`` ends."""
    nul = data.find(b"\0", at)
    if nul < 0:
        raise ValueError(f"{what} is not terminated")
    return nul + 4 - (nul % 4)


def encode(path: str, args: Args) -> bytes:
    """One OSC message: strings, ints (32-bit, or 64-bit beyond that: a seed), floats (32-bit)
    and booleans, as jamd's feedback has. python-osc's builder parses every packet it builds
    again, which made feedback most of an OSC message's cost (bench/osc.py)."""
    tags, data = [","], []
    for value in args:
        if isinstance(value, bool):
            tags.append("T" if value else "F")
        elif isinstance(value, int) and _INT32[0] <= value <= _INT32[1]:
            tags.append("i")
            data.append(_INT.pack(value))
        elif isinstance(value, int):
            tags.append("h")
            data.append(_INT64.pack(value))
        elif isinstance(value, float):
            tags.append("f")
            data.append(_FLOAT.pack(value))
        else:
            tags.append("s")
            data.append(_string(str(value)))
    return _string(path) + _string("".join(tags)) + b"".join(data)


def bundles(values: Iterable[tuple[str, Args]]) -> list[bytes]:
    """``values`` as immediate bundles, as few as keep each under ``MAX_BUNDLE_BYTES``."""
    packets: list[bytes] = []
    parts: list[bytes] = [_BUNDLE_HEAD]
    size = len(_BUNDLE_HEAD)
    for path, args in values:
        message = encode(path, args)
        if size + 4 + len(message) > MAX_BUNDLE_BYTES and len(parts) > 1:
            packets.append(b"".join(parts))
            parts, size = [_BUNDLE_HEAD], len(_BUNDLE_HEAD)
        parts.append(_INT.pack(len(message)) + message)
        size += 4 + len(message)
    if len(parts) > 1:
        packets.append(b"".join(parts))
    return packets


_SIZE = struct.Struct(">I")
_INT = struct.Struct(">i")
_INT64 = struct.Struct(">q")
_INT32 = (-(2**31), 2**31 - 1)
_FLOAT = struct.Struct(">f")
_BUNDLE_HEAD = b"#bundle\0" + (1).to_bytes(8, "big")  # timetag 1: immediately


def _string(text: str) -> bytes:
    raw = text.encode("utf-8") + b"\0"
    return raw + b"\0" * (-len(raw) % 4)
