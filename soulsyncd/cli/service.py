"""``soulsyncd doctor``: one pass over everything a working room needs (see :mod:`.doctor`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from soulsyncd.service.installed import CONFIG_ENV

FACE_S_DEFAULT = 10.0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``doctor`` to the CLI."""
    doctor = sub.add_parser(
        "doctor", help="check config, camera, model, catalog, Spotify, MQTT, permissions and the service",
        description="One pass, a line each: ✓ works, ! works with a caveat or could not be checked as this "
        "user, ✗ broken (with the fix). Exits 1 when anything is ✗. Never stops or disturbs the running "
        "service: a camera it holds is reported as busy, not taken. Run it with sudo on an installed "
        "system, so the service's state and credentials can be read.",
    )
    doctor.add_argument("--config", "-c", type=Path, default=None,
                        help=f"YAML config file (default: ${CONFIG_ENV}, else /etc/soulsyncd/config.yaml)")
    doctor.add_argument("--face", type=float, nargs="?", const=FACE_S_DEFAULT, default=None,
                        metavar="SECONDS",
                        help=f"also look for a face for up to SECONDS (default {FACE_S_DEFAULT:.0f})")
    doctor.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    # For tests and tools: the base URL of a fake Spotify (serving /v1/, /api/token).
    doctor.add_argument("--api-base", default=None, help=argparse.SUPPRESS)
    doctor.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from soulsyncd.doctor.checks import run_doctor

    return run_doctor(args.config, face_s=args.face, as_json=args.json, api_base=args.api_base)
