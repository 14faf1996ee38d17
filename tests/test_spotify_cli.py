"""``soulsyncd spotify-login | spotify-devices | spotify-status | spotify-playlists`` against the fake."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.catalog.store import CatalogStore, catalog_path
from soulsyncd.cli import main
from soulsyncd.config import load_config
from soulsyncd.spotify.auth import token_path
from soulsyncd.testing.fake_spotify import FakeSpotify
from tests.spotify_support import add_tracks, log_in


@pytest.fixture
def fake() -> Iterator[FakeSpotify]:
    with FakeSpotify() as server:
        yield server


def write_config(tmp_path: Path, fake: FakeSpotify, *, extra: str = "") -> Path:
    path = tmp_path / "soulsync.yaml"
    path.write_text(
        f"player:\n  kind: spotify\n  client_id: {fake.client_id}\n  device: Kitchen\n"
        f"state:\n  dir: {tmp_path / 'state'}\n{extra}",
        encoding="utf-8",
    )
    return path


def run(config: Path, fake: FakeSpotify, command: str, *args: str) -> int:
    return main([command, "--config", str(config), "--api-base", fake.url, *args])


class PastingUser(io.StringIO):
    """stdin of a user who opens the printed URL on their phone, approves, and pastes the redirect."""

    def __init__(self, fake: FakeSpotify, capsys: pytest.CaptureFixture[str]) -> None:
        super().__init__()
        self.fake, self.capsys, self.seen = fake, capsys, ""

    def readline(self, size: int | None = -1) -> str:
        self.seen = self.capsys.readouterr().out
        url = next(w for w in self.seen.split() if w.startswith(self.fake.authorize_url))
        return self.fake.approve_url(url) + "\n"


def test_spotify_login_from_another_device(
        tmp_path: Path, fake: FakeSpotify, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake.add_device("Kitchen", type="Speaker")
    config = write_config(tmp_path, fake)
    user = PastingUser(fake, capsys)
    monkeypatch.setattr("sys.stdin", user)
    assert run(config, fake, "spotify-login", "--no-listen") == 0
    out = user.seen + capsys.readouterr().out
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A8888%2Fcallback" in out
    assert "paste the URL" in out
    assert "Logged in as Fake Listener" in out
    assert "mode 0600" in out
    assert "*Kitchen" in out
    path = token_path(tmp_path / "state")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_spotify_devices_lists_name_type_active_restricted(tmp_path: Path, fake: FakeSpotify,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fake.add_device("Kitchen", volume=40)
    fake.add_device("TV", type="TV", restricted=True)
    config = write_config(tmp_path, fake)
    log_in(fake, tmp_path / "state")
    add_tracks(fake, 1)
    fake.listener_plays("spotify:track:T0000", device="Kitchen")
    assert run(config, fake, "spotify-devices") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["*Kitchen", "Speaker", "40", "%", "active"]
    assert lines[1].split()[:2] == ["TV", "TV"]
    assert "restricted" in lines[1]


def test_spotify_status_says_what_works(
        tmp_path: Path, fake: FakeSpotify, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, fake)
    log_in(fake, tmp_path / "state")
    fake.add_device("Living Room")
    assert run(config, fake, "spotify-status") == 0
    out = capsys.readouterr().out
    assert "login: ok, as Fake Listener" in out
    assert "(mode 0600)" in out
    assert "player.device Kitchen: not visible now" in out
    assert "now: nothing playing" in out


def test_spotify_status_without_a_login(
        tmp_path: Path, fake: FakeSpotify, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, fake)
    assert run(config, fake, "spotify-status") == 1
    captured = capsys.readouterr()
    assert "token cache:" in captured.out
    assert "(missing)" in captured.out
    assert "login: required" in captured.out
    assert "spotify-login" in captured.err
    assert "Traceback" not in captured.err


def test_spotify_devices_when_spotify_is_down(tmp_path: Path, fake: FakeSpotify,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, fake)
    log_in(fake, tmp_path / "state")
    fake.go_down()
    assert run(config, fake, "spotify-devices") == 69
    assert "cannot connect" in capsys.readouterr().err


def test_spotify_commands_need_the_spotify_player(tmp_path: Path, fake: FakeSpotify,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "dry.yaml"
    config.write_text("player:\n  kind: dry-run\n", encoding="utf-8")
    assert run(config, fake, "spotify-devices") == 78
    assert "player.kind: spotify" in capsys.readouterr().err


def test_spotify_playlists_reads_them_into_the_catalog_and_names_the_bad_ones(
        tmp_path: Path, fake: FakeSpotify, capsys: pytest.CaptureFixture[str]) -> None:
    tracks = add_tracks(fake, 60)
    fake.add_playlist("Happy1", "Sunny", [t.uri for t in tracks[:55]])
    fake.add_playlist("Theirs1", "Someone's", [t.uri for t in tracks[55:]], owned=False)
    music = ("music:\n  playlists:\n    happy: [spotify:playlist:Happy1, spotify:album:Nope1]\n"
             "    sad: https://open.spotify.com/playlist/Theirs1\n"
             # the tag sits where the engine looks for the mood, its overrides included
             "engine:\n  emotion_points:\n    happy: [0.95, 0.8]\n")
    config = write_config(tmp_path, fake, extra=music)
    log_in(fake, tmp_path / "state")
    assert run(config, fake, "spotify-playlists") == 0
    out = capsys.readouterr().out
    assert "ok       spotify:playlist:Happy1: 55 tracks" in out
    assert "music.playlists.happy: spotify:album:Nope1 is not a playlist URI" in out
    assert "music.playlists.sad: https://open.spotify.com/playlist/Theirs1 is not yours" in out
    with CatalogStore(catalog_path(load_config(config))) as store:
        [info] = store.playlists()
        assert (info.uri, info.name, info.tag) == ("spotify:playlist:Happy1", "Sunny", "happy")
        assert info.track_count == 55
        assert (info.valence, info.energy) == (0.95, 0.8)
