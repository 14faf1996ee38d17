"""The one place that wires soulsyncd together and owns start, reload and stop.

:func:`build` makes the core (:class:`~soulsyncd.core.loop.SoulSync`) and its adapters from a
:class:`~soulsyncd.config.Config`; :func:`build_services` the adapters around it (MQTT, systemd).
:class:`Daemon` owns the stop event, the signals, the run timer and reloading: it runs the core on a
thread of its own and keeps the main thread for signals. Start order: core (source, player), then
services; stop order is the reverse.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NamedTuple

from soulsyncd import __version__
from soulsyncd.config import (
    Config,
    DryRunPlayerConfig,
    FileCameraConfig,
    Picamera2CameraConfig,
    SpotifyPlayerConfig,
    UsbCameraConfig,
)
from soulsyncd.core.handle import CoreHandle, Service
from soulsyncd.core.loop import Controls, RunStats, SoulSync
from soulsyncd.interfaces import FrameSource, Lifecycle, Player, TrackPicker
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother

if TYPE_CHECKING:
    from soulsyncd.catalog.store import CatalogStore

log = logging.getLogger(__name__)

MAX_RUN_S = 365 * 24 * 3600.0  # --for beyond a year is a typo (and inf would break the timer)
STOP_JOIN_S = 5.0


def build_source(config: Config) -> FrameSource:
    """A fresh frame source for ``camera.kind`` (not started)."""
    from soulsyncd.vision import files, sources

    camera = config.camera
    if isinstance(camera, FileCameraConfig):
        return files.FileSource(camera.path, loop=camera.loop, pace=camera.pace, fps=camera.fps,
                                deliver_fps=config.analysis.fps,  # frames never analysed: not decoded
                                retry_initial_s=camera.retry_initial_s, retry_max_s=camera.retry_max_s)
    if isinstance(camera, UsbCameraConfig):
        # Unset, the camera is asked for what the analysis reads (see UsbCameraSource.min_width).
        width = camera.width or config.detection.detect_width
        return sources.UsbCameraSource(
            camera.device, width=width, height=camera.height or width * 3 // 4,
            fps=camera.fps or float(math.ceil(config.analysis.fps)), min_width=camera.width is None,
            retry_initial_s=camera.retry_initial_s, retry_max_s=camera.retry_max_s,
        )
    if isinstance(camera, Picamera2CameraConfig):
        return sources.PiCameraSource(
            width=camera.width, height=camera.height, fps=camera.fps,
            retry_initial_s=camera.retry_initial_s, retry_max_s=camera.retry_max_s,
        )
    raise AssertionError(f"unhandled camera kind {camera.kind}")


def build_player(
    config: Config, picker: TrackPicker | None = None, store: CatalogStore | None = None
) -> Player:
    """The player for ``player.kind``; ``picker`` chooses tracks (the mood engine), ``store`` is the
    catalog the Spotify player keeps the mood playlists in."""
    # --- music (engine + player) ---
    player_config = config.player
    if isinstance(player_config, DryRunPlayerConfig):
        from soulsyncd.mood.engine import MoodEngine
        from soulsyncd.player import DryRunPlayer

        describe = picker.describe_last_choice if isinstance(picker, MoodEngine) else None
        return DryRunPlayer(picker, track_s=player_config.track_s, describe_choice=describe)
    if isinstance(player_config, SpotifyPlayerConfig):
        from soulsyncd.mood.engine import MoodEngine
        from soulsyncd.mood.factory import refresh
        from soulsyncd.spotify.player import build_spotify_player
        from soulsyncd.spotify.playlists import SyncReport

        engine = picker if isinstance(picker, MoodEngine) else None

        def on_synced(_report: SyncReport) -> None:
            if engine is not None:  # the synced mood playlists are chosen from at the next pick
                refresh(engine, store)

        return build_spotify_player(config, picker, store=store, on_synced=on_synced)
    raise AssertionError(f"unhandled player kind {player_config.kind}")


def build(config: Config) -> SoulSync:
    """Make the core and its adapters from the config.

    Raises:
        ModelError: the model or its metadata cannot be loaded.
        DetectorError: the Haar cascade cannot be loaded.
    """
    import cv2

    from soulsyncd.vision.classifier import ClassifierOptions, EmotionClassifier
    from soulsyncd.vision.detector import HaarFaceDetector

    # One OpenCV thread: the Pi has other work to do, and one core is our budget.
    cv2.setNumThreads(1)
    classifier = EmotionClassifier(ClassifierOptions(model_path=Path(config.model.path),
                                                     num_threads=config.model.num_threads,
                                                     flip_average=config.model.flip_average))
    detection = config.detection
    detector = HaarFaceDetector(
        scale_factor=detection.scale_factor,
        min_neighbors=detection.min_neighbors,
        min_face_px=detection.min_face_px,
        detect_width=detection.detect_width,
        full_scan_interval_s=detection.full_scan_interval_s,
        idle_scan_interval_s=detection.idle_scan_interval_s,
        change_threshold=detection.change_threshold,
        change_area=detection.change_area,
        faces=config.analysis.faces,
    )
    source = build_source(config)
    smoothing = config.smoothing
    # The mood engine chooses tracks from the catalog at track boundaries, reading the core's latest
    # smoothed mood (the core is made below, hence the list).
    from soulsyncd.mood.factory import build_engine, latest_mood, open_catalog

    store = open_catalog(config)
    cores: list[SoulSync] = []
    engine = build_engine(config, store=store,
                          mood_now=latest_mood(lambda: cores[0].latest() if cores else None))
    core = SoulSync(
        source=source,
        source_factory=lambda: build_source(config),
        finished=getattr(source, "finished", None),
        detector=detector,
        classifier=classifier,
        smoother=MoodSmoother(window_s=smoothing.window_s, margin=smoothing.margin,
                              dwell_s=smoothing.dwell_s, absent_after_s=smoothing.absent_after_s),
        policy=MoodPolicy(mode=config.policy.mode, target=config.policy.target),
        player=build_player(config, engine, store),
        player_min_interval_s=config.player.min_interval_s,
        analysis_fps=config.analysis.fps,
        shift_progress=engine.shift_progress,
        resources=() if store is None else (store,),
    )
    cores.append(core)
    return core


def build_services(config: Config, core: SoulSync | None = None) -> list[Service]:
    """The adapters around the core, in start order (each owns its threads and back-off)."""
    services: list[Service] = []
    # --- services ---
    from soulsyncd.catalog.store import CatalogStore

    store = core.resource(CatalogStore) if core is not None else None
    if config.catalog.enrich and store is not None:
        from soulsyncd.catalog.enrich import EnrichService

        services.append(EnrichService(store, config.catalog.enrich_url))  # features, once per track
    bridge = None
    if config.mqtt.enabled:
        from soulsyncd.mqtt.client import MqttBridge
        from soulsyncd.web.settings import configuration_url

        # state out, commands in, Home Assistant discovery; configuration_url: the status page's
        # address when it is served beyond loopback (docs/web.md), shown as the device's "Visit" link
        bridge = MqttBridge(config.mqtt, configuration_url=configuration_url(config.web))
        services.append(bridge)
    if config.web.enabled:
        from soulsyncd.web.server import WebServer, broker_status

        # The status page; beyond loopback without its password this raises ConfigError (exit 78).
        broker = broker_status(config.mqtt, bridge.connected if bridge is not None else None)
        services.append(WebServer.from_config(config.web, config.state.dir, broker=broker,
                                              version=__version__))
    from soulsyncd.service.logs import EventLog

    services.append(EventLog())  # mood/decision/camera/player lines with SOULSYNC_* journal fields
    return services


def build_lifecycle() -> Lifecycle | None:
    """Who hears "ready", "reloading" and "stopping" (systemd, when run under it); None: nobody."""
    from soulsyncd.service.notify import SystemdNotifier

    notifier = SystemdNotifier.from_environment()
    return notifier if notifier.socket.enabled else None


class ReloadError(Exception):
    """A reload's new pipeline cannot be built; the message names the config key and the file."""


