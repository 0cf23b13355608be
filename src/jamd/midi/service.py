"""MIDI in for the daemon: ports, a parser per port, and the map's surface onto the bus.

Whatever a port sends is parsed (``messages``) and mapped (``mapping``); every command goes
on the daemon's bus like one from OSC. What cannot be used (bytes that are no MIDI, a value a
control refuses) is counted in ``stats`` and logged at most once every 10 s, and changes
nothing.
"""

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jamd.errors import InputError
from jamd.live.commands import Command
from jamd.logs import Throttled
from jamd.midi.clock import DriverTime
from jamd.midi.mapping import (
    CcMap,
    MapError,
    MidiMap,
    Surface,
    learned_entry,
    map_from_data,
    merged,
)
from jamd.midi.messages import Message, MidiParser
from jamd.midi.ports import MidiInputs, Received
from jamd.midi.sync import ClockFollow
from jamd.osc.space import Args, Space

log = logging.getLogger("jamd.midi")


@dataclass(slots=True)
class MidiStats:
    messages: int = 0  # whole MIDI messages parsed
    commands: int = 0  # sent on to the bus
    refused: int = 0  # mapped, but the control refused the value (or the conductor the command)
    garbage: int = 0  # bytes or messages that are no MIDI: stray, cut short, undefined


def default_map_path() -> Path:
    """config/midi/default.toml in a development install, else as installed in share/jamd."""
    repository = Path(__file__).resolve().parents[3] / "config" / "midi" / "default.toml"
    installed = Path(sys.prefix) / "share" / "jamd" / "midi" / "default.toml"
    return repository if repository.is_file() else installed


class MidiService:
    def __init__(
        self,
        inputs: Callable[[Received], MidiInputs],
        midi_map: MidiMap,
        space: Space,
        submit: Callable[[Command], "asyncio.Future[object]"],
        *,
        preset: Callable[[str], None] | None = None,
        learned: Mapping[str, Any] | None = None,
        save_learned: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> None:
        self.stats = MidiStats()
        self._parsers: dict[str, MidiParser] = {}
        self._times: dict[str, DriverTime] = {}
        self.clock: ClockFollow | None = None  # MIDI clock's messages go here (midi.clock)
        self._submit = submit
        self._log = Throttled(log).warning
        self._save = save_learned
        self.learned = self._read_learned(learned, space)
        self.surface = Surface(
            merged(midi_map, self.learned), space, self._command, self._refused, preset=preset
        )
        self._base = midi_map
        self._learning: tuple[str, Callable[[str], None]] | None = None
        self.inputs = inputs(self.received)

    def start(self) -> None:
        self.inputs.start()

    def close(self) -> None:
        self.inputs.close()

    def use_map(self, midi_map: MidiMap, space: Space) -> None:
        """A new map (a reload), with what was learned over it."""
        self._base = midi_map
        self.surface.map, self.surface.space = merged(midi_map, self.learned), space

    def learn(self, target: str, done: Callable[[str], None]) -> None:
        """The next control moved (a CC, a note or pad) drives ``target`` from then on, and is
        saved with the learned ones; ``done`` hears which it was. ``MapError`` if ``target`` is
        no control."""
        if target not in self.surface.space.addresses:
            raise MapError(f"cannot learn {target}: {self.surface.space.unknown(target)}")
        self._learning = (target, done)

    def _learn(self, message: Message) -> bool:
        """Take ``message`` as the control being learned, if it is one."""
        if self._learning is None:
            return False
        target, done = self._learning
        entry = learned_entry(message, target)
        if entry is None:
            return False
        self._learning = None
        if isinstance(entry, CcMap):
            self.learned = merged(self.learned, MidiMap(cc=(entry,)))
            source = f"CC {entry.control} on channel {entry.channel}"
        else:
            self.learned = merged(self.learned, MidiMap(note=(entry,)))
            source = f"note {entry.note} on channel {entry.channel}"
        self.surface.map = merged(self._base, self.learned)
        asyncio.get_running_loop().create_task(self._save_learned())
        log.info("MIDI learn: %s drives %s", source, target)
        done(source)
        return True

    def _read_learned(self, data: Mapping[str, Any] | None, space: Space) -> MidiMap:
        if not data:
            return MidiMap()
        try:
            return map_from_data(data, space, "what MIDI learn saved")
        except MapError as error:
            log.error("MIDI: what was learned is left out: %s", error)
            return MidiMap()

    async def _save_learned(self) -> None:
        """Into the store (``save_learned``); without one, learned for this run only."""
        if self._save is None:
            log.warning("MIDI learn: not saved, the store is not open (see the log)")
            return
        try:
            await self._save(self.learned.model_dump(mode="json"))
        except InputError as error:
            log.error("MIDI learn: cannot save what was learned: %s", error)

    def received(self, port: str, data: bytes, delta: float, arrived: float) -> None:
        """Bytes from ``port`` (on the loop's thread), ``delta`` seconds after the port's last
        by the driver, seen at monotonic time ``arrived`` (on RtMidi's thread)."""
        times = self._times.setdefault(port, DriverTime())
        moment = times.stamp(delta, arrived)
        parser = self._parsers.setdefault(port, MidiParser())
        garbage = parser.stats.garbage
        messages = parser.feed(data)
        if parser.stats.garbage > garbage:
            self.stats.garbage += parser.stats.garbage - garbage
            self._log("garbage", "MIDI from %s: bytes that are no MIDI, ignored", port)
        self.stats.messages += len(messages)
        clock = self.clock
        for message in messages:
            if clock is not None and clock.take(port, message, moment, times.offset):
                continue
            if not self._learn(message):
                self.surface.take(message)

    def _command(self, address: str, args: Args, command: Command) -> None:
        self.stats.commands += 1
        future = self._submit(command)
        future.add_done_callback(lambda done: self._answered(done, address, args))

    def _answered(self, future: "asyncio.Future[object]", address: str, args: Args) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if isinstance(error, InputError):
            self._refused(f"{address} {args}", str(error))
        elif error is not None:
            log.error("MIDI %s: %s", address, error)

    def _refused(self, source: str, why: str) -> None:
        self.stats.refused += 1
        self._log("refused", "MIDI %s did nothing: %s", source, why)
