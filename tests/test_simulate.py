"""``soulsyncd simulate`` end to end (through soulsyncd.cli.main) on the committed sample catalog and a
personal-size library drawn from it: the README's targets."""

from __future__ import annotations

import gc
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from soulsyncd.cli import main
from soulsyncd.testing.sample_catalog import generate, personal_library, write_csv
from soulsyncd.testing.simulate import parse_trajectory, spearman

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "config" / "sample_catalog.csv"


@pytest.fixture(scope="module")
def personal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("library") / "personal.csv"
    write_csv(personal_library(generate(7, 1200), 300, 7), path)
    return path


def simulate(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["simulate", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1  # one JSON line
    result: dict[str, Any] = json.loads(lines[0])
    return result


@pytest.mark.parametrize("library", ["sample", "personal"])
def test_match_targets(capsys: pytest.CaptureFixture[str], personal: Path, library: str) -> None:
    catalog = SAMPLE if library == "sample" else personal
    result = simulate(capsys, "--catalog", str(catalog), "--trajectory", "match:happy*20,match:sad*20")
    happy, sad = result["segments"]
    assert happy["mean_valence"] >= 0.7
    assert sad["mean_valence"] <= 0.3
    for segment in (happy, sad):
        assert segment["region_tracks"] >= 20  # enough there, so:
        assert segment["inside_region"] >= 0.9
    assert result["variety"]["repeats_within_50"] == 0
    assert result["variety"]["max_per_artist_in_10"] <= 2
    assert len(result["chosen"]) == 40
    assert result["chosen"][0]["why"] == "match happy"


@pytest.mark.parametrize("library", ["sample", "personal"])
def test_shift_targets_with_a_following_listener(capsys: pytest.CaptureFixture[str], personal: Path,
                                                 library: str) -> None:
    catalog = SAMPLE if library == "sample" else personal
    result = simulate(capsys, "--catalog", str(catalog), "--trajectory", "shift:sad>happy*12", "--no-tracks")
    (segment,) = result["segments"]
    assert segment["spearman_position_valence"] >= 0.9
    assert segment["max_track_step"] <= segment["step_limit"] + 1e-9
    assert segment["waypoint_reached_at"] <= segment["planned_steps"]
    assert segment["max_lead"] <= segment["lead_bound"] + 1e-9
    assert "chosen" not in result


@pytest.mark.parametrize("listener", ["lag", "resist"])
def test_shift_holds_for_a_listener_who_does_not_follow(capsys: pytest.CaptureFixture[str],
                                                        listener: str) -> None:
    result = simulate(capsys, "--catalog", str(SAMPLE), "--trajectory", "shift:sad>happy*15",
                      "--listener", listener, "--no-tracks")
    (segment,) = result["segments"]
    assert segment["holds"] > 0
    assert segment["max_lead"] <= segment["lead_bound"] + 1e-9
    if listener == "resist":
        assert segment["step_backs"] > 0
        assert segment["waypoint_reached_at"] is None


def test_twice_skipped_tracks_are_not_chosen_again(capsys: pytest.CaptureFixture[str]) -> None:
    result = simulate(capsys, "--catalog", str(SAMPLE), "--trajectory", "match:sad*200", "--skips", "0.3",
                      "--no-tracks")
    variety = result["variety"]
    assert variety["skipped_twice"] > 0
    assert variety["chosen_after_two_skips"] == 0


def test_learning_reaches_the_target_in_fewer_tracks(capsys: pytest.CaptureFixture[str]) -> None:
    result = simulate(capsys, "--catalog", str(SAMPLE), "--trajectory", "shift:sad>happy*12",
                      "--learning", "40", "--no-tracks")
    learning = result["learning"]
    assert learning["after_tracks"] < learning["before_tracks"]
    assert learning["rising_share_after"] > learning["rising_share_before"]


def test_the_simulation_closes_its_catalogs(capsys: pytest.CaptureFixture[str]) -> None:
    """The in-memory catalogs (the session's and the learning experiment's) are closed: Python 3.13's
    sqlite3 warns (ResourceWarning) of every connection collected while still open."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        simulate(capsys, "--catalog", str(SAMPLE), "--trajectory", "shift:sad>happy*4", "--learning", "1",
                 "--no-tracks")
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_bad_trajectory_and_missing_catalog_are_usage_errors(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    assert main(["simulate", "--catalog", str(SAMPLE), "--trajectory", "dance:happy"]) == 64
    assert "bad segment 'dance:happy'" in capsys.readouterr().err
    assert main(["simulate", "--catalog", str(SAMPLE), "--trajectory", "match:calm"]) == 64
    assert main(["simulate", "--catalog", str(tmp_path / "none.csv"), "--trajectory", "match:sad"]) == 66


def test_parse_trajectory() -> None:
    segments = parse_trajectory("match:happy*20, shift:sad>0.8,0.6*7", 10)
    assert [(s.mode, s.start, s.target, s.tracks) for s in segments] == [
        ("match", "happy", None, 20), ("shift", "sad", "0.8,0.6", 7)]
    segments = parse_trajectory("match:happy,shift:sad>calm*7", 10)
    assert [(s.mode, s.start, s.target, s.tracks) for s in segments] == [
        ("match", "happy", None, 10), ("shift", "sad", "calm", 7)]
    with pytest.raises(ValueError, match="needs a target"):
        parse_trajectory("shift:sad", 10)


def test_spearman() -> None:
    assert spearman([0, 1, 2, 3], [0.1, 0.2, 0.3, 0.9]) == pytest.approx(1.0)
    assert spearman([0, 1, 2, 3], [0.4, 0.3, 0.2, 0.1]) == pytest.approx(-1.0)
    assert spearman([0, 1, 2], [0.5, 0.5, 0.9]) == pytest.approx(0.866, abs=1e-3)