class Prepared(NamedTuple):
    """A pipeline built and checked for a reload, not started: it replaces the running one."""

    config: Config
    core: SoulSync
    services: list[Service]


def _check_web_port(config: Config, previous: Config | None) -> None:
    """A page on a new address must be able to listen there (the running page holds its own)."""
    import socket

    web = config.web
    if not web.enabled or (previous is not None and previous.web.enabled
                           and (previous.web.listen, previous.web.port) == (web.listen, web.port)):
        return
    family = socket.AF_INET6 if ":" in web.listen else socket.AF_INET
    try:
        with socket.create_server((web.listen, web.port), family=family):
            pass
    except OSError as exc:
        why = exc.strerror or exc
        raise ReloadError(f"web.port: cannot listen on {web.listen}:{web.port}: {why}") from exc


def prepare(config: Config, running: SoulSync | None = None, previous: Config | None = None) -> Prepared:
    """Build and check everything a reload can before it touches the running pipeline: the model and
    cascade load, the camera's file exists (a USB camera is not opened: the running one holds it),
    a page on a new address can listen there (``previous``: the running config), the catalog opens
    (when the running pipeline has one), the player and broker settings resolve.

    Raises:
        ReloadError: what failed, with the config key; nothing built is left open.
    """
    from soulsyncd.catalog.store import CatalogStore, catalog_path
    from soulsyncd.vision.classifier import ModelError
    from soulsyncd.vision.detector import DetectorError
    from soulsyncd.vision.sources import SourceError

    _check_web_port(config, previous)
    try:
        core = build(config)
    except ModelError as exc:
        raise ReloadError(f"model.path {config.model.path}: {exc}") from exc
    except DetectorError as exc:
        raise ReloadError(f"detection: {exc}") from exc
    except Exception as exc:  # whatever the new parts raise, the running pipeline goes on
        raise ReloadError(f"building the pipeline: {type(exc).__name__}: {exc}") from exc
    try:
        check = getattr(core.source, "check", None)
        if check is not None:
            check()
        if (running is not None and running.resource(CatalogStore) is not None
                and core.resource(CatalogStore) is None):
            raise ReloadError(f"state.dir: the catalog {catalog_path(config)} cannot be opened")
        services = build_services(config, core)
    except SourceError as exc:
        core.close()
        raise ReloadError(f"{_camera_key(config)}: {exc}") from exc
    except ReloadError:
        core.close()
        raise
    except Exception as exc:
        core.close()
        raise ReloadError(f"services: {type(exc).__name__}: {exc}") from exc
    return Prepared(config, core, services)


