# jamd: two commands do all set-up on a fresh Debian machine.
#   make run    create .venv, install jamd, start it with the default config (Ctrl-C stops it)
#   make test   install what the tests need (Debian packages too, when run as root), then run
#               the linters and the whole test suite
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PYO_GUI_WX := 0

# What the tests use from Debian: a JACK server and its tools (jackd, jack_rec, jack_wait),
# liblo's oscsend and oscdump, systemd-analyze. Installed only when missing, only as root.
DEBIAN_PACKAGES := jackd2 liblo-tools systemd

# Where `make install` puts jamd for the systemd service (run as root).
PREFIX    ?= /usr/local
OPT       ?= /opt/jamd
UNITS     ?= /etc/systemd/system
USERUNITS ?= /etc/systemd/user

.PHONY: run test lint typecheck contracts pytest bench bench-live bench-osc bench-midi bench-training layouts system-packages install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(STAMP)
	$(VENV)/bin/jamd run --config config/jamd.toml

# The TouchOSC layout and Open Stage Control session in config/, from the OSC address space.
layouts: $(STAMP)
	$(PY) -m jamd.osc.layouts config

test: system-packages lint typecheck contracts pytest

system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  for package in $(DEBIAN_PACKAGES); do \
	    dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; \
	  done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing \
	    || { apt-get update -q && \
	         DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; }; \
	  fi; \
	elif ! command -v jackd >/dev/null; then \
	  echo "jackd is missing and this is not root: sudo apt install $(DEBIAN_PACKAGES)"; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

pytest: $(STAMP)
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) bench/render.py

# Live figures (docs/performance.md): needs jackd; takes about 15 minutes.
bench-live: $(STAMP) system-packages
	$(PY) bench/live.py

# OSC figures (docs/performance.md): throughput, latency, xruns under messages; about 2 minutes.
bench-osc: $(STAMP) system-packages
	$(PY) bench/osc.py

# MIDI figures (docs/performance.md): CC latency, clock following, the sent clock; ~5 minutes.
bench-midi: $(STAMP) system-packages
	$(PY) bench/midi.py

# Training figures (docs/performance.md): files/s, the refresh's effect on the live loop, the
# conductor's own steps as songs change and models arrive; ~8 min.
bench-training: $(STAMP) system-packages
	$(PY) bench/training.py files --files 2000 --workers 1 2
	$(PY) bench/training.py stall --files 2000
	$(PY) bench/conductor.py

# The system service: jamd in its own environment under $(OPT), the command in $(PREFIX)/bin,
# the default config in /etc/jamd (never overwritten), the units, a 'jamd' system user.
install:
	@[ "$$(id -u)" = 0 ] || { echo "make install: run as root (sudo make install)"; exit 1; }
	$(PYTHON) -m venv $(OPT)
	$(OPT)/bin/python -m pip install --quiet --upgrade pip
	$(OPT)/bin/python -m pip install --quiet .
	ln -sf $(OPT)/bin/jamd $(PREFIX)/bin/jamd
	install -d -m 755 /etc/jamd $(PREFIX)/share/doc/jamd
	[ -e /etc/jamd/jamd.toml ] || install -m 644 config/jamd.toml /etc/jamd/jamd.toml
	install -m 644 README.md docs/*.md $(PREFIX)/share/doc/jamd/
	install -m 644 systemd/jamd.service $(UNITS)/jamd.service
	install -d -m 755 $(USERUNITS)
	install -m 644 systemd/jamd-user.service $(USERUNITS)/jamd.service
	id jamd >/dev/null 2>&1 || useradd --system --home-dir /var/lib/jamd --no-create-home \
	  --shell /usr/sbin/nologin --groups audio jamd
	systemctl daemon-reload 2>/dev/null || true
	@echo "installed; start it with: systemctl enable --now jamd"

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache demo.wav demo.mid
