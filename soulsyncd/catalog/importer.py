"""Importing a CSV of tracks (and their Spotify audio features) into the catalog
(``soulsyncd library import``).

The files people have differ in layout, and this reads them by their header: the track id from
``track_id``/``id``/``spotify_id``/``uri`` (a bare id, a ``spotify:track:`` uri or an
``open.spotify.com/track/`` link), the title from ``track_name``/``name``/``track``/``title``, the
artists from ``artists``/``track_artist``/``artist_name``/``artist`` (``;``-separated or a
Python-list string such as ``['A', 'B']``; a plain name such as ``[ALEXANDROS]`` or
``Tyler, The Creator`` stays one artist) or Exportify's ``Artist Name(s)`` (comma-joined, split),
and ``valence``, ``energy``, ``tempo``, ``duration_ms``. A file with no feature columns, or a row
whose features are empty, imports tracks without features (for ``enrich``).

Real files: gzip or not, UTF-8 (BOM or not), UTF-16 or Windows-1252, comma/semicolon/tab separated
(see :mod:`soulsyncd.catalog.csvfile`); a decimal comma in a semicolon or tab file is read. A
valence or energy column written on a 0-100 scale is recognised (most of its values above 1, all
within 0-100) and divided by 100, and said so; one with values beyond 100 is refused.

Two passes, both streaming: the first checks the encoding and the feature scales, the second parses
rows and writes them in batches (``executemany``) inside one transaction. The first row of a track
id wins; later ones count as duplicates (remembered by a 64-bit hash of the id, so a million rows
cost about 60 MB). A bad row is counted and the first :data:`REPORTED_ROWS` are kept with their line
and reason; when most rows are bad the whole import is rolled back (``discarded``), since such a
file was almost certainly misread.
"""

from __future__ import annotations

import csv
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from soulsyncd.catalog.csvfile import CP1252, TextFormat, detect_format, open_rows
from soulsyncd.catalog.store import TRACK_URI_PREFIX, CatalogStore, CatalogTrack

if TYPE_CHECKING:
    from _csv import Reader

# Accepted header names, most specific first; headers are compared lower-cased with every run of
# non-alphanumerics as "_" ("Track URI" -> "track_uri", "Artist Name(s)" -> "artist_name_s").
ID_COLUMNS = ("track_id", "spotify_id", "track_uri", "id", "uri", "spotify_uri")
TITLE_COLUMNS = ("track_name", "name", "track", "title", "song_name", "song")
ARTIST_COLUMNS = ("artists", "track_artist", "artist_name", "artist", "artist_names", "artist_name_s")
# Columns that join several artists with commas (Exportify); elsewhere a comma is part of a name.
COMMA_ARTIST_COLUMNS = ("artist_names", "artist_name_s")
DURATION_MS_COLUMNS = ("duration_ms", "track_duration_ms")  # Exportify: "Track Duration (ms)"
DURATION_S_COLUMNS = ("duration_s",)

REPORTED_ROWS = 20
"""How many rejected rows an import keeps (with line and reason); the rest are only counted."""

_NA = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "#n/a"})
_SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
_LINK_ID = re.compile(r"open\.spotify\.com/(?:intl-[a-z-]+/)?track/([0-9A-Za-z]{22})")
_LIST_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_PY_LIST = re.compile(r"\[\s*(?:['\"].*)?\]", re.DOTALL)  # "[]", "['A', 'B']"; not "[ALEXANDROS]"
_DEFAULT_BATCH = 5000
_PROGRESS_EVERY = 4096  # rows between progress calls
_CHECK_SHARE = 0.2  # of the progress line, for the first pass (it only parses; the second also writes)


class CsvImportError(Exception):
    """Nothing could be imported: the file is missing or unreadable, not CSV, has no track id
    column, or a feature column is on no known scale. The message names the file and why."""


