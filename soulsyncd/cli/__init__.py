"""Command line: ``soulsyncd run`` and ``soulsyncd check-config`` (also ``python -m soulsyncd``)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from soulsyncd import __version__
from soulsyncd.config import EXIT_CONFIG

EXIT_RESTART = os.EX_TEMPFAIL
"""75: the Restart command ended the run; systemd/soulsyncd.service restarts it as a success."""

if TYPE_CHECKING:
    from soulsyncd.core.loop import RunStats

log = logging.getLogger("soulsyncd")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soulsyncd", description="Match or shift your music to your mood.")
    parser.add_argument("--version", action="version", version=f"soulsyncd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", "-c", type=Path, default=None, help=CONFIG_HELP)
    run.add_argument("--for", dest="for_seconds", type=_run_seconds, default=None, metavar="SECONDS",
                     help="stop after this many seconds (default: until SIGINT/SIGTERM)")
    check = sub.add_parser("check-config", help="validate a config file: prints 'ok' or the errors")
    check.add_argument("file", type=Path, nargs="?", default=None, help="the config file (or --config)")
    check.add_argument("--config", "-c", type=Path, default=None, help=CONFIG_HELP)
    for module_name in AREA_COMMANDS:
        importlib.import_module(module_name).add_commands(sub)
    return parser


CONFIG_HELP = ("YAML config file (default: $SOULSYNC_CONFIG, else /etc/soulsyncd/config.yaml when "
               "installed)")

# Commands that run on built-in defaults when no config file is found; every other one needs a file.
DEFAULTS_WITHOUT_CONFIG = frozenset({"library", "simulate"})


def resolve_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Set ``args.config`` for every command alike: ``--config``, else ``$SOULSYNC_CONFIG``, else the
    installed ``/etc/soulsyncd/config.yaml``; a command that needs a file and finds none stops here."""
    from soulsyncd.service.installed import CONFIG_ENV, INSTALLED_CONFIG, resolve_config_path

    if not hasattr(args, "config"):
        return
    given = args.config
    if args.command == "check-config" and args.file is not None:
        if given is not None and given != args.file:
            parser.error("check-config: give the file once, as FILE or as --config")
        given = args.file
    args.config = resolve_config_path(given)
    if args.config is None and args.command not in DEFAULTS_WITHOUT_CONFIG:
        parser.error(f"{args.command}: no config file: give --config FILE, set {CONFIG_ENV}, "
                     f"or install one at {INSTALLED_CONFIG} (tools/install.sh does)")


# Each area with commands of its own (spotify-login, library, mqtt-discovery, ...) has a module with
# ``add_commands(subparsers)``: it adds its sub-parsers and sets ``handler=function(args) -> int`` on
# each. Those modules import their heavy dependencies inside the handlers, so ``--help`` stays fast.
AREA_COMMANDS: tuple[str, ...] = (
    "soulsyncd.cli.mqtt", "soulsyncd.cli.catalog", "soulsyncd.cli.mood", "soulsyncd.cli.spotify",
    "soulsyncd.cli.service",
)


def _setup_logging(level: str) -> None:
    # The journal (with SOULSYNC_* fields) under systemd, else stderr; secrets redacted either way.
    from soulsyncd.service.logs import setup_logging

    setup_logging(level)


def _run_seconds(text: str) -> float:
    """``--for``: a finite, positive number of seconds (at most a year)."""
    from soulsyncd.app import MAX_RUN_S

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= MAX_RUN_S:  # also false for nan and inf
        raise argparse.ArgumentTypeError(f"must be > 0 and <= {MAX_RUN_S:.0f} seconds, got {text!r}")
    return value


