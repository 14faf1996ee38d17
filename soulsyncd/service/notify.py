"""systemd's notification protocol (sd_notify) and a watchdog that pings only while the core progresses.

sd_notify is one datagram of ``KEY=value`` lines to the Unix socket named by ``$NOTIFY_SOCKET`` (a
leading ``@`` means Linux's abstract namespace). It needs no libsystemd, so this module uses only the
standard library. Without the variable (run by hand, in tests) every message is a silent no-op.

:class:`SystemdNotifier` is both the daemon's :class:`~soulsyncd.interfaces.Lifecycle` (``READY=1``,
``RELOADING=1``, ``STOPPING=1``) and a :class:`~soulsyncd.core.handle.Service`: while started it keeps
``STATUS=`` current and, when the unit sets ``WatchdogSec=``, sends ``WATCHDOG=1`` every half
interval **only while** :meth:`~soulsyncd.core.progress.Progress.healthy` says the analysis loop
ticks and frames arrive. A hung camera thread or a stuck tick therefore stops the pings, and systemd
kills and restarts the service (``Restart=on-failure``); a thread that merely stays alive cannot
fool it (the Frigate watchdog habit).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping

from soulsyncd.core.handle import CoreHandle
from soulsyncd.core.progress import Progress
from soulsyncd.core.state import DaemonState, Event, EventKind
from soulsyncd.interfaces import Clock, SystemClock

log = logging.getLogger(__name__)

REJECTED = "reload rejected"  # how app.py's ready() after a bad reload begins
STATUS_INTERVAL_S = 5.0  # how often STATUS= is refreshed when there is no watchdog to pace it
STOP_JOIN_S = 1.0  # Service.stop must return within about a second
_STATUS_EVENTS = frozenset({EventKind.MOOD, EventKind.CAMERA, EventKind.PLAYER, EventKind.CONTROL})


def socket_address(value: str | None) -> str | None:
    """The address to send to for a ``$NOTIFY_SOCKET`` value, or None when there is none we can use.

    ``/path`` is a file-system socket, ``@name`` the abstract name ``\\0name``. Other forms
    (``vsock:`` for virtual machines, systemd >= 254) are not for a Pi daemon: None.
    """
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def watchdog_interval_s(environ: Mapping[str, str], pid: int) -> float | None:
    """The watchdog timeout in seconds from ``$WATCHDOG_USEC``, or None when there is no watchdog for us.

    Like sd_watchdog_enabled(3): ``$WATCHDOG_PID``, when set, must be this process (the variable is
    inherited by children, which must not ping for their parent).
    """
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    watchdog_pid = environ.get("WATCHDOG_PID")
    if watchdog_pid:
        try:
            if int(watchdog_pid) != pid:
                return None
        except ValueError:
            return None
    return usec / 1_000_000


SEND_TIMEOUT_S = 1.0
"""Longest a notification waits for room in the manager's socket queue before it is dropped."""


