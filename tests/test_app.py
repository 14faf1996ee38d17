"""The wired core (SoulSync): frames through detector, classifier, smoother and policy to the player."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from soulsyncd.app import build
from soulsyncd.config import load_config
from soulsyncd.core.loop import SoulSync
from soulsyncd.core.playback import ThrottledPlayer
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother
from soulsyncd.testing import ManualClock, RecordingPlayer, ReplaySource
from soulsyncd.vision.classifier import EmotionClassifier
from soulsyncd.vision.detector import HaarFaceDetector

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from make_sample import render_frame  # noqa: E402

TICK_S = 0.2  # the default 5 analysed frames per second


def scene(faces: dict[str, np.ndarray], timeline: Sequence[tuple[float, str | None]]) -> list[np.ndarray]:
    """Rendered 640x480 frames, one per analysis tick, following (seconds, emotion) segments."""
    rng = np.random.default_rng(0)
    frames, t = [], 0.0
    for seconds, label in timeline:
        for _ in range(round(seconds / TICK_S)):
            frames.append(render_frame(None if label is None else faces[label], t, (640, 480), rng))
            t += TICK_S
    return frames


def make_app(frames: list[np.ndarray], clock: ManualClock, *, mode: str = "match",
             classifier: object | None = None, player: object | None = None) -> SoulSync:
    return SoulSync(
        source=ReplaySource(frames, clock),
        detector=HaarFaceDetector(clock=clock),
        classifier=classifier if classifier is not None else EmotionClassifier(),  # type: ignore[arg-type]
        smoother=MoodSmoother(),
        policy=MoodPolicy(mode=mode),
        player=player if player is not None else RecordingPlayer(clock),  # type: ignore[arg-type]
        clock=clock,
    )


def drive(app: SoulSync, clock: ManualClock, ticks: int) -> None:
    """Tick ``ticks`` times, letting the player's thread take each intent before the clock moves on."""
    for _ in range(ticks):
        clock.advance(TICK_S)
        app.tick()
        assert app.wait_player_idle(5.0)


def test_sustained_change_of_expression_reaches_the_player_within_window_plus_one_second(
    sample_faces: dict[str, np.ndarray],
) -> None:
    """Neutral for 8 s, then happy: the player hears 'happy' no later than 5 s + 1 s after the switch."""
    clock = ManualClock()
    frames = scene(sample_faces, [(8.0, "neutral"), (10.0, "happy")])
    player = RecordingPlayer(clock)
    app = make_app(frames, clock, player=player)
    switch_at = clock.now + 8.0
    drive(app, clock, len(frames))
    labels = [change.mood.label for change in app.stats.timeline]
    assert labels[-2:] == ["neutral", "happy"], labels
    happy_at = [t for t, intent in zip(player.times, player.intents, strict=True) if "happy" in intent.reason]
    assert happy_at, [i.reason for i in player.intents]
    assert happy_at[0] - switch_at <= 5.0 + 1.0
    assert app.stats.frames_with_face == app.stats.frames_analysed == len(frames)


def test_listener_leaving_pauses_and_coming_back_plays(sample_faces: dict[str, np.ndarray]) -> None:
    clock = ManualClock()
    frames = scene(sample_faces, [(4.0, "happy"), (5.0, None), (4.0, "happy")])
    player = RecordingPlayer(clock)
    app = make_app(frames, clock, player=player)
    drive(app, clock, len(frames))
    actions = [intent.action for intent in player.intents]
    assert actions == ["play", "pause", "play"]
    assert [c.mood.label for c in app.stats.timeline] == ["absent", "happy", "absent", "happy"]


