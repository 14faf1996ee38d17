"""The status page's server: aiohttp on a thread of its own, one more reader of the core's snapshots
and events, sending commands through the core's one queue (:class:`~soulsyncd.interfaces.CoreHandle`).

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
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from soulsyncd.config.base import ConfigError
from soulsyncd.config.mqtt import MqttConfig
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
from soulsyncd.core.state import DaemonState, Event, EventKind
from soulsyncd.interfaces import CoreHandle, SystemClock
from soulsyncd.mood import targets
from soulsyncd.mqtt.state import ProcessSampler
from soulsyncd.web import auth, plot, view
from soulsyncd.web.history import History, Sample, TrackMark
from soulsyncd.web.settings import WebConfig

log = logging.getLogger(__name__)

PASSWORD_CREDENTIAL = "web-password"
IDLE_S = 5.0  # an idle connection, or one whose request headers have not arrived, is closed after this
BODY_MAX = 16 * 1024  # bytes of a request body (a command or a login is under 200)
BODY_TIMEOUT_S = 5.0  # a body trickling in slower than this is dropped
HEADER_LINE_MAX = 4096
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
    from soulsyncd.config.loader import read_secret

    return read_secret(PASSWORD_CREDENTIAL)


def configuration_url(settings: WebConfig, host: str | None = None) -> str | None:
    """The page's address for Home Assistant's device info (``configuration_url``), when the page is
    on and reachable from the LAN; None otherwise (a loopback page is of no use to another machine)."""
    if not settings.enabled or settings.loopback:
        return None
    if host is None:
        host = settings.listen if settings.listen not in ("0.0.0.0", "::") else auth.machine_names_primary()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/"


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
            raise ConfigError([
                f"web.listen: {settings.listen} is reachable from other machines, which needs a password: "
                f"set the credential {PASSWORD_CREDENTIAL} (LoadCredential=/SetCredential= in the unit, or "
                f"SOULSYNC_WEB_PASSWORD), or listen on 127.0.0.1"])
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
        self.app: web.Application | None = None

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
        self.app = self._app()
        runner = web.AppRunner(self.app, handle_signals=False, access_log=None, keepalive_timeout=IDLE_S,
                               max_line_size=HEADER_LINE_MAX, max_field_size=HEADER_LINE_MAX,
                               lingering_time=1.0, shutdown_timeout=STOP_TIMEOUT_S)
        await runner.setup()
        loop = asyncio.get_running_loop()
        handler_factory = runner.server
        assert handler_factory is not None
        limit = self.settings.max_clients

        def protocol() -> asyncio.Protocol:
            if len(handler_factory.connections) >= limit:
                return _Busy()
            return handler_factory()

        try:
            server = await loop.create_server(protocol, self.settings.listen, self.port,
                                              reuse_address=True, backlog=64)
        except BaseException:
            await runner.cleanup()
            raise
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        pusher = asyncio.create_task(self._push_periodically())
        try:
            await self._stopping.wait()
        finally:
            pusher.cancel()
            for stream in list(self._streams):
                _offer(stream.queue, None)
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.cleanup(), STOP_TIMEOUT_S)

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

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=BODY_MAX, middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_get("/login", self._login_form)
        app.router.add_post("/login", self._login)
        app.router.add_post("/logout", self._logout)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/api/events", self._stream)
        app.router.add_get("/api/timeline.svg", self._timeline)
        app.router.add_post("/api/command", self._command)
        app.on_response_prepare.append(_security_headers)
        return app

    @web.middleware
    async def _guard(self, request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if not auth.host_allowed(request.headers.get("Host"), self._names):
            return web.Response(status=421, text="unknown host name: add it to web.hosts\n")
        if request.method not in ("GET", "HEAD", "POST"):
            return web.Response(status=405, text="method not allowed\n")
        cookie = request.cookies.get(auth.SESSION_COOKIE)
        public = (request.method if request.method != "HEAD" else "GET", request.path) in PUBLIC
        if self._sessions.password_required and not public and not self._sessions.valid(cookie):
            if request.path.startswith("/api/") or request.method == "POST":
                return web.json_response({"error": "login required"}, status=401)
            raise web.HTTPSeeOther("/login")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin is not None and not _same_origin(origin, request.headers.get("Host", "")):
                return web.json_response({"error": "cross-site request refused"}, status=403)
            if request.path != "/login" and not self._sessions.csrf_valid(
                    cookie, request.headers.get("X-CSRF-Token")):
                return web.json_response({"error": "missing or wrong CSRF token"}, status=403)
        return await handler(request)

    def _with_session(self, request: web.Request, response: web.StreamResponse) -> str:
        """The request's valid session cookie, or a new one set on ``response`` (only without a password:
        with one, the guard has already turned away a request without a valid session)."""
        cookie = request.cookies.get(auth.SESSION_COOKIE)
        if cookie is not None and self._sessions.valid(cookie):
            return cookie
        cookie = self._sessions.new()
        _set_cookie(response, cookie)
        return cookie

    async def _index(self, request: web.Request) -> web.StreamResponse:
        response = web.Response(body=_static("index.html"), content_type="text/html", charset="utf-8")
        self._with_session(request, response)
        return response

    async def _login_form(self, request: web.Request) -> web.StreamResponse:
        if not self._sessions.password_required:
            raise web.HTTPSeeOther("/")
        page = _static("login.html").decode()
        message = {"failed": "Wrong password.", "wait": "Too many tries: wait a minute.",
                   "out": "Logged out."}.get(request.query.get("m", ""), "")
        return web.Response(text=page.replace("<!--message-->", message), content_type="text/html")

    async def _login(self, request: web.Request) -> web.StreamResponse:
        client = request.remote or "?"
        now = time.monotonic()
        if self._limiter.wait_s(client, now) > 0:
            raise web.HTTPSeeOther("/login?m=wait")
        form = await _read_form(request)
        password = form.get("password", "")
        if not self._sessions.check_password(password):
            self._limiter.failed(client, now)
            log.warning("web: failed login from %s", client)
            raise web.HTTPSeeOther("/login?m=failed")
        self._limiter.succeeded(client)
        response = web.HTTPSeeOther("/")
        _set_cookie(response, self._sessions.new())
        raise response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        response = web.HTTPSeeOther("/login?m=out" if self._sessions.password_required else "/")
        response.del_cookie(auth.SESSION_COOKIE, path="/")
        raise response

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        content_type = STATIC_FILES.get(name)
        if content_type is None:
            raise web.HTTPNotFound()
        return web.Response(body=_static(name), content_type=content_type,
                            headers={"Cache-Control": "no-cache"})

    async def _state(self, request: web.Request) -> web.StreamResponse:
        assert self._core is not None
        response = web.json_response(headers={"Cache-Control": "no-store"})
        cookie = self._with_session(request, response)
        body = self._live(self._core.latest())
        body["csrf"] = self._sessions.csrf(cookie)
        body["options"] = {"modes": list(MODES), "targets": list(targets.NAMES)}
        body["login"] = self._sessions.password_required
        body["version"] = self._version
        response.text = json.dumps(body)
        return response

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        assert self._core is not None
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-store"})
        await response.prepare(request)
        stream = _Stream(asyncio.Queue(maxsize=STREAM_QUEUE))
        self._streams.add(stream)
        try:
            first = json.dumps(self._live(self._core.latest()), separators=(",", ":"))
            await response.write(f"retry: 1000\nevent: state\ndata: {first}\n\n".encode())
            while (message := await stream.queue.get()) is not None:
                await asyncio.wait_for(response.write(message), STREAM_WRITE_TIMEOUT_S)
        except (ConnectionError, TimeoutError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(stream)
        return response

    async def _timeline(self, request: web.Request) -> web.StreamResponse:
        span = request.query.get("range", "hour")
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
            return web.json_response({"error": "range must be 15min, hour or today"}, status=400)
        assert self._history is not None
        history = self._history
        svg = plot.timeline_svg(history.samples(start, now), history.tracks(start, now), start, now,
                                title=f"mood timeline, {title}")
        return web.Response(text=svg, content_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    async def _command(self, request: web.Request) -> web.StreamResponse:
        assert self._core is not None
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S):
                body = json.loads(await request.read())
        except TimeoutError:
            return web.json_response({"error": "request body too slow"}, status=408)
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "the body must be JSON"}, status=400)
        try:
            command = parse_command(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if not self._core.submit(command):
            log.warning("web: the command queue was full; an older command was dropped")
        return web.json_response({"queued": type(command).__name__}, status=202)


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


class _Busy(asyncio.Protocol):
    """Answers a connection over ``web.max_clients`` with 503 and closes it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        # Half-close and read what the client sends until it closes (a close with its request still
        # unread would reset the connection before it reads the answer); at most a second.
        transport.write_eof()
        asyncio.get_running_loop().call_later(1.0, transport.close)

    def data_received(self, data: bytes) -> None:
        pass


def _offer(queue: asyncio.Queue[bytes | None], item: bytes | None) -> None:
    while True:
        try:
            queue.put_nowait(item)
            return
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()


async def _read_form(request: web.Request) -> dict[str, str]:
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            form = await request.post()
    except TimeoutError:
        raise web.HTTPRequestTimeout() from None
    except ValueError:
        raise web.HTTPBadRequest() from None
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _set_cookie(response: web.StreamResponse, cookie: str) -> None:
    response.set_cookie(auth.SESSION_COOKIE, cookie, max_age=int(auth.SESSION_S), path="/", httponly=True,
                        samesite="Strict")


def _same_origin(origin: str, host: str) -> bool:
    return origin.lower() in (f"http://{host.lower()}", f"https://{host.lower()}")


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def _url_host(listen: str) -> str:
    return f"[{listen}]" if ":" in listen else listen


__all__ = ["PASSWORD_CREDENTIAL", "WebServer", "configuration_url", "parse_command", "read_password"]
