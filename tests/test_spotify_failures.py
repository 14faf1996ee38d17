"""The Spotify player's standing failure (soulsyncd.spotify.failures): back-off, proof, one log line."""

from __future__ import annotations

import logging

import pytest

from soulsyncd.config import SpotifyPlayerConfig
from soulsyncd.spotify.errors import (
    LoginRequiredError,
    NoDeviceError,
    OfflineError,
    PremiumRequiredError,
    RateLimitedError,
)
from soulsyncd.spotify.failures import Failures

NAME = "soulsyncd.spotify.failures"


@pytest.fixture
def failures() -> Failures:
    return Failures(SpotifyPlayerConfig(client_id="x", max_retry_after_s=600))


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == NAME]


def test_nothing_fails_at_first(failures: Failures) -> None:
    assert (failures.failing, failures.count) == (None, 0)
    assert (failures.blocked_until, failures.retry_at) == (0.0, None)
    assert not failures.settle(answered=True, commanded=True, device_found=True)


def test_a_failure_blocks_until_its_delay_on_both_clocks_and_grows(failures: Failures) -> None:
    error = OfflineError("Spotify is unreachable")
    failures.failed(error, 100.0, 5000.0)
    assert (failures.failing, failures.count) == (error, 1)
    assert (failures.blocked_until, failures.retry_at) == (102.0, 5002.0)
    failures.failed(error, 110.0, 5010.0)
    assert (failures.count, failures.blocked_until, failures.retry_at) == (2, 114.0, 5014.0)


def test_retry_after_counts_from_the_failure(failures: Failures) -> None:
    failures.failed(RateLimitedError("rate limited", 42), 10.0, 1000.0)
    assert (failures.blocked_until, failures.retry_at) == (52.0, 1042.0)


def test_the_same_failure_is_logged_once_serious_ones_as_errors(
        failures: Failures, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=NAME)
    failures.failed(OfflineError("offline"), 0.0, 0.0)
    failures.failed(OfflineError("offline"), 5.0, 5.0)
    failures.failed(LoginRequiredError("login required"), 10.0, 10.0)
    failures.failed(PremiumRequiredError("premium required"), 20.0, 20.0)
    assert lines(caplog) == [(logging.WARNING, "Spotify: offline; next try in 2 s"),
                             (logging.ERROR, "Spotify: login required; next try in 300 s"),
                             (logging.ERROR, "Spotify: premium required; next try in 300 s")]


@pytest.mark.parametrize(
    ("error", "proof", "not_proof", "line"),
    [(OfflineError("x"), {"answered": True}, {"commanded": True, "device_found": True},
      "Spotify is reachable again"),
     (PremiumRequiredError("x"), {"commanded": True}, {"answered": True, "device_found": True},
      "Spotify: player commands work again (Premium)"),
     (NoDeviceError("x"), {"device_found": True}, {"answered": True, "commanded": True},
      "Spotify: the speaker is back")],
)
def test_a_failure_stands_until_a_step_proves_it_over(  # noqa: PLR0917 -- fixtures and parameters
        failures: Failures, caplog: pytest.LogCaptureFixture, error: Exception,
        proof: dict[str, bool], not_proof: dict[str, bool], line: str) -> None:
    caplog.set_level(logging.INFO, logger=NAME)
    failures.failed(error, 0.0, 1000.0)  # type: ignore[arg-type]
    nothing = {"answered": False, "commanded": False, "device_found": False}
    assert not failures.settle(**{**nothing, **not_proof})
    assert (failures.failing, failures.count) == (error, 1)
    assert failures.settle(**{**nothing, **proof})
    assert (failures.failing, failures.count, failures.retry_at) == (None, 0, None)
    assert lines(caplog)[-1] == (logging.INFO, line)
    # Over: the same failure later is worth a line again, and its back-off starts from the beginning.
    failures.failed(error, 50.0, 1050.0)  # type: ignore[arg-type]
    assert failures.count == 1
    assert sum(1 for _, message in lines(caplog) if "next try" in message) == 2


def test_log_once_by_key(failures: Failures, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=NAME)
    failures.log_once(logging.WARNING, "a 1", key="a")
    failures.log_once(logging.WARNING, "a 2", key="a")
    failures.log_once(logging.INFO, "b")
    failures.log_once(logging.INFO, "b")
    failures.log_once(logging.WARNING, "a 3", key="a")
    assert lines(caplog) == [(logging.WARNING, "a 1"), (logging.INFO, "b"), (logging.WARNING, "a 3")]
