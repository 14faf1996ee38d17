"""Pure rules the Spotify player follows: which speaker to play on, how long to wait after a failure.

No I/O and no clock, so tests check them directly with values.
"""

from __future__ import annotations

from soulsyncd.spotify.client import Device, Playback
from soulsyncd.spotify.errors import (
    LoginRequiredError,
    NoDeviceError,
    PremiumRequiredError,
    RateLimitedError,
    SpotifyError,
)
from soulsyncd.spotify.settings import SpotifyPlayerConfig
from soulsyncd.types import PlayerStatus

NO_DEVICE_RETRY_MAX_S = 60.0  # a speaker that wakes up should be found within a minute


def choose_device(devices: list[Device], name: str | None, known_id: str | None = None) -> Device:
    """The speaker to play on: the one called ``name`` (exactly, else ignoring case; the active one
    among equals), or with no name the active one. Restricted devices accept no commands: skipped.
    ``known_id`` is the id the speaker had when last found: a restricted device of the same name with
    another id is not the speaker (which is then absent), and the message says so.

    Raises:
        NoDeviceError: none fits; the message lists the visible devices.
    """
    usable = [d for d in devices if not d.restricted and d.id]
    if name is None:
        chosen = next((d for d in usable if d.active), None)
        if chosen is None:
            raise NoDeviceError(
                f"no active speaker: start one or set player.device (visible: {names(devices)})")
        return chosen
    # Exact name first; then ignoring case (a speaker renamed "kitchen" -> "Kitchen" still counts).
    found = [d for d in usable if d.name == name] or [
        d for d in usable if d.name.casefold() == name.casefold()]
    if found:
        return next((d for d in found if d.active), found[0])
    namesakes = [d for d in devices if d.restricted and d.name.casefold() == name.casefold()]
    if namesakes and (known_id is None or any(d.id == known_id for d in namesakes)):
        raise NoDeviceError(f"speaker {name!r} is restricted (accepts no commands)")
    if namesakes:
        raise NoDeviceError(f"speaker {name!r} not found: the device of that name now visible is "
                            f"another one, restricted (visible: {names(devices)})")
    raise NoDeviceError(f"speaker {name!r} not found (visible: {names(devices)})")


def names(devices: list[Device]) -> str:
    """``'Kitchen', 'TV' (restricted)`` for a log line."""
    return ", ".join(repr(d.name) + (" (restricted)" if d.restricted else "") for d in devices) or "none"


def retry_delay(exc: SpotifyError, failures: int, settings: SpotifyPlayerConfig) -> float:
    """Seconds to wait before the next request after the ``failures``-th failure in a row.

    A 429 waits its ``Retry-After`` (clamped to ``max_retry_after_s``); a lost login or a missing
    Premium only ``retry_max_s`` (the user has to act; no retry storm); a missing device doubles
    from ``retry_initial_s`` up to a minute; anything else (offline) doubles up to ``retry_max_s``.
    """
    initial, longest = settings.retry_initial_s, settings.retry_max_s
    backoff: float = min(longest, initial * 2.0 ** min(max(failures, 1) - 1, 30))
    if isinstance(exc, RateLimitedError):
        return min(exc.retry_after_s, settings.max_retry_after_s)
    if isinstance(exc, (LoginRequiredError, PremiumRequiredError)):
        return longest
    if isinstance(exc, NoDeviceError):
        return min(backoff, NO_DEVICE_RETRY_MAX_S)
    return backoff


def proven_over(failing: SpotifyError, *, answered: bool, commanded: bool, device_found: bool) -> bool:
    """Whether a step without an error showed ``failing`` is over (a step that sent nothing shows nothing).

    Args:
        failing: the failure whose state stands.
        answered: a request succeeded in the step.
        commanded: a player command (play, pause, queue, ...) succeeded in the step.
        device_found: the configured speaker was found by name (or our music seen playing on it).
    """
    if isinstance(failing, PremiumRequiredError):
        return commanded  # reading playback works without Premium
    if isinstance(failing, NoDeviceError):
        return device_found
    return answered


_RECOVERED = {
    PlayerStatus.OFFLINE: "Spotify is reachable again",
    PlayerStatus.RATE_LIMITED: "Spotify: the rate limit is over",
    PlayerStatus.LOGIN_REQUIRED: "Spotify: logged in again",
    PlayerStatus.PREMIUM_REQUIRED: "Spotify: player commands work again (Premium)",
    PlayerStatus.NO_DEVICE: "Spotify: the speaker is back",
}


def recovered_message(failing: SpotifyError) -> str:
    """The log line for the end of ``failing``."""
    return _RECOVERED.get(failing.status or PlayerStatus.OK, "Spotify answers again")


def same_device(seen: Device, ours: Device) -> bool:
    """The same speaker: the same id, or (ids change now and then) the same name."""
    return seen.id == ours.id or seen.name == ours.name


def what(playback: Playback) -> str:
    """``'Song'`` (quoted) of what plays, for a log line."""
    return repr(playback.track.name) if playback.track else "something"


def where(playback: Playback) -> str:
    """The name of the speaker it plays on, for a log line."""
    return playback.device.name if playback.device else "another device"
