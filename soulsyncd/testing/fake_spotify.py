"""A fake Spotify Web API and Accounts service on 127.0.0.1, for tests, ``simulate``, soak and benchmarks.

One :class:`FakeSpotify` is one user's account: the token endpoint (PKCE and classic code flows,
expiring access tokens, single-use rotating refresh tokens, ``invalid_grant``), Spotify Connect
devices, one player whose progress follows an injectable clock, a small catalog of tracks and
playlists, and fault injection (any status, ``Retry-After``, latency, answers late on the injected
clock, connection refused). It
answers as the Web API does for a development-mode app in 2026: ``/playlists/{id}/items`` with
``items[].item`` (no deprecated ``track`` field, so code still reading it fails here), 50 items a
page, only for playlists the user owns (403 otherwise), search at most 10, Spotify-owned ``37i9…``
playlists and the removed endpoints (audio-features, audio-analysis, recommendations, related
artists) 404, ``/me`` without ``product``, a missing Premium seen only as 403 ``PREMIUM_REQUIRED``
on player commands. Error bodies are ``{"error": {"status", "message", "reason"?}}``.

Pointing spotipy at it (no retries of its own, so ``SpotifyException.headers`` keeps
``Retry-After`` and nothing sleeps)::

    fake = FakeSpotify(clock=manual_clock.monotonic)
    fake.start()
    auth = spotipy.oauth2.SpotifyPKCE(client_id=fake.client_id, redirect_uri=REDIRECT,
                                      scope=SCOPE, cache_handler=..., open_browser=False)
    auth.OAUTH_TOKEN_URL = fake.token_url        # an instance attribute shadows the class constant
    auth.OAUTH_AUTHORIZE_URL = fake.authorize_url
    redirected = fake.approve_url(auth.get_authorize_url())   # the user consents in the "browser"
    auth.get_access_token(auth.parse_response_code(redirected))
    sp = spotipy.Spotify(auth_manager=auth, requests_session=requests.Session(),
                         retries=0, status_retries=0, requests_timeout=5)
    sp.prefix = fake.api_prefix                  # or all three at once: fake.point_spotipy(auth, sp)

(``fake.issue_tokens()`` skips the login and returns a token dict to put in spotipy's cache.)
Timing: token expiry and track progress use the injected clock; :meth:`FakeSpotify.set_latency`
delays answers in real time. HTTP/1.0, one connection per request, so :meth:`FakeSpotify.go_down`
refuses the very next request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from soulsyncd.testing.fake_spotify_model import (
    JSON,
    ApiError,
    Device,
    Playlist,
    SpotifyModel,
    Track,
    user_json,
)

__all__ = ["ALL_SCOPES", "FakeSpotify", "RequestRecord"]

# Granted when a test approves a login without naming scopes, so spotipy's scope check always passes.
ALL_SCOPES = (
    "playlist-read-collaborative playlist-read-private user-modify-playback-state "
    "user-read-currently-playing user-read-playback-state user-read-private"
)

_REASON_MESSAGES = {
    "PREMIUM_REQUIRED": "Player command failed: Premium required",
    "NO_ACTIVE_DEVICE": "Player command failed: No active device found",
    "QUOTA_EXCEEDED": "API rate limit exceeded",
}
_STATUS_MESSAGES = {
    400: "Bad request",
    401: "The access token expired",
    403: "Forbidden",
    404: "Not found.",
    429: "API rate limit exceeded",
    500: "Server error.",
    502: "Bad gateway.",
    503: "Service unavailable",
}


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake answered: ``at`` is the injected clock's time when it arrived."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    at: float


@dataclass
class _Fault:
    remaining: int
    status: int
    reason: str | None
    retry_after: int | None
    path_prefix: str
    message: str | None
    body: JSON | None = None  # answered as it is (answer_next): a body of the wrong shape


@dataclass
class _Slow:
    remaining: int
    seconds: float
    advance: Callable[[float], None]
    path_prefix: str


@dataclass(frozen=True)
class _Grant:
    redirect_uri: str
    code_challenge: str | None
    scope: str


@dataclass(frozen=True)
class _Response:
    status: int
    body: JSON | str | None = None  # a dict is sent as JSON, a str as HTML
    headers: tuple[tuple[str, str], ...] = ()


_Route = Callable[[tuple[str, ...], dict[str, str], JSON], JSON | None]


class _OAuthError(Exception):
    """An Accounts error: 400 ``{"error": code, "error_description": description}``."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.response = _Response(400, {"error": code, "error_description": description})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # go_down() must not wait for answers held back by set_latency()
    fake: FakeSpotify


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one connection per request: go_down() refuses the next one at once

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    def do_PUT(self) -> None:
        self.server.fake._serve(self)

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read FakeSpotify.requests instead of stderr


