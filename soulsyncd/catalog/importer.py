"""Importing a CSV of Spotify audio features into the catalog (``soulsyncd library import``).

The public Spotify-features datasets differ in their column names and in how they write artists;
this reads them all by their header: the track id from ``track_id``/``id``/``spotify_id``/``uri``
(a bare id, a ``spotify:track:`` uri or an ``open.spotify.com/track/`` link), the title from
``track_name``/``name``/``track``, the artists from ``artists``/``track_artist``/``artist_name``/
``artist`` (``;``-separated or a Python-list string such as ``['A', 'B']``), and ``valence``,
``energy``, ``tempo``, ``duration_ms`` (Exportify's "Track URI", "Artist Name(s)", "Duration (ms)"
work too). A CSV with no feature columns imports its tracks without features (for ``enrich``).

It streams: rows are parsed one by one (plain or gzip, ``csv`` module) and written in batches, so a
file of a million rows needs no more memory than the set of ids already seen (for de-duplication:
the first row of a track id wins, later ones are counted as duplicates). A bad row is reported
with its line and why (missing id, NA, bad number, a value out of 0-1) and skipped; the rest is
imported.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from soulsyncd.catalog.store import TRACK_URI_PREFIX, CatalogStore, CatalogTrack

# Accepted header names, most specific first; headers are compared lower-cased with every run of
# non-alphanumerics as "_" ("Track URI" -> "track_uri", "Artist Name(s)" -> "artist_name_s").
ID_COLUMNS = ("track_id", "spotify_id", "track_uri", "id", "uri")
TITLE_COLUMNS = ("track_name", "name", "track", "title", "song_name")
ARTIST_COLUMNS = ("artists", "track_artist", "artist_name", "artist", "artist_names", "artist_name_s")
DURATION_MS_COLUMNS = ("duration_ms",)
DURATION_S_COLUMNS = ("duration_s",)

_NA = frozenset({"", "na", "n/a", "nan", "null", "none", "-"})
_SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
_LINK_ID = re.compile(r"open\.spotify\.com/(?:intl-[a-z-]+/)?track/([0-9A-Za-z]{22})")
_LIST_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_DEFAULT_BATCH = 5000

if TYPE_CHECKING:
    from _csv import Reader


class CsvImportError(Exception):
    """Nothing could be read from the file: missing, unreadable, not CSV, or no track id column.
    The message names the file."""


@dataclass(frozen=True)
class RejectedRow:
    """A row that was skipped: its line in the file (1 = the header) and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did. ``imported`` counts distinct tracks written; ``new`` those not in the
    catalog before; ``duplicates`` rows whose track id an earlier row already had."""

    path: Path
    source: str
    rows: int = 0
    imported: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    with_features: bool = True
    truncated: str | None = None  # why reading stopped early (e.g. a cut-off .gz), if it did


@dataclass(frozen=True)
class _Columns:
    id: int
    title: int | None
    artists: int | None
    valence: int | None
    energy: int | None
    tempo: int | None
    duration_ms: int | None
    duration_s: int | None


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def detect_columns(header: list[str]) -> _Columns:
    """Map a CSV header to the columns the catalog needs.

    Raises:
        ValueError: There is no track id column (the message lists the accepted names).
    """
    names = [_normalise(h) for h in header]
    if names and names[0].startswith("ufeff"):  # a BOM the decoder did not strip
        names[0] = names[0][5:]
    id_column = _find(names, ID_COLUMNS)
    if id_column is None:
        raise ValueError(
            f"no track id column (looked for {', '.join(ID_COLUMNS)}; found {', '.join(header) or 'nothing'})"
        )
    return _Columns(
        id=id_column,
        title=_find(names, TITLE_COLUMNS),
        artists=_find(names, ARTIST_COLUMNS),
        valence=_find(names, ("valence",)),
        energy=_find(names, ("energy",)),
        tempo=_find(names, ("tempo", "bpm")),
        duration_ms=_find(names, DURATION_MS_COLUMNS),
        duration_s=_find(names, DURATION_S_COLUMNS),
    )


def parse_track_id(value: str) -> str | None:
    """The 22-character Spotify id in a bare id, a ``spotify:track:`` uri or a track link; else None."""
    value = value.strip()
    if value.startswith(TRACK_URI_PREFIX):
        value = value[len(TRACK_URI_PREFIX):]
    elif "spotify.com/" in value:
        match = _LINK_ID.search(value)
        return match.group(1) if match else None
    return value if _SPOTIFY_ID.fullmatch(value) else None


def parse_artists(value: str) -> tuple[str, ...]:
    """Artists from ``"A"``, ``"A;B"`` or a Python-list string ``"['A', \"B's\"]"``."""
    value = value.strip()
    if value.lower() in _NA:
        return ()
    if value.startswith("[") and value.endswith("]"):
        items = (single or double for single, double in _LIST_ITEM.findall(value[1:-1]))
        return tuple(item.replace("\\'", "'").replace('\\"', '"').strip() for item in items if item.strip())
    if ";" in value:
        return tuple(part.strip() for part in value.split(";") if part.strip())
    return (value,)


class _BadValueError(ValueError):
    pass


def _number(row: list[str], column: int | None, name: str, *, required: bool) -> float | None:
    if column is None:
        return None
    raw = row[column].strip() if column < len(row) else ""
    if raw.lower() in _NA:
        if required:
            raise _BadValueError(f"{name}: NA" if raw else f"{name}: empty")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise _BadValueError(f"{name}: bad number {raw[:40]!r}") from None
    if not math.isfinite(value):
        raise _BadValueError(f"{name}: NA" if math.isnan(value) else f"{name}: bad number {raw[:40]!r}")
    return value


def _unit(row: list[str], column: int | None, name: str) -> float | None:
    value = _number(row, column, name, required=True)
    if value is not None and not 0.0 <= value <= 1.0:
        raise _BadValueError(f"{name}: {value:g} out of 0-1")
    return value


def parse_row(row: list[str], columns: _Columns) -> CatalogTrack:
    """One CSV record as a track (``feature_source`` left for the caller).

    Raises:
        ValueError: The row can't be used; the message says why ("missing track id", "valence: NA",
            "energy: 1.3 out of 0-1", "tempo: bad number 'fast'", ...).
    """
    raw_id = row[columns.id].strip() if columns.id < len(row) else ""
    if raw_id.lower() in _NA:
        raise _BadValueError("missing track id")
    track_id = parse_track_id(raw_id)
    if track_id is None:
        raise _BadValueError(f"bad track id {raw_id[:60]!r}")
    valence = _unit(row, columns.valence, "valence")
    energy = _unit(row, columns.energy, "energy")
    tempo = _number(row, columns.tempo, "tempo", required=False)
    if tempo is not None and tempo < 0:
        raise _BadValueError(f"tempo: {tempo:g} below 0")
    duration_ms = _number(row, columns.duration_ms, "duration_ms", required=False)
    duration_s = _number(row, columns.duration_s, "duration_s", required=False)
    if duration_s is None and duration_ms is not None:
        duration_s = duration_ms / 1000.0
    if duration_s is not None and duration_s < 0:
        raise _BadValueError(f"duration: {duration_s:g} s below 0")
    title = row[columns.title].strip() if columns.title is not None and columns.title < len(row) else ""
    artists = parse_artists(row[columns.artists]) if columns.artists is not None and columns.artists < len(
        row) else ()
    return CatalogTrack(
        uri=TRACK_URI_PREFIX + track_id,
        name="" if title.lower() in _NA else title,
        artists=artists,
        duration_s=duration_s or 0.0,
        valence=valence,
        energy=energy,
        tempo=tempo or None,  # 0 bpm in the datasets means "no beat found": unknown
    )


def source_name(path: Path, source: str | None) -> str:
    """The feature source recorded for this import: ``csv:<source>``, by default ``csv:<file stem>``."""
    if source is None:
        name = path.name
        for suffix in (".gz", ".csv", ".tsv"):
            name = name.removesuffix(suffix)
        source = name or "import"
    return source if source.startswith("csv:") else f"csv:{source}"


def _open_text(path: Path) -> IO[str]:
    raw = path.open("rb")
    try:
        gzipped = raw.read(2) == b"\x1f\x8b"  # by content, not by name: a .csv may well be gzipped
        raw.seek(0)
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw  # type: ignore[assignment]
        # utf-8-sig drops a BOM; undecodable bytes become U+FFFD instead of stopping the import.
        return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    except BaseException:
        raw.close()
        raise


def _records(reader: Reader) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """(first line, record) pairs; a record the csv module can't parse comes as its error, and
    reading goes on after it."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, exc
            continue
        yield start, row


