"""The generated sample catalog: deterministic, realistic in shape, and the committed file is its output."""

from __future__ import annotations

import statistics
from pathlib import Path

from soulsyncd.catalog.importer import import_csv
from soulsyncd.catalog.store import CatalogStore
from soulsyncd.testing.sample_catalog import generate, personal_library, write_csv

SAMPLE = Path(__file__).resolve().parent.parent / "config" / "sample_catalog.csv"


def test_the_committed_sample_is_the_tools_output(tmp_path: Path) -> None:
    """config/sample_catalog.csv == tools/make_catalog.py --seed 7 --tracks 1200."""
    out = tmp_path / "sample.csv"
    assert write_csv(generate(seed=7, tracks=1200), out) == 1200
    assert out.read_bytes() == SAMPLE.read_bytes()


def test_shape_of_the_generated_catalog() -> None:
    tracks = [t.track for t in generate(seed=3, tracks=1200)]
    assert len({t.uri for t in tracks}) == 1200
    valence = [t.valence or 0.0 for t in tracks]
    energy = [t.energy or 0.0 for t in tracks]
    assert 0.25 < statistics.correlation(valence, energy) < 0.6
    assert all(0 < v < 1 for v in valence + energy)
    assert all(120 <= t.duration_s <= 360 for t in tracks)
    assert 250 <= len({t.artists[0] for t in tracks}) <= 300
    # Every corner a mood points at has tracks.
    for v, e in [(0.9, 0.7), (0.15, 0.3), (0.7, 0.25), (0.2, 0.85), (0.5, 0.5)]:
        near = sum(1 for a, b in zip(valence, energy, strict=True) if (a - v) ** 2 + (b - e) ** 2 < 0.15**2)
        assert near >= 30, (v, e, near)


def test_personal_library_and_import(tmp_path: Path) -> None:
    catalog = generate(seed=7, tracks=1200)
    personal = personal_library(catalog, 300, seed=7)
    assert len({t.track.uri for t in personal}) == 300
    assert {t.track.uri for t in personal} <= {t.track.uri for t in catalog}
    assert len({t.genre for t in personal}) == len({t.genre for t in catalog})
    path = tmp_path / "personal.csv.gz"
    write_csv(personal, path)
    store = CatalogStore(":memory:")
    report = import_csv(path, store)
    assert (report.imported, report.rejected) == (300, [])
    assert {t.uri for t in store.tracks()} == {t.track.uri for t in personal}
