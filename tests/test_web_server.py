"""The status page's server over real loopback HTTP: what it serves, and that it is safe by default
(Host check, password, CSRF, no pixels anywhere, bounded requests and connections, fuzzed parameters)."""

from __future__ import annotations

import html.parser
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soulsyncd.config import ConfigError
from soulsyncd.core.commands import Pause, SetCamera, SetDevice, SetMode, SetTarget, SetVolume, Skip
from soulsyncd.core.state import EventKind, Framing
from soulsyncd.testing.fake_core import FakeCore
from soulsyncd.types import Emotion, Mood
from soulsyncd.web import auth
from soulsyncd.web.history import FILE_NAME
from soulsyncd.web.server import BODY_MAX, IDLE_S, WebServer, parse_command
from soulsyncd.web.settings import WebConfig, configuration_url

PASSWORD = "correct horse battery"
GET_ROUTES = ["/", "/login", "/static/app.js", "/static/style.css", "/static/favicon.svg", "/api/state",
              "/api/events", "/api/timeline.svg"]
POST_ROUTES = ["/login", "/logout", "/api/command"]


class Page:
    """A running server around a fake core, and a requests session that talks to it."""

    def __init__(self, server: WebServer, core: FakeCore) -> None:
        self.server = server
        self.core = core
        self.base = f"http://127.0.0.1:{server.port}"
        self.http = requests.Session()

    def url(self, path: str) -> str:
        return self.base + path

    def csrf(self) -> str:
        response = self.http.get(self.url("/api/state"), timeout=5)
        assert response.status_code == 200
        token: str = response.json()["csrf"]
        return token

    def command(self, body: object, token: str | None) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-CSRF-Token"] = token
        data = json.dumps(body)  # NaN and Infinity too: what a careless client might send
        return self.http.post(self.url("/api/command"), data=data, headers=headers, timeout=5)


def _start(tmp_path: Path, password: str | None = None, **settings_: object) -> Page:
    core = FakeCore()
    config = WebConfig(enabled=True, **settings_)  # type: ignore[arg-type]
    server = WebServer(config, state_dir=tmp_path, password=password, port=0)
    server.start(core)
    return Page(server, core)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    started = _start(tmp_path)
    yield started
    started.server.stop()
    started.core.close()


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Page]:
    """Listening on every interface, so a password is required (reached here through 127.0.0.1)."""
    started = _start(tmp_path, password=PASSWORD, listen="0.0.0.0")
    yield started
    started.server.stop()
    started.core.close()


def _login(page: Page, password: str = PASSWORD) -> requests.Response:
    return page.http.post(page.url("/login"), data={"password": password}, allow_redirects=False, timeout=5)


# --- what it serves ---------------------------------------------------------------------------------


