"""sd_notify against real AF_UNIX datagram sockets, as systemd listens."""

import os
import socket
from pathlib import Path

from helpers import notify_socket

from jamd.app.notify import Notifier


def test_messages_arrive_as_key_value_lines(tmp_path: Path) -> None:
    with notify_socket(tmp_path) as systemd:
        notifier = Notifier({"NOTIFY_SOCKET": str(systemd.path)})
        notifier.ready("playing pop in C")
        notifier.reloading()
        notifier.status("a status\nwith a newline")
        notifier.watchdog()
        notifier.stopping()
        notifier.close()
        systemd.wait_for("STOPPING")
        messages = systemd.received()
    assert messages[0] == {"READY": "1", "STATUS": "playing pop in C"}
    assert messages[1]["RELOADING"] == "1"
    assert int(messages[1]["MONOTONIC_USEC"]) > 0
    assert messages[2] == {"STATUS": "a status with a newline"}
    assert messages[3] == {"WATCHDOG": "1"}
    assert messages[4]["STOPPING"] == "1"


def test_an_abstract_socket_name_is_understood() -> None:
    name = f"jamd-test-notify-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    listener.settimeout(5)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        notifier.ready("ok")
        notifier.close()
        assert listener.recv(1024) == b"READY=1\nSTATUS=ok"
    finally:
        listener.close()


def test_without_systemd_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.send(ready=1) is False
    assert notifier.watchdog_seconds is None


def test_the_watchdog_interval_is_half_of_watchdog_usec_and_only_for_this_process() -> None:
    assert Notifier({"WATCHDOG_USEC": "10000000"}).watchdog_seconds == 5.0
    mine = str(os.getpid())
    assert Notifier({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": mine}).watchdog_seconds == 2.0
    assert Notifier({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}).watchdog_seconds is None


def test_a_listener_that_does_not_read_never_blocks_the_sender(tmp_path: Path) -> None:
    path = tmp_path / "deaf.sock"
    deaf = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    deaf.bind(str(path))
    try:
        notifier = Notifier({"NOTIFY_SOCKET": str(path)})
        sent = [notifier.watchdog() for _ in range(500)]  # far past the socket's queue
        notifier.close()
        assert len(sent) == 500
        assert notifier.failures > 0
    finally:
        deaf.close()