def check_config(path: Path) -> int:
    from soulsyncd.config import ConfigError, load_config
    from soulsyncd.service.installed import machine_problems

    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:  # a loader bug must still answer like any other bad file: no traceback
        print(f"{path}: cannot check this file: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    # Valid, but what it names must also be there (the file camera's file, the MQTT password).
    problems = machine_problems(path, config)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return EXIT_CONFIG
    print(f"ok: {path}")
    return os.EX_OK


def run(path: Path, for_seconds: float | None, early_stop: threading.Event | None = None) -> int:
    """``soulsyncd run``: load, build, serve until stopped; the exit status for systemd.

    Exit codes are sysexits.h's (``os.EX_*``), which systemd's RestartPreventExitStatus= can name:
    78: bad config, model or cascade (don't restart); 66: a file camera's file is missing;
    69: the camera stack is missing; 0: a clean stop; 75 (``EX_TEMPFAIL``): a clean stop asked for by
    the Restart command, which the unit counts as success and restarts (``SuccessExitStatus=`` and
    ``RestartForceExitStatus=``).
    """
    from soulsyncd.app import Daemon
    from soulsyncd.config import ConfigError, load_config
    from soulsyncd.vision.classifier import ModelError
    from soulsyncd.vision.detector import DetectorError
    from soulsyncd.vision.sources import SourceError

    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    _setup_logging(config.logging.level)
    daemon = Daemon(path, config, load=load_config)
    daemon.install_signals()
    if early_stop is not None and early_stop.is_set():
        return os.EX_OK  # stopped before we were even running: nothing to clean up
    try:
        stats = daemon.run(for_seconds)
    except (ModelError, DetectorError, ConfigError) as exc:  # ConfigError: a service's setting at start
        log.error("%s", exc)
        return EXIT_CONFIG
    except SourceError as exc:
        log.error("%s", exc)
        return os.EX_NOINPUT if config.camera.kind == "file" else os.EX_UNAVAILABLE
    if stats is not None:
        print_summary(stats)
    return EXIT_RESTART if daemon.restart_requested else os.EX_OK


SUMMARY_LINES = 40  # the exit summary shows at most this many of each list


def print_summary(stats: RunStats) -> None:
    """The mood timeline and the player's decisions, for a person reading the terminal (bounded)."""
    from soulsyncd.core.playback import describe

    lines = [f"analysed {stats.frames_analysed} frames in {stats.elapsed_s:.1f} s ({stats.analysis_fps:.1f} "
             f"frames/s), a face in {stats.frames_with_face}", "mood timeline:"]
    timeline = list(stats.timeline)
    if stats.mood_changes > SUMMARY_LINES:
        lines.append(f"  ... {stats.mood_changes - SUMMARY_LINES} earlier changes")
    for change in timeline[-SUMMARY_LINES:]:
        mood = change.mood
        detail = "" if mood.absent else f"  confidence {mood.confidence:.2f}"
        lines.append(f"  {change.at_s:6.1f} s  {mood.label:<9}{detail}")
    lines.append("player decisions:")
    decisions = list(stats.decisions)
    if stats.decisions_made > SUMMARY_LINES:
        lines.append(f"  ... {stats.decisions_made - SUMMARY_LINES} earlier decisions")
    for at, intent in decisions[-SUMMARY_LINES:]:
        lines.append(f"  {at:6.1f} s  {describe(intent)}")
    if stats.tracks_started:
        lines.append("tracks:")
        if stats.tracks_started > SUMMARY_LINES:
            lines.append(f"  ... {stats.tracks_started - SUMMARY_LINES} earlier tracks")
        for at, track, detail in list(stats.tracks)[-SUMMARY_LINES:]:
            features = "" if track.valence is None or track.energy is None else \
                f" (valence {track.valence:.2f}, energy {track.energy:.2f})"
            note = f" — {detail}" if detail else ""
            lines.append(f"  {at:6.1f} s  '{track.name}' by {track.artist_text}{features}{note}")
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C or SIGTERM during start-up (imports, model load) must end quietly, not with a traceback:
    # until the daemon installs its own handlers, a signal just records that we should stop.
    early_stop = threading.Event()

    def stop_early(signum: int, _frame: FrameType | None) -> None:
        early_stop.set()
        raise _StopBeforeStart(signum)

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop_early)
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # as typed, for "run: sudo soulsyncd ..."
        resolve_config(args, parser)
        if args.command == "check-config":
            return _quiet_stdout(check_config(args.config))
        if args.command == "run":
            return _quiet_stdout(run(args.config, args.for_seconds, early_stop))
        handler: Callable[[argparse.Namespace], int] = args.handler
        return _quiet_stdout(handler(args))
    except _StopBeforeStart:
        return os.EX_OK
    except BrokenPipeError:
        return _quiet_stdout(os.EX_OK)


class _StopBeforeStart(Exception):  # noqa: N818 - a control-flow signal, not an error
    """A stop signal arrived before the daemon was running."""


def _quiet_stdout(status: int) -> int:
    """Flush stdout now; if the reader has gone (``| head``, a closed terminal), say nothing more.

    Python would otherwise report the broken pipe at exit with a traceback and status 1.
    """
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return status


if __name__ == "__main__":
    sys.exit(main())