class NotifySocket:
    """Sends sd_notify messages; with no address every :meth:`send` is a no-op returning False.

    Thread-safe: each message is one ``sendto`` of one datagram, which waits at most
    ``send_timeout_s`` for room in the socket's queue: a service manager that stops reading (a wedged
    PID 1, a test that stopped listening) fills the queue after a few datagrams, and an unbounded
    send would then hang the thread that sends (``STOPPING=1`` on the main thread: the daemon could
    no longer stop). A message that does not fit in time is dropped and logged like a vanished socket.
    """

    def __init__(self, address: str | None, send_timeout_s: float = SEND_TIMEOUT_S) -> None:
        self.address = address
        self.send_timeout_s = send_timeout_s
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._warned = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> NotifySocket:
        env = os.environ if environ is None else environ
        value = env.get("NOTIFY_SOCKET")
        address = socket_address(value)
        if value and address is None:
            log.warning("NOTIFY_SOCKET=%s is not a Unix socket path or @name; not notifying systemd", value)
        return cls(address)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """Send ``KEY=value`` lines as one message. True if it was handed to the socket.

        Never raises: a service manager that went away (or a test that closed its socket) is logged
        once and otherwise ignored; the daemon's work does not depend on being heard.
        """
        if self.address is None:
            return False
        data = "\n".join(lines).encode("utf-8", "replace")
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                    self._sock.settimeout(self.send_timeout_s)
                self._sock.sendto(data, self.address)
            except OSError as exc:
                if not self._warned:
                    self._warned = True
                    reason = ("its queue stayed full" if isinstance(exc, TimeoutError)
                              else errno.errorcode.get(exc.errno or 0, str(exc)))
                    log.warning("cannot notify systemd at %r (%s); carrying on without it",
                                self.address.replace("\0", "@"), reason)
                return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def describe_stall(progress: Progress, now: float, max_age_s: float) -> str:
    """Why ``progress`` is not healthy, in words for STATUS= and the log."""
    if progress.last_tick_at is None:
        return "the analysis loop has not ticked yet"
    tick_age = now - progress.last_tick_at
    if tick_age > max_age_s:
        return f"no analysis tick for {tick_age:.0f} s"
    if not progress.capture_alive:
        return "the capture thread is not running"
    if progress.last_frame_at is None:
        return "no frame from the camera yet"
    return f"no frame from the camera for {now - progress.last_frame_at:.0f} s"


def status_line(state: DaemonState) -> str:
    """One short line for ``systemctl status``: mood, frames/s, camera and player."""
    if state.mood is None:
        mood = "mood unknown"
    elif state.mood.absent:
        mood = "nobody there"
    else:
        mood = f"mood {state.mood.label} ({state.mood.confidence:.2f})"
    parts = [mood, f"{state.stats.analysis_fps:.1f} frames/s", f"camera {state.camera.value}",
             f"player {state.player.status.value}"]
    if state.paused:
        parts.append("paused")
    return ", ".join(parts)


