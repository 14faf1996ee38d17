"""Issue 17: every fault a state. The token cache in any shape reads as ``login required`` with the
fix (never a traceback loop)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.catalog.store import CatalogStore, CatalogTrack
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


# --- the catalog under the daemon's feet --------------------------------------------------------------

def _learn(store: CatalogStore, uri: str, at: float) -> None:
    store.record_play(uri, context="happy", listened_s=200.0, skipped=False, valence_change=0.1,
                      arousal_change=0.0, at=at)


def _catalog_with_a_play(path: Path) -> CatalogStore:
    store = CatalogStore(path)
    store.upsert_tracks([CatalogTrack(URI_A, "A", ("x",), 180.0, 0.8, 0.6),
                         CatalogTrack(URI_B, "B", ("y",), 180.0, 0.2, 0.3)], source="csv:test")
    _learn(store, URI_A, 1.0)
    return store


URI_A = "spotify:track:" + "a" * 22
URI_B = "spotify:track:" + "b" * 22


@pytest.mark.parametrize("removed", ["catalog file", "state dir"])
def test_a_catalog_removed_while_running_is_recreated_with_what_was_learned(
        tmp_path: Path, removed: str, caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "state"
    path = state / "catalog.sqlite3"
    store = _catalog_with_a_play(path)
    if removed == "state dir":
        shutil.rmtree(state)
    else:
        path.unlink()  # the -wal and -shm beside it stay
    caplog.set_level(logging.WARNING, logger="soulsyncd.catalog.store")
    _learn(store, URI_B, 2.0)  # the next write notices
    _learn(store, URI_A, 3.0)
    store.close()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1, messages
    assert "vanished" in messages[0]
    with CatalogStore(path) as reopened:  # on disk, after the daemon is gone
        assert reopened.count() == 2
        feedback = reopened.feedback("happy")
        assert feedback[URI_A].plays == 2
        assert feedback[URI_B].plays == 1


def test_a_catalog_replaced_while_running_is_used_from_the_next_write(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "catalog.sqlite3"
    store = _catalog_with_a_play(path)
    restored = tmp_path / "restored.sqlite3"
    with CatalogStore(restored) as other:
        other.upsert_tracks([CatalogTrack(URI_B, "B", ("y",), 180.0, 0.2, 0.3)], source="csv:test")
    os.replace(restored, path)
    caplog.set_level(logging.WARNING, logger="soulsyncd.catalog.store")
    _learn(store, URI_B, 2.0)
    assert store.count() == 1  # the replacement's tracks
    assert store.feedback("happy")[URI_B].plays == 1
    store.close()
    assert sum("replaced" in r.getMessage() for r in caplog.records) == 1


def test_a_zero_byte_catalog_is_moved_aside_as_damaged_not_taken_as_new(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(b"")
    caplog.set_level(logging.WARNING, logger="soulsyncd.catalog.store")
    with CatalogStore(path, now=lambda: 1234.0) as store:
        assert store.count() == 0
    aside = tmp_path / "catalog.sqlite3.damaged-1234"
    assert aside.exists()
    assert aside.stat().st_size == 0
    assert any("empty file" in r.getMessage() and aside.name in r.getMessage() for r in caplog.records)
