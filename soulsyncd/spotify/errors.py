"""What can go wrong talking to Spotify, as a few typed errors the player turns into states.

:func:`translate` maps whatever spotipy, requests or the OAuth layer raised onto one of these, so
the player's code reads ``except RateLimitedError`` instead of digging through HTTP statuses.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

import requests

from soulsyncd.types import PlayerStatus

DEFAULT_RETRY_AFTER_S = 10.0  # Spotify always sends Retry-After with a 429; this is for when it didn't

# OAuth error codes (RFC 6749 5.2) that mean the stored login is no good: only a new login helps.
_LOGIN_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "invalid_request", "unauthorized_client", "invalid_scope"}
)


class SpotifyError(Exception):
    """Base of the errors below; ``status`` is the :class:`PlayerStatus` it puts the player in."""

    status: PlayerStatus | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LoginRequiredError(SpotifyError):
    """No usable login: no token cache, a corrupt one, or a refresh token Spotify refused (expired
    after six months, revoked, used twice). Only ``soulsyncd spotify-login`` helps."""

    status = PlayerStatus.LOGIN_REQUIRED


class PremiumRequiredError(SpotifyError):
    """HTTP 403 ``PREMIUM_REQUIRED``: player commands need Spotify Premium."""

    status = PlayerStatus.PREMIUM_REQUIRED


class NoDeviceError(SpotifyError):
    """HTTP 404 from a player endpoint: no active device, or a device id that went stale."""

    status = PlayerStatus.NO_DEVICE


class RateLimitedError(SpotifyError):
    """HTTP 429: wait ``retry_after_s`` seconds before the next request."""

    status = PlayerStatus.RATE_LIMITED

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class OfflineError(SpotifyError):
    """Spotify could not be reached or failed on its side: 5xx, timeout, connection refused."""

    status = PlayerStatus.OFFLINE


class ApiError(SpotifyError):
    """Any other refusal (e.g. 403 for a playlist the user doesn't own, 404 for one that's gone, 400)."""

    def __init__(self, message: str, http_status: int, reason: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.reason = reason


def retry_after_seconds(headers: Mapping[str, str] | None, now: float | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if value is None:
        return DEFAULT_RETRY_AFTER_S
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    return max(0.0, when - (time.time() if now is None else now))


def _short(text: object) -> str:
    message = " ".join(str(text).split())
    return message if len(message) <= 200 else message[:197] + "..."


def translate(exc: BaseException, *, player: bool) -> SpotifyError | None:
    """The :class:`SpotifyError` for an exception raised by spotipy/requests, or None if it is not one.

    Args:
        exc: what the call raised.
        player: True for player endpoints (``/me/player/...``), where a 404 means "no device".
    """
    import soulsyncd.spotify.lean_import  # noqa: F401

    # isort: split

    from spotipy.exceptions import SpotifyException, SpotifyOauthError  # type: ignore[import-untyped]

    if isinstance(exc, SpotifyError):
        return exc
    if isinstance(exc, SpotifyOauthError):
        return _from_oauth(getattr(exc, "error", None), exc)
    if isinstance(exc, SpotifyException):
        return _from_http(exc.http_status, exc.reason, _message(exc.msg), exc.headers, player=player)
    if isinstance(exc, requests.exceptions.RequestException):
        return OfflineError(_network_message(exc))
    return None


def _network_message(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.Timeout):
        return "Spotify did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot connect to Spotify"
    return f"request failed: {_short(exc)}"


def _from_oauth(error: Any, exc: BaseException) -> SpotifyError:
    if isinstance(error, str) and error in _LOGIN_ERRORS:
        return LoginRequiredError(f"Spotify refused the stored login ({error}); run spotify-login again")
    # Anything else from the token endpoint (a 5xx page, a JSON error object) is Spotify's trouble.
    return OfflineError(f"token endpoint failed: {_short(error if error is not None else exc)}")


def _message(msg: object) -> str:
    # spotipy's msg is "<url>:\n <message>"; the url is noise in a state line.
    text = str(msg)
    return _short(text.split(":\n", 1)[1] if ":\n" in text else text)


def _from_http(
    status: int, reason: str | None, message: str, headers: Mapping[str, str] | None, *, player: bool
) -> SpotifyError:
    if status == 429:
        retry_after = retry_after_seconds(headers)
        what = "quota exceeded" if reason == "QUOTA_EXCEEDED" else "rate limited"
        return RateLimitedError(f"{what}: retry after {retry_after:.0f} s", retry_after)
    if status >= 500:
        return OfflineError(f"Spotify error {status}: {message}")
    if status == 401:
        return LoginRequiredError(f"access refused ({message}); run spotify-login again")
    if status == 403 and (reason == "PREMIUM_REQUIRED" or "premium" in message.lower()):
        return PremiumRequiredError("Spotify Premium is required to control playback")
    if status == 404 and player and (reason == "NO_ACTIVE_DEVICE" or "device" in message.lower()):
        return NoDeviceError(f"no device: {message}")
    return ApiError(f"Spotify error {status}: {message}", status, reason)
