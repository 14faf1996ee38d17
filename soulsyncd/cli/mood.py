"""``soulsyncd simulate``: the mood engine over a scripted mood and a simulated listener, measured.

Prints one JSON line: the chosen tracks (unless ``--no-tracks``) and the figures the README quotes
(match: mean valence and share inside the mood's region; shift: Spearman rho of position and
valence, largest step, lead over the listener; variety; learning; choice time).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soulsyncd.config import Config
    from soulsyncd.mood.engine import MoodEngine
    from soulsyncd.testing.simulate import Segment, Session, Step

EVENING_TRACKS = 45  # the learning experiment's music after each day's shift
START_EPOCH = 1_767_225_600.0  # 2026-01-01: the manual clock stands for wall-clock time


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``simulate`` to the CLI."""
    parser = sub.add_parser(
        "simulate",
        help="run the mood engine over a scripted mood and a simulated listener; print one JSON line",
        description="Runs the real policy, dry-run player and mood engine over a mood trajectory "
        "and a simulated listener, on a manual clock, and prints the chosen tracks and figures as "
        "one JSON line.",
    )
    parser.add_argument("--catalog", type=Path, required=True, help="features CSV (as for 'library import')")
    parser.add_argument("--trajectory", required=True,
                        help="segments MODE:START[>TARGET][*TRACKS], comma-separated, "
                        "e.g. 'match:happy*20,shift:sad>happy*12'")
    parser.add_argument("--listener", choices=("follow", "lag", "resist"), default="follow",
                        help="how the listener's mood answers the music (default follow)")
    parser.add_argument("--skips", type=float, default=0.0, metavar="P",
                        help="share of tracks the listener dislikes and skips within 30 s (default 0)")
    parser.add_argument("--rises", type=float, default=0.0, metavar="F",
                        help="share of tracks that lift the listener toward the shift's target (default 0)")
    parser.add_argument("--learning", type=int, default=0, metavar="DAYS",
                        help="also measure learning: a listener whose mood rises on some tracks (--rises, "
                        "default 0.1) shifts once a day for this many days; prints the tracks the shift "
                        "took to reach them, first quarter of the days against the last (default 0: off)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--tracks", type=int, default=20, help="tracks per segment without *N (default 20)")
    parser.add_argument("--config", "-c", type=Path, default=None,
                        help="take engine and policy.step settings from this config file")
    parser.add_argument("--no-tracks", action="store_true", help="print the figures only")
    parser.set_defaults(handler=simulate_command)


def simulate_command(args: argparse.Namespace) -> int:
    from soulsyncd.catalog.importer import CsvImportError, import_csv
    from soulsyncd.catalog.store import CatalogStore
    from soulsyncd.config import Config, ConfigError, load_config
    from soulsyncd.testing.simulate import parse_trajectory

    try:
        segments = parse_trajectory(args.trajectory, args.tracks)
        if not 0.0 <= args.skips <= 1.0 or not 0.0 <= args.rises <= 1.0:
            raise ValueError("--skips and --rises must be in [0, 1]")
    except ValueError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return os.EX_USAGE
    try:
        config = load_config(args.config) if args.config is not None else Config()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 78
    with CatalogStore(":memory:") as store:  # closed: Python 3.13 warns of an unclosed one
        try:
            report = import_csv(args.catalog, store)
        except CsvImportError as exc:
            print(f"simulate: {exc}", file=sys.stderr)
            return os.EX_NOINPUT
        if report.imported == 0:
            print(f"simulate: {args.catalog}: no track could be imported", file=sys.stderr)
            return os.EX_NOINPUT
        result = run_simulation(config, store, segments, args)
        result["catalog"] = str(args.catalog)
        print(json.dumps(result, separators=(",", ":"), ensure_ascii=False))
        return os.EX_OK


def run_simulation(
    config: Config, store: object, segments: list[Segment], args: argparse.Namespace
) -> dict[str, object]:
    """The session and its figures (and the learning experiment when asked)."""
    from soulsyncd.catalog.store import CatalogStore
    from soulsyncd.testing.simulate import segment_figures, variety_figures

    assert isinstance(store, CatalogStore)
    session = _session(config, store, args, segments, rises=_rising(store, args))
    steps = session.run(segments)
    engine = session.engine
    points = engine.settings.points
    result: dict[str, object] = {
        "catalog_tracks": engine.catalog_size,
        "listener": args.listener,
        "skips": args.skips,
        "rises": args.rises,
        "seed": args.seed,
        "step": engine.settings.shift.step,
        "segments": [segment_figures(engine, segment, [s for s in steps if s.segment == i], points)
                     for i, segment in enumerate(segments)],
        "variety": variety_figures(steps, recent=engine.settings.recent_tracks,
                                   window=engine.settings.artist_window),
        "choice_ms_median": round(statistics.median(s.choice.choice_ms for s in steps), 3) if steps else None,
    }
    if args.learning > 0:
        result["learning"] = _learning(config, args, segments)
    if not args.no_tracks:
        result["chosen"] = [_track_entry(i, s) for i, s in enumerate(steps)]
    return result


