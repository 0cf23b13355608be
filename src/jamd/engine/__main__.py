"""``python -m jamd.engine FD FD``: the engine's own process, started by the daemon."""

import sys

from jamd.engine.process import main

sys.exit(main(sys.argv[1:]))
