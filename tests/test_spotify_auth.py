"""Login (paste and callback paths, PKCE and classic), the token cache (0600, atomic, corrupt), refresh
with rotation, and errors as types: the real spotipy against the fake accounts and Web API."""

from __future__ import annotations

import io
import json
import logging
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from soulsyncd.spotify.auth import (
    LoginError,
    TokenCache,
    install_redaction,
    is_pkce,
    login,
    make_auth_manager,
    redact,
    token_path,
)
from soulsyncd.spotify.client import SpotifyClient, playlist_id
from soulsyncd.spotify.errors import (
    LoginRequiredError,
    NoDeviceError,
    OfflineError,
    PremiumRequiredError,
    RateLimitedError,
)
from soulsyncd.testing.fake_spotify import FakeSpotify


@pytest.fixture
def fake() -> Iterator[FakeSpotify]:
    with FakeSpotify() as server:
        yield server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def manager(fake: FakeSpotify, state_dir: Path, *, port: int = 8888, secret: str | None = None) -> Any:
    return make_auth_manager(
        client_id=fake.client_id, redirect_uri=f"http://127.0.0.1:{port}/callback",
        cache=TokenCache(token_path(state_dir)), client_secret=secret, timeout_s=5,
        token_url=fake.token_url, authorize_url=fake.authorize_url,
    )


def client_for(fake: FakeSpotify, auth: Any) -> SpotifyClient:
    return SpotifyClient(auth, timeout_s=5, api_prefix=fake.api_prefix)


class Browser(io.StringIO):
    """A terminal whose user opens the printed URL, approves, and pastes the redirected address."""

    def __init__(self, fake: FakeSpotify, out: io.StringIO, *, mangle: str | None = None) -> None:
        super().__init__()
        self.fake, self.out, self.mangle = fake, out, mangle

    def readline(self, size: int | None = -1) -> str:
        url = next(w for w in self.out.getvalue().split() if w.startswith(self.fake.authorize_url))
        redirected = self.fake.approve_url(url)
        if self.mangle == "state":
            redirected = redirected.replace("state=", "state=x")
        elif self.mangle == "denied":
            redirected = redirected.split("?")[0] + "?error=access_denied"
        return redirected + "\n"


# --- login -------------------------------------------------------------------------------------------


def test_login_by_pasting_the_redirected_url_saves_a_0600_token_cache(
        fake: FakeSpotify, tmp_path: Path) -> None:
    auth = manager(fake, tmp_path)
    out = io.StringIO()
    token = login(auth, out=out, paste=Browser(fake, out), listen=False, timeout_s=10)
    assert is_pkce(auth)
    assert "code_challenge_method=S256" in out.getvalue()
    path = token_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cached = json.loads(path.read_text())
    assert cached["refresh_token"] == token["refresh_token"]
    assert client_for(fake, auth).me()["id"] == fake.user_id


def test_login_by_the_callback_server(fake: FakeSpotify, tmp_path: Path) -> None:
    """The browser on this machine is redirected to 127.0.0.1:PORT/callback, caught by the one-shot server."""
    port = free_port()
    auth = manager(fake, tmp_path, port=port)
    answers: list[int] = []

    def browser(url: str) -> None:
        redirected = fake.approve_url(url)
        answers.append(requests.get(redirected, timeout=5).status_code)

    def open_browser(url: str) -> None:
        threading.Thread(target=browser, args=(url,), daemon=True).start()

    login(auth, out=io.StringIO(), paste=None, on_url=open_browser, timeout_s=10)
    assert answers == [200]
    assert client_for(fake, auth).devices() == []
    with pytest.raises(requests.ConnectionError):  # one-shot: the port is closed again
        requests.get(f"http://127.0.0.1:{port}/callback?code=x", timeout=2)


def test_login_with_a_client_secret_uses_the_classic_flow(fake: FakeSpotify, tmp_path: Path) -> None:
    auth = manager(fake, tmp_path, secret=fake.client_secret)
    out = io.StringIO()
    login(auth, out=out, paste=Browser(fake, out), listen=False, timeout_s=10)
    assert not is_pkce(auth)
    assert "code_challenge" not in out.getvalue()
    assert client_for(fake, auth).me()["id"] == fake.user_id


@pytest.mark.parametrize(("mangle", "message"), [("state", "state mismatch"), ("denied", "access_denied")])
def test_login_refuses_a_foreign_or_denied_redirect(fake: FakeSpotify, tmp_path: Path, mangle: str,
                                                    message: str) -> None:
    out = io.StringIO()
    with pytest.raises(LoginError, match=message):
        login(manager(fake, tmp_path), out=out, paste=Browser(fake, out, mangle=mangle), listen=False)
    assert not token_path(tmp_path).exists()


