"""The player's pure rules: which speaker, how long to wait after which failure."""

from __future__ import annotations

import pytest

from soulsyncd.config import SpotifyPlayerConfig
from soulsyncd.spotify.client import Device
from soulsyncd.spotify.errors import (
    LoginRequiredError,
    NoDeviceError,
    OfflineError,
    PremiumRequiredError,
    RateLimitedError,
    SpotifyError,
)
from soulsyncd.spotify.rules import choose_device, proven_over, retry_delay


def device(name: str, *, active: bool = False, restricted: bool = False, id: str | None = None) -> Device:
    return Device(id=id or f"id-{name}-{active}", name=name, type="Speaker", active=active,
                  restricted=restricted, volume=50)


def test_the_named_speaker_wins_exactly_then_ignoring_case_and_the_active_among_equals() -> None:
    kitchen, other = device("Kitchen"), device("kitchen", active=True)
    assert choose_device([other, kitchen], "Kitchen") is kitchen
    assert choose_device([other, device("TV")], "KITCHEN") is other
    twin = device("Kitchen", active=True)
    assert choose_device([kitchen, twin], "Kitchen") is twin


def test_restricted_and_id_less_devices_are_skipped() -> None:
    tv, usable = device("TV", restricted=True), device("TV", id="x")
    assert choose_device([tv, usable], "TV") is usable
    with pytest.raises(NoDeviceError, match="restricted"):
        choose_device([tv], "TV")
    with pytest.raises(NoDeviceError, match="not found"):
        choose_device([Device(None, "Web", "Computer", True, False, None)], "Web")


def test_without_a_name_the_active_speaker_or_the_visible_list() -> None:
    active = device("Phone", active=True)
    assert choose_device([device("TV"), active], None) is active
    with pytest.raises(NoDeviceError, match="visible: 'TV', 'Box' \\(restricted\\)"):
        choose_device([device("TV"), device("Box", restricted=True)], None)


@pytest.mark.parametrize(
    ("error", "failures", "seconds"),
    [(RateLimitedError("x", 42), 1, 42), (RateLimitedError("x", 7200), 1, 600),
     (LoginRequiredError("x"), 1, 300), (PremiumRequiredError("x"), 9, 300),
     (NoDeviceError("x"), 1, 2), (NoDeviceError("x"), 4, 16), (NoDeviceError("x"), 10, 60),
     (OfflineError("x"), 1, 2), (OfflineError("x"), 5, 32), (OfflineError("x"), 50, 300)],
)
def test_retry_delays(error: SpotifyError, failures: int, seconds: float) -> None:
    settings = SpotifyPlayerConfig(client_id="x", max_retry_after_s=600)
    assert retry_delay(error, failures, settings) == seconds


def test_a_failure_is_over_only_when_the_right_kind_of_request_succeeded() -> None:
    nothing = {"answered": False, "commanded": False, "device_found": False}
    for failing in (OfflineError("x"), PremiumRequiredError("x"), NoDeviceError("x")):
        assert not proven_over(failing, **nothing)  # a step that sent nothing proves nothing
    assert proven_over(OfflineError("x"), **{**nothing, "answered": True})
    assert not proven_over(PremiumRequiredError("x"), **{**nothing, "answered": True})  # a GET
    assert proven_over(PremiumRequiredError("x"), **{**nothing, "answered": True, "commanded": True})
    assert not proven_over(NoDeviceError("x"), **{**nothing, "answered": True, "commanded": True})
    assert proven_over(NoDeviceError("x"), **{**nothing, "answered": True, "device_found": True})
