"""The status page's server: tornado on a thread of its own (asyncio), one more reader of the core's
snapshots and events, sending commands through the core's one queue
(:class:`~soulsyncd.interfaces.CoreHandle`).

Routes (every one checks the ``Host`` header; all but the login and the stylesheet need a session when
a password is set; every POST but the login needs the CSRF token):

========================  =====================================================================
``GET /``                 the page (``static/index.html``)
``GET /login``            the login form; ``POST /login`` checks the password (rate-limited)
``POST /logout``          forgets the session cookie
``GET /static/<name>``    ``app.js``, ``style.css``, ``favicon.svg`` (package data; nothing else)
``GET /api/state``        the state as JSON, the last events, the choices, the CSRF token
``GET /api/events``       server-sent events: the state on every core event and once a second
``GET /api/timeline.svg`` the timeline (``?range=15min``, ``hour`` or ``today``) drawn on the server
``POST /api/command``     ``{"command": "mode", "value": "shift"}`` -> the core's queue
========================  =====================================================================

No route returns a frame or a face crop: the server never has one (the core's snapshots carry none).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from soulsyncd.core.commands import (
    MODES,
    Command,
    Pause,
    Resume,
    SetCamera,
    SetDevice,
    SetMode,
    SetTarget,
    SetVolume,
    Skip,
)
from soulsyncd.core.handle import CoreHandle
from soulsyncd.core.state import DaemonState, Event, EventKind
from soulsyncd.interfaces import SystemClock
from soulsyncd.mood import targets
from soulsyncd.mqtt.settings import MqttConfig
from soulsyncd.mqtt.state import ProcessSampler
from soulsyncd.settings import ConfigError
from soulsyncd.web import auth, plot, view
from soulsyncd.web.history import History, Sample, TrackMark
from soulsyncd.web.settings import PASSWORD_CREDENTIAL, WebConfig, lan_without_password

log = logging.getLogger(__name__)

IDLE_S = 5.0  # an idle connection, or one whose request headers have not arrived, is closed after this
BODY_MAX = 16 * 1024  # bytes of a request body (a command or a login is under 200)
BODY_TIMEOUT_S = 5.0  # a body trickling in slower than this is dropped
HEADER_MAX = 8192  # bytes of a request's whole header block
PUSH_INTERVAL_S = 1.0  # the live stream repeats the state this often (diagnostics change every tick)
STREAM_QUEUE = 4  # updates queued per open page; a stalled page loses the oldest
STREAM_WRITE_TIMEOUT_S = 10.0  # a page that takes no data for this long is dropped
EVENTS_SHOWN = 30
SPEAKER_MAX = 100
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 2.0
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css", "favicon.svg": "image/svg+xml"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/static/style.css"), ("GET", "/static/favicon.svg")}


def read_password() -> str | None:
    """The page's password from the credential ``web-password`` (or ``SOULSYNC_WEB_PASSWORD``)."""
    from soulsyncd.settings import read_secret

    return read_secret(PASSWORD_CREDENTIAL)


def broker_status(mqtt: MqttConfig, connected: threading.Event | None) -> Callable[[], str] | None:
    """What the page says about the MQTT broker: connected or not to host:port (None: no bridge)."""
    if connected is None:
        return None
    where = f"{mqtt.host}:{mqtt.port}"
    return lambda: f"connected to {where}" if connected.is_set() else f"not connected to {where} (retrying)"


def _static(name: str) -> bytes:
    return (resources.files("soulsyncd.web") / "static" / name).read_bytes()


@dataclass(eq=False)  # one per open page, kept in a set by identity
class _Stream:
    queue: asyncio.Queue[bytes | None]


