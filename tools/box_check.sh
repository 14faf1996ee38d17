#!/bin/sh
# The service's behaviour under real systemd 252 (Bookworm) and 257 (Trixie), with the slower checks:
# tools/install.sh in a systemd-nspawn box, READY, reload, stop, exit 78 not restarted (also after
# RestartSec), a watchdog restart, credentials, exposure. Prints each suite's figures (install time,
# start -> READY, stop, exposure online/offline, stall -> restarted).
#
#   sudo tools/box_check.sh [SUITE...]      default: bookworm trixie
#
# Needs root, systemd-container and debootstrap, ../shared/tools/systemd-box, and the package
# registries (the box reaches the host's with --host-registries). About 50 s per suite.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
SOULSYNC_BOX_SUITES=${*:-bookworm trixie} SOULSYNC_BOX_FULL=1 \
    exec "$PYTHON" -m pytest -q -s -p no:cacheprovider tests/test_service_box.py