def test_login_gives_up_after_its_timeout(fake: FakeSpotify, tmp_path: Path) -> None:
    with pytest.raises(LoginError, match="no redirect"):
        login(manager(fake, tmp_path), out=io.StringIO(), paste=io.StringIO(""), listen=False, timeout_s=0.2)


# --- the token cache ---------------------------------------------------------------------------------------


def test_token_cache_replaces_a_world_readable_file_with_a_0600_one(
        fake: FakeSpotify, tmp_path: Path) -> None:
    path = token_path(tmp_path)
    path.write_text("{}", encoding="utf-8")
    path.chmod(0o644)
    TokenCache(path).save_token_to_cache(fake.issue_tokens())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", '{"access_token": "a"}', '"token"'])
def test_a_corrupt_token_cache_means_login_required_not_a_prompt(
        fake: FakeSpotify, tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture) -> None:
    token_path(tmp_path).write_text(text, encoding="utf-8")
    client = client_for(fake, manager(fake, tmp_path))
    with pytest.raises(LoginRequiredError, match="spotify-login"):
        client.devices()
    assert fake.requests == []  # refused before any request: no stdin prompt, no traceback
    if text:
        assert "corrupt" in caplog.text


def test_no_token_cache_means_login_required(fake: FakeSpotify, tmp_path: Path) -> None:
    with pytest.raises(LoginRequiredError):
        client_for(fake, manager(fake, tmp_path)).playback()


# --- refresh and rotation ----------------------------------------------------------------------------------


def test_a_401_refreshes_once_and_saves_the_rotated_refresh_token(fake: FakeSpotify, tmp_path: Path) -> None:
    auth = manager(fake, tmp_path)
    TokenCache(token_path(tmp_path)).save_token_to_cache(fake.issue_tokens())
    old = json.loads(token_path(tmp_path).read_text())["refresh_token"]
    fake.expire_access_tokens()
    assert client_for(fake, auth).devices() == []
    new = json.loads(token_path(tmp_path).read_text())["refresh_token"]
    assert new != old
    statuses = [(r.path, r.status) for r in fake.requests]
    assert statuses == [("/v1/me/player/devices", 401), ("/api/token", 200), ("/v1/me/player/devices", 200)]


def test_an_expired_token_is_refreshed_before_the_request(fake: FakeSpotify, tmp_path: Path) -> None:
    tokens = {**fake.issue_tokens(), "expires_at": 0}
    TokenCache(token_path(tmp_path)).save_token_to_cache(tokens)
    client_for(fake, manager(fake, tmp_path)).devices()
    assert [r.path for r in fake.requests] == ["/api/token", "/v1/me/player/devices"]
    assert json.loads(token_path(tmp_path).read_text())["refresh_token"] != tokens["refresh_token"]


def test_a_revoked_refresh_token_is_login_required(fake: FakeSpotify, tmp_path: Path) -> None:
    TokenCache(token_path(tmp_path)).save_token_to_cache(fake.issue_tokens())
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    with pytest.raises(LoginRequiredError, match="invalid_grant"):
        client_for(fake, manager(fake, tmp_path)).devices()


# --- errors keep what the caller needs ---------------------------------------------------------------------


@pytest.fixture
def client(fake: FakeSpotify, tmp_path: Path) -> SpotifyClient:
    TokenCache(token_path(tmp_path)).save_token_to_cache(fake.issue_tokens())
    return client_for(fake, manager(fake, tmp_path))


def test_429_keeps_retry_after_and_nothing_sleeps(fake: FakeSpotify, client: SpotifyClient) -> None:
    fake.fail_next(1, 429, retry_after=3600)
    with pytest.raises(RateLimitedError) as info:
        client.devices()
    assert info.value.retry_after_s == 3600
    assert len(fake.requests) == 1  # spotipy did not retry (or sleep) on its own


@pytest.mark.parametrize(
    ("status", "reason", "error"),
    [(500, None, OfflineError), (503, None, OfflineError), (403, "PREMIUM_REQUIRED", PremiumRequiredError),
     (404, "NO_ACTIVE_DEVICE", NoDeviceError)],
)
def test_player_errors_become_types(fake: FakeSpotify, client: SpotifyClient, status: int, reason: str | None,
                                    error: type[Exception]) -> None:
    fake.fail_next(1, status, reason=reason)
    with pytest.raises(error):
        client.pause(None)