def _build_all(config: Config) -> tuple[SoulSync, list[Service]]:
    core = build(config)
    return core, build_services(config, core)


def _camera_key(config: Config) -> str:
    camera = config.camera
    if isinstance(camera, FileCameraConfig):
        return f"camera.path {camera.path}"
    if isinstance(camera, UsbCameraConfig):
        return f"camera.device {camera.device}"
    return f"camera.kind {camera.kind}"


def _lifecycle_services(lifecycle: Lifecycle | None) -> list[Service]:
    """The lifecycle when it is also a service of each core: systemd's watchdog (started first)."""
    from soulsyncd.service.notify import SystemdNotifier

    return [lifecycle] if isinstance(lifecycle, SystemdNotifier) else []


class Daemon:
    """Owns the process: signals, the stop event, the run timer, reload, and start/stop order.

    SIGINT/SIGTERM stop cleanly. SIGHUP re-reads the config file and builds the new pipeline
    (camera, model, player, services) beside the running one: when the file or anything it names is
    bad, the error is logged with the key, systemd's STATUS says ``reload rejected: ...`` and the
    running pipeline goes on; else the old one stops and the new one starts, in the same process.
    SIGUSR1 logs a state dump (one INFO block); SIGUSR2 toggles DEBUG logging.
    """

    def __init__(self, config_path: Path, config: Config, *,
                 load: Callable[[Path], Config], lifecycle: Lifecycle | None = None) -> None:
        self.config_path = config_path
        self.config = config
        self._load = load
        self.lifecycle = lifecycle if lifecycle is not None else build_lifecycle()
        self.stop = threading.Event()
        self._reload = threading.Event()
        self._wake = threading.Event()
        self.core: SoulSync | None = None
        self.cores_built = 0  # one more for every (re)build; ``built`` is notified each time
        self.restart_requested = False  # a Restart command ended the run: exit for systemd to restart
        self.built = threading.Condition()
        self.last_reload_error: str | None = None  # why the latest reload was rejected; None: it wasn't
        self._dump = threading.Event()
        self._toggle_debug = threading.Event()
        self._services: list[Service] = []
        self._started_at = time.monotonic()

    def install_signals(self) -> None:
        """SIGINT/SIGTERM stop, SIGHUP reloads. Call from the main thread."""
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGHUP, self._on_reload_signal)
        signal.signal(signal.SIGUSR1, self._on_dump_signal)
        signal.signal(signal.SIGUSR2, self._on_debug_signal)

    def _on_dump_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.request_dump()

    def _on_debug_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._toggle_debug.set()
        self._wake.set()

    def request_dump(self) -> None:
        """Log a state dump from the main thread (SIGUSR1; from any thread)."""
        self._dump.set()
        self._wake.set()

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self.request_stop()

    def _on_reload_signal(self, _signum: int, _frame: FrameType | None) -> None:
        log.info("received SIGHUP, reloading %s", self.config_path)
        self.request_reload()

    def request_reload(self) -> None:
        """Read the config file again (from any thread); a bad file is logged and changes nothing."""
        self._reload.set()
        self._wake.set()

    def request_stop(self) -> None:
        self.stop.set()
        self._wake.set()

    def run(self, for_seconds: float | None = None) -> RunStats | None:
        """Run until stopped, the timer expires or a non-looping input ends; reload on SIGHUP.

        Returns the last pipeline's statistics, for the exit summary.

        Raises:
            SourceError: the camera can never work as configured (the CLI maps it to 66/69).
        """
        timer = None
        if for_seconds is not None:
            timer = threading.Timer(min(for_seconds, MAX_RUN_S), self.request_stop)
            timer.daemon = True
            timer.start()
        try:
            stats = None
            config = self.config
            controls: Controls | None = None
            previous: Config | None = None
            prepared: Prepared | None = None
            while True:
                stats, prepared, controls = self._run_once(
                    config, carried(controls, previous, config), prepared)
                if prepared is None:
                    break
                if self.stop.is_set():
                    prepared.core.close()  # built for a reload that a stop overtook
                    break
                new_config = prepared.config
                # The old pipeline (model, buffers, threads' objects) sits in reference cycles: free it
                # now, not at some later full collection, or every reload adds megabytes (tools/soak.py).
                from soulsyncd.service.memory import release_freed_memory

                release_freed_memory()
                previous, config = config, new_config
            return stats
        finally:
            if timer is not None:
                timer.cancel()
            if self.lifecycle is not None:
                self.lifecycle.stopping()

    def _load_new_config(self, running: SoulSync) -> Prepared | None:
        """The config file read again and its pipeline built for a reload; None (logged, and
        :attr:`last_reload_error` set) when either fails: the running pipeline stays."""
        from soulsyncd.config import ConfigError

        try:
            new = self._load(self.config_path)
        except ConfigError as exc:
            log.error("reload rejected, keeping the running config:\n%s", exc)
            self.last_reload_error = str(exc).splitlines()[0] if str(exc) else "bad config"
            return None
        try:
            prepared = prepare(new, running, self.config)
        except ReloadError as exc:
            log.error("reload of %s rejected, keeping the running pipeline: %s", self.config_path, exc)
            self.last_reload_error = str(exc)
            return None
        log.info("reloaded %s", self.config_path)
        self.config = new
        self.last_reload_error = None
        return prepared

    def _run_once(
        self, config: Config, controls: Controls | None, prepared: Prepared | None = None,
    ) -> tuple[RunStats, Prepared | None, Controls]:
        """Build, start, serve until stop/reload/end, tear down.

        ``controls`` are the listener's choices (camera switch, mode, ...) carried over a reload. A
        reload request reads the file first and tears nothing down when it is bad.

        Returns:
            The run's statistics, the new pipeline (built, not started) when a good reload ends
            this run (else None), and the listener's choices at the end, for the next run.
        """
        core, built_services = (
            (prepared.core, prepared.services) if prepared is not None else _build_all(config))
        log.info("%s", _start_line(config, core))
        if controls is not None:
            restore_controls(core, controls)
        with self.built:
            self.core = core
            self.cores_built += 1
            self.built.notify_all()
        services = [*_lifecycle_services(self.lifecycle), *built_services]
        self._services = services
        core_stop = threading.Event()
        outcome: dict[str, object] = {}

        def run_core() -> None:
            try:
                outcome["stats"] = core.run(core_stop)
            except BaseException as exc:  # handed to the main thread, which decides the exit
                outcome["error"] = exc
            finally:
                self._wake.set()

        thread = threading.Thread(target=run_core, name="analysis", daemon=True)
        thread.start()
        started: list[Service] = []
        new: Prepared | None = None
        try:
            for service in services:
                if start_service(service, core):
                    started.append(service)
            new = self._serve(core, config, thread)
        finally:
            core_stop.set()
            for service in reversed(started):
                try:
                    _stop_service(service, config, new.config if new is not None else None)
                except Exception:
                    log.exception("service %s failed to stop", type(service).__name__)
            thread.join(STOP_JOIN_S)
        if "error" in outcome:
            if new is not None:
                new.core.close()
            raise outcome["error"]  # type: ignore[misc]
        stats = outcome.get("stats")
        assert isinstance(stats, RunStats) or stats is None
        if new is not None:
            _setup_log_level(new.config.logging.level)
        return stats or core.stats, new, core.controls()

    def _serve(self, core: SoulSync, config: Config, thread: threading.Thread) -> Prepared | None:
        """Wait on the main thread: announce readiness, end on stop or when the core ends, read the
        file on SIGHUP, dump the state on SIGUSR1. Returns the new pipeline when a good reload should
        replace the running one."""
        announced = False
        while True:
            if not announced and (core.ready.is_set() or not thread.is_alive()):
                announced = True
                if self.lifecycle is not None:
                    self.lifecycle.ready(_status_line(core))
                log.info("soulsyncd %s ready: camera %s, player %s, policy %s", __version__,
                         config.camera.kind, config.player.kind, core.latest().mode)
            if self.stop.is_set() or not thread.is_alive():
                return None
            if core.restart_requested.is_set():
                log.info("restart requested: stopping cleanly for the service manager to start again")
                self.restart_requested = True
                self.request_stop()
                return None
            if self._reload.is_set():
                self._reload.clear()
                if self.lifecycle is not None:
                    self.lifecycle.reloading()
                prepared = self._load_new_config(core)
                if prepared is not None:
                    return prepared
                if self.lifecycle is not None:  # a bad file changes nothing: ready as before
                    self.lifecycle.ready(f"reload rejected: {self.last_reload_error}")
            self._on_user_signals(core)
            self._wake.wait(0.2 if not announced else 1.0)
            self._wake.clear()

    def _on_user_signals(self, core: SoulSync) -> None:
        """SIGUSR1 and SIGUSR2, handled here on the main thread rather than in the signal handler."""
        if self._dump.is_set():
            self._dump.clear()
            from soulsyncd.service.dump import log_state_dump

            log_state_dump(core, self._services, time.monotonic() - self._started_at)
        if self._toggle_debug.is_set():
            self._toggle_debug.clear()
            self._switch_debug()

    def _switch_debug(self) -> None:
        """SIGUSR2: DEBUG logging on, or back to ``logging.level`` from the file."""
        root = logging.getLogger()
        if root.level != logging.DEBUG:
            root.setLevel(logging.DEBUG)
            log.info("received SIGUSR2: DEBUG logging on (SIGUSR2 again turns it off)")
        else:
            _setup_log_level(self.config.logging.level)
            log.info("received SIGUSR2: logging back to %s", self.config.logging.level.upper())


