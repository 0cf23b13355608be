"""Errors shared by every layer.

Every error a user can cause is an ``InputError`` whose message names what was wrong and what is
allowed, in one line, e.g. ``tempo must be 20..300 BPM, got 400``.
"""


class JamdError(Exception):
    """Base of every error jamd raises on purpose."""


class InputError(JamdError, ValueError):
    """Input from a user, a file or a peer that jamd cannot accept; the message says why."""