@dataclass(frozen=True)
class RejectedRow:
    """A row that was skipped: its line in the file (1 = the header) and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did.

    ``rows`` counts data rows (blank lines aside); ``imported`` distinct tracks written, ``new``
    those not in the catalog before, ``without_features`` those of them with no valence/energy;
    ``duplicates`` rows whose track id an earlier row had. ``rejected`` holds the first
    :data:`REPORTED_ROWS` bad rows, ``rejected_count`` all of them, ``rejected_by_reason`` their
    tally by kind. ``discarded``: most rows were bad, so nothing was written.
    """

    path: Path
    source: str
    rows: int = 0
    imported: int = 0
    new: int = 0
    duplicates: int = 0
    without_features: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_count: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    with_features: bool = True  # the file has valence and energy columns
    truncated: str | None = None  # why reading stopped early (e.g. a cut-off .gz), if it did
    discarded: bool = False
    encoding: str = "UTF-8"
    delimiter: str = "comma"
    notes: list[str] = field(default_factory=list)

    @property
    def mostly_rejected(self) -> bool:
        """More than half of the rows were rejected."""
        return self.rejected_count * 2 > self.rows


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
    artist_commas: bool = False
    decimal_comma: bool = False
    valence_scale: float = 1.0
    energy_scale: float = 1.0


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _names(header: list[str]) -> list[str]:
    names = [_normalise(h.lstrip("\ufeff")) for h in header]
    if names and names[0].startswith("ufeff"):  # a BOM the decoder did not strip
        names[0] = names[0][5:]
    return names


def has_id_column(header: list[str]) -> bool:
    """Whether a header row names a track id column."""
    return _find(_names(header), ID_COLUMNS) is not None