def start_service(service: Service, core: CoreHandle) -> bool:
    """Start ``service``; False when it cannot (logged: the mood side goes on without it). An OSError
    (a port in use, a missing device) is an outage, one line; anything else is a bug, with its traceback."""
    try:
        service.start(core)
    except OSError as exc:
        log.error("service %s failed to start: %s", type(service).__name__, exc)
        return False
    except Exception:
        log.exception("service %s failed to start", type(service).__name__)
        return False
    return True


def carried(controls: Controls | None, previous: Config | None, new: Config) -> Controls | None:
    """What the listener chose at run time that a reload keeps: the privacy switch and a pause always;
    mode, target, speaker and volume unless the new file changes that same setting (the file wins)."""
    if controls is None or previous is None:
        return controls
    mode = controls.mode if new.policy.mode == previous.policy.mode else None
    target = controls.target if new.policy.target == previous.policy.target else None
    return Controls(mode=mode, target=target, paused=controls.paused, camera_enabled=controls.camera_enabled,
                    device=controls.device, volume=controls.volume)


def restore_controls(core: SoulSync, controls: Controls) -> None:
    """Apply the carried choices to a freshly built core before it runs."""
    if not controls.camera_enabled:
        core.start_with_camera_off()
    for command in controls.commands(core.policy.mode, core.policy.target):
        core.submit(command)


def _stop_service(service: Service, config: Config, new_config: Config | None) -> None:
    """Stop a service; the MQTT bridge stays "online" when a bridge with the same settings follows at
    once (a reload), so Home Assistant does not blink the device unavailable."""
    if new_config is not None and config.mqtt.enabled and new_config.mqtt == config.mqtt:
        from soulsyncd.mqtt.client import MqttBridge

        if isinstance(service, MqttBridge):
            service.stop(final=False)
            return
    service.stop()


def _setup_log_level(level: str) -> None:
    logging.getLogger().setLevel(getattr(logging, level.upper()))


def _start_line(config: Config, core: SoulSync) -> str:
    from soulsyncd.catalog.store import CatalogError, CatalogStore
    from soulsyncd.startup import start_line

    store = core.resource(CatalogStore)
    try:
        stats = store.stats() if store is not None else None
    except CatalogError as exc:
        log.warning("reading the catalog's size failed: %s", exc)
        stats = None
    return start_line(config, stats)


def _status_line(core: SoulSync) -> str:
    from soulsyncd.service.notify import status_line  # the same line STATUS= shows later

    return status_line(core.latest())