def import_csv(
    path: Path | str,
    store: CatalogStore,
    *,
    source: str | None = None,
    batch_size: int = _DEFAULT_BATCH,
    on_reject: Callable[[RejectedRow], None] | None = None,
) -> ImportReport:
    """Stream a features CSV (plain or gzip) into ``store``.

    Args:
        path: The CSV file.
        store: The catalog to write to (features win over less trusted ones; see ``source_rank``).
        source: Dataset name recorded as ``csv:<source>`` (default: the file's stem).
        batch_size: Rows per transaction.
        on_reject: Called with each rejected row as it is found (they are also in the report).

    Returns:
        The counts, and every rejected row with its line and reason.

    Raises:
        CsvImportError: Nothing could be read: the file is missing or unreadable, is empty, or has
            no track id column. (A file whose every row is rejected returns normally.)
        CatalogError: The catalog could not be written.
    """
    path = Path(path)
    report = ImportReport(path=path, source=source_name(path, source))
    try:
        handle = _open_text(path)
    except OSError as exc:
        raise CsvImportError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            columns = _read_header(reader, path)
            report.with_features = columns.valence is not None and columns.energy is not None
            _read_rows(reader, columns, store, report, batch_size=batch_size, on_reject=on_reject)
        except (OSError, EOFError, zlib.error) as exc:
            # A broken gzip (or a failing disk) before any row: nothing could be read.
            raise CsvImportError(f"{path}: cannot read: {exc}") from exc
    return report