def _session(config: Config, store: object, args: argparse.Namespace, segments: list[Segment], *,
             rises: frozenset[str]) -> Session:
    from soulsyncd.catalog.store import CatalogStore
    from soulsyncd.mood.factory import build_engine
    from soulsyncd.mood.targets import resolve
    from soulsyncd.testing import ManualClock
    from soulsyncd.testing.listener import SimulatedListener
    from soulsyncd.testing.simulate import Session

    assert isinstance(store, CatalogStore)
    clock = ManualClock(START_EPOCH)
    shift_target = next((s.target for s in segments if s.target is not None), "happy")
    holder: list[SimulatedListener] = []

    def mood_now() -> tuple[float, float]:
        return holder[0].mood()  # the listener is made after the engine (it needs its points)

    engine = build_engine(config, store=store, mood_now=mood_now, clock=clock)
    points = engine.settings.points
    listener = SimulatedListener(resolve(segments[0].start, points), behaviour=args.listener,
                                 skip_probability=args.skips, seed=args.seed, rises=rises,
                                 rise_toward=resolve(shift_target, points))
    holder.append(listener)
    return Session(engine, listener, clock, points=points)


def _rising(store: object, args: argparse.Namespace) -> frozenset[str]:
    from soulsyncd.catalog.store import CatalogStore

    assert isinstance(store, CatalogStore)
    if args.rises <= 0.0:
        return frozenset()
    uris = sorted(t.uri for t in store.tracks())
    rng = random.Random(args.seed + 1)
    return frozenset(rng.sample(uris, round(len(uris) * args.rises)))


def _learning(config: Config, args: argparse.Namespace, segments: list[Segment]) -> dict[str, object]:
    """Tracks until a listener whose mood rises on some tracks reaches the first shift's target:
    in a fresh catalog, then again after ``--learning`` sessions (a day apart) have taught it."""
    from dataclasses import replace

    from soulsyncd.catalog.importer import import_csv
    from soulsyncd.catalog.store import CatalogStore
    from soulsyncd.testing.simulate import Segment

    shift = next((s for s in segments if s.mode == "shift"), None)
    if shift is None:
        return {"error": "no shift segment in the trajectory"}
    shift = replace(shift, tracks=max(shift.tracks, 30))
    with CatalogStore(":memory:") as store:
        import_csv(args.catalog, store)
        rises_args = argparse.Namespace(**{**vars(args), "rises": args.rises or 0.1})
        rises = _rising(store, rises_args)
        learning_args = argparse.Namespace(**{**vars(args), "listener": "follow", "skips": 0.0})
        session = _session(config, store, learning_args, [shift], rises=rises)
        # A day: the shift, then an evening of lively music (surprise's region, away from the shift's
        # path), so that a day is about the recency window (engine.recent_tracks) and yesterday's shift
        # tracks may be chosen again today.
        evening = Segment(mode="match", start="surprise", target=None, tracks=EVENING_TRACKS,
                          spec=f"match:surprise*{EVENING_TRACKS}")
        counts: list[int | None] = []
        rising_share = []
        for _ in range(args.learning):
            steps = session.run([shift], stop_when_reached=True)
            counts.append(_tracks_to_reach(session.engine, shift, steps))
            rising_share.append(round(sum(s.track is not None and s.track.uri in rises for s in steps)
                                      / max(1, len(steps)), 3))
            session.run([evening])
            session.leave()
        # Sessions that never reached the target count as the whole segment (an upper bound).
        tracks = [shift.tracks if c is None else c for c in counts]
        quarter = max(1, len(tracks) // 4)
        return {
            "spec": shift.spec,
            "sessions": len(tracks),
            "rising_tracks": len(rises),
            "lift": session.listener.rise,
            "first_session_tracks": tracks[0],
            "last_session_tracks": tracks[-1],
            "before_tracks": round(statistics.fmean(tracks[:quarter]), 2),
            "after_tracks": round(statistics.fmean(tracks[-quarter:]), 2),
            "rising_share_before": round(statistics.fmean(rising_share[:quarter]), 3),
            "rising_share_after": round(statistics.fmean(rising_share[-quarter:]), 3),
            "tracks_per_session": tracks,
        }


def _tracks_to_reach(engine: MoodEngine, shift: Segment, steps: list[Step]) -> int | None:
    from soulsyncd.mood.targets import distance, resolve

    assert shift.target is not None
    target = resolve(shift.target, engine.settings.points)
    for i, step in enumerate(steps):
        if distance(step.listener_after, target) <= engine.settings.shift.follow_radius:
            return i + 1
    return None


def _track_entry(position: int, step: Step) -> dict[str, object]:
    track = step.track
    assert track is not None
    return {
        "i": position,
        "segment": step.segment,
        "name": track.name,
        "artists": list(track.artists),
        "valence": track.valence,
        "energy": track.energy,
        "skipped": step.skipped,
        "why": step.choice.description,
    }
