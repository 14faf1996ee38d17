"""The real daemon as the tests and tools run it, with two test hooks and nothing else changed.

``python -m soulsyncd.testing.harness run --config FILE`` runs exactly ``soulsyncd run`` (same CLI,
same app, same notifier), except:

* the configured frame source is wrapped in a :class:`StallableSource`: ``SIGUSR1`` toggles a
  stall, in which the next ``latest()`` call blocks, so the analysis loop's tick hangs the way it
  would on a wedged camera driver and the watchdog must stop pinging; the next ``SIGUSR1`` lets
  it go on (tests/test_service_notify.py, tests/test_service_box.py); the daemon's own SIGUSR1
  (a state dump) is replaced by it here;
* with ``SOULSYNC_TEST_SPOTIFY_URL=http://127.0.0.1:PORT`` set, the Spotify player talks to the
  fake Spotify (:mod:`soulsyncd.testing.fake_spotify`) at that address instead of Spotify
  (tools/soak.py).

Nothing of this is in the daemon itself.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from soulsyncd.interfaces import FrameSource
from soulsyncd.types import Frame

log = logging.getLogger(__name__)


class StallableSource:
    """Wraps a frame source; while :attr:`stalled` is set, ``latest()`` blocks (until it is cleared
    or the source is stopped). Everything else is the wrapped source's."""

    def __init__(self, inner: FrameSource) -> None:
        self._inner = inner
        self.stalled = threading.Event()
        self._go = threading.Event()
        self._go.set()

    def stall(self, on: bool) -> None:
        if on:
            self.stalled.set()
            self._go.clear()
        else:
            self.stalled.clear()
            self._go.set()

    def start(self) -> None:
        self._inner.start()

    def latest(self) -> Frame | None:
        self._go.wait()
        return self._inner.latest()

    def stop(self) -> None:
        self._go.set()  # never leave the loop's thread hanging at shutdown
        self._inner.stop()

    def __getattr__(self, name: str) -> Any:  # state, alive, last_error, finished, ...
        return getattr(self._inner, name)


_sources: list[StallableSource] = []


def _toggle(_signum: int, _frame: FrameType | None) -> None:
    for source in _sources:
        on = not source.stalled.is_set()
        source.stall(on)
        log.warning("test harness: frame source %s", "stalled" if on else "released")


def main(argv: list[str] | None = None) -> int:
    from soulsyncd import app
    from soulsyncd.cli import main as cli_main

    real_build_source = app.build_source

    def build_source(config: Any) -> FrameSource:
        source = StallableSource(real_build_source(config))
        _sources[:] = [source]
        return source

    app.build_source = build_source
    fake_spotify = os.environ.get(SPOTIFY_URL_VARIABLE)
    if fake_spotify:
        _aim_spotify_at(fake_spotify.rstrip("/"))
    signal.signal(signal.SIGUSR1, _toggle)
    real_install = app.Daemon.install_signals

    def install_signals(self: Any) -> None:  # the daemon's SIGUSR1 (a state dump) is the toggle here
        real_install(self)
        signal.signal(signal.SIGUSR1, _toggle)

    app.Daemon.install_signals = install_signals  # type: ignore[method-assign]
    return cli_main(argv)


SPOTIFY_URL_VARIABLE = "SOULSYNC_TEST_SPOTIFY_URL"


def _aim_spotify_at(url: str) -> None:
    from soulsyncd.spotify import player

    real_build = player.build_spotify_player

    def build_spotify_player(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("api_prefix", url + "/v1/")
        kwargs.setdefault("token_url", url + "/api/token")
        return real_build(*args, **kwargs)

    player.build_spotify_player = build_spotify_player
    log.warning("test harness: Spotify is the fake at %s", url)


if __name__ == "__main__":
    sys.exit(main())
