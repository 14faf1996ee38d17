"""``soulsyncd library import|enrich|stats``: fill the track catalog and see what it holds.

The catalog is ``<state.dir>/catalog.sqlite3`` of ``--config FILE`` (default: the default config),
or the file given with ``--catalog``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from soulsyncd.service.installed import reads_state, writes_state

if TYPE_CHECKING:
    from soulsyncd.catalog.store import CatalogStore



def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``library`` and its sub-commands to the top-level parser."""
    library = sub.add_parser("library", help="the track catalog: import features, look them up, stats")
    commands = library.add_subparsers(dest="library_command", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", "-c", type=Path, default=None,
                            help="YAML config file (its state.dir holds the catalog; default: "
                            "$SOULSYNC_CONFIG, else /etc/soulsyncd/config.yaml, else built-in defaults)")
        parser.add_argument("--catalog", type=Path, default=None,
                            help="use this catalog file instead of <state.dir>/catalog.sqlite3")

    imp = commands.add_parser(
        "import", help="import a CSV (or .csv.gz) of Spotify audio features",
        description="Import tracks and their valence/energy/tempo from a CSV in the layout of the public "
        "Spotify-features datasets or an Exportify export (columns found by name; comma, semicolon or "
        "tab separated; UTF-8, UTF-16 or Windows-1252). Bad rows are reported (the first 20 and a count) "
        "and skipped; exits 65 when nothing could be imported or most rows were bad (then nothing is "
        "written).",
    )
    imp.add_argument("file", type=Path, help="the CSV file, plain or gzip")
    imp.add_argument("--source", default=None,
                     help="dataset name recorded as the features' source (default: the file name)")
    common(imp)
    imp.set_defaults(handler=writes_state(_catalog_file, _import, reload=True))

    enrich = commands.add_parser(
        "enrich", help="look up missing features at ReccoBeats (sends only Spotify track ids)",
        description="Ask the audio-features service (catalog.enrich_url, default ReccoBeats) about tracks "
        "without features or with only a playlist's tag, 40 ids a request; each track is asked once.",
    )
    enrich.add_argument("--limit", type=int, default=None, help="ask about at most this many tracks")
    enrich.add_argument("--url", default=None, help="service base URL (default: catalog.enrich_url)")
    common(enrich)
    enrich.set_defaults(handler=writes_state(_catalog_file, _enrich, reload=True))

    stats = commands.add_parser("stats", help="what the catalog holds and what was learned")
    stats.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    common(stats)
    stats.set_defaults(handler=reads_state(_catalog_file, "catalog", _stats))


def _catalog_file(args: argparse.Namespace) -> Path | int:
    """The catalog the arguments name (``--catalog``, else the config's state.dir), or exit 78."""
    from soulsyncd.catalog.store import catalog_path
    from soulsyncd.config import Config, ConfigError, load_config

    if args.catalog is not None:
        return Path(args.catalog)
    try:
        config = load_config(args.config) if args.config is not None else Config()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return os.EX_CONFIG
    return catalog_path(config)


def _open(args: argparse.Namespace) -> tuple[CatalogStore | None, str]:
    """The store named by the arguments, or None and the exit code's reason already printed."""
    from soulsyncd.catalog.store import CatalogError, CatalogStore, catalog_path
    from soulsyncd.config import Config, ConfigError, load_config

    try:
        config = load_config(args.config) if args.config is not None else Config()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None, "config"
    args.loaded_config = config
    path = args.catalog if args.catalog is not None else catalog_path(config)
    try:
        return CatalogStore(path), ""
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None, "catalog"


def _failed(reason: str) -> int:
    return os.EX_CONFIG if reason == "config" else os.EX_CANTCREAT