class _Scripts(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.sources: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            source = dict(attrs).get("src")
            self._in_script = source is None
            if source is not None:
                self.sources.append(source)

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def test_the_page_has_no_inline_script_and_a_strict_content_security_policy(page: Page) -> None:
    response = page.http.get(page.url("/"), timeout=5)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    parser = _Scripts()
    parser.feed(response.text)
    assert parser.sources == ["/static/app.js"]
    assert parser.inline == []
    assert parser.handlers == []
    assert "http://" not in response.text  # nothing fetched from elsewhere
    assert "https://" not in response.text
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


def test_the_state_shows_mood_player_camera_framing_and_choices(page: Page) -> None:
    page.core.update(EventKind.MOOD, mood=Mood(Emotion.SAD, 0.8, -0.7, -0.4, 0.0), faces=1,
                     framing=Framing(640, 480, ((10, 20, 100, 120),), 0.5, 30.0, 10.0))
    body = page.http.get(page.url("/api/state"), timeout=5).json()
    state = body["state"]
    assert state["mood"] == {"label": "sad", "confidence": 0.8, "valence": -0.7, "arousal": -0.4}
    assert state["playing"]["title"] == "First"
    assert state["player"]["device"] == "Kitchen"
    assert state["camera"]["status"] == "ok"
    assert state["framing"]["boxes"] == [[10, 20, 100, 120]]
    assert state["framing"]["hints"] == ["too dark", "blurred"]
    assert "shift" in body["options"]["modes"]
    assert "happy" in body["options"]["targets"]
    assert body["login"] is False


def test_a_mood_change_reaches_an_open_stream_at_once(page: Page) -> None:
    with page.http.get(page.url("/api/events"), stream=True, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        lines = response.iter_lines(decode_unicode=True)
        first = next(line for line in lines if line.startswith("data:"))
        assert json.loads(first[5:])["state"]["mood"] is None
        changed_at = time.monotonic()
        page.core.update(EventKind.MOOD, mood=Mood(Emotion.HAPPY, 0.9, 0.8, 0.4, 0.0))
        for line in lines:
            if line.startswith("data:") and json.loads(line[5:])["state"]["mood"]:
                break
        assert time.monotonic() - changed_at < 0.5
        assert json.loads(line[5:])["state"]["mood"]["label"] == "happy"


@pytest.mark.parametrize(("body", "expected"), [
    ({"command": "mode", "value": "shift"}, SetMode("shift")),
    ({"command": "target", "value": "calm"}, SetTarget("calm")),
    ({"command": "target", "value": "0.8,0.3"}, SetTarget("0.8,0.3")),
    ({"command": "pause"}, Pause()),
    ({"command": "skip", "value": None}, Skip()),
    ({"command": "camera", "value": False}, SetCamera(False)),
    ({"command": "volume", "value": 35}, SetVolume(35)),
    ({"command": "speaker", "value": " Kitchen "}, SetDevice("Kitchen")),
])
def test_each_control_becomes_its_core_command(page: Page, body: dict[str, object], expected: object) -> None:
    response = page.command(body, page.csrf())
    assert response.status_code == 202
    assert page.core.wait_received(1)
    assert page.core.received == [expected]


@pytest.mark.parametrize("body", [
    {"command": "mode", "value": "loud"}, {"command": "volume", "value": 101},
    {"command": "volume", "value": True}, {"command": "volume", "value": "50"},
    {"command": "camera", "value": "off"}, {"command": "target", "value": "x"},
    {"command": "speaker", "value": ""}, {"command": "speaker", "value": "a\nb"}, {"command": "reload"}, [],
    "mode",
])
def test_a_bad_command_is_refused_with_a_reason_and_nothing_queued(page: Page, body: object) -> None:
    response = page.command(body, page.csrf())
    assert response.status_code == 400
    assert response.json()["error"]
    assert page.core.queue.empty()


# --- safe by default --------------------------------------------------------------------------------


def test_beyond_loopback_without_a_password_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="web-password"):
        WebServer(WebConfig(enabled=True, listen="0.0.0.0"), state_dir=tmp_path, password=None)
    WebServer(WebConfig(enabled=True, listen="127.0.0.1"), state_dir=tmp_path, password=None)  # fine


def test_with_a_password_nothing_but_the_login_is_reachable_without_a_session(locked: Page) -> None:
    for path in GET_ROUTES:
        response = locked.http.get(locked.url(path), allow_redirects=False, timeout=5)
        if path in ("/login", "/static/style.css", "/static/favicon.svg"):
            assert response.status_code == 200, path
        elif not path.startswith("/api/"):
            assert response.status_code == 303, path
            assert response.headers["Location"] == "/login"
        else:
            assert response.status_code == 401, path
    response = locked.command({"command": "pause"}, "forged")
    assert response.status_code == 401
    assert locked.core.queue.empty()


def test_a_login_sets_a_strict_http_only_session_that_opens_the_page(locked: Page) -> None:
    response = _login(locked)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert locked.http.get(locked.url("/api/state"), timeout=5).json()["login"] is True
    assert locked.command({"command": "pause"}, locked.csrf()).status_code == 202


def test_failed_logins_are_rate_limited_per_client(locked: Page) -> None:
    for _ in range(auth.LOGIN_FAILURES_PER_CLIENT):
        assert _login(locked, "wrong").headers["Location"] == "/login?m=failed"
    response = _login(locked)  # even the right password waits now
    assert response.headers["Location"] == "/login?m=wait"
    assert locked.http.get(locked.url("/api/state"), timeout=5).status_code == 401


def test_a_session_made_with_another_password_or_forged_is_refused(tmp_path: Path) -> None:
    key = auth.load_key(tmp_path)
    old = auth.Sessions(key, "old password").new()
    sessions = auth.Sessions(key, "new password")
    assert not sessions.valid(old)
    body, _, _mac = sessions.new().rpartition(".")
    assert not sessions.valid(f"{body}.{'0' * 40}")
    assert not sessions.valid(sessions.new(now=time.time() - 2 * auth.SESSION_S))  # expired
    assert auth.load_key(tmp_path) == key  # kept in the state dir: a restart keeps people logged in
    assert (tmp_path / auth.KEY_FILE).stat().st_mode & 0o077 == 0


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(page: Page) -> None:
    token = page.csrf()
    assert page.command({"command": "pause"}, None).status_code == 403
    wrong = token[:-1] + ("1" if token.endswith("0") else "0")  # a token ending in 0 was its own "wrong" one
    assert page.command({"command": "pause"}, wrong).status_code == 403
    cross = page.http.post(page.url("/api/command"), json={"command": "pause"},
                           headers={"X-CSRF-Token": token, "Origin": "http://evil.example"}, timeout=5)
    assert cross.status_code == 403
    # Without the cookie the token is worth nothing: it is bound to the session.
    fresh = requests.post(page.url("/api/command"), json={"command": "pause"},
                          headers={"X-CSRF-Token": token}, timeout=5)
    assert fresh.status_code == 403
    assert page.core.queue.empty()
    assert page.command({"command": "pause"}, token).status_code == 202


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8088", "localhost.evil.example", "", "[::1",
                                  "127.0.0.1:x", "a" * 300])