def detect_columns(header: list[str]) -> _Columns:
    """Map a CSV header to the columns the catalog needs.

    Raises:
        ValueError: There is no track id column (the message lists the accepted names).
    """
    names = _names(header)
    id_column = _find(names, ID_COLUMNS)
    if id_column is None:
        raise ValueError(
            f"no track id column (looked for {', '.join(ID_COLUMNS)}; found {', '.join(header) or 'nothing'})"
        )
    artists = _find(names, ARTIST_COLUMNS)
    return _Columns(
        id=id_column,
        title=_find(names, TITLE_COLUMNS),
        artists=artists,
        valence=_find(names, ("valence",)),
        energy=_find(names, ("energy",)),
        tempo=_find(names, ("tempo", "bpm")),
        duration_ms=_find(names, DURATION_MS_COLUMNS),
        duration_s=_find(names, DURATION_S_COLUMNS),
        artist_commas=artists is not None and names[artists] in COMMA_ARTIST_COLUMNS,
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


def parse_artists(value: str, *, commas: bool = False) -> tuple[str, ...]:
    """Artists from ``"A"``, ``"A;B"``, a Python-list string ``"['A', \"B's\"]"``, or with
    ``commas`` (Exportify's ``Artist Name(s)``) ``"A,B"``. A bracketed name that is not a list,
    such as ``[ALEXANDROS]``, is one artist; so is ``Tyler, The Creator`` without ``commas``."""
    value = value.strip()
    if value.lower() in _NA:
        return ()
    if _PY_LIST.fullmatch(value):
        items = (single or double for single, double in _LIST_ITEM.findall(value[1:-1]))
        return tuple(item.replace("\\'", "'").replace('\\"', '"').strip() for item in items if item.strip())
    parts = re.split("[;,]", value) if commas else value.split(";")
    return tuple(part.strip() for part in parts if part.strip())


class _BadValueError(ValueError):
    def __init__(self, reason: str, kind: str | None = None) -> None:
        super().__init__(reason)
        self.kind = kind or reason


def _float(raw: str, decimal_comma: bool) -> float:
    if decimal_comma and "," in raw and "." not in raw:
        raw = raw.replace(",", ".")
    return float(raw)


def _number(row: list[str], column: int | None, name: str, decimal_comma: bool) -> float | None:
    """The column's number; None when absent or NA."""
    if column is None:
        return None
    raw = row[column].strip() if column < len(row) else ""
    if raw.lower() in _NA:
        return None
    try:
        value = _float(raw, decimal_comma)
    except ValueError:
        raise _BadValueError(f"{name}: bad number {raw[:40]!r}", f"{name}: bad number") from None
    if math.isnan(value):
        return None
    if not math.isfinite(value):
        raise _BadValueError(f"{name}: bad number {raw[:40]!r}", f"{name}: bad number")
    return value


def _unit(row: list[str], column: int | None, name: str, scale: float, decimal_comma: bool) -> float | None:
    value = _number(row, column, name, decimal_comma)
    if value is None:
        return None
    if not 0.0 <= value <= scale:
        top = "1" if scale == 1.0 else f"{scale:g}"
        raise _BadValueError(f"{name}: {value:g} out of 0-{top}", f"{name}: out of 0-{top}")
    return value / scale


def parse_row(row: list[str], columns: _Columns) -> CatalogTrack:
    """One CSV record as a track (``feature_source`` left for the caller). Empty or NA features
    give a track without them.

    Raises:
        ValueError: The row can't be used; the message says why ("missing track id", "missing
            title", "energy: 1.3 out of 0-1", "tempo: bad number 'fast'", ...).
    """
    raw_id = row[columns.id].strip() if columns.id < len(row) else ""
    if raw_id.lower() in _NA:
        raise _BadValueError("missing track id")
    track_id = parse_track_id(raw_id)
    if track_id is None and raw_id.startswith(("spotify:local:", "spotify:episode:")):
        what = "a local file" if raw_id.startswith("spotify:local:") else "a podcast episode"
        raise _BadValueError(f"{what}, not a Spotify track: {raw_id[:60]!r}", f"{what}, not a Spotify track")
    if track_id is None:
        raise _BadValueError(f"bad track id {raw_id[:60]!r}", "bad track id")
    title = row[columns.title].strip() if columns.title is not None and columns.title < len(row) else ""
    if columns.title is not None and title.lower() in _NA:
        raise _BadValueError("missing title")
    comma = columns.decimal_comma
    valence = _unit(row, columns.valence, "valence", columns.valence_scale, comma)
    energy = _unit(row, columns.energy, "energy", columns.energy_scale, comma)
    tempo = _number(row, columns.tempo, "tempo", comma)
    if tempo is not None and tempo < 0:
        raise _BadValueError(f"tempo: {tempo:g} below 0", "tempo: below 0")
    duration_ms = _number(row, columns.duration_ms, "duration_ms", comma)
    duration_s = _number(row, columns.duration_s, "duration_s", comma)
    if duration_s is None and duration_ms is not None:
        duration_s = duration_ms / 1000.0
    if duration_s is not None and duration_s < 0:
        raise _BadValueError(f"duration: {duration_s:g} s below 0", "duration: below 0")
    artists = (
        parse_artists(row[columns.artists], commas=columns.artist_commas)
        if columns.artists is not None and columns.artists < len(row) else ()
    )
    return CatalogTrack(
        uri=TRACK_URI_PREFIX + track_id,
        name=title,
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
        for suffix in (".gz", ".csv", ".tsv", ".txt"):
            name = name.removesuffix(suffix)
        source = name or "import"
    return source if source.startswith("csv:") else f"csv:{source}"


def _records(reader: Reader) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """(first line, record) pairs, blank lines left out; a record the csv module can't parse comes
    as its error, and reading goes on after it."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, exc
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield start, row


# --- the first pass: encoding and scales -------------------------------------------------------------


@dataclass
class _Scale:
    """What the first pass saw in one feature column."""

    numbers: int = 0
    above_one: int = 0
    outside_100: int = 0
    largest: float = -math.inf

    def add(self, value: float) -> None:
        self.numbers += 1
        if value > 1.0:
            self.above_one += 1
        if value > 100.0 or value < 0.0:
            self.outside_100 += 1
        self.largest = max(self.largest, value)


def _decide_scale(path: Path, name: str, seen: _Scale) -> tuple[float, str | None]:
    """(divisor, note) for a feature column: 1 when it is on Spotify's 0-1 scale (values above 1 in
    a minority of rows are bad rows), 100 when most values are above 1 and (nearly) all within 0-100.

    Raises:
        CsvImportError: Most values are above 1 and more than 1 % beyond 100: no scale fits.
    """
    if seen.above_one * 2 <= seen.numbers:
        return 1.0, None
    if seen.outside_100 * 100 > seen.numbers:
        raise CsvImportError(
            f"{path}: {name}: {seen.above_one:,} of {seen.numbers:,} values are above 1 and "
            f"{seen.outside_100:,} outside 0-100 (largest {seen.largest:g}): neither Spotify's 0-1 "
            "scale nor 0-100; nothing imported"
        )
    return 100.0, (
        f"note: {path}: {name} is on a 0-100 scale ({seen.above_one:,} of {seen.numbers:,} values above 1, "
        f"largest {seen.largest:g}): divided by 100"
    )


def _scan(reader: Reader, columns: _Columns, done: Callable[[], float],
          on_progress: Callable[[float, int], None] | None) -> tuple[_Scale, _Scale, bool]:
    """Read every row once for the feature columns' ranges, whether a comma-joined artist column
    holds semicolons anywhere (then those join the artists, not commas), and, by reading, the
    encoding."""
    valence, energy = _Scale(), _Scale()
    artists = columns.artists if columns.artist_commas else None
    semicolons = False
    pairs = [(c, s) for c, s in ((columns.valence, valence), (columns.energy, energy)) if c is not None]
    comma = columns.decimal_comma
    n = 0
    try:
        for _line, row in _records(reader):
            n += 1
            if on_progress is not None and n % _PROGRESS_EVERY == 0:
                on_progress(done() * _CHECK_SHARE, 0)
            if isinstance(row, csv.Error):
                continue
            if artists is not None and not semicolons and artists < len(row) and ";" in row[artists]:
                semicolons = True
            for column, scale in pairs:
                if column < len(row):
                    try:
                        value = _float(row[column], comma)
                    except ValueError:
                        continue
                    if math.isfinite(value):
                        scale.add(value)
    except (OSError, EOFError, zlib.error):
        pass  # a cut-off file: the second pass stops at the same place and says so
    return valence, energy, semicolons


# --- the import ----------------------------------------------------------------------------------------


class _DiscardError(Exception):
    """Raised inside the transaction to roll the whole import back."""


def import_csv(
    path: Path | str,
    store: CatalogStore,
    *,
    source: str | None = None,
    batch_size: int = _DEFAULT_BATCH,
    on_reject: Callable[[RejectedRow], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    on_progress: Callable[[float, int], None] | None = None,
) -> ImportReport:
    """Import a CSV of tracks (plain or gzip, any common encoding and delimiter) into ``store``.

    Args:
        path: The file.
        store: The catalog to write to (features win over less trusted ones; see ``source_rank``).
        source: Dataset name recorded as ``csv:<source>`` (default: the file's stem).
        batch_size: Rows per ``executemany`` (all of them in one transaction).
        on_reject: Called with each rejected row as it is found (the first
            :data:`REPORTED_ROWS` are also in the report).
        on_note: Called once with each thing said about the whole file (``warning: ...`` for a
            file read as cp1252, ``note: ...`` for a 0-100 scale or no title column); also in
            ``report.notes``.
        on_progress: Called now and then with the share of the work done (0-1) and the rows
            imported so far.

    Returns:
        The counts, the first rejected rows and the tally of all of them. When most rows were
        rejected nothing is written and ``discarded`` is set.

    Raises:
        CsvImportError: Nothing could be imported: the file is missing or unreadable, not a CSV (a
            zip, JSON, a pipe), is empty or a header alone, has no track id column, or a feature
            column is on no known scale.
        CatalogError: The catalog could not be written.
    """
    path = Path(path)
    report = ImportReport(path=path, source=source_name(path, source))
    fmt, columns, notes = _prepare(path, on_progress)
    report.encoding, report.delimiter = fmt.label, fmt.delimiter_name
    report.with_features = columns.valence is not None and columns.energy is not None
    for text in notes:
        report.notes.append(text)
        if on_note is not None:
            on_note(text)

    before = store.count()
    try:
        with store.upserting(source=report.source) as write, open_rows(path, fmt) as (reader, done):
            next(reader, None)
            _read_rows(reader, columns, write, report, done, batch_size=batch_size,
                       on_reject=on_reject, on_progress=on_progress)
            if report.rows and report.mostly_rejected:
                raise _DiscardError
    except _DiscardError:
        report.discarded = True
        report.imported = report.new = report.without_features = 0
    except (OSError, EOFError, zlib.error) as exc:
        raise CsvImportError(f"{path}: cannot read: {exc}") from exc
    if on_progress is not None:
        on_progress(1.0, report.imported)
    if report.rows == 0 and report.truncated is None:
        raise CsvImportError(f"{path}: a header and no rows")
    report.new = store.count() - before
    return report


def _refuse_other_formats(path: Path) -> None:
    """A zip (Exportify's "Export All", an .xlsx workbook) or a JSON file is not a CSV: say what to do."""
    if path.exists() and not path.is_file():
        raise CsvImportError(f"{path}: not a regular file (a pipe or a folder): the file is read twice, so "
                             "save it to a file first")
    with path.open("rb") as raw:
        head = raw.read(4)
    if head == b"PK\x03\x04":
        raise CsvImportError(
            f"{path}: a zip archive or an Excel workbook, not a CSV: unzip it and import each .csv inside "
            "(Exportify's 'Export All'), or save the sheet as CSV"
        )
    if head[:1] in (b"{", b"["):
        raise CsvImportError(f"{path}: JSON, not a CSV: export the playlist as CSV (e.g. with Exportify)")


def _prepare(
    path: Path, on_progress: Callable[[float, int], None] | None
) -> tuple[TextFormat, _Columns, list[str]]:
    """The first pass: the file's format, its columns (with their scales) and what to say about them."""
    try:
        _refuse_other_formats(path)
        fmt = detect_format(path, has_id_column)
        columns = replace(_header(path, fmt), decimal_comma=fmt.delimiter != ",")
        try:
            with open_rows(path, fmt) as (reader, done):
                next(reader, None)
                valence, energy, semicolons = _scan(reader, columns, done, on_progress)
        except UnicodeDecodeError as exc:
            if fmt.encoding != "utf-8":  # a BOM promised this encoding: cp1252 would be a guess
                raise CsvImportError(f"{path}: not valid {fmt.label} text: {exc}") from None
            fmt = replace(CP1252, delimiter=fmt.delimiter, gzipped=fmt.gzipped)
            with open_rows(path, fmt) as (reader, done):
                next(reader, None)
                valence, energy, semicolons = _scan(reader, columns, done, on_progress)
    except (OSError, EOFError, zlib.error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CsvImportError(f"{path}: cannot read: {reason}") from exc
    notes: list[str] = []
    if fmt.encoding == CP1252.encoding:
        notes.append(f"warning: {path}: not UTF-8 text; read as {fmt.label}. If names look wrong, save "
                     "the file as UTF-8 and import it again")
    if columns.title is None:
        notes.append(f"note: {path}: no title column (looked for {', '.join(TITLE_COLUMNS)}); tracks new "
                     "to the catalog get no name")
    valence_scale, said_valence = _decide_scale(path, "valence", valence) if columns.valence is not None \
        else (1.0, None)
    energy_scale, said_energy = _decide_scale(path, "energy", energy) if columns.energy is not None \
        else (1.0, None)
    notes += [said for said in (said_valence, said_energy) if said]
    # Exportify joined artists with ',' and later with ';' (a name may hold a comma: "Tyler, The
    # Creator"); a file with a ';' anywhere in that column is of the later kind.
    columns = replace(columns, valence_scale=valence_scale, energy_scale=energy_scale,
                      artist_commas=columns.artist_commas and not semicolons)
    return fmt, columns, notes


def _header(path: Path, fmt: TextFormat) -> _Columns:
    with open_rows(path, fmt) as (reader, _done):
        try:
            header = next(reader)
        except StopIteration:
            raise CsvImportError(f"{path}: empty file, no header") from None
        except csv.Error as exc:
            raise CsvImportError(f"{path}:1: not a CSV header: {exc}") from None
    try:
        return detect_columns(header)
    except ValueError as exc:
        read_as = f"read as {fmt.delimiter_name}-separated {fmt.label}"
        raise CsvImportError(f"{path}:1: {exc} ({read_as})") from None


def _read_rows(
    reader: Reader,
    columns: _Columns,
    write: Callable[[list[CatalogTrack]], None],
    report: ImportReport,
    done: Callable[[], float],
    *,
    batch_size: int,
    on_reject: Callable[[RejectedRow], None] | None,
    on_progress: Callable[[float, int], None] | None,
) -> None:
    # A 64-bit hash per id instead of the id itself: a million ids in ~60 MB rather than ~130 MB. Two
    # ids colliding in a file of a million has a chance of about 1 in 30 million.
    seen: set[int] = set()
    batch: list[CatalogTrack] = []

    def flush() -> None:
        write(batch)
        report.imported += len(batch)
        report.without_features += sum(1 for t in batch if not t.has_features)
        batch.clear()

    try:
        for line, row in _records(reader):
            report.rows += 1
            if on_progress is not None and report.rows % _PROGRESS_EVERY == 0:
                on_progress(_CHECK_SHARE + done() * (1 - _CHECK_SHARE), report.imported + len(batch))
            try:
                if isinstance(row, csv.Error):
                    raise _BadValueError(f"not a CSV record: {row}", "not a CSV record")
                track = parse_row(row, columns)
            except _BadValueError as exc:
                rejected = RejectedRow(line, str(exc))
                report.rejected_count += 1
                report.rejected_by_reason[exc.kind] += 1
                if len(report.rejected) < REPORTED_ROWS:
                    report.rejected.append(rejected)
                if on_reject is not None:
                    on_reject(rejected)
                continue
            key = hash(track.uri)
            if key in seen:
                report.duplicates += 1
                continue
            seen.add(key)
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


def rejection_lines(report: ImportReport) -> list[str]:
    """The rejected rows for a person: the first :data:`REPORTED_ROWS` as ``FILE:LINE: skipped:
    REASON``, then how many more and the tally by reason."""
    lines = [f"{report.path}:{row.line}: skipped: {row.reason}" for row in report.rejected]
    more = report.rejected_count - len(report.rejected)
    if more > 0:
        lines.append(f"{report.path}: ... and {more:,} more rows rejected")
    if report.rejected_count > len(report.rejected) or len(report.rejected_by_reason) > 1:
        tally = ", ".join(f"{kind} {count:,}" for kind, count in report.rejected_by_reason.most_common())
        lines.append(f"{report.path}: {report.rejected_count:,} of {report.rows:,} rows rejected: {tally}")
    return lines


def import_summary(report: ImportReport, total: int) -> str:
    """The one line that says what an import did, for a person (``total``: the catalog's size now)."""
    if not report.with_features:
        features = " (no valence/energy columns: see 'library enrich')"
    elif report.without_features:
        features = f" ({report.without_features} without valence/energy in this file: see 'library enrich')"
    else:
        features = ""
    return (
        f"imported {report.imported} tracks from {report.path} as {report.source}{features}: "
        f"{report.new} new, {report.imported - report.new} updated; "
        f"{report.duplicates} duplicate rows skipped, {report.rejected_count} rows rejected; "
        f"catalog now {total} tracks"
    )