def _import(args: argparse.Namespace) -> int:
    from soulsyncd.catalog.csvfile import ProgressLine
    from soulsyncd.catalog.importer import CsvImportError, import_csv, import_summary, rejection_lines
    from soulsyncd.catalog.store import CatalogError

    store, reason = _open(args)
    if store is None:
        return _failed(reason)
    path: Path = args.file
    progress = ProgressLine(sys.stderr, f"importing {path.name}") if sys.stderr.isatty() else None

    def note(text: str) -> None:
        if progress is not None:
            progress.clear()
        print(text, file=sys.stderr)

    # Ctrl-C rolls the import back; say so (the quiet exit 0 of __main__ would read as success).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with store:
        try:
            report = import_csv(path, store, source=args.source, on_note=note, on_progress=progress)
        except KeyboardInterrupt:
            if progress is not None:
                progress.close()
            print(f"interrupted: nothing imported from {path}; the catalog is as it was", file=sys.stderr)
            return 128 + signal.SIGINT
        except CsvImportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return os.EX_NOINPUT if not path.is_file() else os.EX_DATAERR
        except CatalogError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return os.EX_CANTCREAT
        finally:
            if progress is not None:
                progress.close()
        total = store.count()
    for line in rejection_lines(report):
        print(line, file=sys.stderr)
    if report.truncated:
        print(f"{path}: stopped early at {report.truncated}; kept the rows before it", file=sys.stderr)
    if report.discarded:
        print(f"error: {path}: {report.rejected_count:,} of {report.rows:,} rows rejected, so nothing was "
              f"imported (read as {report.delimiter}-separated {report.encoding}); catalog unchanged, "
              f"{total} tracks", file=sys.stderr)
        return os.EX_DATAERR
    print(import_summary(report, total))
    return os.EX_OK if report.imported else os.EX_DATAERR


def _enrich(args: argparse.Namespace) -> int:
    from soulsyncd.catalog.enrich import EnrichError, EnrichReport, ReccoBeatsClient, enrich
    from soulsyncd.catalog.store import CatalogError

    store, reason = _open(args)
    if store is None:
        return _failed(reason)
    url = args.url or args.loaded_config.catalog.enrich_url
    client = ReccoBeatsClient(url)

    def progress(report: EnrichReport) -> None:
        print(f"  asked {report.asked}, found {report.found}", file=sys.stderr)

    with store:
        try:
            report = enrich(store, client, limit=args.limit, on_batch=progress)
        except EnrichError as exc:
            print(f"error: {exc}; what was found so far is kept", file=sys.stderr)
            return os.EX_UNAVAILABLE
        except CatalogError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return os.EX_CANTCREAT
    left = f", {report.remaining} left for another run" if report.remaining else ""
    print(f"asked {url} about {report.asked} tracks in {report.requests} requests: found {report.found}"
          f"{left}")
    return os.EX_OK


def _stats(args: argparse.Namespace) -> int:
    from soulsyncd.catalog.store import CatalogError

    store, reason = _open(args)
    if store is None:
        return _failed(reason)
    with store:
        try:
            stats = store.stats()
        except CatalogError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return os.EX_CANTCREAT
    print(json.dumps(stats, sort_keys=True) if args.json else format_stats(stats))
    return os.EX_OK


def format_stats(stats: dict[str, object]) -> str:
    """``store.stats()`` as text for a person."""
    tracks = int(str(stats["tracks"]))
    with_features = int(str(stats["with_features"]))
    share = f" ({100 * with_features / tracks:.0f} %)" if tracks else ""
    lines = [
        f"catalog {stats['path']} (schema v{stats['schema_version']})",
        f"tracks: {tracks}, with valence/energy: {with_features}{share}",
    ]
    by_source = stats["features_by_source"]
    if isinstance(by_source, dict) and by_source:
        lines.append("features by source:")
        lines.extend(f"  {source:<28} {count}" for source, count in by_source.items())
    lines.append(f"mood playlists: {stats['playlists']}")
    lines.append(f"looked up: {stats['enrich_asked']} asked, {stats['enrich_found']} found")
    lines.append(f"plays: {stats['plays']}, skips: {stats['skips']}")
    contexts = stats["contexts"]
    if isinstance(contexts, dict) and contexts:
        lines.append("learned, per context:")
        lines.append(f"  {'context':<16} {'tracks':>7} {'plays':>7} {'full':>7} {'skips':>7} {'affect':>7}")
        for context, c in contexts.items():
            lines.append(f"  {context:<16} {c['tracks']:>7} {c['plays']:>7} {c['full_plays']:>7} "
                         f"{c['skips']:>7} {c['affect_samples']:>7}")
    else:
        lines.append("learned: nothing yet")
    return "\n".join(lines)
