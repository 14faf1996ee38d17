"""``soulsyncd doctor``: one pass over everything a working room needs, a line each.

✓ works; ! works with a caveat, or could not be checked as this user; ✗ broken, with the fix; - not
used by this config. The checks, in order: config, camera (a frame, its size and rate), a face
(``--face``), model (load and inference time), catalog, Spotify (token, login, speaker, each mood
playlist), MQTT (broker, credentials, discovery prefix), state and credential permissions, and the
systemd unit with the last start's journal errors.

It never stops or disturbs the running service: a camera device the running service holds is not
opened (reported as busy, with the service's own status line); what it reads in the state
directory stays the service's (a refreshed Spotify token and SQLite's side files are handed back
to the directory's owner).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from soulsyncd.doctor.report import (
    Check,
    Unit,
    as_service,
    installed,
    service_uid,
    sudo_form,
    user_name,
)
from soulsyncd.service.installed import (
    CONFIG_ENV,
    CREDSTORE,
    INSTALLED_CONFIG,
    SERVICE_USER,
    STATE_DIR,
    UNIT,
    machine_problems,
    read_problem,
)

if TYPE_CHECKING:
    from soulsyncd.config import Config
    from soulsyncd.vision.sources import CaptureSource

FRAME_TIMEOUT_S = 5.0  # a camera gives its first frame well within this, or it is not working
FPS_WINDOW_S = 1.0  # frames counted over this long for the rate
INFERENCE_RUNS = 20
JOURNAL_LINES = 5
CREDENTIAL_NAMES = ("mqtt-password", "spotify-client-secret")  # the unit's LoadCredential= names


# --- the run ----------------------------------------------------------------------------------------


def run_doctor(config_path: Path | None, *, face_s: float | None = None, as_json: bool = False,
               api_base: str | None = None, out: Callable[[str], None] | None = None) -> int:
    """Run every check, print each line as it is known (or one JSON object), exit 1 on any ✗."""
    emit = out or (lambda text: print(text, flush=True))
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        if not as_json:
            emit(check.line())

    for check in diagnose(config_path, face_s=face_s, api_base=api_base):
        report(check)
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if as_json:
        emit(json.dumps({"ok": failed == 0, "failed": failed, "warnings": warned,
                         "checks": [asdict(c) for c in checks]}, ensure_ascii=False))
    else:
        verdict = "all good" if not failed and not warned else f"{failed} ✗, {warned} !"
        emit(f"doctor: {len(checks)} checks, {verdict}")
    return 1 if failed else os.EX_OK


def diagnose(config_path: Path | None, *, face_s: float | None = None,
             api_base: str | None = None) -> Iterator[Check]:
    """The checks, in order; the ones that need a valid config are left out without one."""
    config_check, config = check_config(config_path)
    yield config_check
    if config is None:
        return
    unit = systemd_unit()
    yield from check_camera(config, unit, face_s)
    yield check_model(config)
    yield from check_catalog(config)
    from soulsyncd.doctor.network import check_mqtt, check_spotify

    yield from check_spotify(config, api_base)
    yield from check_mqtt(config)
    yield from check_permissions(config)
    yield from check_service(unit)


# --- config -----------------------------------------------------------------------------------------


def check_config(path: Path | None) -> tuple[Check, Config | None]:
    from soulsyncd.config import ConfigError, load_config

    if path is None:
        return Check("config", "fail", "no config file found",
                     f"give --config FILE, set {CONFIG_ENV}, or install with tools/install.sh "
                     f"({INSTALLED_CONFIG})"), None
    try:
        config = load_config(path)
    except ConfigError as exc:
        return Check("config", "fail", f"{path} has errors:\n    " + "\n    ".join(exc.errors),
                     f"edit {path}, then: soulsyncd check-config"), None
    problems = machine_problems(path, config)
    if problems:
        return Check("config", "fail", "\n    ".join(problems), f"edit {path} or provide what it names"), None
    return Check("config", "ok", f"{path} is valid"), config


# --- camera, face, model ----------------------------------------------------------------------------


def check_camera(config: Config, unit: Unit | None, face_s: float | None) -> Iterator[Check]:
    from soulsyncd.app import build_source
    from soulsyncd.vision.sources import CaptureSource, SourceError

    camera = config.camera
    what = f"{camera.kind} camera" + (f" {camera.device}" if camera.kind == "usb" else "")
    if camera.kind != "file" and unit is not None and unit.running:
        # Opening the device the service streams from could fail its reads or change its format.
        status = f" (its status: {unit.status_text})" if unit.status_text else ""
        if any(f"camera {state}" in (unit.status_text or "") for state in ("absent", "error")):
            yield Check("camera", "fail", f"{what}: the running {UNIT} cannot open it{status}",
                        _camera_fix(config))
            if face_s is not None:
                yield Check("face", "off", "not looked for: no camera")
            return
        if "camera disabled" in (unit.status_text or ""):
            yield Check("camera", "warn", f"{what} is switched off in the running {UNIT} (privacy switch), "
                        f"so it was not opened{status}", "switch it on: the status page, Home Assistant or "
                        "MQTT <base>/camera/set ON")
            if face_s is not None:
                yield Check("face", "off", "not looked for: the camera is switched off")
            return
        yield Check("camera", "warn", f"{what} is busy: the running {UNIT} has it, so it was not opened"
                    f"{status}", f"to test it alone: sudo systemctl stop {UNIT}; soulsyncd doctor; "
                    f"sudo systemctl start {UNIT}")
        if face_s is not None:
            yield Check("face", "off", "not looked for: the camera is the service's")
        return
    source = build_source(config)
    assert isinstance(source, CaptureSource)  # every camera kind is one
    try:
        source.start()
    except SourceError as exc:
        yield Check("camera", "fail", f"{what}: {exc}", _camera_fix(config))
        if face_s is not None:
            yield Check("face", "off", "not looked for: no camera")
        return
    try:
        frame = source.wait_latest(FRAME_TIMEOUT_S)
        if frame is None:
            why = source.last_error or f"no frame within {FRAME_TIMEOUT_S:.0f} s"
            yield Check("camera", "fail", f"{what} gives no frame: {why}", _camera_fix(config))
            if face_s is not None:
                yield Check("face", "off", "not looked for: no frame")
            return
        height, width = frame.image.shape[:2]
        fps = _frame_rate(source)
        rate = f", {fps:.1f} frames/s" if fps is not None else ""
        yield Check("camera", "ok", f"{what} gives {width}x{height} frames{rate}")
        if face_s is not None:
            yield _look_for_face(config, source, face_s)
    finally:
        source.stop()


def _camera_fix(config: Config) -> str:
    kind = config.camera.kind
    if kind == "file":
        return "check camera.path (a video file or a folder of images)"
    if kind == "usb":
        return ("is it plugged in (ls /dev/video*)? in use by another program (fuser /dev/video*)? "
                "is this user in group video?")
    return ("is the ribbon cable seated and the camera enabled (rpicam-hello --list-cameras)? "
            "python3-picamera2 installed?")


def _frame_rate(source: CaptureSource) -> float | None:
    """Frames per second the source delivers, counted over about a second."""
    start = time.monotonic()
    frames = 0
    first: float | None = None
    last = start
    while time.monotonic() - start < FPS_WINDOW_S:
        frame = source.wait_latest(FPS_WINDOW_S)
        if frame is None:
            break
        now = time.monotonic()
        if first is None:
            first = now
        else:
            frames += 1
        last = now
    if first is None or frames == 0 or last <= first:
        return None
    return frames / (last - first)


def _look_for_face(config: Config, source: CaptureSource, seconds: float) -> Check:
    from soulsyncd.vision.detector import DetectorError, HaarFaceDetector

    detection = config.detection
    try:
        detector = HaarFaceDetector(
            scale_factor=detection.scale_factor, min_neighbors=detection.min_neighbors,
            min_face_px=detection.min_face_px, detect_width=detection.detect_width,
            full_scan_interval_s=detection.full_scan_interval_s,
            idle_scan_interval_s=detection.idle_scan_interval_s,
            change_threshold=detection.change_threshold, change_area=detection.change_area,
            faces=config.analysis.faces)
    except DetectorError as exc:
        return Check("face", "fail", str(exc), "reinstall opencv (its Haar cascades are missing)")
    start = time.monotonic()
    while (left := seconds - (time.monotonic() - start)) > 0:
        frame = source.wait_latest(min(left, 1.0))
        if frame is None:
            continue
        faces = detector.detect(frame)
        if faces:
            box = max(faces, key=lambda f: f.area)
            return Check("face", "ok", f"a face of {box.w}x{box.h} px after "
                         f"{time.monotonic() - start:.1f} s")
    return Check("face", "fail", f"no face in {seconds:.0f} s",
                 f"face the camera in good light, nearer than the smallest face "
                 f"(detection.min_face_px {detection.min_face_px} px)")


def check_model(config: Config) -> Check:
    import numpy as np

    from soulsyncd.vision.classifier import ClassifierOptions, EmotionClassifier, ModelError

    path = Path(config.model.path)
    started = time.perf_counter()
    try:
        classifier = EmotionClassifier(ClassifierOptions(
            model_path=path, num_threads=config.model.num_threads, flip_average=config.model.flip_average))
    except ModelError as exc:
        return Check("model", "fail", str(exc),
                     "check model.path (the shipped model is models/emotion_int8.tflite)")
    load_ms = (time.perf_counter() - started) * 1000
    face = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    times = []
    for _ in range(INFERENCE_RUNS):
        t0 = time.perf_counter()
        classifier.classify([face])
        times.append(time.perf_counter() - t0)
    median_ms = sorted(times)[len(times) // 2] * 1000
    return Check("model", "ok", f"{path.name} loads in {load_ms:.0f} ms; {median_ms:.1f} ms a face "
                 f"(median of {INFERENCE_RUNS})")


# --- catalog ----------------------------------------------------------------------------------------


def check_catalog(config: Config) -> Iterator[Check]:
    from soulsyncd.catalog.store import CatalogError, CatalogStore, catalog_path

    path = catalog_path(config)
    problem = read_problem(path, "catalog")
    if problem is not None:
        code, message = problem
        if code == os.EX_NOPERM:
            yield Check("catalog", "warn", message.replace("\n ", ""))
        else:
            yield Check("catalog", "fail", f"{message}: the mood engine has no music to choose from",
                        _music_recipe())
        return
    try:
        with as_service(path.parent), CatalogStore(path) as store:
            stats = store.stats()
    except CatalogError as exc:
        yield Check("catalog", "fail", str(exc), f"move {path} away and import again: {_music_recipe()}")
        return
    tracks = int(str(stats["tracks"]))
    with_features = int(str(stats["with_features"]))
    playlists = int(str(stats["playlists"]))
    detail = f"{path}: {tracks} tracks, {with_features} with valence/energy, {playlists} playlists synced"
    if with_features == 0:
        yield Check("catalog", "fail", detail, _music_recipe())
    elif tracks > with_features:
        yield Check("catalog", "warn", detail + f"; {tracks - with_features} without features",
                    sudo_form("soulsyncd library enrich"))
    else:
        yield Check("catalog", "ok", detail)
    wanted = sum(len(spec.uris) for spec in config.music.playlists.values())
    if wanted and playlists < wanted:
        yield Check("playlists", "warn", f"{playlists} of the {wanted} mood playlists in music.playlists are "
                    "in the catalog", sudo_form("soulsyncd spotify-playlists"))


def _music_recipe() -> str:
    return (f"export a playlist or library as CSV (Exportify, or a dataset with valence/energy), then: "
            f"{sudo_form('soulsyncd library import FILE.csv')}; {sudo_form('soulsyncd library enrich')}")


# --- permissions ------------------------------------------------------------------------------------


def check_permissions(config: Config) -> Iterator[Check]:
    state = Path(config.state.dir)
    uid = service_uid(config)
    owner_wanted = uid if uid is not None and state == STATE_DIR else os.geteuid()
    who = SERVICE_USER if owner_wanted == uid else user_name(owner_wanted)
    try:
        info = state.stat()
    except FileNotFoundError:
        yield Check("state", "warn", f"{state} does not exist yet (made at the first start or import)")
        info = None
    except PermissionError:
        yield Check("state", "warn", f"cannot look at {state} as {user_name(os.geteuid())}",
                    "sudo soulsyncd doctor")
        info = None
    if info is not None:
        wrong = []
        if info.st_uid != owner_wanted:
            wrong.append(f"{state} is owned by {user_name(info.st_uid)}, not {who}")
        if stat.S_IMODE(info.st_mode) & 0o077:
            wrong.append(f"{state} is mode {stat.S_IMODE(info.st_mode):04o}, not 0700")
        try:
            for path in sorted(state.rglob("*")):
                mode = path.lstat()
                if mode.st_uid != owner_wanted:
                    wrong.append(f"{path} is owned by {user_name(mode.st_uid)}, not {who}")
                if stat.S_ISREG(mode.st_mode) and stat.S_IMODE(mode.st_mode) & 0o077:
                    wrong.append(f"{path} is mode {stat.S_IMODE(mode.st_mode):04o}, not 0600")
        except PermissionError:
            yield Check("state", "warn", f"cannot look into {state} as {user_name(os.geteuid())}",
                        "sudo soulsyncd doctor")
        else:
            if wrong:
                more = f" (+{len(wrong) - 5} more)" if len(wrong) > 5 else ""
                yield Check("state", "fail", "; ".join(wrong[:5]) + more,
                            f"sudo chown -R {who}: {state} && sudo chmod -R u=rwX,go= {state}")
            else:
                yield Check("state", "ok", f"{state}: {who}'s, owner-only")
    yield from _check_credstore()


def _check_credstore() -> Iterator[Check]:
    if not CREDSTORE.is_dir() and not installed():
        return
    try:
        entries = sorted(p for p in CREDSTORE.iterdir() if p.name in CREDENTIAL_NAMES)
    except FileNotFoundError:
        return
    except PermissionError:
        yield Check("credentials", "warn", f"{CREDSTORE} is root-only (good); cannot look in as "
                    f"{user_name(os.geteuid())}", "sudo soulsyncd doctor")
        return
    wrong = []
    for path in entries:
        info = path.stat()
        if info.st_uid != 0 or stat.S_IMODE(info.st_mode) & 0o077:
            wrong.append(f"{path} is {user_name(info.st_uid)}'s, mode {stat.S_IMODE(info.st_mode):04o}")
    dir_mode = stat.S_IMODE(CREDSTORE.stat().st_mode)
    if dir_mode & 0o077:
        wrong.append(f"{CREDSTORE} is mode {dir_mode:04o}")
    if wrong:
        yield Check("credentials", "fail", "; ".join(wrong),
                    f"sudo chown root: {CREDSTORE}/* && sudo chmod 0600 {CREDSTORE}/* && "
                    f"sudo chmod 0700 {CREDSTORE}")
    else:
        names = ", ".join(p.name for p in entries) or "none stored"
        yield Check("credentials", "ok", f"{CREDSTORE}: root-only ({names})")


# --- the systemd unit -------------------------------------------------------------------------------


def _systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def systemd_unit() -> Unit | None:
    """The installed unit as systemd sees it, or None (no systemd running, or not installed)."""
    if not _systemd_running():
        return None
    props = ("LoadState", "ActiveState", "SubState", "Result", "UnitFileState", "StatusText",
             "ExecMainStatus", "NRestarts", "ExecMainStartTimestampMonotonic")
    try:
        result = subprocess.run(["systemctl", "show", "-p", ",".join(props), UNIT], capture_output=True,
                                text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    if values.get("LoadState") != "loaded":
        return None
    try:
        started = int(values.get("ExecMainStartTimestampMonotonic") or 0)
    except ValueError:
        started = 0
    return Unit(active=values.get("ActiveState", ""), sub=values.get("SubState", ""),
                result=values.get("Result", ""), enabled=values.get("UnitFileState", ""),
                status_text=values.get("StatusText", ""), exec_status=values.get("ExecMainStatus", ""),
                restarts=values.get("NRestarts", ""), started_monotonic_us=started)


def check_service(unit: Unit | None) -> Iterator[Check]:
    if unit is None:
        where = "systemd is not running here" if not _systemd_running() else f"no {UNIT} unit installed"
        yield Check("service", "off", f"{where} (run by hand: soulsyncd run)")
        return
    state = f"{unit.active} ({unit.sub}), {unit.enabled}"
    if unit.status_text and unit.running:  # a stopped unit keeps its last STATUS=, which no longer holds
        state += f"; {unit.status_text}"
    if unit.active == "failed":
        yield Check("service", "fail", f"{state}; exit status {unit.exec_status}, result {unit.result}",
                    f"journalctl -u {UNIT} -b; after fixing: sudo systemctl restart {UNIT}")
    elif not unit.running:
        yield Check("service", "warn", state, f"sudo systemctl start {UNIT}")
    elif unit.restarts not in ("", "0"):
        yield Check("service", "warn", f"{state}; restarted {unit.restarts} times",
                    f"journalctl -u {UNIT} -b")
    else:
        yield Check("service", "ok", state)
    errors = journal_errors(unit)
    if errors is None:
        yield Check("journal", "warn", "cannot read the journal as this user", "sudo soulsyncd doctor")
    elif errors:
        shown = "\n    ".join(errors[-JOURNAL_LINES:])
        more = f" (the last {JOURNAL_LINES})" if len(errors) > JOURNAL_LINES else ""
        yield Check("journal", "fail" if unit.active == "failed" else "warn",
                    f"{len(errors)} errors since the last start{more}:\n    {shown}",
                    f"journalctl -u {UNIT} -b -p err")
    else:
        yield Check("journal", "ok", "no errors since the last start")


def journal_errors(unit: Unit) -> list[str] | None:
    """The unit's error lines since its last start (this boot), or None when the journal is unreadable."""
    since = ""
    if unit.started_monotonic_us:
        # The start's wall-clock time: systemd shows it on the monotonic clock, which we share.
        wall = time.time() - (time.monotonic() - unit.started_monotonic_us / 1e6)
        since = f"@{int(wall) - 1}"
    command = ["journalctl", "-u", UNIT, "-b", "-p", "err", "--no-pager", "-o", "cat"]
    if since:
        command += ["--since", since]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    if not result.stdout.strip() and "not seeing messages" in result.stderr:
        return None
    return [line for line in result.stdout.splitlines() if line.strip()]
