"""Steering jamd over OSC: the address space (``space``) and the UDP server (``server``) that
turns messages into Commands on the daemon's bus and sends state back to subscribers."""
