"""Reading the CSV files people really have: plain or gzip, in whatever encoding and delimiter the
exporting program chose, with a progress line on a terminal.

- gzip is recognised by its content, not its name.
- Encoding: a UTF-8 BOM, a UTF-16 BOM (or UTF-16 without one, by its NUL bytes), then UTF-8; a file
  that is not valid UTF-8 is read as Windows-1252 (cp1252, a superset of Latin-1's letters), and the
  caller is told so. No byte ever becomes a replacement character: the five bytes cp1252 leaves
  undefined are read as Latin-1.
- Delimiter: comma, semicolon or tab, by :class:`csv.Sniffer` on the first lines, checked against the
  header (the delimiter must split it into columns the caller recognises), else the one the header
  line holds most of.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from _csv import Reader

DELIMITERS = ",;\t"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
SAMPLE_BYTES = 64 * 1024
_SNIFF_LINES = 40
_LATIN1_FALLBACK = "soulsyncd-latin1"


def _latin1(exc: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined; Latin-1 maps every byte.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start:exc.end].decode("latin-1"), exc.end


codecs.register_error(_LATIN1_FALLBACK, _latin1)


@dataclass(frozen=True)
class TextFormat:
    """How to read a file: its codec (and error handler), delimiter, and whether it is gzipped."""

    encoding: str  # codec name for io.TextIOWrapper
    label: str  # for people: "UTF-8", "UTF-8 with BOM", "UTF-16", "Windows-1252 (cp1252)"
    delimiter: str = ","
    gzipped: bool = False
    errors: str = "strict"

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


CP1252 = TextFormat("cp1252", "Windows-1252 (cp1252)", errors=_LATIN1_FALLBACK)


def _binary(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """(the decompressed byte stream, the file itself) -- the file's position is the progress."""
    raw = path.open("rb")
    try:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw  # type: ignore[assignment]
        return stream, raw
    except BaseException:
        raw.close()
        raise


def is_gzipped(path: Path) -> bool:
    with path.open("rb") as raw:
        return raw.read(2) == b"\x1f\x8b"


def encoding_of(head: bytes) -> tuple[str, str] | None:
    """(codec, label) from the file's first bytes when they settle it (a BOM, UTF-16's NULs), else
    None: UTF-8 or cp1252, which only reading the whole file can tell."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8 with BOM"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16"
    even, odd = head[0:2000:2], head[1:2000:2]
    if len(head) >= 4 and odd.count(0) > len(odd) // 2 and even.count(0) == 0:
        return "utf-16-le", "UTF-16 LE (no BOM)"
    if len(head) >= 4 and even.count(0) > len(even) // 2 and odd.count(0) == 0:
        return "utf-16-be", "UTF-16 BE (no BOM)"
    return None


def _decode_sample(head: bytes, codec: str) -> str | None:
    """The sample as text, a cut-off character at its end allowed; None when it does not decode."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        return decoder.decode(head, final=False)
    except UnicodeDecodeError:
        return None


def detect_format(path: Path, header_ok: Callable[[list[str]], bool]) -> TextFormat:
    """The file's format, from its first 64 KiB.

    Args:
        path: The file, plain or gzip.
        header_ok: Whether a header row (already split) has the columns the caller needs; it picks
            the delimiter when the sniffer's guess does not split the header that way.

    Raises:
        OSError, EOFError, zlib.error: The file can't be read.
    """
    stream, raw = _binary(path)
    with raw, stream:
        head = stream.read(SAMPLE_BYTES)
    gzipped = stream is not raw
    codec, label = encoding_of(head) or ("utf-8", "UTF-8")
    text = _decode_sample(head, codec)
    fmt = TextFormat(codec, label, gzipped=gzipped)
    if text is None:  # not UTF-8 (or a BOM followed by something else): Windows-1252
        fmt = replace(CP1252, gzipped=gzipped)
        text = head.decode(CP1252.encoding, CP1252.errors)
    text = text.lstrip("\ufeff")
    delimiter = sniff_delimiter(text, header_ok)
    return replace(fmt, delimiter=delimiter)


def sniff_delimiter(sample: str, header_ok: Callable[[list[str]], bool]) -> str:
    """Comma, semicolon or tab: the sniffer's guess if the header splits into usable columns with
    it, else the first of the three (most frequent in the header first) that does, else the most
    frequent."""
    lines = sample.splitlines()
    complete = lines[:-1] if len(lines) > 1 and not sample.endswith(("\n", "\r")) else lines
    lines = complete[:_SNIFF_LINES]
    header = lines[0] if lines else ""
    by_count = sorted(DELIMITERS, key=lambda d: -header.count(d))
    candidates: list[str] = []
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
        if sniffed in header:
            candidates.append(sniffed)
    except csv.Error:
        pass
    candidates += [d for d in by_count if d not in candidates and d in header]
    for delimiter in candidates:
        row = next(csv.reader([header], delimiter=delimiter), [])
        if header_ok(row):
            return delimiter
    return candidates[0] if candidates else ","


@contextmanager
def open_rows(path: Path, fmt: TextFormat) -> Iterator[tuple[Reader, Callable[[], float]]]:
    """A csv reader over the file and a function giving the share of the file read so far."""
    stream, raw = _binary(path)
    size = max(1, path.stat().st_size)
    text = io.TextIOWrapper(stream, encoding=fmt.encoding, errors=fmt.errors, newline="")
    with raw, stream, text:
        reader = csv.reader(text, delimiter=fmt.delimiter)

        def done() -> float:
            try:
                return min(1.0, raw.tell() / size)
            except (OSError, ValueError):
                return 0.0

        yield reader, done


class ProgressLine:
    """A one-line progress display for a terminal: it appears only once the work has taken
    ``after_s`` (short imports print nothing extra), is redrawn at most every ``every_s``, and is
    erased by :meth:`clear` (before other output) and :meth:`close`.

    Hand-rolled rather than tqdm: one line of text is all it does, and it keeps the Pi's install free
    of another dependency.
    """

    def __init__(self, stream: TextIO, label: str, *, after_s: float = 2.0, every_s: float = 0.25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._label = label
        self._after = after_s
        self._every = every_s
        self._clock = clock
        self._start = clock()
        self._last = -1e9
        self._shown = False

    def __call__(self, fraction: float, rows: int) -> None:
        now = self._clock()
        elapsed = now - self._start
        if elapsed < self._after or now - self._last < self._every:
            return
        self._last = now
        width = 24
        filled = int(width * fraction)
        bar = "#" * filled + "-" * (width - filled)
        what = f"{rows:,} rows" if rows else "checking"
        self._stream.write(f"\r{self._label} [{bar}] {100 * fraction:3.0f} % {what}, {elapsed:.0f} s\x1b[K")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the line (call before printing anything else); the next update redraws it."""
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False
            self._last = -1e9

    close = clear
