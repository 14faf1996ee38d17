"""The timeline as a server-side SVG: mood as a coloured band, valence and arousal as lines, tracks as
marks with their titles, pauses and camera-off spans. A pure function of the history's rows, so it is
tested by reading the SVG; every text in it is escaped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from xml.sax.saxutils import escape

from soulsyncd.web.history import SAMPLE_S, Sample, TrackMark

MOOD_COLOURS: dict[str, str] = {
    "happy": "#f2c12e", "surprise": "#f08a24", "neutral": "#9aa5b1", "sad": "#4a78c2",
    "angry": "#d64541", "fear": "#8e5ac8", "disgust": "#5b9e4d", "absent": "#e4e7eb", "unknown": "#ffffff",
}
WIDTH = 720
HEIGHT = 244
_LEFT, _RIGHT = 34, 8
_BAND = (4, 22)  # y, height of the mood band
_SPANS = (30, 8)  # pauses and camera-off
_LINES = (46, 110)  # valence/arousal area: -1 at the bottom, +1 at the top
_TRACKS_Y = 176
_CHAR_PX = 5.6  # a title's width per character at the page's 10 px font (close enough to avoid overlaps)
_GAP_S = 3 * SAMPLE_S  # samples further apart than this: the daemon was not running in between


def _x(t: float, start: float, end: float) -> float:
    return round(_LEFT + (t - start) / (end - start) * (WIDTH - _LEFT - _RIGHT), 1)


def _y(value: float) -> float:
    top, height = _LINES
    return round(top + (1 - max(-1.0, min(1.0, value))) / 2 * height, 1)


def _ticks(start: float, end: float) -> list[float]:
    span = end - start
    step = next(s for s in (300, 600, 900, 1800, 3600, 7200, 10800, 21600, 86400) if span / s <= 8)
    local = time.localtime(start)
    offset = local.tm_gmtoff
    first = ((start + offset) // step + 1) * step - offset
    return [first + i * step for i in range(int((end - first) // step) + 1)]


def timeline_svg(  # noqa: PLR0912 - one drawing, layer after layer
    samples: Sequence[Sample], tracks: Sequence[TrackMark], start: float, end: float, title: str = "",
) -> str:
    """The timeline from ``start`` to ``end`` (epoch seconds) as a standalone SVG document."""
    if end <= start:
        end = start + 1
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="timeline" '
        f'role="img" aria-label="{escape(title or "mood timeline", {chr(34): "&quot;"})}">'
    ]
    out.append(f'<rect x="{_LEFT}" y="{_BAND[0]}" width="{WIDTH - _LEFT - _RIGHT}" height="{_BAND[1]}" '
               'fill="#f5f7fa" stroke="#ccd"/>')
    for label, y in (("mood", _BAND[0] + 15), ("+1", _LINES[0] + 4), ("0", _LINES[0] + _LINES[1] / 2 + 4),
                     ("-1", _LINES[0] + _LINES[1])):
        out.append(f'<text x="2" y="{y}" class="axis">{label}</text>')
    out.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{_y(0)}" y2="{_y(0)}" stroke="#ccd" '
               'stroke-dasharray="3 3"/>')
    for tick in _ticks(start, end):
        x = _x(tick, start, end)
        if x > WIDTH - _RIGHT - 14:  # its label would be cut at the edge
            continue
        out.append(f'<line x1="{x}" x2="{x}" y1="{_BAND[0]}" y2="{_TRACKS_Y - 8}" stroke="#e4e7eb"/>')
        out.append(f'<text x="{x}" y="{HEIGHT - 16}" class="axis" text-anchor="middle">'
                   f'{time.strftime("%H:%M", time.localtime(tick))}</text>')
    valence: list[list[str]] = [[]]
    arousal: list[list[str]] = [[]]
    bands = 0
    for i, sample in enumerate(samples):
        following = samples[i + 1].t if i + 1 < len(samples) else min(end, sample.t + SAMPLE_S)
        if following - sample.t > _GAP_S:  # not running: no band, and the lines break
            following = sample.t + SAMPLE_S
            gap_after = True
        else:
            gap_after = False
        x0, x1 = _x(max(sample.t, start), start, end), _x(min(following, end), start, end)
        width = max(0.5, round(x1 - x0, 1))
        colour = MOOD_COLOURS.get(sample.mood, "#ffffff")
        out.append(f'<rect class="mood-band" data-mood="{escape(sample.mood)}" x="{x0}" y="{_BAND[0]}" '
                   f'width="{width}" height="{_BAND[1]}" fill="{colour}"><title>{escape(sample.mood)}'
                   f'</title></rect>')
        bands += 1
        if sample.camera in ("disabled", "absent", "error", "ended"):
            out.append(f'<rect class="camera-off" x="{x0}" y="{_SPANS[0]}" width="{width}" '
                       f'height="{_SPANS[1]}" fill="#52606d">'
                       f'<title>camera {escape(sample.camera)}</title></rect>')
        elif sample.paused:
            out.append(f'<rect class="paused" x="{x0}" y="{_SPANS[0]}" width="{width}" height="{_SPANS[1]}" '
                       'fill="#9fb3c8"><title>paused</title></rect>')
        if sample.valence is not None and sample.arousal is not None:
            valence[-1].append(f"{x0},{_y(sample.valence)}")
            arousal[-1].append(f"{x0},{_y(sample.arousal)}")
        if gap_after or sample.valence is None:
            valence.append([])
            arousal.append([])
    for points, colour, name in ((valence, "#2f855a", "valence"), (arousal, "#c05621", "arousal")):
        for run in points:
            if len(run) >= 2:
                out.append(f'<polyline class="{name}" fill="none" stroke="{colour}" stroke-width="1.6" '
                           f'points="{" ".join(run)}"/>')
            elif len(run) == 1:
                cx, cy = run[0].split(",")
                out.append(f'<circle class="{name}" cx="{cx}" cy="{cy}" r="1.5" fill="{colour}"/>')
    out.extend(_track_marks(tracks, start, end))
    out.append(f'<text x="{WIDTH - _RIGHT}" y="{HEIGHT - 3}" class="legend" text-anchor="end">'
               '<tspan fill="#2f855a">— valence</tspan> <tspan fill="#c05621">— arousal</tspan></text>')
    if bands == 0:
        out.append(f'<text x="{WIDTH / 2}" y="{_LINES[0] + 60}" class="empty" text-anchor="middle">'
                   'no history yet</text>')
    out.append("</svg>")
    return "".join(out)


def _track_marks(tracks: Sequence[TrackMark], start: float, end: float) -> list[str]:
    """Each track as a line with its title, in two rows; a title that would overlap the one before in
    its row is left to the tooltip."""
    marks: list[str] = []
    free_from = [float("-inf"), float("-inf")]  # where each of the two title rows is free again
    for n, mark in enumerate(tracks):
        x = _x(mark.t, start, end)
        label = mark.title if len(mark.title) <= 22 else mark.title[:21] + "…"
        row = n % 2
        y = _TRACKS_Y + row * 12
        tip = f"{mark.title} — {mark.artists} ({mark.why})" if mark.why else f"{mark.title} — {mark.artists}"
        width = _CHAR_PX * len(label)
        left, right = (x - 2 - width, x - 2) if x > WIDTH - _RIGHT - width else (x + 2, x + 2 + width)
        title = ""
        if left >= free_from[row]:  # a title that would overlap the one before is left to the tooltip
            free_from[row] = right + 4
            anchor = f'x="{right}" text-anchor="end"' if right == x - 2 else f'x="{left}"'
            title = f'<text {anchor} y="{y}" class="track-title">{escape(label)}</text>'
        marks.append(f'<g class="track"><line x1="{x}" x2="{x}" y1="{_LINES[0]}" y2="{y - 8}" '
                     f'stroke="#486581" stroke-width="1"/>{title}<title>{escape(tip)}</title></g>')
    return marks
