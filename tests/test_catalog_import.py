"""The CSV importer on files written in each public dataset's layout, with broken rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from soulsyncd.catalog.importer import (
    CsvImportError,
    RejectedRow,
    import_csv,
    parse_artists,
    parse_track_id,
)
from soulsyncd.catalog.store import CatalogStore, CatalogTrack

A = "4uLU6hMCjMI75M1A2tKUQC"
B = "0VjIjW4GlUZAMYd2vXMi3b"
C = "7qiZfU4dY1lWllzX7mPBI3"
D = "3n3Ppam7vgaVa1iaRUc9Lp"


def tid(n: int) -> str:
    return f"{n:022d}"


def write(tmp_path: Path, text: str, name: str = "tracks.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def store() -> CatalogStore:
    return CatalogStore(":memory:")


def get(store: CatalogStore, track_id: str) -> CatalogTrack:
    track = store.track(f"spotify:track:{track_id}")
    assert track is not None
    return track


def test_kaggle_spotify_tracks_layout_with_semicolon_artists(tmp_path: Path, store: CatalogStore) -> None:
    """maharshipandya/spotify-tracks-dataset: unnamed index, ';'-separated artists, a track per genre."""
    path = write(tmp_path, (
        ",track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,"
        "loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,"
        "track_genre\n"
        f"0,{A},Gen Hoshino,Comedy,Comedy,73,230666,False,0.676,0.461,1,-6.746,0,0.143,0.0322,1.01e-06,"
        "0.358,0.715,87.917,4,acoustic\n"
        f"1,{B},Ingrid Michaelson;ZAYN,Hold On,To Begin Again,57,210826,False,0.42,0.166,1,-17.235,1,"
        "0.0763,0.924,5.56e-06,0.101,0.267,77.489,4,acoustic\n"
        f"2,{A},Gen Hoshino,Comedy,Comedy,73,230666,False,0.676,0.461,1,-6.746,0,0.143,0.0322,1.01e-06,"
        "0.358,0.715,87.917,4,j-pop\n"
    ))
    report = import_csv(path, store, source="kaggle-2022")
    assert (report.rows, report.imported, report.new, report.duplicates, report.rejected) == (3, 2, 2, 1, [])
    assert get(store, B) == CatalogTrack(f"spotify:track:{B}", "To Begin Again",
                                         ("Ingrid Michaelson", "ZAYN"), 210.826, 0.267, 0.166, 77.489,
                                         "csv:kaggle-2022")


def test_600k_tracks_layout_with_python_list_artists(tmp_path: Path, store: CatalogStore) -> None:
    """yamaerenay/spotify-dataset-19212020-600k-tracks: ``id``, ``name``, artists as a Python list."""
    path = write(tmp_path, (
        "id,name,popularity,duration_ms,explicit,artists,id_artists,release_date,danceability,energy,key,"
        "loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature\n"
        f"{A},Carve,6,126903,0,['Uli'],['45tIt06XoI0Iio4LBEVpls'],1922-02-22,0.645,0.445,0,-13.338,1,"
        "0.451,0.674,0.744,0.151,0.127,104.851,3\n"
        f"{B},\"Guns, Pistols\",0,98200,0,\"['Fernando Pessoa', \"\"Guns N' Roses\"\"]\",['x'],1922,0.695,"
        "0.263,0,-22.136,1,0.957,0.797,0,0.148,0.655,102.009,1\n"
    ))
    report = import_csv(path, store)
    assert report.source == "csv:tracks"
    assert (report.imported, report.rejected) == (2, [])
    assert get(store, A).artists == ("Uli",)
    assert get(store, B).artists == ("Fernando Pessoa", "Guns N' Roses")
    assert get(store, B).name == "Guns, Pistols"


def test_tidytuesday_layout_reports_broken_rows_with_line_and_reason(
    tmp_path: Path, store: CatalogStore
) -> None:
    """tidytuesday 30000 Spotify songs: ``track_artist``, ``NA`` values; every bad row skipped, named."""
    header = ("track_id,track_name,track_artist,track_popularity,track_album_id,playlist_genre,danceability,"
              "energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,"
              "duration_ms\n")
    rows = [
        f"{A},I Don't Care,Ed Sheeran,66,2oCs0DGTsRO98Gh5ZSl2Cx,pop,0.748,0.916,6,-2.634,1,0.0583,0.102,0,"
        "0.0653,0.518,122.036,194754",                                                   # line 2: good
        ",No Id,Nobody,1,x,pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,100,200000",           # 3: missing id
        f"{B},NA Valence,Someone,1,x,pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,NA,100,200000",   # 4: NA
        f"{C},Too Loud,Someone,1,x,pop,0.5,1.3,1,-5,1,0.1,0.1,0,0.1,0.5,100,200000",    # 5: out of 0-1
        f"{D},Bad Tempo,Someone,1,x,pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,fast,200000",  # 6: bad number
        "not-an-id,Bad Id,Someone,1,x,pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,100,200000",  # 7: bad id
        f"{tid(7)},NaN Energy,Someone,1,x,pop,0.5,nan,1,-5,1,0.1,0.1,0,0.1,0.5,100,200000",  # 8: NA
        "",                                                                             # 9: blank, ignored
        f"{tid(9)},NA,NA,1,x,pop,0.5,0.4,1,-5,1,0.1,0.1,0,0.1,0.3,NA,NA",               # 10: good, unknowns
    ]
    path = write(tmp_path, header + "\n".join(rows) + "\n")
    seen: list[RejectedRow] = []
    report = import_csv(path, store, on_reject=seen.append)
    assert report.rejected == seen == [
        RejectedRow(3, "missing track id"),
        RejectedRow(4, "valence: NA"),
        RejectedRow(5, "energy: 1.3 out of 0-1"),
        RejectedRow(6, "tempo: bad number 'fast'"),
        RejectedRow(7, "bad track id 'not-an-id'"),
        RejectedRow(8, "energy: NA"),
    ]
    assert (report.rows, report.imported) == (8, 2)
    assert get(store, A).artists == ("Ed Sheeran",)
    unnamed = CatalogTrack(f"spotify:track:{tid(9)}", "", (), 0.0, 0.3, 0.4, None, "csv:tracks")
    assert get(store, tid(9)) == unnamed


def test_spotify_features_layout_and_uri_layout(tmp_path: Path, store: CatalogStore) -> None:
    """zaheenhamidani SpotifyFeatures (``artist_name``) and a ``uri``/``track``/``artist`` layout."""
    first = write(tmp_path, (
        "genre,artist_name,track_name,track_id,popularity,acousticness,danceability,duration_ms,energy,"
        "instrumentalness,key,liveness,loudness,mode,speechiness,tempo,time_signature,valence\n"
        f"Movie,Henri Salvador,C'est beau de faire un Show,{A},0,0.611,0.389,99373,0.91,0,C#,0.346,-1.828,"
        "Major,0.0525,166.969,4/4,0.814\n"
    ), "SpotifyFeatures.csv")
    second = write(tmp_path, (
        "track,artist,uri,danceability,energy,valence,tempo,duration_ms\n"
        f"Wild Things,Alessia Cara,spotify:track:{B},0.741,0.626,0.706,108.029,173533\n"
        f"Link,Someone,https://open.spotify.com/track/{C}?si=abc,0.5,0.2,0.1,90,200000\n"
    ), "hits.csv")
    assert import_csv(first, store).imported == 1
    assert import_csv(second, store).imported == 2
    assert get(store, A).artists == ("Henri Salvador",)
    assert (get(store, A).valence, get(store, A).feature_source) == (0.814, "csv:SpotifyFeatures")
    assert get(store, B).artists == ("Alessia Cara",)
    assert get(store, C).energy == 0.2


def test_exportify_layout(tmp_path: Path, store: CatalogStore) -> None:
    path = write(tmp_path, (
        '"Track URI","Track Name","Artist Name(s)","Album Name","Duration (ms)","Danceability","Energy",'
        '"Key","Valence","Tempo"\n'
        f'"spotify:track:{A}","Song","Band A;Band B","Album","200000","0.5","0.6","1","0.7","120.5"\n'
    ))
    report = import_csv(path, store, source="my-likes")
    assert (report.imported, report.source) == (1, "csv:my-likes")
    assert get(store, A) == CatalogTrack(f"spotify:track:{A}", "Song", ("Band A", "Band B"), 200.0, 0.7, 0.6,
                                         120.5, "csv:my-likes")


def test_gzip_is_read_by_its_content(tmp_path: Path, store: CatalogStore) -> None:
    text = "track_id,name,artists,valence,energy\n" + "".join(
        f"{tid(i)},Song {i},Artist {i % 7},0.{i % 10},0.5\n" for i in range(250)
    )
    path = tmp_path / "features.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    report = import_csv(path, store, batch_size=100)
    assert (report.imported, report.new, report.source) == (250, 250, "csv:features")
    assert store.count() == 250
    again = import_csv(path, store)
    assert (again.imported, again.new) == (250, 0)


def test_a_cut_off_gzip_keeps_what_was_read(tmp_path: Path, store: CatalogStore) -> None:
    text = "track_id,valence,energy\n" + "".join(f"{tid(i)},0.5,0.5\n" for i in range(20000))
    data = gzip.compress(text.encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    report = import_csv(path, store)
    assert report.truncated is not None
    assert 0 < report.imported < 20000
    assert store.count() == report.imported


def test_a_csv_without_features_imports_tracks_for_enrich(tmp_path: Path, store: CatalogStore) -> None:
    path = write(tmp_path, f"spotify_id,title,artist\n{A},Song,Band\n")
    report = import_csv(path, store)
    assert (report.imported, report.with_features) == (1, False)
    assert store.tracks() == []
    assert get(store, A).name == "Song"


def test_a_multi_line_record_keeps_later_line_numbers_right(tmp_path: Path, store: CatalogStore) -> None:
    path = write(tmp_path, f'id,name,valence,energy\n{A},"Two\nlines",0.5,0.5\n{B},Bad,2,0.5\n')
    report = import_csv(path, store)
    assert report.rejected == [RejectedRow(4, "valence: 2 out of 0-1")]


def test_an_import_never_overwrites_better_features_with_worse(tmp_path: Path, store: CatalogStore) -> None:
    store.upsert_tracks([CatalogTrack(f"spotify:track:{A}", "Old", ("X",), valence=0.1, energy=0.1)],
                        source="reccobeats")
    import_csv(write(tmp_path, f"track_id,valence,energy\n{A},0.9,0.9\n"), store)
    assert get(store, A).valence == 0.9  # a CSV outranks the look-up service
    assert get(store, A).name == "Old"  # and a missing title keeps the known one


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("name,valence,energy\nSong,0.5,0.5\n", "no track id column"),
    ],
)
def test_nothing_readable_is_an_error_naming_the_file(
    tmp_path: Path, store: CatalogStore, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CsvImportError, match=message) as info:
        import_csv(path, store)
    assert str(path) in str(info.value)


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path, store: CatalogStore) -> None:
    with pytest.raises(CsvImportError, match=r"missing\.csv: cannot read"):
        import_csv(tmp_path / "missing.csv", store)


def test_parsers() -> None:
    assert parse_track_id(f"spotify:track:{A}") == A
    assert parse_track_id(f"https://open.spotify.com/intl-de/track/{A}?si=1") == A
    assert parse_track_id("spotify:album:xyz") is None
    assert parse_track_id("abc") is None
    assert parse_artists("['A', 'B']") == ("A", "B")
    assert parse_artists("[]") == ()
    assert parse_artists(" A ; B ;") == ("A", "B")
    assert parse_artists("Earth, Wind & Fire") == ("Earth, Wind & Fire",)
    assert parse_artists("NA") == ()
