"""A band: several jamd instances playing one song, each its own parts (docs/band.md)."""

from jamd.band.member import BandMember, peer_address
from jamd.band.wire import BandError

__all__ = ["BandError", "BandMember", "peer_address"]
