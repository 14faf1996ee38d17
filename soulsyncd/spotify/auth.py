"""Logging in to Spotify and keeping the login: the token cache, the auth managers, the login flow.

* :class:`TokenCache` is spotipy's file cache made strict: written atomically with mode 0600 from
  the first byte, and a corrupt or half-written file reads as "no login" instead of a traceback.
* :func:`make_auth_manager` builds spotipy's PKCE manager (no client secret needed) or, when a
  secret is given, the classic authorization-code manager. Both are the "no prompt" kind: where
  spotipy would ask for a login on stdin, they raise :class:`LoginRequiredError`, so the daemon
  never blocks on a terminal that nobody watches. spotipy refreshes the access token by itself and
  saves the rotated refresh token (PKCE refresh tokens are single-use) through the cache.
* :func:`login` is the interactive flow behind ``soulsyncd spotify-login``: it prints the URL, and
  whichever comes first wins: the browser's redirect to a one-shot server on 127.0.0.1, or the
  redirected URL pasted from another device.
* :func:`install_redaction` keeps token values out of the logs (spotipy logs headers at debug).
"""

from __future__ import annotations

import soulsyncd.spotify.lean_import  # noqa: F401  (first: spotipy without redis, requests without chardet)

# isort: split

import contextlib
import json
import logging
import os
import queue
import re
import secrets
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlparse

import requests
from spotipy.cache_handler import CacheFileHandler  # type: ignore[import-untyped]
from spotipy.oauth2 import SpotifyOAuth, SpotifyPKCE  # type: ignore[import-untyped]

from soulsyncd.spotify.errors import LoginRequiredError
from soulsyncd.spotify.settings import SPOTIFY_SCOPES

log = logging.getLogger(__name__)

TOKEN_FILE = "spotify-token.json"
"""The token cache's name inside the state directory."""

CLIENT_SECRET_NAME = "spotify-client-secret"
"""The credential (``$CREDENTIALS_DIRECTORY/…`` or ``SOULSYNC_SPOTIFY_CLIENT_SECRET``) that switches
login to the classic flow; without it, PKCE."""

LOGIN_HINT = "run: soulsyncd spotify-login --config <your config file>"

_REQUIRED_KEYS = ("access_token", "refresh_token", "expires_at")

MAX_TOKEN_BYTES = 64 * 1024
"""A real cache is under 1 KiB; anything this large is not one (and is not read whole)."""


class _Unusable(Exception):  # noqa: N818 - internal: says what is wrong with the file, never escapes
    """The token cache exists but cannot be a token cache."""


# --- the token cache --------------------------------------------------------------------------------


