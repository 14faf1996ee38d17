"""The timeline SVG and the history behind it: pure functions and SQLite, no server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from soulsyncd.web.history import FILE_NAME, MIN_GAP_S, PRUNE_EVERY_S, SAMPLE_S, History, Sample, TrackMark
from soulsyncd.web.plot import timeline_svg

SVG = "{http://www.w3.org/2000/svg}"
T0 = 1_750_000_000.0


def _sample(t: float, mood: str = "happy", *, paused: bool = False, camera: str = "ok") -> Sample:
    return Sample(T0 + t, mood, 0.9, 0.8, 0.4, paused, camera)


def test_the_plot_draws_mood_spans_lines_tracks_and_breaks_at_gaps() -> None:
    samples = [_sample(0), _sample(10, "sad"), _sample(20, "sad", paused=True),
               _sample(600, "neutral", camera="disabled"), _sample(610, "neutral")]
    tracks = [TrackMark(T0 + 5, "<script>alert(1)</script> & more", "A & B", "match")]
    root = ET.fromstring(timeline_svg(samples, tracks, T0, T0 + 900))
    bands = [r.get("data-mood") for r in root.iter(f"{SVG}rect") if r.get("class") == "mood-band"]
    assert bands == ["happy", "sad", "sad", "neutral", "neutral"]
    classes = [r.get("class") for r in root.iter(f"{SVG}rect")]
    assert classes.count("paused") == 1
    assert classes.count("camera-off") == 1
    # The 580 s without a sample is a gap: each line breaks there into two runs.
    assert len([p for p in root.iter(f"{SVG}polyline") if p.get("class") == "valence"]) == 2
    titles = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "track-title"]
    assert titles == ["<script>alert(1)</scr…"]  # escaped in the SVG (it parsed), cut to fit


def test_an_empty_history_says_so() -> None:
    assert "no history yet" in timeline_svg([], [], T0, T0 + 3600)


def test_the_history_keeps_one_sample_a_second_at_most_and_prunes_old_days(tmp_path: Path) -> None:
    history = History(tmp_path, days=1)
    assert history.add_sample(_sample(0))
    assert not history.add_sample(_sample(MIN_GAP_S / 2))  # a burst of events is one sample
    assert history.add_sample(_sample(MIN_GAP_S))
    assert not history.due(T0 + MIN_GAP_S + 1)
    assert history.due(T0 + MIN_GAP_S + SAMPLE_S)
    assert history.add_track(TrackMark(T0, "Song", "Artist", "match"))
    assert not history.add_track(TrackMark(T0 + 1, "Song", "Artist", "match"))  # the same track, polled again
    later = 86400 + PRUNE_EVERY_S + 10
    assert history.add_sample(_sample(later))  # a day and more later: the first day goes
    assert [s.t - T0 for s in history.samples(T0 - 1, T0 + later + 1)] == [later]
    assert history.tracks(T0 - 1, T0 + later) == []
    history.close()
    assert (tmp_path / FILE_NAME).exists()
    reopened = History(tmp_path, days=1)
    assert len(reopened.samples(T0, T0 + later + 1)) == 1  # kept over a restart
    reopened.close()


def test_titles_that_would_overlap_are_left_to_the_tooltip() -> None:
    tracks = [TrackMark(T0 + 600 + i, f"Track {i}", "Artist", "match") for i in range(6)]
    root = ET.fromstring(timeline_svg([], tracks, T0, T0 + 3600))
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "track"]) == 6  # every mark stays
    titles = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "track-title"]
    assert titles == ["Track 0", "Track 1"]  # one per row; the rest would be written over them
