"""Command line: ``soulsyncd run`` and ``soulsyncd check-config`` (also ``python -m soulsyncd``)."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from soulsyncd import __version__
from soulsyncd.config import EXIT_CONFIG

if TYPE_CHECKING:
    from soulsyncd.app import RunStats

# sysexits.h: systemd's RestartPreventExitStatus can list these so a broken config is not retried.
EXIT_OK = 0
EXIT_NOINPUT = 66
EXIT_UNAVAILABLE = 69

log = logging.getLogger("soulsyncd")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soulsyncd", description="Match or shift your music to your mood.")
    parser.add_argument("--version", action="version", version=f"soulsyncd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", "-c", type=Path, required=True, help="YAML config file")
    run.add_argument("--for", dest="for_seconds", type=float, default=None, metavar="SECONDS",
                     help="stop after this many seconds (default: until SIGINT/SIGTERM)")
    check = sub.add_parser("check-config", help="validate a config file: prints 'ok' or the errors")
    check.add_argument("config", type=Path)
    for module_name in AREA_COMMANDS:
        importlib.import_module(module_name).add_commands(sub)
    return parser


# Each area with commands of its own (spotify-login, library, mqtt-discovery, ...) has a module with
# ``add_commands(subparsers)``: it adds its sub-parsers and sets ``handler=function(args) -> int`` on
# each. Those modules import their heavy dependencies inside the handlers, so ``--help`` stays fast.
AREA_COMMANDS: tuple[str, ...] = ()


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )


def check_config(path: Path) -> int:
    from soulsyncd.config import ConfigError, load_config

    try:
        load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    print("ok")
    return EXIT_OK


def run(path: Path, for_seconds: float | None) -> int:
    from soulsyncd.app import build
    from soulsyncd.config import ConfigError, load_config
    from soulsyncd.vision.classifier import ModelError
    from soulsyncd.vision.sources import SourceError

    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    _setup_logging(config.logging.level)
    try:
        app, finished = build(config)
    except ModelError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    timer = None
    if for_seconds is not None:
        timer = threading.Timer(for_seconds, stop.set)
        timer.daemon = True
        timer.start()
    log.info("soulsyncd %s starting: camera %s, player %s, policy %s", __version__,
             config.camera.kind, config.player.kind, config.policy.mode)
    try:
        stats = app.run(stop, finished)
    except SourceError as exc:
        log.error("%s", exc)
        return EXIT_NOINPUT if config.camera.kind == "file" else EXIT_UNAVAILABLE
    finally:
        if timer is not None:
            timer.cancel()
    print_summary(stats)
    return EXIT_OK


def print_summary(stats: RunStats) -> None:
    """The mood timeline and the player's decisions, for a person reading the terminal."""
    from soulsyncd.player import describe

    lines = [f"analysed {stats.frames_analysed} frames, a face in {stats.frames_with_face}", "mood timeline:"]
    for change in stats.timeline:
        mood = change.mood
        detail = "" if mood.absent else f"  confidence {mood.confidence:.2f}"
        lines.append(f"  {change.at_s:6.1f} s  {mood.label:<9}{detail}")
    lines.append("player decisions:")
    for at, intent in stats.decisions:
        lines.append(f"  {at:6.1f} s  {describe(intent)}")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check-config":
        return check_config(args.config)
    if args.command == "run":
        return run(args.config, args.for_seconds)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