def test_connection_refused_and_timeouts_are_offline(fake: FakeSpotify, tmp_path: Path) -> None:
    TokenCache(token_path(tmp_path)).save_token_to_cache(fake.issue_tokens())
    slow = SpotifyClient(manager(fake, tmp_path), timeout_s=0.2, api_prefix=fake.api_prefix)
    fake.set_latency(1.0)
    with pytest.raises(OfflineError, match="in time"):
        slow.devices()
    fake.set_latency(0)
    fake.go_down()
    with pytest.raises(OfflineError, match="connect"):
        slow.devices()


def test_playlist_pages_of_fifty_read_from_items_item(fake: FakeSpotify, client: SpotifyClient) -> None:
    for i in range(120):
        fake.add_track(f"spotify:track:P{i:03d}", f"Song {i}", ["Band"], 200)
    fake.add_playlist("Mine", "Mine", [f"spotify:track:P{i:03d}" for i in range(120)])
    pages = list(client.playlist_tracks("Mine"))
    assert [len(p) for p in pages] == [50, 50, 20]
    assert pages[2][-1].uri == "spotify:track:P119"
    assert [r.query.get("offset") for r in fake.requests] == ["0", "50", "100"]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [("spotify:playlist:37i9dQZF1DX", "37i9dQZF1DX"), ("spotify:user:bob:playlist:AbC1", "AbC1"),
     ("https://open.spotify.com/playlist/AbC1?si=xyz", "AbC1"),
     ("open.spotify.com/intl-de/playlist/Q1", "Q1"),
     ("spotify:album:AbC1", None), ("https://open.spotify.com/track/AbC1", None), ("hello", None),
     ("spotify:playlist:../x", None)],
)
def test_playlist_id_accepts_uris_and_links_only(uri: str, expected: str | None) -> None:
    assert playlist_id(uri) == expected


# --- secrets stay out of the logs --------------------------------------------------------------------------


def test_redact_hides_tokens_codes_and_authorization_headers() -> None:
    text = ("Headers: {'Authorization': 'Bearer abc.DEF-123'} Body: {'refresh_token': 'r3fr3sh', "
            "'code': 'c0de', 'code_verifier': 'v3r'} Basic Zm9vOmJhcg== access_token=xyz&x=1")
    cleaned = redact(text)
    for secret in ("abc.DEF-123", "r3fr3sh", "c0de", "v3r", "Zm9vOmJhcg==", "xyz"):
        assert secret not in cleaned
    assert "Bearer ***" in cleaned


def test_spotipy_debug_logs_carry_no_token(fake: FakeSpotify, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    tokens = fake.issue_tokens()
    TokenCache(token_path(tmp_path)).save_token_to_cache({**tokens, "expires_at": 0})
    caplog.set_level(logging.DEBUG, logger="spotipy")
    client_for(fake, manager(fake, tmp_path)).devices()
    assert "Sending" in caplog.text  # spotipy did log its requests...
    cached = json.loads(token_path(tmp_path).read_text())
    for secret in (tokens["refresh_token"], cached["access_token"], cached["refresh_token"]):
        assert secret not in caplog.text  # ...without a token in them


@pytest.mark.parametrize("level", ["info", "debug"])
def test_spotipys_http_error_lines_do_not_double_ours_in_the_daemons_logging(
        fake: FakeSpotify, tmp_path: Path, level: str) -> None:
    """Under the daemon's own logging (set up before the player, and again on a reload), spotipy's
    ``ERROR HTTP Error for ...`` per 401/429/5xx is dropped; at debug it is kept, as a DEBUG line."""
    from soulsyncd.service.logs import setup_logging

    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    for handler in saved_handlers:
        root.removeHandler(handler)  # setup_logging closes what it replaces; pytest's are put back
    out = io.StringIO()
    try:
        setup_logging(level, environ={}, stream=out, journal=False)
        install_redaction()
        setup_logging(level, environ={}, stream=out, journal=False)  # a reload
        TokenCache(token_path(tmp_path)).save_token_to_cache(fake.issue_tokens())
        client = client_for(fake, manager(fake, tmp_path))
        for status in (503, 429):
            fake.fail_next(1, status)
            with pytest.raises((OfflineError, RateLimitedError)):
                client.devices()
        fake.expire_access_tokens()
        client.devices()  # a 401, refreshed and retried
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
    lines = [line for line in out.getvalue().splitlines() if "HTTP Error for" in line]
    if level == "info":
        assert lines == []
    else:
        assert len(lines) == 3
        assert all(" DEBUG " in line for line in lines)
    assert " ERROR " not in out.getvalue()
