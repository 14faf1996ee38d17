"""Issue 17: every fault a state. The token cache in any shape reads as ``login required`` with the
fix (never a traceback loop)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.spotify.auth import MAX_TOKEN_BYTES, token_path
from soulsyncd.testing import ManualClock
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.types import PlayerStatus
from tests.spotify_support import PLAY, make_rig


@pytest.fixture
def fake() -> Iterator[FakeSpotify]:
    with FakeSpotify() as server:
        yield server


def _spoil(path: Path, shape: str) -> None:
    path.unlink()
    if shape == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    elif shape == "empty":
        path.write_bytes(b"")
    elif shape == "huge":
        path.write_bytes(b'{"access_token": "' + b"a" * (MAX_TOKEN_BYTES * 4) + b'"}')
    elif shape == "directory":
        path.mkdir()
    elif shape == "fifo":
        os.mkfifo(path)  # open() would block forever
    elif shape == "deep json":
        path.write_text("[" * 50_000 + "]" * 50_000)
    else:
        raise AssertionError(shape)


@pytest.mark.parametrize("shape", ["binary", "empty", "huge", "directory", "fifo", "deep json"])
def test_a_token_cache_in_any_shape_is_login_required_with_the_fix(
        fake: FakeSpotify, tmp_path: Path, shape: str, caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    rig = make_rig(fake, clock, tmp_path)
    _spoil(token_path(tmp_path), shape)
    caplog.set_level(logging.INFO)
    rig.player.apply(PLAY)
    rig.run_for(300)  # many retries
    state = rig.player.state()
    assert state.status is PlayerStatus.LOGIN_REQUIRED, state
    assert "spotify-login" in (state.last_error or "") + state.detail
    assert not any(r.exc_info for r in caplog.records), "a traceback was logged"
    warnings = [r for r in caplog.records if "token cache" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # once, not at every retry
    assert "spotify-login" in warnings[0].getMessage()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a 000 file anyway")
def test_an_unreadable_token_cache_is_login_required(fake: FakeSpotify, tmp_path: Path) -> None:
    clock = ManualClock()
    rig = make_rig(fake, clock, tmp_path)
    token_path(tmp_path).chmod(0)
    rig.player.apply(PLAY)
    rig.run_for(60)
    assert rig.player.state().status is PlayerStatus.LOGIN_REQUIRED
