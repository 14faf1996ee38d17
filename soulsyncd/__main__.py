"""``python -m soulsyncd`` and the ``soulsyncd`` command.

The very first thing is to make a stop signal quiet: a Ctrl-C or SIGTERM while Python is still
importing numpy, OpenCV or the model runtime would otherwise print a KeyboardInterrupt traceback.
Until the daemon installs its own handlers, nothing has started, so stopping is just exiting 0.
"""

import signal
import sys


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


for _signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_signum, _exit_quietly)


def main() -> int:
    from soulsyncd.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
