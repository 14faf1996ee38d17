"""``soulsyncd library import|enrich|stats`` through the real command line (``soulsyncd.cli.main``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soulsyncd.catalog.store import CatalogStore, CatalogTrack
from soulsyncd.cli import main
from soulsyncd.testing.fake_reccobeats import FakeReccoBeats


def tid(n: int) -> str:
    return f"{n:022d}"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "soulsync.yaml"
    path.write_text("state:\n  dir: state\n", encoding="utf-8")
    return path


def test_import_then_stats_in_the_config_state_dir(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "features.csv"
    csv.write_text(
        "track_id,track_name,artists,valence,energy,tempo\n"
        f"{tid(1)},One,A;B,0.9,0.8,120\n"
        f"{tid(2)},Two,C,1.7,0.5,100\n"
        f"{tid(3)},Three,C,0.2,0.3,90\n"
        f"{tid(1)},One again,A,0.9,0.8,120\n",
        encoding="utf-8",
    )
    assert main(["library", "import", str(csv), "--source", "kaggle", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert f"{csv}:3: skipped: valence: 1.7 out of 0-1" in err
    assert "imported 2 tracks" in out
    assert "1 duplicate rows skipped, 1 rows rejected; catalog now 2 tracks" in out
    assert (tmp_path / "state" / "catalog.sqlite3").is_file()

    with CatalogStore(tmp_path / "state" / "catalog.sqlite3") as store:
        store.record_play(f"spotify:track:{tid(1)}", context="sad", listened_s=10, skipped=True,
                          valence_change=None, arousal_change=None, at=1.0)
    assert main(["library", "stats", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "tracks: 2, with valence/energy: 2 (100 %)" in text
    assert "csv:kaggle" in text
    assert "plays: 1, skips: 1" in text
    assert "sad" in text
    assert main(["library", "stats", "--json", "--config", str(config)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["features_by_source"] == {"csv:kaggle": 2}
    assert stats["contexts"]["sad"]["skips"] == 1


def test_import_exits_non_zero_only_when_nothing_could_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "c.sqlite3"
    assert main(["library", "import", str(tmp_path / "missing.csv"), "--catalog", str(catalog)]) == 66
    assert "missing.csv: cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("title,valence\nx,0.5\n", encoding="utf-8")
    assert main(["library", "import", str(bad), "--catalog", str(catalog)]) == 65
    assert "no track id column" in capsys.readouterr().err
    all_bad = tmp_path / "all_bad.csv"
    all_bad.write_text(f"id,valence,energy\n{tid(1)},700,0.5\n", encoding="utf-8")
    assert main(["library", "import", str(all_bad), "--catalog", str(catalog)]) == 65
    assert "neither Spotify's 0-1 scale nor 0-100" in capsys.readouterr().err
    partly = tmp_path / "partly.csv"
    partly.write_text(f"id,valence,energy\n{tid(1)},7,0.5\n{tid(2)},0.5,0.5\n", encoding="utf-8")
    assert main(["library", "import", str(partly), "--catalog", str(catalog)]) == 0


def test_a_corrupt_catalog_is_reported_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "c.sqlite3"
    catalog.write_bytes(b"junk" * 1000)
    assert main(["library", "stats", "--catalog", str(catalog)]) == 73
    assert f"{catalog}: not a usable SQLite database" in capsys.readouterr().err


def test_enrich_against_the_fake_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "c.sqlite3"
    with CatalogStore(catalog) as store:
        store.upsert_tracks([CatalogTrack(f"spotify:track:{tid(i)}", f"S{i}", ("A",)) for i in range(45)],
                            source="spotify")
    with FakeReccoBeats() as fake:
        fake.add(tid(3), valence=0.7, energy=0.6)
        assert main(["library", "enrich", "--url", fake.base_url, "--catalog", str(catalog)]) == 0
        assert "about 45 tracks in 2 requests: found 1" in capsys.readouterr().out
        fake.fail_next(403)
        with CatalogStore(catalog) as store:
            store.upsert_tracks([CatalogTrack(f"spotify:track:{tid(99)}", "new", ())], source="spotify")
        assert main(["library", "enrich", "--url", fake.base_url, "--catalog", str(catalog)]) == 69
        assert "refused the request" in capsys.readouterr().err
    with CatalogStore(catalog) as store:
        assert store.stats()["features_by_source"] == {"reccobeats": 1}


def test_a_bad_config_exits_78(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("catalog:\n  enrich_url: ftp://x\n", encoding="utf-8")
    assert main(["library", "stats", "--config", str(config)]) == 78
    assert "enrich_url" in capsys.readouterr().err