class FakeSpotify:
    """One Spotify user's account behind a local HTTP server (see the module docstring)."""

    client_id = "fake-client-id"
    client_secret = "fake-client-secret"
    user_id = "fake-user"

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        """Create the fake; ``clock`` (seconds, default ``time.monotonic``) drives expiry and progress."""
        self._clock = clock or time.monotonic
        self._lock = threading.RLock()
        self._model = SpotifyModel(self._clock, self.user_id)
        self.premium = True
        self.access_ttl_s = 3600.0
        self.auto_approve = False  # GET /authorize redirects at once, as for a user who consented before
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, float] = {}  # access token -> expiry on the clock
        self._refresh: dict[str, str] = {}  # valid refresh token -> its scope
        self._revoked: set[str] = set()
        self._faults: list[_Fault] = []
        self._latency_s = 0.0
        self._slow: list[_Slow] = []
        self._log: list[RequestRecord] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._stopping = threading.Event()
        model = self._model
        # (method, path, handler(path groups, query, body) -> JSON body, or None for 204)
        routes: list[tuple[str, str, _Route]] = [
            ("GET", r"/v1/me", lambda g, q, b: user_json(self.user_id, self.api_prefix)),
            ("GET", r"/v1/me/player", lambda g, q, b: model.playback_json()),
            ("GET", r"/v1/me/player/currently-playing", lambda g, q, b: model.currently_playing_json()),
            ("GET", r"/v1/me/player/devices", lambda g, q, b: model.devices_json()),
            ("PUT", r"/v1/me/player", lambda g, q, b: model.transfer(b)),
            ("PUT", r"/v1/me/player/play", lambda g, q, b: model.play(q.get("device_id"), b)),
            ("PUT", r"/v1/me/player/pause", lambda g, q, b: model.pause(q.get("device_id"))),
            ("POST", r"/v1/me/player/next", lambda g, q, b: model.next(q.get("device_id"))),
            ("POST", r"/v1/me/player/queue", lambda g, q, b: model.enqueue(q.get("uri"), q.get("device_id"))),
            ("PUT", r"/v1/me/player/volume",
             lambda g, q, b: model.volume(q.get("volume_percent"), q.get("device_id"))),
            ("GET", r"/v1/playlists/([^/]+)/items", lambda g, q, b: model.playlist_items_json(g[0], q)),
            ("GET", r"/v1/playlists/([^/]+)", lambda g, q, b: model.playlist_json(g[0], q)),
            ("GET", r"/v1/search", lambda g, q, b: model.search_json(q)),
        ]
        self._routes = [(method, re.compile(pattern + "$"), route) for method, pattern, route in routes]

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on 127.0.0.1 (a free port the first time) and serve on a daemon thread."""
        self._stopping.clear()
        self._bind()

    def stop(self) -> None:
        """Stop serving and close the port; requests delayed by :meth:`set_latency` end at once."""
        self._stopping.set()
        self.go_down()

    def __enter__(self) -> FakeSpotify:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def go_down(self) -> None:
        """Close the listening socket: every request is refused until :meth:`come_up`."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def come_up(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            self._bind()

    def _bind(self) -> None:
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.fake = self
        self._port = server.server_address[1]
        self._model.prefix = self.api_prefix
        self._server = server
        # A short poll interval so go_down() returns within ~50 ms.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-spotify", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeSpotify is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_prefix(self) -> str:
        return self.url + "/v1/"

    @property
    def token_url(self) -> str:
        return self.url + "/api/token"

    @property
    def authorize_url(self) -> str:
        return self.url + "/authorize"

    def point_spotipy(self, *targets: Any) -> None:
        """Aim spotipy objects here: auth managers' token and authorize URLs, clients' API prefix.

        Sets instance attributes, which shadow spotipy's class constants; other objects are ignored.
        """
        for target in targets:
            if hasattr(target, "OAUTH_TOKEN_URL"):
                target.OAUTH_TOKEN_URL = self.token_url
            if hasattr(target, "OAUTH_AUTHORIZE_URL"):
                target.OAUTH_AUTHORIZE_URL = self.authorize_url
            if hasattr(target, "prefix") and hasattr(target, "auth_manager"):
                target.prefix = self.api_prefix

    # --- accounts ------------------------------------------------------------------------------

    def approve(
        self, *, redirect_uri: str, state: str | None, code_challenge: str | None, scope: str | None = None
    ) -> str:
        """Simulate the user consenting; returns a single-use code bound to the redirect and challenge."""
        del state  # travels back in the redirect only; the token endpoint never sees it
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(redirect_uri, code_challenge, ALL_SCOPES if scope is None else scope)
        return code

    def approve_url(self, authorize_url: str) -> str:
        """Consent to a full authorize URL (e.g. spotipy's ``get_authorize_url()``).

        Returns the URL the browser is then redirected to (``redirect_uri?code=…&state=…``).
        Raises ValueError, as Spotify shows an error page, for a wrong client id, a response type
        other than ``code``, a challenge method other than S256, or a redirect URI that is not
        loopback ``http://127.0.0.1`` / ``[::1]`` or https (``localhost`` is refused since 2025-11).
        """
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        if query.get("client_id") != self.client_id:
            raise ValueError("INVALID_CLIENT: Invalid client")
        if query.get("response_type") != "code":
            raise ValueError("unsupported_response_type")
        redirect = urlsplit(query.get("redirect_uri", ""))
        if not (redirect.scheme == "https" or (redirect.scheme == "http" and redirect.hostname in {
            "127.0.0.1", "::1"})):
            raise ValueError("INVALID_CLIENT: Insecure redirect URI")
        challenge = query.get("code_challenge")
        if challenge is not None and query.get("code_challenge_method") != "S256":
            raise ValueError("invalid_request: code_challenge_method must be S256")
        code = self.approve(
            redirect_uri=query["redirect_uri"], state=query.get("state"), code_challenge=challenge,
            scope=query.get("scope", ""),
        )
        answer = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return query["redirect_uri"] + ("&" if "?" in query["redirect_uri"] else "?") + urlencode(answer)

    def issue_tokens(self, scope: str | None = None) -> dict[str, Any]:
        """A fresh token pair without the login dance, shaped like spotipy's cache (with ``expires_at``)."""
        with self._lock:
            info = self._issue(ALL_SCOPES if scope is None else scope)
        return {**info, "expires_at": int(time.time()) + info["expires_in"]}

    def expire_access_tokens(self) -> None:
        """Every access token issued so far answers 401 "The access token expired" from now on."""
        with self._lock:
            now = self._clock()
            self._access = dict.fromkeys(self._access, now)

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far answers ``invalid_grant`` "Refresh token revoked"."""
        with self._lock:
            self._revoked.update(self._refresh)
            self._refresh.clear()

    def _issue(self, scope: str) -> JSON:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[access] = self._clock() + self.access_ttl_s
        self._refresh[refresh] = scope
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl_s),
            "refresh_token": refresh,
            "scope": scope,
        }

    def _token(self, form: dict[str, str], headers: Any) -> _Response:
        """``POST /api/token`` (called under the lock)."""
        try:
            basic = self._check_client(form, headers.get("Authorization", ""))
            if form.get("grant_type") == "authorization_code":
                return _Response(200, self._issue(self._redeem_code(form, basic)))
            if form.get("grant_type") == "refresh_token":
                token = form.get("refresh_token", "")
                if token in self._revoked:
                    raise _OAuthError("invalid_grant", "Refresh token revoked")
                scope = self._refresh.pop(token, None)  # rotation: a refresh token works once
                if scope is None:
                    raise _OAuthError("invalid_grant", "Invalid refresh token")
                return _Response(200, self._issue(scope))
            raise _OAuthError("unsupported_grant_type", "grant_type parameter is missing")
        except _OAuthError as exc:
            return exc.response

    def _check_client(self, form: dict[str, str], authorization: str) -> bool:
        """Whether the client proved itself with HTTP Basic (classic flow); else it must name its id."""
        if not authorization.startswith("Basic "):
            if form.get("client_id") != self.client_id:
                raise _OAuthError("invalid_client", "Invalid client")
            return False
        try:
            cid, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            raise _OAuthError("invalid_client", "Invalid client") from None
        if cid != self.client_id:
            raise _OAuthError("invalid_client", "Invalid client")
        if secret != self.client_secret:
            raise _OAuthError("invalid_client", "Invalid client secret")
        return True

    def _redeem_code(self, form: dict[str, str], basic: bool) -> str:
        """Check an authorization code (single use, even when the exchange fails); returns its scope."""
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None:
            raise _OAuthError("invalid_grant", "Invalid authorization code")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _OAuthError("invalid_grant", "Invalid redirect URI")
        if grant.code_challenge is not None:
            if _s256(form.get("code_verifier", "")) != grant.code_challenge:
                raise _OAuthError("invalid_grant", "code_verifier was incorrect")
        elif not basic:  # without PKCE the client must prove itself with its secret
            raise _OAuthError("invalid_client", "Invalid client")
        return grant.scope

    def _authorize_page(self, raw_url: str) -> _Response:
        if not self.auto_approve:
            return _Response(200, "<html><body>Fake Spotify login: the test approves with "
                             "FakeSpotify.approve_url().</body></html>")
        try:
            location = self.approve_url(self.url + raw_url)
        except ValueError as exc:
            return _Response(400, f"<html><body>{exc}</body></html>")
        return _Response(302, None, (("Location", location),))

    # --- devices, player, catalog (test-side) ---------------------------------------------------

    def add_device(
        self, name: str, *, type: str = "Speaker", restricted: bool = False, volume: int = 50,
        id: str | None = None,
    ) -> str:
        """Make a Connect device visible (not active); returns its id (40 hex digits unless given)."""
        device_id = id or hashlib.sha1(f"{name}:{secrets.token_hex(4)}".encode()).hexdigest()
        with self._lock:
            self._model.devices.append(Device(device_id, name, type, restricted, volume))
        return device_id

    def remove_device(self, name: str) -> None:
        """The device drops out of the list (an idle librespot does); playing on it stops."""
        with self._lock:
            self._model.remove_device(name)

    def set_device_id(self, name: str, new_id: str) -> None:
        """Give the named device a new id, as Spotify does from time to time."""
        with self._lock:
            self._model.set_device_id(name, new_id)

    def playback(self) -> dict[str, Any] | None:
        """The playback state as ``GET /me/player`` would answer it now (None for its 204)."""
        with self._lock:
            return self._model.playback_json()

    @property
    def queue(self) -> list[str]:
        """The uris queued and not yet played (a copy)."""
        with self._lock:
            self._model.advance()
            return list(self._model.queue)

    def listener_plays(self, uri: str, device: str | None = None) -> None:
        """The listener starts a playlist or track from their phone (on ``device`` by name, else here)."""
        with self._lock:
            self._model.listener_plays(uri, device)

    def listener_plays_non_catalog(self, kind: str, device: str | None = None,
                                   duration_s: float = 30.0) -> None:
        """The listener's app plays what is no catalog track: ``"ad"`` (``GET /me/player`` names no
        ``item``, ``currently_playing_type`` ``"ad"``) or ``"local file"`` (an ``is_local`` item with a
        ``spotify:local:`` uri). It stops after ``duration_s``; nothing follows it."""
        with self._lock:
            self._model.listener_plays_non_catalog(kind, device, duration_s)

    def listener_pauses(self) -> None:
        with self._lock:
            self._model.listener_pauses()

    def listener_transfers(self, device_name: str) -> None:
        with self._lock:
            self._model.listener_transfers(device_name)

    def add_track(self, uri: str, name: str, artists: list[str], duration_s: float) -> None:
        """Put a track (``spotify:track:ID``) in the catalog."""
        if not uri.startswith("spotify:track:"):
            raise ValueError(f"not a track uri: {uri}")
        with self._lock:
            self._model.tracks[uri] = Track(uri, name, list(artists), round(duration_s * 1000))

    def add_playlist(self, playlist_id: str, name: str, track_uris: list[str], *, owned: bool = True) -> None:
        """Add a playlist of catalog tracks; not ``owned`` -> its items answer 403."""
        with self._lock:
            missing = [u for u in track_uris if u not in self._model.tracks]
            if missing:
                raise ValueError(f"add these tracks first: {missing}")
            self._model.playlists[playlist_id] = Playlist(playlist_id, name, list(track_uris), owned)

    # --- faults and the request log ------------------------------------------------------------

    def fail_next(
        self, n: int, status: int, *, reason: str | None = None, retry_after: int | None = None,
        path_prefix: str | None = None, message: str | None = None,
    ) -> None:
        """Answer the next ``n`` matching requests with ``status`` instead of serving them.

        Matches every ``/v1/`` call unless ``path_prefix`` narrows it (``"me/player"`` and
        ``"/v1/me/player"`` are the same; ``"/api/token"`` targets the token endpoint). 202 answers
        with an empty body (a device that is temporarily unavailable); others with Spotify's error
        body, ``reason`` included, and ``Retry-After`` when ``retry_after`` is given. Rules added
        earlier are used up first.
        """
        prefix = (path_prefix or "/v1/").lstrip("/")
        if not prefix.startswith(("v1/", "api/", "authorize")):
            prefix = "v1/" + prefix
        with self._lock:
            self._faults.append(_Fault(n, status, reason, retry_after, "/" + prefix, message))

    def answer_next(self, n: int, body: JSON, *, path_prefix: str | None = None) -> None:
        """Answer the next ``n`` matching requests 200 with ``body`` instead of serving them: an answer
        of the wrong shape, as a broken proxy or an incident on Spotify's side gives. Matching as in
        :meth:`fail_next` (and in one queue with its rules)."""
        prefix = (path_prefix or "/v1/").lstrip("/")
        if not prefix.startswith(("v1/", "api/", "authorize")):
            prefix = "v1/" + prefix
        with self._lock:
            self._faults.append(_Fault(n, 200, None, None, "/" + prefix, None, dict(body)))

    def answer_late(self, n: int, seconds: float, advance: Callable[[float], None], *,
                    path_prefix: str | None = None) -> None:
        """The next ``n`` matching requests are answered ``seconds`` late on the injected clock: the
        fake calls ``advance(seconds)`` (e.g. a ManualClock's) between arrival and answer, so a test
        sees a slow answer without waiting. Matching as in :meth:`fail_next`; works with it (a late
        429, a late 503)."""
        prefix = (path_prefix or "/v1/").lstrip("/")
        if not prefix.startswith(("v1/", "api/", "authorize")):
            prefix = "v1/" + prefix
        with self._lock:
            self._slow.append(_Slow(n, seconds, advance, "/" + prefix))

    def _take_slow(self, path: str) -> _Slow | None:
        with self._lock:
            for slow in self._slow:
                if slow.remaining > 0 and path.startswith(slow.path_prefix):
                    slow.remaining -= 1
                    return slow
            self._slow = [s for s in self._slow if s.remaining > 0]
            return None

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` of real time (a slow API)."""
        self._latency_s = seconds

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def requests_between(self, t0: float, t1: float) -> list[RequestRecord]:
        """The requests that arrived at clock times ``t0 <= at < t1``."""
        return [r for r in self.requests if t0 <= r.at < t1]

    def _take_fault(self, path: str) -> _Response | None:
        for fault in self._faults:
            if fault.remaining > 0 and path.startswith(fault.path_prefix):
                fault.remaining -= 1
                headers = (("Retry-After", str(fault.retry_after)),) if fault.retry_after is not None else ()
                if fault.body is not None:
                    return _Response(fault.status, fault.body, headers)
                if fault.status in (202, 204):
                    return _Response(fault.status, None, headers)
                message = fault.message or _REASON_MESSAGES.get(fault.reason or "") or _STATUS_MESSAGES.get(
                    fault.status, "Error")
                if path == "/api/token":
                    return _Response(fault.status, {"error": fault.reason or "server_error",
                                                    "error_description": message}, headers)
                return _Response(fault.status, ApiError(fault.status, message, fault.reason).body(), headers)
        self._faults = [f for f in self._faults if f.remaining > 0]
        return None

    # --- HTTP ----------------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        arrived = self._clock()
        url = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if self._latency_s > 0:
            self._stopping.wait(self._latency_s)
        slow = self._take_slow(url.path)
        if slow is not None:
            slow.advance(slow.seconds)
        with self._lock:
            try:
                response = self._dispatch(handler.command, url.path, query, raw, handler)
            except ApiError as exc:
                response = _Response(exc.status, exc.body())
            self._log.append(RequestRecord(handler.command, url.path, query, response.status, arrived))
        body = b""
        content_type = "application/json; charset=utf-8"
        if isinstance(response.body, str):
            body, content_type = response.body.encode(), "text/html; charset=utf-8"
        elif response.body is not None:
            body = json.dumps(response.body).encode()
        try:
            handler.send_response(response.status)
            for name, value in response.headers:
                handler.send_header(name, value)
            if response.status != 204:
                if body:
                    handler.send_header("Content-Type", content_type)
                handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass  # the client gave up (its timeout); nothing to tell it

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], raw: bytes, handler: _Handler
    ) -> _Response:
        """Faults first, then the Accounts endpoints, then the Web API (called under the lock)."""
        fault = self._take_fault(path)
        if fault is not None:
            return fault
        if path == "/api/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
            return self._token(form, handler.headers)
        if path == "/authorize" and method == "GET":
            return self._authorize_page(handler.path)
        if not path.startswith("/v1/"):
            raise ApiError(404, "Service not found")
        self._check_access(handler.headers.get("Authorization", ""))
        path = path.rstrip("/")  # Spotify takes "me/" (as spotipy sends it) for "me"
        allowed = [(m, route, match) for m, pattern, route in self._routes if (match := pattern.match(path))]
        for route_method, route, match in allowed:
            if route_method == method:
                if method != "GET" and path.startswith("/v1/me/player") and not self.premium:
                    raise ApiError(403, _REASON_MESSAGES["PREMIUM_REQUIRED"], "PREMIUM_REQUIRED")
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    raise ApiError(400, "Malformed json") from None
                try:
                    answer = route(match.groups(), query, body)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a body of the wrong shape
                    raise ApiError(400, f"Malformed request: {exc!r}") from None
                return _Response(204) if answer is None else _Response(200, answer)
        if allowed:
            raise ApiError(405, "Method not allowed")
        # Everything else, the endpoints removed for development-mode apps included
        # (audio-features, audio-analysis, recommendations, artists/{id}/related-artists).
        raise ApiError(404, "Service not found")

    def _check_access(self, authorization: str) -> None:
        if not authorization.startswith("Bearer "):
            raise ApiError(401, "No token provided")
        expiry = self._access.get(authorization.removeprefix("Bearer "))
        if expiry is None:
            raise ApiError(401, "Invalid access token")
        if expiry <= self._clock():
            raise ApiError(401, "The access token expired")