class TokenCache(CacheFileHandler):  # type: ignore[misc]
    """spotipy's cache file, written atomically with mode 0600 and read defensively.

    Contract: :meth:`get_cached_token` returns a dict with ``access_token``, ``refresh_token`` and
    ``expires_at``, or None (missing, unreadable, corrupt: the log says which, once). Every save
    replaces the file atomically (temporary file created 0600, fsync, rename), so a crash mid-write
    never loses the single-use refresh token that the previous file held.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(cache_path=str(path))
        self.path = path
        self._warned: str | None = None

    def get_cached_token(self) -> dict[str, Any] | None:
        # Whatever shape the file is in (binary, empty, huge, a directory, unreadable), the answer is
        # a token or None ("login required", with the fix, logged once): never an exception, which
        # spotipy would turn into a traceback at every retry.
        try:
            text = self._read()
        except FileNotFoundError:
            return None
        except _Unusable as exc:
            self._warn(f"the Spotify token cache {self.path} {exc}; {LOGIN_HINT}")
            return None
        except OSError as exc:
            self._warn(f"cannot read the Spotify token cache {self.path}: {exc.strerror or exc}; "
                       f"make it readable by the daemon's user, or {LOGIN_HINT}")
            return None
        try:
            token = json.loads(text)
        except (ValueError, RecursionError):
            token = None
        if not isinstance(token, dict) or not all(isinstance(token.get(key), (str, int, float))
                                                  for key in _REQUIRED_KEYS):
            self._warn(f"the Spotify token cache {self.path} is corrupt; {LOGIN_HINT}")
            return None
        self._check_mode()
        self._warned = None
        return token

    def _read(self) -> str:
        """The file's text, refusing what cannot be a token cache before reading it all."""
        if not stat.S_ISREG(self.path.stat().st_mode):  # a directory, a FIFO (open would block), ...
            raise _Unusable("is not a regular file")
        with open(self.path, "rb") as file:
            data = file.read(MAX_TOKEN_BYTES + 1)
        if not data.strip():
            raise _Unusable("is empty")
        if len(data) > MAX_TOKEN_BYTES:
            raise _Unusable(f"is corrupt (larger than {MAX_TOKEN_BYTES // 1024} KiB)")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _Unusable("is corrupt (not text)") from None

    def save_token_to_cache(self, token_info: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(dict(token_info), file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            # Loud: a PKCE refresh token is single-use, so the next start will need a new login.
            log.error("cannot save the Spotify token cache %s: %s", self.path, exc.strerror or exc)
            with contextlib.suppress(OSError):
                temporary.unlink()
            return
        self._check_mode()

    def _check_mode(self) -> None:
        with contextlib.suppress(OSError):
            if self.path.stat().st_mode & 0o077:
                log.warning("the Spotify token cache %s was readable by others; made it 0600", self.path)
                self.path.chmod(0o600)

    def _warn(self, message: str) -> None:
        if message != self._warned:  # once per distinct problem, not on every request
            log.warning("%s", message)
            self._warned = message


def token_path(state_dir: Path) -> Path:
    """Where the token cache lives: ``<state.dir>/spotify-token.json``."""
    return Path(state_dir) / TOKEN_FILE


# --- auth managers that never prompt ----------------------------------------------------------------


class _NoPromptPKCE(SpotifyPKCE):  # type: ignore[misc]
    def get_authorization_code(self, response: str | None = None) -> Any:
        if response:
            return super().get_authorization_code(response)
        raise LoginRequiredError(f"not logged in to Spotify; {LOGIN_HINT}")


class _NoPromptOAuth(SpotifyOAuth):  # type: ignore[misc]
    def get_auth_response(self, open_browser: bool | None = None) -> Any:
        raise LoginRequiredError(f"not logged in to Spotify; {LOGIN_HINT}")


AuthManager = Any
"""spotipy's ``SpotifyPKCE`` or ``SpotifyOAuth`` (untyped), as made by :func:`make_auth_manager`."""


def make_auth_manager(
    *,
    client_id: str,
    redirect_uri: str,
    cache: TokenCache,
    client_secret: str | None = None,
    timeout_s: float = 10.0,
    token_url: str | None = None,
    authorize_url: str | None = None,
) -> AuthManager:
    """A spotipy auth manager for this app's login, PKCE unless a client secret is given.

    Args:
        client_id: the app's Client ID.
        redirect_uri: the loopback redirect registered for the app.
        cache: where tokens are read and saved.
        client_secret: switches to the classic authorization-code flow.
        timeout_s: timeout of token requests.
        token_url: override of Spotify's token endpoint (tests and tools point it at a fake).
        authorize_url: override of Spotify's authorize page, likewise.
    """
    common = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(SPOTIFY_SCOPES),
        "cache_handler": cache,
        "requests_timeout": timeout_s,
        "requests_session": requests.Session(),  # plain: no retry adapter sleeping inside our thread
        "open_browser": False,
    }
    manager = (_NoPromptOAuth(client_secret=client_secret, **common) if client_secret
               else _NoPromptPKCE(**common))
    if token_url:
        manager.OAUTH_TOKEN_URL = token_url
    if authorize_url:
        manager.OAUTH_AUTHORIZE_URL = authorize_url
    return manager


def is_pkce(manager: AuthManager) -> bool:
    """True for the PKCE flow (no client secret), False for the classic one."""
    return isinstance(manager, SpotifyPKCE)


# --- redaction ---------------------------------------------------------------------------------------

_SECRET_VALUES = re.compile(
    r"""(?P<key>["']?(?:access_token|refresh_token|code_verifier|client_secret|code)["']?\s*[:=]\s*["']?)"""
    r"""(?P<value>[^"'\s,&}]+)"""
)
_AUTH_HEADER = re.compile(r"\b(?P<scheme>Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """``text`` with token values, codes and Authorization headers replaced by ``***``."""
    text = _AUTH_HEADER.sub(r"\g<scheme> ***", text)
    return _SECRET_VALUES.sub(r"\g<key>***", text)


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.name == "spotipy.client" and message.startswith(("HTTP Error for", "Max Retries")):
            # spotipy logs every refusal at ERROR; the player reports each failure once, as a state.
            # Kept when debugging, as a DEBUG line: it is a detail of a failure already reported.
            # (A filter on the logger, not a handler: the daemon's setup_logging replaces handlers.)
            if not logging.getLogger("spotipy.client").isEnabledFor(logging.DEBUG):
                return False
            record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACT_FILTER = _RedactFilter()
_REDACTED_LOGGERS = ("spotipy", "spotipy.client", "spotipy.oauth2", "spotipy.cache_handler", __name__)


def install_redaction() -> None:
    """Make spotipy's own log lines (which include headers and token bodies at debug) safe to keep."""
    for name in _REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT_FILTER not in logger.filters:
            logger.addFilter(_REDACT_FILTER)


# --- the interactive login ---------------------------------------------------------------------------


class LoginError(Exception):
    """The login did not complete (timeout, denied, state mismatch, token exchange refused)."""


@dataclass(frozen=True)
class _Redirect:
    url: str
    via: str  # "callback" or "paste"


class _CallbackServer(HTTPServer):
    # One-shot: the first request that carries ``code`` or ``error`` is put on the queue.
    def __init__(self, port: int, path: str, answers: queue.Queue[_Redirect]) -> None:
        super().__init__(("127.0.0.1", port), _CallbackHandler)
        self.callback_path = path
        self.answers = answers
        self.done = False


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        query = dict(parse_qsl(parsed.query))
        if parsed.path != self.server.callback_path or not ({"code", "error"} & query.keys()):
            self._answer(404, "Not the Spotify login callback.")
            return
        self.server.answers.put(_Redirect(f"http://127.0.0.1{self.path}", "callback"))
        self.server.done = True
        ok = "code" in query
        self._answer(200, "Logged in: you can close this window." if ok else
                     f"Spotify said: {query.get('error', 'error')}. Look at the terminal.")

    def _answer(self, status: int, text: str) -> None:
        body = f"<html><body><h1>soulsyncd</h1><p>{text}</p></body></html>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the query holds the code: never log it


@contextlib.contextmanager
def _callback_server(redirect_uri: str, answers: queue.Queue[_Redirect], out: TextIO) -> Iterator[None]:
    parsed = urlparse(redirect_uri)
    try:
        server = _CallbackServer(parsed.port or 80, parsed.path or "/", answers)
    except OSError as exc:
        print(f"(cannot listen on {parsed.netloc}: {exc.strerror or exc}; paste the URL instead)", file=out)
        yield
        return
    server.timeout = 0.2

    def serve() -> None:
        while not server.done and not stopping.is_set():
            server.handle_request()

    stopping = threading.Event()
    thread = threading.Thread(target=serve, name="spotify-login-callback", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        thread.join(2.0)
        server.server_close()


def _read_paste(paste: TextIO, answers: queue.Queue[_Redirect]) -> None:
    # A daemon thread: it may stay blocked on a terminal after the callback won; the process ends anyway.
    for line in iter(paste.readline, ""):
        if line.strip():
            answers.put(_Redirect(line.strip(), "paste"))
            return


def login(
    manager: AuthManager,
    *,
    out: TextIO,
    paste: TextIO | None,
    timeout_s: float = 300.0,
    listen: bool = True,
    on_url: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the authorization-code login and save the tokens through the manager's cache.

    Prints the authorize URL to ``out``. The redirect comes back either to a one-shot server on the
    redirect URI's loopback port (``listen``), or as the redirected URL pasted into ``paste`` (one
    line; the browser's address bar after approving); the first wins. ``on_url`` is called with the
    URL once the callback server listens (to open a local browser).

    Returns:
        The token info as saved (never log it).

    Raises:
        LoginError: nothing arrived within ``timeout_s``, the user denied access, the ``state`` did
            not match (a stale or forged redirect), or Spotify refused the code.
    """
    state = secrets.token_urlsafe(16)
    url = manager.get_authorize_url(state=state)
    flow = "PKCE" if is_pkce(manager) else "authorization code with client secret"
    print(f"Log in to Spotify ({flow}): open this URL in a browser, on any device:\n\n  {url}\n", file=out)
    if listen:
        print(f"Waiting for the redirect to {manager.redirect_uri} (browser on this machine) ...", file=out)
    if paste is not None:
        print("... or paste the URL your browser was redirected to (it starts with "
              f"{manager.redirect_uri}) and press Enter:", file=out)
    out.flush()
    answers: queue.Queue[_Redirect] = queue.Queue()
    if paste is not None:
        threading.Thread(target=_read_paste, args=(paste, answers), name="spotify-login-paste",
                         daemon=True).start()
    with _callback_server(manager.redirect_uri, answers, out) if listen else contextlib.nullcontext():
        if on_url is not None:
            on_url(url)
        try:
            redirect = answers.get(timeout=timeout_s)
        except queue.Empty:
            raise LoginError(f"no redirect within {timeout_s:.0f} s; run spotify-login again") from None
    return _exchange(manager, redirect, state)


def _exchange(manager: AuthManager, redirect: _Redirect, state: str) -> dict[str, Any]:
    from spotipy.exceptions import SpotifyOauthError  # type: ignore[import-untyped]

    query = dict(parse_qsl(urlparse(redirect.url).query))
    if "error" in query:
        raise LoginError(f"Spotify refused the login: {query['error']}")
    code = query.get("code")
    if not code:
        raise LoginError("that URL has no ?code=...: paste the whole address the browser was sent to")
    if query.get("state") != state:
        raise LoginError("the redirect belongs to another login attempt (state mismatch); start again")
    try:
        if is_pkce(manager):
            manager.get_access_token(code=code, check_cache=False)
        else:
            manager.get_access_token(code=code, as_dict=False, check_cache=False)
    except SpotifyOauthError as exc:
        raise LoginError(f"Spotify refused the code: {getattr(exc, 'error', None) or exc}") from exc
    except requests.exceptions.RequestException as exc:
        raise LoginError(f"cannot reach Spotify's token endpoint: {exc}") from exc
    token: dict[str, Any] | None = manager.cache_handler.get_cached_token()
    if token is None:
        raise LoginError(f"the tokens could not be saved to {manager.cache_handler.path}")
    log.info("Spotify login saved to %s (via %s)", manager.cache_handler.path, redirect.via)
    return token