class ExplodingClassifier:
    def __init__(self) -> None:
        self.calls = 0

    def classify(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        self.calls += 1
        raise RuntimeError("interpreter blew up")


def test_a_failing_stage_is_logged_and_the_loop_carries_on(
    sample_faces: dict[str, np.ndarray], caplog: pytest.LogCaptureFixture,
) -> None:
    """run() survives a classifier that raises on every frame and still stops on the stop event."""
    clock = ManualClock()
    classifier = ExplodingClassifier()
    frames = scene(sample_faces, [(1.0, "happy")])
    player = RecordingPlayer(clock)
    app = make_app(frames, clock, classifier=classifier, player=player)
    stop = threading.Event()
    source = app.source
    assert isinstance(source, ReplaySource)

    # Stop once every frame was offered: the tick after the last one finds the source exhausted.
    original_tick = app.tick

    def tick_then_maybe_stop() -> object:
        try:
            return original_tick()
        finally:
            if source.exhausted:
                stop.set()

    app.tick = tick_then_maybe_stop  # type: ignore[method-assign]
    app.interval_s = 0.0
    with caplog.at_level(logging.ERROR):
        app.run(stop)
    assert classifier.calls == len(frames)
    assert "analysis tick failed" in caplog.text
    assert source.started
    assert source.stopped
    assert player.closed


def test_throttled_player_collapses_a_burst_into_the_newest_intent() -> None:
    from soulsyncd.types import PlayIntent

    clock = ManualClock()
    inner = RecordingPlayer(clock)
    player = ThrottledPlayer(inner, min_interval_s=20.0, clock=clock)
    player.apply(PlayIntent("play", 0.2, 0.2, "first"))
    clock.advance(5)
    player.apply(PlayIntent("play", 0.4, 0.4, "second"))
    player.apply(PlayIntent("play", 0.6, 0.6, "third"))
    player.flush()
    assert [i.reason for i in inner.intents] == ["first"]
    clock.advance(15)
    player.flush()
    assert [i.reason for i in inner.intents] == ["first", "third"]
    player.apply(PlayIntent("pause", reason="listener left"))  # pauses are never held back
    assert inner.intents[-1].action == "pause"


def test_build_makes_the_real_adapters(
    tmp_path: Path, render_scene: Callable[..., Path],
) -> None:
    video = render_scene(tmp_path / "clip.avi", fps=10.0, size=(320, 240), timeline=[(1.0, "happy")])
    config_path = tmp_path / "c.yaml"
    config_path.write_text(f"camera:\n  kind: file\n  path: {video}\n  loop: false\n  pace: fast\n")
    app = build(load_config(config_path))
    assert app.finished is not None
    assert isinstance(app.classifier, EmotionClassifier)
    assert "tensorflow" not in sys.modules


def test_the_catalog_look_up_service_runs_only_when_asked_for(tmp_path: Path) -> None:
    from soulsyncd.app import build_services
    from soulsyncd.catalog.enrich import EnrichService
    from soulsyncd.catalog.store import CatalogError, CatalogStore

    image = tmp_path / "still.png"
    import cv2

    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    base = f"camera:\n  kind: file\n  path: {image}\nstate:\n  dir: {tmp_path / 'state'}\n"
    for enrich, expected in (("false", 0), ("true", 1)):
        config_path = tmp_path / f"c-{enrich}.yaml"
        config_path.write_text(base + f"catalog:\n  enrich: {enrich}\n")
        config = load_config(config_path)
        core = build(config)
        services = build_services(config, core)
        assert sum(isinstance(s, EnrichService) for s in services) == expected
        store = core.resource(CatalogStore)
        assert store is not None
        core.close()  # closes the catalog with the core
        with pytest.raises(CatalogError, match="closed database"):
            store.count()


class RecordingLifecycle:
    """What systemd would hear, in order; tests wait on ``changed``."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.changed = threading.Condition()

    def _record(self, call: str) -> None:
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()

    def ready(self, status: str) -> None:
        self._record("ready")

    def reloading(self) -> None:
        self._record("reloading")

    def stopping(self) -> None:
        self._record("stopping")


def _run_daemon(config_path: Path, lifecycle: RecordingLifecycle) -> tuple[object, threading.Thread]:
    from soulsyncd.app import Daemon

    daemon = Daemon(config_path, load_config(config_path), load=load_config, lifecycle=lifecycle)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    return daemon, thread


def _wait_built(daemon: object, count: int) -> SoulSync:
    from soulsyncd.app import Daemon

    assert isinstance(daemon, Daemon)
    with daemon.built:
        assert daemon.built.wait_for(lambda: daemon.cores_built >= count, 30)
    core = daemon.core
    assert core is not None
    assert core.ready.wait(30)
    return core


def _wait_state(core: SoulSync, predicate: Callable[[object], bool]) -> None:
    """Wait (bounded) until a published state satisfies ``predicate``."""
    seen = threading.Event()
    core.subscribe("test-wait", lambda event: seen.set() if predicate(event.state) else None)
    assert predicate(core.latest()) or seen.wait(10)


def test_a_reload_keeps_the_privacy_switch_and_the_listeners_choices_and_a_bad_file_changes_nothing(
    tmp_path: Path,
) -> None:
    import cv2

    from soulsyncd.core.commands import SetCamera, SetMode, SetVolume
    from soulsyncd.types import CameraStatus

    image = tmp_path / "still.png"
    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    config_path = tmp_path / "c.yaml"
    config_path.write_text(f"camera:\n  kind: file\n  path: {image}\npolicy:\n  target: calm\n")
    lifecycle = RecordingLifecycle()
    daemon, thread = _run_daemon(config_path, lifecycle)
    try:
        core = _wait_built(daemon, 1)
        core.submit(SetCamera(enabled=False))
        core.submit(SetMode("shift"))
        core.submit(SetVolume(30))
        _wait_state(core, lambda s: s.camera is CameraStatus.DISABLED and s.mode == "shift")  # type: ignore[attr-defined]
        # A good file that changes the target: the target follows the file, the rest stays as chosen.
        config_path.write_text(f"camera:\n  kind: file\n  path: {image}\npolicy:\n  target: happy\n")
        daemon.request_reload()  # type: ignore[attr-defined]
        second = _wait_built(daemon, 2)
        assert second is not core
        _wait_state(second, lambda s: s.mode == "shift")  # type: ignore[attr-defined]
        assert second.latest().camera is CameraStatus.DISABLED
        assert second.source is None  # the camera stays closed
        assert second.latest().target == "happy"
        assert second.controls().volume == 30
        # A bad file: logged, and the running pipeline is left alone (no rebuild, camera still off).
        config_path.write_text("policy:\n  mode: sideways\n")
        daemon.request_reload()  # type: ignore[attr-defined]
        with lifecycle.changed:
            assert lifecycle.changed.wait_for(lambda: lifecycle.calls[-3:] == ["ready", "reloading", "ready"]
                                              and lifecycle.calls.count("reloading") == 2, 30)
        assert daemon.core is second
        assert second.latest().camera is CameraStatus.DISABLED
        daemon.request_stop()  # type: ignore[attr-defined]
        thread.join(30)
        assert not thread.is_alive()
        assert daemon.cores_built == 2  # type: ignore[attr-defined]
    finally:
        daemon.request_stop()  # type: ignore[attr-defined]
        thread.join(30)


def test_the_restart_command_ends_the_run_for_systemd_to_restart(tmp_path: Path) -> None:
    """Restart (the Home Assistant button) ends the daemon cleanly, without a rebuild in-process, and the
    run's exit status is 75, which the unit restarts as a success (SuccessExitStatus=,
    RestartForceExitStatus=)."""
    import cv2

    from soulsyncd.cli import EXIT_RESTART
    from soulsyncd.core.commands import Restart

    image = tmp_path / "still.png"
    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    config_path = tmp_path / "c.yaml"
    config_path.write_text(f"camera:\n  kind: file\n  path: {image}\n")
    lifecycle = RecordingLifecycle()
    daemon, thread = _run_daemon(config_path, lifecycle)
    try:
        core = _wait_built(daemon, 1)
        assert not daemon.restart_requested  # type: ignore[attr-defined]
        core.submit(Restart())
        thread.join(30)
        assert not thread.is_alive()
        assert daemon.restart_requested  # type: ignore[attr-defined]
        assert daemon.cores_built == 1  # type: ignore[attr-defined]
        assert lifecycle.calls[-1] == "stopping"
    finally:
        daemon.request_stop()  # type: ignore[attr-defined]
        thread.join(30)
    assert EXIT_RESTART == 75
    unit = (Path(__file__).resolve().parent.parent / "systemd" / "soulsyncd.service").read_text()
    assert "SuccessExitStatus=75" in unit.splitlines()
    assert "RestartForceExitStatus=75" in unit.splitlines()


def test_soulsyncd_run_exits_75_when_a_restart_ended_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    from soulsyncd import cli
    from soulsyncd.app import Daemon

    def restarted(self: Daemon, for_seconds: float | None = None) -> None:
        self.restart_requested = True

    config_path = tmp_path / "c.yaml"
    config_path.write_text("camera:\n  kind: file\n  path: none.png\n")
    monkeypatch.setattr(Daemon, "run", restarted)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        assert cli.run(config_path, None) == 75
        monkeypatch.setattr(Daemon, "run", lambda self, for_seconds=None: None)
        assert cli.run(config_path, None) == 0
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    capsys.readouterr()


def test_a_reload_with_the_same_mqtt_settings_keeps_the_device_available(tmp_path: Path) -> None:
    from soulsyncd.app import _stop_service
    from soulsyncd.mqtt.client import MqttBridge

    def config(text: str) -> object:
        path = tmp_path / "c.yaml"
        path.write_text(text)
        return load_config(path)

    old = config("mqtt:\n  enabled: true\n  device_id: den\n")
    bridge = MqttBridge(old.mqtt)  # type: ignore[attr-defined]
    calls: list[dict[str, object]] = []
    bridge.stop = lambda **kwargs: calls.append(kwargs)  # type: ignore[method-assign]
    _stop_service(bridge, old, config("mqtt:\n  enabled: true\n  device_id: den\npolicy:\n  mode: shift\n"))
    _stop_service(bridge, old, config("mqtt:\n  enabled: true\n  device_id: kitchen\n"))  # the device changes
    _stop_service(bridge, old, None)  # a real stop
    assert calls == [{"final": False}, {}, {}]
