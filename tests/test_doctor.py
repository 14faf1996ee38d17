"""``soulsyncd doctor``: each check's ✓ and ✗ against real parts (the file camera and the demo images,
the real model, SQLite, the fake Spotify server, a real mosquitto). Under a real systemd it is run in
tests/test_service_box.py."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from soulsyncd.catalog.store import CatalogStore, CatalogTrack, catalog_path
from soulsyncd.cli import main
from soulsyncd.config import Config, load_config
from soulsyncd.doctor import checks as doctor
from soulsyncd.doctor.network import check_mqtt, check_spotify
from soulsyncd.doctor.report import Check, Unit
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.testing.mosquitto import Broker, mosquitto_path
from tests.spotify_support import log_in

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tools" / "sample"  # the mean faces: a face in every image


def config_file(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "soulsync.yaml"
    path.write_text(f"camera:\n  kind: file\n  path: {SAMPLE}\n  fps: 20\n"
                    f"state:\n  dir: {tmp_path / 'state'}\n{text}", encoding="utf-8")
    return path


def config(tmp_path: Path, text: str = "") -> Config:
    return load_config(config_file(tmp_path, text))


def statuses(checks: list[Check] | Iterator[Check]) -> dict[str, str]:
    return {c.name: c.status for c in checks}


def unit(active: str = "active", **fields: str) -> Unit:
    values = {"sub": "running", "result": "success", "enabled": "enabled", "status_text": "mood happy",
              "exec_status": "0", "restarts": "0"}
    values.update(fields)
    return Unit(active=active, started_monotonic_us=0, **values)


# --- config -----------------------------------------------------------------------------------------


def test_config_ok_and_each_way_it_fails(tmp_path: Path) -> None:
    good, loaded = doctor.check_config(config_file(tmp_path))
    assert good.status == "ok"
    assert loaded is not None
    none, _ = doctor.check_config(None)
    assert none.status == "fail"
    assert "SOULSYNC_CONFIG" in (none.fix or "")
    bad = tmp_path / "bad.yaml"
    bad.write_text("analysis:\n  fsp: 3\n")
    invalid, loaded = doctor.check_config(bad)
    assert (invalid.status, loaded) == ("fail", None)
    assert f"{bad}:2: analysis.fsp" in invalid.detail
    gone = tmp_path / "gone.yaml"
    gone.write_text("camera:\n  kind: file\n  path: nowhere.mp4\n")
    missing, _ = doctor.check_config(gone)
    assert missing.status == "fail"
    assert f"{gone}:3: camera.path" in missing.detail


# --- camera and face --------------------------------------------------------------------------------


def test_camera_gives_frames_with_size_and_rate_and_a_face_is_found(tmp_path: Path) -> None:
    checks = list(doctor.check_camera(config(tmp_path), None, face_s=5))
    camera, face = checks
    assert camera.status == "ok", camera.line()
    assert "gives 48x48 frames" in camera.detail
    assert "frames/s" in camera.detail
    assert face.status == "ok"
    assert "a face of" in face.detail


def test_no_face_in_a_blank_picture_is_a_fail(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    blank = tmp_path / "blank"
    blank.mkdir()
    cv2.imwrite(str(blank / "grey.png"), np.full((120, 160, 3), 128, np.uint8))
    settings = msgspec.structs.replace(
        config(tmp_path, ""), camera=msgspec.structs.replace(config(tmp_path).camera, path=blank))
    camera, face = doctor.check_camera(settings, None, face_s=0.5)
    assert camera.status == "ok"
    assert face.status == "fail"
    assert "no face in" in face.detail


def test_a_camera_that_gives_no_frame_is_a_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "FRAME_TIMEOUT_S", 0.5)
    settings = load_config(_write(tmp_path, "camera:\n  kind: usb\n  device: /dev/video-none\n"
                                  "  retry_initial_s: 5\n  retry_max_s: 5\n"))
    (camera,) = doctor.check_camera(settings, None, face_s=None)
    assert camera.status == "fail"
    assert "/dev/video-none" in camera.detail
    assert "plugged in" in (camera.fix or "")


def test_the_running_service_keeps_its_camera(tmp_path: Path) -> None:
    """A device the service streams from is not opened: the check says busy and quotes its status."""
    settings = load_config(_write(tmp_path, "camera:\n  kind: usb\n  device: /dev/video-none\n"))
    camera, face = doctor.check_camera(settings, unit("active", status_text="mood calm, 5.0 frames/s"),
                                       face_s=3)
    assert camera.status == "warn"
    assert "busy: the running soulsyncd has it" in camera.detail
    assert "5.0 frames/s" in camera.detail
    assert face.status == "off"


def test_the_running_service_without_its_camera_is_a_fail_not_busy(tmp_path: Path) -> None:
    """The service runs but says its camera is absent (no /dev/video0): the device is not "busy", it is
    missing, and the line says so with the fix (seen on a box with no camera: "busy ... camera absent")."""
    settings = load_config(_write(tmp_path, "camera:\n  kind: usb\n  device: 0\n"))
    status = "mood unknown, 0.0 frames/s, camera absent, player dry run"
    camera, face = doctor.check_camera(settings, unit("active", status_text=status), face_s=3)
    assert camera.status == "fail"
    assert "busy" not in camera.detail
    assert "camera absent" in camera.detail
    assert "plugged in" in (camera.fix or "")
    assert face.status == "off"


def test_the_running_service_with_its_camera_switched_off_says_so(tmp_path: Path) -> None:
    """The privacy switch released the device: not "the running soulsyncd has it", but switched off."""
    settings = load_config(_write(tmp_path, "camera:\n  kind: usb\n  device: 0\n"))
    status = "mood unknown, 0.0 frames/s, camera disabled, player dry run"
    (camera,) = doctor.check_camera(settings, unit("active", status_text=status), face_s=None)
    assert camera.status == "warn"
    assert "switched off" in camera.detail
    assert "has it" not in camera.detail


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- model ------------------------------------------------------------------------------------------


def test_model_loads_and_times_inference_or_fails_on_a_bad_file(tmp_path: Path) -> None:
    good = doctor.check_model(config(tmp_path))
    assert good.status == "ok"
    assert "ms a face" in good.detail
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a model" * 10)
    bad = doctor.check_model(config(tmp_path, f"model:\n  path: {broken}\n"))
    assert bad.status == "fail"


# --- catalog ----------------------------------------------------------------------------------------


def _tracks(count: int, *, features: bool = True) -> list[CatalogTrack]:
    return [CatalogTrack(f"spotify:track:{'F' if features else 'N'}{i:021d}", f"song {i}", ("band",),
                         valence=0.5 if features else None, energy=0.5 if features else None)
            for i in range(count)]


def test_catalog_missing_is_a_fail_with_the_recipe_and_nothing_is_created(tmp_path: Path) -> None:
    settings = config(tmp_path)
    (check,) = doctor.check_catalog(settings)
    assert check.status == "fail"
    assert "library import" in (check.fix or "")
    assert not (tmp_path / "state").exists()


def test_catalog_counts_tracks_features_and_playlists(tmp_path: Path) -> None:
    settings = config(tmp_path)
    with CatalogStore(catalog_path(settings)) as store:
        store.upsert_tracks(_tracks(3), source="csv:test")
    (check,) = doctor.check_catalog(settings)
    assert check.status == "ok"
    assert "3 tracks, 3 with valence/energy, 0 playlists synced" in check.detail
    with CatalogStore(catalog_path(settings)) as store:
        store.upsert_tracks(_tracks(2, features=False), source="csv:test")
    (check,) = doctor.check_catalog(settings)
    assert check.status == "warn"
    assert "2 without features" in check.detail
    assert "library enrich" in (check.fix or "")


def test_a_catalog_of_tracks_without_features_or_a_corrupt_file_fails(tmp_path: Path) -> None:
    settings = config(tmp_path)
    with CatalogStore(catalog_path(settings)) as store:
        store.upsert_tracks(_tracks(2, features=False), source="csv:test")
    (check,) = doctor.check_catalog(settings)
    assert check.status == "fail"
    catalog_path(settings).unlink()
    catalog_path(settings).write_bytes(b"garbage" * 1000)
    (check,) = doctor.check_catalog(settings)
    assert check.status == "fail"
    assert "not a usable SQLite database" in check.detail


# --- Spotify ----------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeSpotify]:
    with FakeSpotify() as server:
        yield server


def spotify(tmp_path: Path, fake: FakeSpotify, playlists: str = "") -> Config:
    return config(tmp_path, f"player:\n  kind: spotify\n  client_id: {fake.client_id}\n  device: Kitchen\n"
                  + playlists)


def test_spotify_token_login_speaker_and_playlists_ok(tmp_path: Path, fake: FakeSpotify) -> None:
    fake.add_device("Kitchen")
    fake.add_playlist("happyPL", "Happy songs", [])
    settings = spotify(tmp_path, fake, "music:\n  playlists:\n    happy: spotify:playlist:happyPL\n")
    log_in(fake, tmp_path / "state")
    checks = list(check_spotify(settings, fake.url))
    assert [(c.name, c.status) for c in checks] == [
        ("spotify token", "ok"), ("spotify login", "ok"), ("speaker", "ok"), ("playlist", "ok")], checks
    assert "'Happy songs' readable" in checks[-1].detail


def test_spotify_without_a_login_names_spotify_login(tmp_path: Path, fake: FakeSpotify) -> None:
    (check,) = check_spotify(spotify(tmp_path, fake), fake.url)
    assert (check.name, check.status) == ("spotify token", "fail")
    assert "spotify-login" in (check.fix or "")


def test_spotify_refused_login_missing_speaker_and_unreadable_playlist_fail(
        tmp_path: Path, fake: FakeSpotify) -> None:
    fake.add_device("Bedroom")
    settings = spotify(tmp_path, fake, "music:\n  playlists:\n    sad: spotify:playlist:nosuchPL\n")
    log_in(fake, tmp_path / "state")
    checks = statuses(check_spotify(settings, fake.url))
    assert checks == {"spotify token": "ok", "spotify login": "ok", "speaker": "fail", "playlist": "fail"}
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    checks = statuses(check_spotify(settings, fake.url))
    assert checks == {"spotify token": "ok", "spotify login": "fail"}


def test_spotify_is_off_with_the_dry_run_player(tmp_path: Path) -> None:
    assert statuses(check_spotify(config(tmp_path), None)) == {"spotify": "off"}


# --- MQTT -------------------------------------------------------------------------------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if mosquitto_path() is None:
        pytest.skip("mosquitto not installed")
    instance = Broker(tmp_path)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def mqtt(tmp_path: Path, port: int, extra: str = "") -> Config:
    return config(tmp_path, f"mqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: {port}\n"
                  f"  device_id: room1\n{extra}")


def test_mqtt_broker_accepts_and_our_discovery_is_seen(tmp_path: Path, broker: Broker) -> None:
    checks = list(check_mqtt(mqtt(tmp_path, broker.port)))
    assert statuses(checks) == {"mqtt": "ok", "discovery": "warn"}
    from paho.mqtt import publish

    publish.single("homeassistant/sensor/room1/mood/config", "{}", retain=True, hostname=broker.host,
                   port=broker.port)
    checks = list(check_mqtt(mqtt(tmp_path, broker.port)))
    assert statuses(checks) == {"mqtt": "ok", "discovery": "ok"}, checks


def test_mqtt_unreachable_and_refused_credentials_fail(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if mosquitto_path() is None:
        pytest.skip("mosquitto not installed")
    monkeypatch.setattr("soulsyncd.doctor.network.MQTT_CONNECT_TIMEOUT_S", 1.0)
    from soulsyncd.testing.mosquitto import free_port

    (away,) = check_mqtt(mqtt(tmp_path, free_port()))
    assert away.status == "fail"
    assert "no broker answers" in away.detail
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "soulsync", "right"], check=True,
                   timeout=10)
    passwords.chmod(0o600)
    guarded = Broker(tmp_path, allow_anonymous=False, extra_config=f"password_file {passwords}\n")
    guarded.start()
    try:
        monkeypatch.setenv("SOULSYNC_MQTT_PASSWORD", "wrong")
        (refused,) = check_mqtt(mqtt(tmp_path, guarded.port, "  username: soulsync\n"))
        assert refused.status == "fail"
        assert "refuses user 'soulsync'" in refused.detail
        monkeypatch.setenv("SOULSYNC_MQTT_PASSWORD", "right")
        accepted = list(check_mqtt(mqtt(tmp_path, guarded.port, "  username: soulsync\n")))
        assert accepted[0].status == "ok"
        assert "as 'soulsync'" in accepted[0].detail
    finally:
        guarded.stop()


def test_mqtt_is_off_when_disabled(tmp_path: Path) -> None:
    assert statuses(check_mqtt(config(tmp_path))) == {"mqtt": "off"}


# --- permissions and the service --------------------------------------------------------------------


def test_state_owner_only_is_ok_and_a_readable_file_fails(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "CREDSTORE", tmp_path / "credstore")
    settings = config(tmp_path)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "catalog.sqlite3").write_bytes(b"")
    (state / "catalog.sqlite3").chmod(0o600)
    assert statuses(doctor.check_permissions(settings)) == {"state": "ok"}
    (state / "catalog.sqlite3").chmod(0o644)
    (check,) = doctor.check_permissions(settings)
    assert check.status == "fail"
    assert "mode 0644, not 0600" in check.detail


def test_credentials_root_only_ok_and_loose_ones_fail(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("credentials are root's: checked as root")
    credstore = tmp_path / "credstore"
    credstore.mkdir(mode=0o700)
    (credstore / "mqtt-password").write_text("pw")
    (credstore / "mqtt-password").chmod(0o600)
    monkeypatch.setattr(doctor, "CREDSTORE", credstore)
    (state := tmp_path / "state").mkdir(mode=0o700)
    checks = list(doctor.check_permissions(config(tmp_path)))
    assert statuses(checks) == {"state": "ok", "credentials": "ok"}
    (credstore / "mqtt-password").chmod(0o644)
    assert statuses(doctor.check_permissions(config(tmp_path)))["credentials"] == "fail"
    assert state.is_dir()


def test_service_states(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "journal_errors", lambda _unit: [])
    assert statuses(doctor.check_service(unit("active"))) == {"service": "ok", "journal": "ok"}
    failed = list(doctor.check_service(unit("failed", sub="failed", result="exit-code", exec_status="78")))
    assert failed[0].status == "fail"
    assert "exit status 78" in failed[0].detail
    assert statuses(doctor.check_service(unit("inactive", sub="dead")))["service"] == "warn"
    monkeypatch.setattr(doctor, "journal_errors", lambda _unit: ["ERROR camera: gone"])
    assert statuses(doctor.check_service(unit("active")))["journal"] == "warn"
    assert statuses(doctor.check_service(None)) == {"service": "off"}


# --- the command ------------------------------------------------------------------------------------


def test_doctor_command_prints_a_line_each_and_exits_1_on_a_fail(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file(tmp_path)
    assert main(["doctor", "--config", str(path)]) == 1  # no catalog yet
    out = capsys.readouterr().out
    assert "✓ config:" in out
    assert "✓ camera:" in out
    assert "✓ model:" in out
    assert "✗ catalog: no catalog at" in out
    assert out.strip().splitlines()[-1].startswith("doctor: ")
    with CatalogStore(catalog_path(load_config(path))) as store:
        store.upsert_tracks(_tracks(3), source="csv:test")
    assert main(["doctor", "--config", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["failed"] == 0
    assert {"config", "camera", "model", "catalog", "spotify", "mqtt", "state", "service"} <= \
        {c["name"] for c in report["checks"]}
