"""Run inside a private network namespace by test_osc.py: jamd, liblo's oscsend and oscdump.

Starts ``jamd run`` (silent audio) on OSC port 9000 of the namespace's loopback, subscribes an
``oscdump`` listener, changes the tempo and the bass volume with ``oscsend``, and prints what
oscdump received, one line each (oscdump puts a bundle's timetag first), then ``DONE``.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

JAMD = Path(sys.executable).with_name("jamd")
STYLES, PATCHES = sys.argv[1], sys.argv[2]


def send(*args: str) -> None:
    subprocess.run(["oscsend", "127.0.0.1", "9000", *args], check=True, timeout=10)


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    jamd = subprocess.Popen(
        [str(JAMD), "run", "--audio", "null", "--osc-port", "9000", "--genre", "click",
         "--tempo", "120", "--set", f"paths.styles=['{STYLES}']",
         "--set", f"paths.patches=['{PATCHES}']"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "JAMD_OSC__PORT": "9000"},
    )  # fmt: skip
    dump = subprocess.Popen(["oscdump", "-L", "9001"], stdout=subprocess.PIPE, text=True)
    try:
        assert jamd.stderr is not None
        for line in jamd.stderr:
            if "OSC listening on 127.0.0.1:9000" in line:
                break
        send("/jamd/subscribe", "i", "9001")  # from 127.0.0.1: feedback to 127.0.0.1:9001
        time.sleep(0.5)
        send("/jamd/tempo", "f", "128")
        send("/jamd/track/bass/volume", "f", "0.5")
        assert dump.stdout is not None
        deadline = time.monotonic() + 15
        seen: set[str] = set()
        for line in dump.stdout:
            text = line.strip()
            print(text, flush=True)  # noqa: T201  (the output is what the test reads)
            for wanted in ("/jamd/tempo f 128.0", "/jamd/track/bass/volume f 0.5"):
                if f" {wanted}" in text:  # after the bundle's timetag
                    seen.add(wanted)
            if len(seen) == 2 or time.monotonic() > deadline:
                break
        print("DONE", flush=True)  # noqa: T201
    finally:
        dump.terminate()
        jamd.terminate()
        jamd.wait(30)
        dump.wait(10)


if __name__ == "__main__":
    main()
