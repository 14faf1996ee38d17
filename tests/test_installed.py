"""The installed layout as commands see it: the config found without --config, check-config's machine
checks, and state written where (and as whom) the service reads it."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from soulsyncd.cli import main
from soulsyncd.service import installed

ROOT = Path(__file__).resolve().parent.parent
CATALOG_CSV = ROOT / "config" / "sample_catalog.csv"
NOBODY = 65534


@pytest.fixture
def no_installed_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The installed config's place, empty, and no $SOULSYNC_CONFIG: what a laptop has."""
    place = tmp_path / "etc" / "config.yaml"
    monkeypatch.setattr(installed, "INSTALLED_CONFIG", place)
    monkeypatch.delenv(installed.CONFIG_ENV, raising=False)
    return place


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- which config -----------------------------------------------------------------------------------


def test_config_comes_from_the_flag_then_the_environment_then_the_installed_file(
        no_installed_config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert installed.resolve_config_path(None) is None
    write(no_installed_config, "")
    assert installed.resolve_config_path(None) == no_installed_config
    monkeypatch.setenv(installed.CONFIG_ENV, str(tmp_path / "env.yaml"))
    assert installed.resolve_config_path(None) == tmp_path / "env.yaml"
    assert installed.resolve_config_path(tmp_path / "flag.yaml") == tmp_path / "flag.yaml"


def test_every_command_uses_the_installed_config_without_the_flag(
        no_installed_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(no_installed_config, f"state:\n  dir: {tmp_path / 'state'}\n")
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.strip() == f"ok: {no_installed_config}"
    assert main(["library", "import", str(CATALOG_CSV)]) == 0
    assert f"wrote {tmp_path / 'state' / 'catalog.sqlite3'}" in capsys.readouterr().out
    assert main(["library", "stats"]) == 0
    assert "tracks: 1200" in capsys.readouterr().out
    assert main(["mqtt-discovery"]) == 0, "mqtt-discovery too"


def test_a_command_that_needs_a_config_and_finds_none_says_where_it_looked(
        no_installed_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check-config"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--config FILE" in error
    assert installed.CONFIG_ENV in error
    assert str(no_installed_config) in error


def test_check_config_takes_the_file_as_flag_or_positional(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "c.yaml", "")
    assert main(["check-config", "--config", str(path)]) == 0
    assert main(["check-config", str(path)]) == 0
    with pytest.raises(SystemExit):
        main(["check-config", str(path), "--config", str(tmp_path / "other.yaml")])


# --- check-config: what the machine must provide ----------------------------------------------------


def test_check_config_refuses_a_missing_model_naming_key_and_line(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`run` exits 78 on it and a reload rejects it; check-config said `ok` (seen in a Trixie box)."""
    path = write(tmp_path / "c.yaml", "model:\n  path: /nowhere/emotion_int8.tflite\n")
    assert main(["check-config", "--config", str(path)]) == 78
    assert capsys.readouterr().err.strip() == \
        f"{path}:2: model.path: /nowhere/emotion_int8.tflite does not exist (the int8 TFLite model)"


def test_check_config_refuses_a_missing_video_naming_key_and_line(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "c.yaml", "analysis:\n  fps: 5\ncamera:\n  kind: file\n  path: gone.mp4\n")
    assert main(["check-config", "--config", str(path)]) == 78
    assert capsys.readouterr().err.strip() == \
        f"{path}:5: camera.path: {tmp_path / 'gone.mp4'} does not exist (a video file or a folder of images)"
    (tmp_path / "gone.mp4").write_bytes(b"")
    assert main(["check-config", "--config", str(path)]) == 0


def test_check_config_refuses_an_mqtt_user_without_a_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(installed, "CREDSTORE", tmp_path / "credstore")
    monkeypatch.delenv("SOULSYNC_MQTT_PASSWORD", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = write(tmp_path / "c.yaml", "mqtt:\n  enabled: true\n  username: ha\n")
    assert main(["check-config", "--config", str(path)]) == 78
    error = capsys.readouterr().err
    assert error.startswith(f"{path}:3: mqtt.username: set to 'ha' but no password is available")
    monkeypatch.setenv("SOULSYNC_MQTT_PASSWORD", "pw")
    assert main(["check-config", "--config", str(path)]) == 0
    monkeypatch.delenv("SOULSYNC_MQTT_PASSWORD")
    write(tmp_path / "credstore" / "mqtt-password", "pw\n")  # what the unit loads
    assert main(["check-config", "--config", str(path)]) == 0


def test_check_config_refuses_a_page_on_the_lan_without_a_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`run` refuses it (exit 78); check-config said ok (seen outside the box with web.listen 0.0.0.0)."""
    monkeypatch.setattr(installed, "CREDSTORE", tmp_path / "credstore")
    monkeypatch.delenv("SOULSYNC_WEB_PASSWORD", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = write(tmp_path / "c.yaml", "web:\n  enabled: true\n  listen: 0.0.0.0\n")
    assert main(["check-config", "--config", str(path)]) == 78
    error = capsys.readouterr().err
    assert error.startswith(f"{path}:3: web.listen: 0.0.0.0 is reachable from other machines, which needs "
                            "a password; set the credential web-password")
    assert "REDACTED" not in error
    write(tmp_path / "credstore" / "web-password", "pw\n")  # what the unit loads
    assert main(["check-config", "--config", str(path)]) == 0


def test_the_refusal_to_serve_the_lan_without_a_password_survives_redaction() -> None:
    """The message went through the log's redaction as "needs a password: [REDACTED] the credential"."""
    from soulsyncd.service.logs import redact
    from soulsyncd.web.settings import lan_without_password

    message = lan_without_password("0.0.0.0")
    assert redact(message) == message


# --- state written as the service ------------------------------------------------------------------


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp_path is root-only when run as root)."""
    with tempfile.TemporaryDirectory(prefix="soulsync-installed-") as name:
        path = Path(name)
        path.chmod(0o755)
        yield path


def test_root_writes_state_as_the_owner_of_the_state_folder(shared_tmp: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: handing files to another user")
    state = shared_tmp / "state"
    state.mkdir(mode=0o700)
    os.chown(state, NOBODY, NOBODY)  # the service user's folder
    config = write(shared_tmp / "c.yaml", f"state:\n  dir: {state}\n")
    assert main(["library", "import", str(CATALOG_CSV), "--config", str(config)]) == 0
    assert f"wrote {state / 'catalog.sqlite3'} (owner nobody, mode 0600)" in capsys.readouterr().out
    for path in [state, *state.rglob("*")]:
        info = path.stat()
        assert (info.st_uid, info.st_gid) == (NOBODY, NOBODY), path
        assert stat.S_IMODE(info.st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_someone_who_cannot_write_the_state_is_told_the_sudo_form(
        shared_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = shared_tmp / "state"
    state.mkdir(mode=0o700)
    config = write(shared_tmp / "c.yaml", f"state:\n  dir: {state}\n")
    command = ["library", "import", str(CATALOG_CSV), "--config", str(config)]
    with as_someone_else(state):
        assert main(command) == 77
        assert main(["library", "stats", "--config", str(config)]) == 77
    error = capsys.readouterr().err
    assert f"sudo soulsyncd library import {CATALOG_CSV} --config {config}" in error
    assert f"sudo soulsyncd library stats --config {config}" in error
    assert not (state / "catalog.sqlite3").exists()


@contextmanager
def as_someone_else(state: Path) -> Iterator[None]:
    """Run as a user who may not write ``state``: as root, effectively nobody (real uid stays 0, so we
    can come back); otherwise ourselves with the folder made read-only."""
    if os.geteuid() != 0:
        state.chmod(0o500)
        try:
            yield
        finally:
            state.chmod(0o700)
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_library_stats_creates_nothing_and_says_so(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    typo = tmp_path / "typo" / "x.sqlite3"
    assert main(["library", "stats", "--catalog", str(typo)]) == 66
    assert f"no catalog at {typo}" in capsys.readouterr().err
    assert not typo.parent.exists()


def test_a_token_refreshed_by_spotify_status_as_root_stays_the_services(
        shared_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """spotify-status refreshes an expired token, which rewrites the file: as root it must not
    become root's, or the service could no longer read its login."""
    if os.geteuid() != 0:
        pytest.skip("needs root: handing files to another user")
    from soulsyncd.spotify.auth import token_path
    from soulsyncd.testing.fake_spotify import FakeSpotify
    from tests.spotify_support import log_in

    state = shared_tmp / "state"
    state.mkdir(mode=0o700)
    with FakeSpotify() as fake:
        fake.add_device("Kitchen")
        log_in(fake, state)
        os.chown(state, NOBODY, NOBODY)
        os.chown(token_path(state), NOBODY, NOBODY)
        fake.expire_access_tokens()
        config = write(shared_tmp / "c.yaml", f"player:\n  kind: spotify\n  client_id: {fake.client_id}\n"
                       f"  device: Kitchen\nstate:\n  dir: {state}\n")
        assert main(["spotify-status", "--config", str(config), "--api-base", fake.url]) == 0
    assert "login: ok" in capsys.readouterr().out
    assert token_path(state).stat().st_uid == NOBODY