class WebServer:
    """The status page as a :class:`~soulsyncd.interfaces.Service`.

    Raises (from the constructor):
        ConfigError: ``web.listen`` is beyond loopback and no password credential is set.
    """

    def __init__(self, settings: WebConfig, *, state_dir: Path | None, password: str | None,
                 broker: Callable[[], str] | None = None, version: str = "", port: int | None = None) -> None:
        if not settings.loopback and password is None:
            raise ConfigError([f"web.listen: {lan_without_password(settings.listen)}"])
        self.settings = settings
        self._state_dir = state_dir
        self._password = password
        self._broker = broker
        self._version = version
        self._core: CoreHandle | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._streams: set[_Stream] = set()
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENTS_SHOWN)
        self._speakers: dict[str, None] = {}
        self._history: History | None = None
        self._history_pending = False
        self._process = ProcessSampler(SystemClock(), min_interval_s=5.0)
        self._last_player: tuple[object, ...] | None = None
        self._sessions = auth.Sessions(b"", password)
        self._limiter = auth.LoginLimiter()
        self._names = auth.machine_names() | {h.lower() for h in settings.hosts} | {settings.listen}
        self.port = settings.port if port is None else port  # the bound port once started (0: any free one)

    @classmethod
    def from_config(cls, settings: WebConfig, state_dir: Path | None,
                    broker: Callable[[], str] | None = None, version: str = "") -> WebServer:
        return cls(settings, state_dir=state_dir, password=read_password(), broker=broker, version=version)

    # --- Service ------------------------------------------------------------------------------------

    def start(self, core: CoreHandle) -> None:
        """Bind and serve on a thread of its own; returns once listening (raises OSError when it can't)."""
        self._core = core
        self._sessions = auth.Sessions(auth.load_key(self._state_dir), self._password)
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._thread_main, args=(ready, failure), name="web",
                                        daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S):
            raise TimeoutError("web: the server did not start")
        if failure:
            raise failure[0]
        core.subscribe("web", self._on_event)
        where = "this machine only" if self.settings.loopback else "the network, with a password"
        log.info("web: status page on http://%s:%d/ (%s)", _url_host(self.settings.listen), self.port, where)

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S + 1.0)
            self._thread = None

    # --- the server's thread ------------------------------------------------------------------------

    def _thread_main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready, failure))
        except BaseException as exc:  # a start-up failure goes to start(); later ones are logged
            if not ready.is_set():
                failure.append(exc)
            else:
                log.exception("web: the server failed")
        finally:
            ready.set()
            if self._history is not None:
                self._history.close()
            loop.close()

    async def _main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        self._stopping = asyncio.Event()
        self._history = History(self._state_dir, self.settings.history_days)
        server = _Server(self._app(), max_body_size=BODY_MAX, max_header_size=HEADER_MAX,
                         idle_connection_timeout=IDLE_S, body_timeout=BODY_TIMEOUT_S, no_keep_alive=False)
        server.max_clients = self.settings.max_clients
        try:
            sockets = tornado.netutil.bind_sockets(self.port, self.settings.listen, backlog=64)
        except OSError as exc:
            raise OSError(exc.errno, f"web.port: cannot listen on {_url_host(self.settings.listen)}:"
                                     f"{self.port}: {exc.strerror}; the status page is off") from None
        server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        ready.set()
        pusher = asyncio.create_task(self._push_periodically())
        try:
            await self._stopping.wait()
        finally:
            pusher.cancel()
            server.stop()
            for stream in list(self._streams):
                _offer(stream.queue, None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.close_all_connections(), STOP_TIMEOUT_S)

    def _on_event(self, event: Event) -> None:
        """On the core's subscriber thread: hand the event to the server's own loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._handle_event, event)

    def _handle_event(self, event: Event) -> None:
        state = event.state
        text = view.event_text(event)
        if event.kind is EventKind.PLAYER:  # progress ticks are not news: only a new status, track or speaker
            player = state.player
            seen = (player.status, player.track, player.device, player.playing, player.volume)
            if seen == self._last_player:
                text = None
            self._last_player = seen
        if text is not None:
            self._events.appendleft({"at": time.strftime("%H:%M:%S"), "kind": event.kind.value, "text": text})
        if state.player.device:
            self._speakers[state.player.device] = None
            while len(self._speakers) > 20:
                self._speakers.pop(next(iter(self._speakers)))
        if event.kind in (EventKind.MOOD, EventKind.CAMERA, EventKind.CONTROL):
            self._history_pending = True
            self._record(state)
        if event.kind is EventKind.PLAYER and state.player.track is not None and self._history is not None:
            track = state.player.track
            self._history.add_track(TrackMark(time.time(), track.name, track.artist_text,
                                              view.why_chosen(state.player, state)))
        if event.kind is not EventKind.STATS:
            self._push(state)

    def _record(self, state: DaemonState) -> None:
        if self._history is None:
            return
        mood = state.mood
        sample = Sample(
            t=time.time(), mood="unknown" if mood is None else mood.label,
            confidence=None if mood is None or mood.absent else round(mood.confidence, 3),
            valence=None if mood is None or mood.absent else round(mood.valence, 3),
            arousal=None if mood is None or mood.absent else round(mood.arousal, 3),
            paused=state.paused, camera=state.camera.value)
        if self._history.add_sample(sample):
            self._history_pending = False

    async def _push_periodically(self) -> None:
        while True:
            await asyncio.sleep(PUSH_INTERVAL_S)
            core = self._core
            if core is None:
                continue
            state = core.latest()
            if self._history is not None and (self._history_pending or self._history.due(time.time())):
                self._record(state)
            if self._streams:
                self._push(state)

    def _push(self, state: DaemonState) -> None:
        if not self._streams:
            return
        payload = json.dumps(self._live(state), separators=(",", ":"))
        message = f"event: state\ndata: {payload}\n\n".encode()
        for stream in list(self._streams):
            _offer(stream.queue, message)

    def _live(self, state: DaemonState) -> dict[str, Any]:
        process = self._process.sample()
        broker = "not configured"
        if self._broker is not None:
            try:
                broker = self._broker()
            except Exception:  # a status is only a status
                broker = "unknown"
        return {"state": view.state_view(state, cpu_percent=process.cpu_percent, rss_mb=process.rss_mb,
                                         broker=broker),
                "events": list(self._events), "speakers": list(self._speakers)}

    # --- the app ------------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, type[_Base]]]:
        """Every route the server has (the security tests crawl them all)."""
        return [("/", _Index), ("/login", _Login), ("/logout", _Logout), ("/static/([^/]*)", _Static),
                ("/api/state", _State), ("/api/events", _Events), ("/api/timeline.svg", _Timeline),
                ("/api/command", _Command)]

    def _app(self) -> tornado.web.Application:
        return tornado.web.Application(
            [(path, handler, {"page": self}) for path, handler in self.routes()],
            default_handler_class=_NotFound, default_handler_args={"page": self},
            log_function=lambda _handler: None,  # no access log: the journal is for the daemon's news
        )

    def session(self, cookie: str | None) -> str | None:
        return cookie if cookie is not None and self._sessions.valid(cookie) else None

    def timeline(self, span: str) -> str | None:
        now = time.time()
        if span == "15min":
            start, title = now - 900, "the last 15 minutes"
        elif span == "hour":
            start, title = now - 3600, "the last hour"
        elif span == "today":
            local = time.localtime(now)
            start = time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))
            start, title = min(start, now - 3600), "today"
        else:
            return None
        history = self._history
        assert history is not None
        return plot.timeline_svg(history.samples(start, now), history.tracks(start, now), start, now,
                                 title=f"mood timeline, {title}")


class _Base(tornado.web.RequestHandler):
    """Every route: the Host check, the login, the CSRF token on POST, the security headers."""

    page: WebServer
    public = False  # reachable without a session (the login form and what it needs)

    def initialize(self, page: WebServer) -> None:
        self.page = page

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)

    def json(self, body: object, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))

    def prepare(self) -> None:
        page = self.page
        if not auth.host_allowed(self.request.headers.get("Host"), page._names):
            self.set_status(421)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish("unknown host name: add it to web.hosts\n")
            return
        cookie = self.get_cookie(auth.SESSION_COOKIE)
        if page._sessions.password_required and not self.public and page.session(cookie) is None:
            if self.request.path.startswith("/api/") or self.request.method == "POST":
                self.json({"error": "login required"}, 401)
            else:
                self.redirect("/login", status=303)
            return
        if self.request.method == "POST":
            origin = self.request.headers.get("Origin")
            if origin is not None and not _same_origin(origin, self.request.headers.get("Host", "")):
                self.json({"error": "cross-site request refused"}, 403)
                return
            if self.request.path != "/login" and not page._sessions.csrf_valid(
                    cookie, self.request.headers.get("X-CSRF-Token")):
                self.json({"error": "missing or wrong CSRF token"}, 403)

    def with_session(self) -> str:
        """The request's valid session cookie, or a new one set on the response (only without a
        password: with one, :meth:`prepare` has already turned away a request without a session)."""
        cookie = self.page.session(self.get_cookie(auth.SESSION_COOKIE))
        if cookie is not None:
            return cookie
        cookie = self.page._sessions.new()
        self.set_cookie(auth.SESSION_COOKIE, cookie, path="/", max_age=int(auth.SESSION_S), httponly=True,
                        samesite="Strict")
        return cookie

    def write_error(self, status_code: int, **_kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code} {self._reason}\n")  # never a traceback


class _NotFound(_Base):
    def prepare(self) -> None:
        super().prepare()
        if not self._finished:
            raise tornado.web.HTTPError(404)


class _Index(_Base):
    def get(self) -> None:
        self.with_session()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_static("index.html"))


class _Login(_Base):
    public = True

    def get(self) -> None:
        if not self.page._sessions.password_required:
            self.redirect("/", status=303)
            return
        message = {"failed": "Wrong password.", "wait": "Too many tries: wait a minute.",
                   "out": "Logged out."}.get(self.get_query_argument("m", ""), "")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_static("login.html").decode().replace("<!--message-->", message))

    def post(self) -> None:
        page = self.page
        client = self.request.remote_ip or "?"
        now = time.monotonic()
        if page._limiter.wait_s(client, now) > 0:
            self.redirect("/login?m=wait", status=303)
            return
        if not page._sessions.check_password(self.get_body_argument("password", "")):
            page._limiter.failed(client, now)
            log.warning("web: failed login from %s", client)
            self.redirect("/login?m=failed", status=303)
            return
        page._limiter.succeeded(client)
        self.set_cookie(auth.SESSION_COOKIE, page._sessions.new(), path="/", max_age=int(auth.SESSION_S),
                        httponly=True, samesite="Strict")
        self.redirect("/", status=303)


class _Logout(_Base):
    def post(self) -> None:
        self.clear_cookie(auth.SESSION_COOKIE, path="/")
        self.redirect("/login?m=out" if self.page._sessions.password_required else "/", status=303)


class _Static(_Base):
    def get(self, name: str) -> None:
        content_type = STATIC_FILES.get(name)
        if content_type is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "no-cache")
        self.finish(_static(name))

    def prepare(self) -> None:
        self.public = ("GET", self.request.path) in PUBLIC
        super().prepare()


class _State(_Base):
    def get(self) -> None:
        page = self.page
        assert page._core is not None
        cookie = self.with_session()
        body = page._live(page._core.latest())
        body["csrf"] = page._sessions.csrf(cookie)
        body["options"] = {"modes": list(MODES), "targets": list(targets.NAMES)}
        body["login"] = page._sessions.password_required
        body["version"] = page._version
        self.json(body)


class _Events(_Base):
    stream: _Stream | None = None

    async def get(self) -> None:
        page = self.page
        assert page._core is not None
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-store")
        self.stream = _Stream(asyncio.Queue(maxsize=STREAM_QUEUE))
        page._streams.add(self.stream)
        try:
            first = json.dumps(page._live(page._core.latest()), separators=(",", ":"))
            self.write(f"retry: 1000\nevent: state\ndata: {first}\n\n")
            await self.flush()
            while (message := await self.stream.queue.get()) is not None:
                self.write(message)
                await asyncio.wait_for(self.flush(), STREAM_WRITE_TIMEOUT_S)
        except (tornado.iostream.StreamClosedError, TimeoutError):
            pass
        finally:
            page._streams.discard(self.stream)

    def on_connection_close(self) -> None:
        if self.stream is not None:
            _offer(self.stream.queue, None)


class _Timeline(_Base):
    def get(self) -> None:
        svg = self.page.timeline(self.get_query_argument("range", "hour"))
        if svg is None:
            self.json({"error": "range must be 15min, hour or today"}, 400)
            return
        self.set_header("Content-Type", "image/svg+xml")
        self.set_header("Cache-Control", "no-store")
        self.finish(svg)


class _Command(_Base):
    def post(self) -> None:
        core = self.page._core
        assert core is not None
        try:
            command = parse_command(json.loads(self.request.body))
        except (ValueError, UnicodeDecodeError) as exc:
            message = str(exc) if not isinstance(exc, json.JSONDecodeError) else "the body must be JSON"
            self.json({"error": message}, 400)
            return
        if not core.submit(command):
            log.warning("web: the command queue was full; an older command was dropped")
        self.json({"queued": type(command).__name__}, 202)


def parse_command(body: object) -> Command:  # noqa: PLR0911,PLR0912 - one branch per command
    """``{"command": name, "value": ...}`` as a core command.

    Raises:
        ValueError: an unknown command or a value it does not take (the message says which).
    """
    if not isinstance(body, dict):
        raise ValueError("expected an object with 'command' and 'value'")
    name, value = body.get("command"), body.get("value")
    if name == "mode":
        if value not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        return SetMode(value)
    if name == "target":
        if not isinstance(value, str) or len(value) > 40 or not targets.is_target(value):
            raise ValueError("target must be a mood name or 'valence,energy'")
        return SetTarget(value)
    if name == "pause":
        return Pause()
    if name == "resume":
        return Resume()
    if name == "skip":
        return Skip()
    if name == "camera":
        if not isinstance(value, bool):
            raise ValueError("camera takes true or false")
        return SetCamera(value)
    if name == "volume":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise ValueError("volume must be a whole number 0-100")
        return SetVolume(value)
    if name == "speaker":
        if (not isinstance(value, str) or not value.strip() or len(value) > SPEAKER_MAX
                or not value.isprintable()):
            raise ValueError(f"speaker must be a name of 1-{SPEAKER_MAX} printable characters")
        return SetDevice(value.strip())
    raise ValueError("command must be mode, target, pause, resume, skip, camera, volume or speaker")


class _Server(tornado.httpserver.HTTPServer):
    """Tornado's server with a cap on open connections: one over ``web.max_clients`` gets 503."""

    max_clients = 64

    def handle_stream(self, stream: tornado.iostream.IOStream, address: tuple[Any, ...]) -> None:
        if len(self._connections) < self.max_clients:
            super().handle_stream(stream, address)
            return
        # Answer, half-close, and read what the client sends until it closes (closing with its request
        # still unread would reset the connection before it reads the answer); at most a second.
        def answered(future: asyncio.Future[Any]) -> None:
            if not future.cancelled() and future.exception() is None:
                with contextlib.suppress(OSError):
                    stream.socket.shutdown(socket.SHUT_WR)

        def drained(future: asyncio.Future[Any]) -> None:
            if not future.cancelled():
                future.exception()  # a reset is fine: it has gone
            stream.close()

        asyncio.ensure_future(stream.write(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )).add_done_callback(answered)
        asyncio.ensure_future(stream.read_until_close()).add_done_callback(drained)
        asyncio.get_running_loop().call_later(1.0, stream.close)


def _offer(queue: asyncio.Queue[bytes | None], item: bytes | None) -> None:
    while True:
        try:
            queue.put_nowait(item)
            return
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()


def _same_origin(origin: str, host: str) -> bool:
    return origin.lower() in (f"http://{host.lower()}", f"https://{host.lower()}")


def _url_host(listen: str) -> str:
    return f"[{listen}]" if ":" in listen else listen


__all__ = ["PASSWORD_CREDENTIAL", "WebServer", "broker_status", "parse_command", "read_password"]