def _read_header(reader: Reader, path: Path) -> _Columns:
    try:
        header = next(reader)
    except StopIteration:
        raise CsvImportError(f"{path}: empty file, no header") from None
    except csv.Error as exc:
        raise CsvImportError(f"{path}:1: not a CSV header: {exc}") from None
    try:
        return detect_columns(header)
    except ValueError as exc:
        raise CsvImportError(f"{path}:1: {exc}") from None


def _read_rows(
    reader: Reader,
    columns: _Columns,
    store: CatalogStore,
    report: ImportReport,
    *,
    batch_size: int,
    on_reject: Callable[[RejectedRow], None] | None,
) -> None:
    seen: set[str] = set()
    batch: list[CatalogTrack] = []

    def flush() -> None:
        report.new += store.upsert_tracks(batch, source=report.source)
        report.imported += len(batch)
        batch.clear()

    try:
        for line, row in _records(reader):
            if isinstance(row, list) and (not row or (len(row) == 1 and not row[0].strip())):
                continue  # blank line
            report.rows += 1
            try:
                if isinstance(row, csv.Error):
                    raise _BadValueError(f"not a CSV record: {row}")
                track = parse_row(row, columns)
            except ValueError as exc:
                rejected = RejectedRow(line, str(exc))
                report.rejected.append(rejected)
                if on_reject is not None:
                    on_reject(rejected)
                continue
            if track.uri in seen:
                report.duplicates += 1
                continue
            seen.add(track.uri)
            batch.append(track)
            if len(batch) >= batch_size:
                flush()
    except (OSError, EOFError, zlib.error) as exc:
        # A cut-off download or a broken gzip: keep what was read, say where it stopped.
        if report.rows == 0 and not batch:
            raise
        report.truncated = f"line {reader.line_num}: {exc}"
    if batch:
        flush()