def test_a_wrong_host_header_is_refused_on_every_route(page: Page, host: str) -> None:
    token = page.csrf()
    cookie = page.http.cookies.get(auth.SESSION_COOKIE)
    for path in GET_ROUTES:
        answer = _raw(page, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert answer.split(b" ")[1] in (b"400", b"421"), (host, path)
    body = b'{"command": "pause"}'
    answer = _raw(page, (f"POST /api/command HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                         f"X-CSRF-Token: {token}\r\nCookie: {auth.SESSION_COOKIE}={cookie}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                + body)
    assert answer.split(b" ")[1] in (b"400", b"421")
    assert page.core.queue.empty()


def test_this_machines_names_and_configured_ones_are_accepted(tmp_path: Path) -> None:
    page = _start(tmp_path, hosts=("soulsync.lan",))
    try:
        for host in ("localhost", "127.0.0.1", "[::1]", "soulsync.lan", "SoulSync.lan.",
                     auth.machine_names_primary(), "192.168.1.20"):
            response = requests.get(page.url("/api/state"), headers={"Host": f"{host}:{page.server.port}"},
                                    timeout=5)
            assert response.status_code == 200, host
    finally:
        page.server.stop()
        page.core.close()


def test_no_route_ever_returns_a_picture(page: Page) -> None:
    """Crawl every route the app has (a new route must be added here), with a session."""
    routes = {path for path, _handler in page.server.routes()}
    expected = {p for p in {*GET_ROUTES, *POST_ROUTES} if not p.startswith("/static/")}
    assert routes == expected | {"/static/([^/]*)"}
    page.core.update(EventKind.MOOD, mood=Mood(Emotion.HAPPY, 0.9, 0.8, 0.4, 0.0),
                     framing=Framing(640, 480, ((1, 2, 3, 4),), 1.0, 100.0, 500.0))
    allowed = ("text/html", "text/javascript", "text/css", "image/svg+xml", "application/json",
               "text/event-stream", "text/plain")
    token = page.csrf()
    for path in [*GET_ROUTES, "/static/index.html", "/static/../server.py", "/static/frame.jpg", "/frame.jpg",
                 "/api/frame", "/api/snapshot", "/api/timeline.svg?range=today"]:
        with page.http.get(page.url(path), stream=True, timeout=5, allow_redirects=False) as response:
            chunk = next(response.iter_content(4096), b"")
            kind = response.headers.get("Content-Type", "text/plain").split(";")[0]
            assert kind in allowed, (path, kind)
            assert not chunk.startswith((b"\xff\xd8", b"\x89PNG", b"GIF8", b"RIFF", b"BM")), path
            if path.endswith(".svg"):
                assert b"<image" not in chunk
                assert b"base64" not in chunk
    for path in POST_ROUTES:
        response = page.http.post(page.url(path), headers={"X-CSRF-Token": token}, allow_redirects=False,
                                  timeout=5)
        assert response.headers.get("Content-Type", "text/plain").split(";")[0] in allowed


# --- bounded ------------------------------------------------------------------------------------------


def _raw(page: Page, data: bytes, *, read: bool = True) -> bytes:
    """Send ``data`` as is and read the answer until the server closes (a reset ends it too)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", page.server.port), timeout=IDLE_S * 3) as sock:
        try:
            sock.sendall(data)
            while read and (chunk := sock.recv(65536)):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server refused to read on
    return b"".join(chunks)


def test_an_oversized_body_or_header_is_refused(page: Page) -> None:
    token = page.csrf()
    cookie = page.http.cookies.get(auth.SESSION_COOKIE)
    head = (f"POST /api/command HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {BODY_MAX + 10}\r\nX-CSRF-Token: {token}\r\n"
            f"Cookie: {auth.SESSION_COOKIE}={cookie}\r\n\r\n")
    answer = _raw(page, head.encode() + b"{" + b" " * (BODY_MAX + 8) + b"}")
    assert answer == b"" or answer.split(b" ")[1] in (b"400", b"413")  # refused unread, or cut off
    answer = _raw(page, b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Junk: " + b"a" * 20000 + b"\r\n\r\n")
    assert answer == b"" or answer.split(b" ")[1] in (b"400", b"431")
    assert page.core.queue.empty()


def test_a_slow_request_is_cut_off_after_the_idle_time(page: Page) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", page.server.port), timeout=IDLE_S * 4) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # headers never finished
        closed = False
        try:
            while True:
                if not sock.recv(1024):
                    closed = True
                    break
        except TimeoutError:
            pass
    assert closed
    assert time.monotonic() - started < IDLE_S * 3


def test_a_slow_body_is_cut_off(page: Page) -> None:
    token = page.csrf()
    cookie = page.http.cookies.get(auth.SESSION_COOKIE)
    head = (f"POST /api/command HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: 100\r\nX-CSRF-Token: {token}\r\n"
            f"Cookie: {auth.SESSION_COOKIE}={cookie}\r\n\r\n{{")
    started = time.monotonic()
    answer = _raw(page, head.encode())
    assert time.monotonic() - started < IDLE_S * 3
    assert answer == b"" or answer.split(b" ")[1] in (b"408", b"400")
    assert page.core.queue.empty()


def test_connections_beyond_the_limit_are_turned_away(tmp_path: Path) -> None:
    page = _start(tmp_path, max_clients=2)
    streams = []
    try:
        for _ in range(2):
            response = page.http.get(page.url("/api/events"), stream=True, timeout=5)
            assert response.status_code == 200
            streams.append(response)
        answer = _raw(page, b"GET /api/state HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 503")
        streams.pop().close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the closed stream's slot comes back
            try:
                if requests.get(page.url("/api/state"), timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
        else:
            pytest.fail("the slot of a closed stream never came back")
    finally:
        for response in streams:
            response.close()
        page.server.stop()
        page.core.close()


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                     max_leaves=10)


_COMMANDS = st.sampled_from(["mode", "target", "pause", "resume", "skip", "camera", "volume", "speaker", "x"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=_COMMANDS | st.text(max_size=20), value=_JSON, range_=st.text(max_size=30),
       path=st.text(max_size=30))
def test_fuzzed_parameters_never_crash_a_route(page: Page, command: str, value: object, range_: str,
                                               path: str) -> None:
    token = page.csrf()
    response = page.command({"command": command, "value": value}, token)
    assert response.status_code in (202, 400)
    response = page.http.get(page.url("/api/timeline.svg"), params={"range": range_}, timeout=5)
    assert response.status_code in (200, 400)
    response = page.http.get(page.url("/static/" + requests.utils.quote(path, safe="")), timeout=5)
    assert response.status_code in (200, 404)
    response = page.http.post(page.url("/login"), data={"password": range_}, allow_redirects=False, timeout=5)
    assert response.status_code == 303
    for route in ("/", "/api/state", "/api/timeline.svg", "/login"):  # unknown parameters are ignored
        response = page.http.get(page.url(route), params={path: range_, "range": path}, timeout=5,
                                 allow_redirects=False)
        assert response.status_code in (200, 303, 400), route


def test_parse_command_accepts_exactly_what_the_core_takes() -> None:
    assert parse_command({"command": "volume", "value": 0}) == SetVolume(0)
    assert parse_command({"command": "volume", "value": 100}) == SetVolume(100)
    for value in (-1, 101, 50.0):
        with pytest.raises(ValueError, match="volume"):
            parse_command({"command": "volume", "value": value})


# --- history and Home Assistant -------------------------------------------------------------------------


def test_history_is_kept_in_the_state_dir_and_drawn(page: Page, tmp_path: Path) -> None:
    page.core.update(EventKind.MOOD, mood=Mood(Emotion.HAPPY, 0.9, 0.8, 0.4, 0.0))
    deadline = time.monotonic() + 5
    svg = ""
    while time.monotonic() < deadline and 'data-mood="happy"' not in svg:
        svg = page.http.get(page.url("/api/timeline.svg?range=hour"), timeout=5).text
    assert 'data-mood="happy"' in svg
    assert (tmp_path / FILE_NAME).exists()


def test_zero_history_days_keeps_nothing_on_disk(tmp_path: Path) -> None:
    page = _start(tmp_path, history_days=0)
    try:
        page.core.update(EventKind.MOOD, mood=Mood(Emotion.HAPPY, 0.9, 0.8, 0.4, 0.0))
        assert page.http.get(page.url("/api/timeline.svg"), timeout=5).status_code == 200
    finally:
        page.server.stop()
        page.core.close()
    assert not (tmp_path / FILE_NAME).exists()


def test_configuration_url_only_when_the_page_is_reachable_from_the_lan() -> None:
    assert configuration_url(WebConfig(enabled=True)) is None  # loopback
    assert configuration_url(WebConfig(enabled=False, listen="0.0.0.0")) is None
    assert configuration_url(WebConfig(enabled=True, listen="192.168.1.20", port=8088)) == "http://192.168.1.20:8088/"
    assert configuration_url(WebConfig(enabled=True, listen="0.0.0.0")) == (
        f"http://{auth.machine_names_primary()}:8088/")


def test_stop_returns_promptly_with_a_stream_open(page: Page) -> None:
    response = page.http.get(page.url("/api/events"), stream=True, timeout=5)
    done = threading.Event()
    threading.Thread(target=lambda: (page.server.stop(), done.set()), daemon=True).start()
    assert done.wait(5)
    response.close()


# --- wiring ---------------------------------------------------------------------------------------------


def test_the_page_is_one_more_service_only_when_enabled(tmp_path: Path) -> None:
    from soulsyncd.app import build_services
    from soulsyncd.config import Config, parse_config

    def pages(config: Config) -> int:
        return sum(isinstance(s, WebServer) for s in build_services(config, None))

    assert pages(Config()) == 0  # off by default in the library
    assert pages(parse_config({"web": {"enabled": True}, "state": {"dir": str(tmp_path)}})) == 1


def test_run_beyond_loopback_without_the_password_exits_78_naming_the_credential(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    image = tmp_path / "still.png"
    image.write_bytes(b"")  # never read: the daemon stops before the camera starts
    config = tmp_path / "c.yaml"
    config.write_text(f"camera:\n  kind: file\n  path: {image}\nstate:\n  dir: {tmp_path}\n"
                      "web:\n  enabled: true\n  listen: 0.0.0.0\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SOULSYNC_WEB_PASSWORD", "CREDENTIALS_DIRECTORY")}
    result = subprocess.run([sys.executable, "-m", "soulsyncd", "run", "--config", str(config), "--for", "5"],
                            capture_output=True, text=True, timeout=60, check=False, env=env)
    assert result.returncode == 78, result.stderr
    assert "web-password" in result.stderr


def test_home_assistant_links_to_the_page_only_when_it_is_on_the_lan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from soulsyncd.app import build_services
    from soulsyncd.config import parse_config
    from soulsyncd.mqtt.client import MqttBridge

    monkeypatch.setenv("SOULSYNC_WEB_PASSWORD", PASSWORD)

    def link(web: dict[str, object]) -> str | None:
        config = parse_config({"mqtt": {"enabled": True}, "web": web, "state": {"dir": str(tmp_path)}})
        bridge = next(s for s in build_services(config, None) if isinstance(s, MqttBridge))
        return bridge.info.configuration_url

    assert link({"enabled": True, "listen": "192.168.1.20", "port": 8099}) == "http://192.168.1.20:8099/"
    assert link({"enabled": True}) is None  # loopback: of no use to Home Assistant's browser
    assert link({"enabled": False, "listen": "192.168.1.20"}) is None