class SystemdNotifier:
    """Tells systemd how the daemon stands (``Lifecycle``) and runs the watchdog (``Service``).

    Args:
        notify_socket: where messages go; a socket without an address makes everything a no-op.
        watchdog_s: the unit's watchdog timeout (``$WATCHDOG_USEC``); None: no pings.
        max_age_s: how old the last tick (and frame) may be for the loop to count as progressing;
            default half the watchdog timeout, so a stall is noticed well before systemd's deadline.
        clock: monotonic time, the same clock the core stamps its progress with.
        status_interval_s: how often STATUS= is refreshed when no watchdog paces the thread.

    ``start``/``stop`` may be called again for each new core (a reload rebuilds it).
    """

    def __init__(self, notify_socket: NotifySocket, *, watchdog_s: float | None = None,
                 max_age_s: float | None = None, clock: Clock | None = None,
                 status_interval_s: float = STATUS_INTERVAL_S) -> None:
        self.socket = notify_socket
        self.watchdog_s = watchdog_s
        self.max_age_s = max_age_s if max_age_s is not None else (watchdog_s or 10.0) / 2
        # sd_watchdog_enabled(3) recommends a ping every half of the timeout.
        self.interval_s = watchdog_s / 2 if watchdog_s else status_interval_s
        self.clock = clock or SystemClock()
        self.pings = 0
        self.withheld = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._kick = threading.Event()  # check now (after READY: the full status at once)
        self._started_at: float | None = None
        self._last_status: str | None = None
        self._note: str | None = None  # "reload rejected: ..." until the next reload

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, *,
                         clock: Clock | None = None) -> SystemdNotifier:
        """The notifier for this process: ``$NOTIFY_SOCKET``, ``$WATCHDOG_USEC``, ``$WATCHDOG_PID``."""
        env = os.environ if environ is None else environ
        notify_socket = NotifySocket.from_environment(env)
        watchdog = watchdog_interval_s(env, os.getpid()) if notify_socket.enabled else None
        return cls(notify_socket, watchdog_s=watchdog, clock=clock)

    # --- Lifecycle ----------------------------------------------------------------------------------

    def ready(self, status: str) -> None:
        """``READY=1``: the model is loaded and the first frame read (or the camera is known absent)."""
        self._last_status = status
        # A rejected reload stays in the line until the next reload: the file on disk is not what runs.
        self._note = status if status.startswith(REJECTED) else None
        self.socket.send("READY=1", f"STATUS={status}")
        self._kick.set()

    def reloading(self) -> None:
        """``RELOADING=1`` until the next :meth:`ready`.

        ``MONOTONIC_USEC=`` is what systemd >= 253 needs to pair the reload with its own
        (Type=notify-reload); systemd 252 ignores the unknown field, so one message serves both.
        """
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._last_status = None
        self._note = None
        self.socket.send("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading the configuration")

    def stopping(self) -> None:
        """``STOPPING=1``: shutting down (after this, no more pings are needed)."""
        self.socket.send("STOPPING=1", "STATUS=stopping")

    # --- Service ------------------------------------------------------------------------------------

    def start(self, core: CoreHandle) -> None:
        """Start the status/watchdog thread for ``core`` (nothing to do without a socket)."""
        self.stop()
        self._started_at = self.clock.monotonic()
        if not self.socket.enabled:
            return
        self._stop = threading.Event()
        self._kick.clear()
        # A new mood, camera or player state shows in `systemctl status` at once, not at the next round.
        core.subscribe("systemd-status", self._on_event)
        self._thread = threading.Thread(target=self._run, args=(core, self._stop), name="watchdog",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread; returns within about a second."""
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(STOP_JOIN_S)
            self._thread = None

    def check(self, core: CoreHandle, before: str | None = None) -> str:
        """One round: ping if the core progresses, and refresh STATUS=.

        Returns the round's verdict, ``"starting"`` (no tick yet), ``"healthy"`` or ``"stalled"``;
        pass it back as ``before`` so a change is logged once rather than every round.
        """
        now = self.clock.monotonic()
        progress = core.progress()
        lines: list[str] = []
        if progress.healthy(now, self.max_age_s):
            verdict, status = "healthy", status_line(core.latest())
            if self._note:
                status = f"{status}; {self._note}"
            if before == "stalled":
                log.warning("the analysis loop is progressing again; watchdog pings resumed")
            if self.watchdog_s:
                lines.append("WATCHDOG=1")
                self.pings += 1
        elif progress.last_tick_at is None or self._in_grace(now, before):
            # The first tick comes once the camera is open, the first frame a little later: a new
            # core (at start or after a reload) gets max_age_s before missing progress is a stall.
            verdict, status = "starting", "starting"
        else:
            reason = describe_stall(progress, now, self.max_age_s)
            verdict, status = "stalled", f"stalled: {reason}"
            if self.watchdog_s:
                self.withheld += 1
            if before != "stalled" and self.watchdog_s:
                log.error("%s: withholding watchdog pings, so systemd restarts the daemon if this "
                          "lasts %.0f s", reason, self.watchdog_s)
            elif before != "stalled":
                log.error("%s", reason)
        if status != self._last_status:
            lines.append(f"STATUS={status}")
            self._last_status = status
        if lines:
            self.socket.send(*lines)
        return verdict

    def _on_event(self, event: Event) -> None:
        if event.kind in _STATUS_EVENTS and not self._stop.is_set():
            self._kick.set()

    def _in_grace(self, now: float, before: str | None) -> bool:
        return (before in (None, "starting") and self._started_at is not None
                and now - self._started_at <= self.max_age_s)

    def _run(self, core: CoreHandle, stop: threading.Event) -> None:
        verdict: str | None = None
        while True:
            try:
                verdict = self.check(core, verdict)
            except Exception:  # a bug here must not kill the thread (and with it the pings)
                log.exception("watchdog check failed")
            self._kick.wait(self.interval_s)
            self._kick.clear()
            if stop.is_set():
                return
