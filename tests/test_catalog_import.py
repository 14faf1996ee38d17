"""The CSV importer on files written in each public dataset's layout, with broken rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    """tidytuesday 30000 Spotify songs: ``track_artist``, ``NA`` values. A bad row is skipped and
    named; NA features give a track without features; an NA title is a bad row, not a nameless track."""
    header = ("track_id,track_name,track_artist,track_popularity,track_album_id,playlist_genre,danceability,"
              "energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,"
              "duration_ms\n")
    rows = [
        f"{A},I Don't Care,Ed Sheeran,66,2oCs0DGTsRO98Gh5ZSl2Cx,pop,0.748,0.916,6,-2.634,1,0.0583,0.102,0,"
        "0.0653,0.518,122.036,194754",                                                   # line 2: good
        ",No Id,Nobody,1,x,pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,100,200000",           # 3: missing id
        f"{B},NA Valence,Someone,1,x,pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,NA,100,200000",   # 4: no features
        f"{C},Too Loud,Someone,1,x,pop,0.5,1.3,1,-5,1,0.1,0.1,0,0.1,0.5,100,200000",    # 5: out of 0-1
        f"{D},Bad Tempo,Someone,1,x,pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,fast,200000",  # 6: bad number
        "not-an-id,Bad Id,Someone,1,x,pop,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,100,200000",  # 7: bad id
        f"{tid(7)},NaN Energy,Someone,1,x,pop,0.5,nan,1,-5,1,0.1,0.1,0,0.1,0.5,100,200000",  # 8: no features
        "",                                                                             # 9: blank, ignored
        f"{tid(9)},NA,NA,1,x,pop,0.5,0.4,1,-5,1,0.1,0.1,0,0.1,0.3,NA,NA",               # 10: missing title
        *(f"{tid(20 + i)},Song {i},NA,1,x,pop,0.5,0.4,1,-5,1,0.1,0.1,0,0.1,0.3,NA,NA" for i in range(3)),
    ]
    path = write(tmp_path, header + "\n".join(rows) + "\n")
    seen: list[RejectedRow] = []
    report = import_csv(path, store, on_reject=seen.append)
    assert report.rejected == seen == [
        RejectedRow(3, "missing track id"),
        RejectedRow(5, "energy: 1.3 out of 0-1"),
        RejectedRow(6, "tempo: bad number 'fast'"),
        RejectedRow(7, "bad track id 'not-an-id'"),
        RejectedRow(10, "missing title"),
    ]
    assert (report.rows, report.imported, report.without_features, report.discarded) == (11, 6, 2, False)
    assert get(store, A).artists == ("Ed Sheeran",)
    assert get(store, B) == CatalogTrack(f"spotify:track:{B}", "NA Valence", ("Someone",), 200.0, None, None,
                                         100.0, None)
    assert store.track(f"spotify:track:{tid(9)}") is None
    assert get(store, tid(20)) == CatalogTrack(f"spotify:track:{tid(20)}", "Song 0", (), 0.0, 0.3, 0.4, None,
                                               "csv:tracks")


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


def test_todays_exportify_track_duration_column(tmp_path: Path, store: CatalogStore) -> None:
    """Exportify now writes "Track Duration (ms)" (and "Artist URI(s)" ...): the length was lost, and MQTT
    said `duration_s: 0.0` (seen importing an export in a Trixie box)."""
    path = write(tmp_path, (
        '"Track URI","Track Name","Artist URI(s)","Artist Name(s)","Album Name","Track Duration (ms)",'
        '"Energy","Valence"\n'
        f'"spotify:track:{A}","Song","spotify:artist:x","Band A,Band B","Album","200000","0.6","0.7"\n'
    ))
    import_csv(path, store)
    track = get(store, A)
    assert track is not None
    assert track.duration_s == 200.0


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


def test_an_interrupted_import_leaves_the_catalog_as_it_was(tmp_path: Path, store: CatalogStore) -> None:
    store.upsert_tracks([CatalogTrack(f"spotify:track:{tid(1)}", "Old", ("X",), valence=0.1, energy=0.1)],
                        source="csv:old")
    path = write(tmp_path, "track_id,name,valence,energy\n" + "".join(
        f"{tid(i)},Song {i},0.9,0.9\n" for i in range(20000)))
    seen: list[int] = []

    def interrupt(_done: float, rows: int) -> None:
        if rows > 10000:  # half-way through writing, several batches in
            raise KeyboardInterrupt
        seen.append(rows)

    with pytest.raises(KeyboardInterrupt):
        import_csv(path, store, on_progress=interrupt)
    assert max(seen) > 5000
    assert store.count() == 1
    assert get(store, tid(1)).name == "Old"


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
        ("track_id,name,valence,energy\r\n\r\n", "a header and no rows"),
        ("\ufeff", "empty file"),
    ],
)
def test_nothing_readable_is_an_error_naming_the_file(
    tmp_path: Path, store: CatalogStore, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CsvImportError, match=message) as info:
        import_csv(path, store)
    assert str(path) in str(info.value)


def test_a_zip_json_or_folder_is_refused_with_what_to_do(tmp_path: Path, store: CatalogStore) -> None:
    import zipfile

    archive = tmp_path / "spotify_playlists.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("liked.csv", f"id,name,valence,energy\n{A},x,0.5,0.5\n")
    with pytest.raises(CsvImportError, match="a zip archive or an Excel workbook, not a CSV: unzip it"):
        import_csv(archive, store)
    with pytest.raises(CsvImportError, match="JSON, not a CSV"):
        import_csv(write(tmp_path, '{"tracks": []}', "YourLibrary.json"), store)
    with pytest.raises(CsvImportError, match="not a regular file"):
        import_csv(tmp_path, store)


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


# --- real files: delimiters, encodings, scales, bad rows, artists ------------------------------------


def write_bytes(tmp_path: Path, data: bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_semicolon_file_with_decimal_commas(tmp_path: Path, store: CatalogStore) -> None:
    """A European spreadsheet: ';' between fields, ',' in numbers (the sniffer alone would say ',')."""
    path = write(tmp_path, (
        "track_id;track_name;artists;valence;energy;tempo\n"
        f"{A};Comedy;Gen Hoshino;0,715;0,461;87,917\n"
        f"{B};To Begin Again;Ingrid Michaelson;0,267;0,166;77,489\n"
    ))
    report = import_csv(path, store)
    assert (report.imported, report.rejected_count, report.delimiter) == (2, 0, "semicolon")
    assert (get(store, A).valence, get(store, A).energy, get(store, A).tempo) == (0.715, 0.461, 87.917)
    assert get(store, B).name == "To Begin Again"


def test_a_tab_separated_file(tmp_path: Path, store: CatalogStore) -> None:
    path = write(tmp_path, (
        "id\tname\tartists\tvalence\tenergy\n"
        f"{A}\tGuns, Pistols\tEarth, Wind & Fire\t0.5\t0.25\n"
    ), "tracks.tsv")
    report = import_csv(path, store)
    assert (report.imported, report.delimiter, report.source) == (1, "tab", "csv:tracks")
    assert get(store, A) == CatalogTrack(f"spotify:track:{A}", "Guns, Pistols", ("Earth, Wind & Fire",), 0.0,
                                         0.5, 0.25, None, "csv:tracks")


@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-8-sig", "UTF-8 with BOM"), ("utf-16", "UTF-16"), ("utf-16-le", "UTF-16 LE (no BOM)")],
)
def test_utf8_bom_and_utf16(tmp_path: Path, store: CatalogStore, encoding: str, label: str) -> None:
    text = ("Track URI;Track Name;Artist Name(s);Valence;Energy\r\n"
            f"spotify:track:{A};Café del Mar;Énergie;0,5;0,6\r\n")
    report = import_csv(write_bytes(tmp_path, text.encode(encoding)), store)
    assert (report.imported, report.encoding, report.notes) == (1, label, [])
    assert get(store, A).name == "Café del Mar"
    assert get(store, A).artists == ("Énergie",)


@pytest.mark.parametrize("filler", [0, 3000], ids=["in-the-first-lines", "after-64-KiB"])
def test_cp1252_is_read_right_and_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], filler: int
) -> None:
    """Windows-1252 (Excel's "CSV" on Windows): names stay right, one warning, wherever the first
    non-UTF-8 byte is (in the sniffed sample or far beyond it)."""
    from soulsyncd.cli import main

    lines = ["track_id,track_name,artist,valence,energy"]
    lines += [f"{tid(100 + i)},Song {i},Artist {i},0.5,0.5" for i in range(filler)]
    lines += [f"{A},Café del Mar,Energy 52,0.4,0.3", f"{B},Señor \u2013 “Quoted”,Zoë,0.6,0.7",
              f"{C},Ÿ\x81,X,0.1,0.1"]
    path = write_bytes(tmp_path, _cp1252(lines))
    catalog = tmp_path / "c.sqlite3"
    assert main(["library", "import", str(path), "--catalog", str(catalog)]) == 0
    err = capsys.readouterr().err
    assert err.count("not UTF-8") == 1
    assert "read as Windows-1252 (cp1252)" in err
    with CatalogStore(catalog) as store:
        assert get(store, A).name == "Café del Mar"
        assert (get(store, B).name, get(store, B).artists) == ("Señor \u2013 “Quoted”", ("Zoë",))
        assert get(store, C).name == "Ÿ\x81"  # 0x81 is undefined in cp1252: read as Latin-1, not U+FFFD
        assert all("\ufffd" not in t.name for t in store.tracks())


def _cp1252(lines: list[str]) -> bytes:
    """The lines in Windows-1252, with U+0081 as the byte 0x81 that cp1252 leaves undefined."""
    def encode(line: str) -> bytes:
        return b"".join(ch.encode("latin-1") if ch == "\x81" else ch.encode("cp1252") for ch in line)
    return b"".join(encode(line) + b"\r\n" for line in lines)


def test_a_0_to_100_scale_is_divided_and_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Most values above 1, all within 0-100: the column is a percentage. Rows that happen to be 0
    or 1 are on the same scale, not bad rows."""
    from soulsyncd.cli import main

    rows = [f"{tid(i)},Song {i},Band,{(i * 7) % 99 + 2},{i % 100}" for i in range(300)]
    rows += [f"{A},Zero,Band,0,1", f"{B},One,Band,1,0"]
    path = write(tmp_path, "id,name,artist,valence,energy\n" + "\n".join(rows) + "\n")
    catalog = tmp_path / "c.sqlite3"
    assert main(["library", "import", str(path), "--catalog", str(catalog)]) == 0
    captured = capsys.readouterr()
    assert "skipped" not in captured.err
    assert captured.err.count("valence is on a 0-100 scale") == 1
    assert captured.err.count("energy is on a 0-100 scale") == 1
    assert "imported 302 tracks" in captured.out
    with CatalogStore(catalog) as store:
        assert (get(store, A).valence, get(store, A).energy) == (0.0, 0.01)
        assert (get(store, B).valence, get(store, B).energy) == (0.01, 0.0)
        assert get(store, tid(5)).valence == 0.37


def test_a_0_to_1_column_with_a_few_values_above_1_keeps_its_scale(
    tmp_path: Path, store: CatalogStore
) -> None:
    rows = [f"{tid(i)},S,0.{i % 9 + 1},0.5" for i in range(10)] + [f"{A},S,2,0.5", f"{B},S,3,0.5"]
    report = import_csv(write(tmp_path, "id,name,valence,energy\n" + "\n".join(rows) + "\n"), store)
    assert (report.imported, report.notes) == (10, [])
    assert [r.reason for r in report.rejected] == ["valence: 2 out of 0-1", "valence: 3 out of 0-1"]


def test_a_column_on_no_known_scale_is_refused(tmp_path: Path, store: CatalogStore) -> None:
    rows = [f"{tid(i)},S,0.5,{i * 3}" for i in range(100)]
    path = write(tmp_path, "id,name,valence,energy\n" + "\n".join(rows) + "\n")
    with pytest.raises(CsvImportError, match=r"energy: 99 of 100 values are above 1 and 66 outside 0-100 "
                                             r"\(largest 297\).*nothing imported"):
        import_csv(path, store)
    assert store.count() == 0


def test_a_mostly_bad_file_exits_65_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from soulsyncd.cli import main

    catalog = tmp_path / "c.sqlite3"
    good = write(tmp_path, f"id,name,valence,energy\n{A},Kept,0.5,0.5\n", "good.csv")
    assert main(["library", "import", str(good), "--catalog", str(catalog)]) == 0
    rows = [f"{tid(i)},S,0.5,0.5" for i in range(40)] + [f"x{i},S,0.5,0.5" for i in range(42)]
    rows.append(f"{A},Changed,0.9,0.9")
    bad = write(tmp_path, "id,name,valence,energy\n" + "\n".join(rows) + "\n", "bad.csv")
    capsys.readouterr()
    assert main(["library", "import", str(bad), "--catalog", str(catalog)]) == 65
    err = capsys.readouterr().err
    assert "42 of 83 rows rejected, so nothing was imported" in err
    with CatalogStore(catalog) as store:
        assert store.count() == 1
        assert get(store, A).name == "Kept"


def test_bad_rows_are_reported_as_the_first_20_and_a_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from soulsyncd.cli import main

    rows = [f"{tid(i)},S,0.5,0.5" for i in range(100)]
    rows += [f"bad{i},S,0.5,0.5" for i in range(30)] + [f"{tid(500 + i)},NA,0.5,0.5" for i in range(15)]
    path = write(tmp_path, "id,name,valence,energy\n" + "\n".join(rows) + "\n")
    assert main(["library", "import", str(path), "--catalog", str(tmp_path / "c.sqlite3")]) == 0
    captured = capsys.readouterr()
    skipped = [line for line in captured.err.splitlines() if ": skipped: " in line]
    assert len(skipped) == 20
    assert skipped[0] == f"{path}:102: skipped: bad track id 'bad0'"
    assert f"{path}: ... and 25 more rows rejected" in captured.err
    assert f"{path}: 45 of 145 rows rejected: bad track id 30, missing title 15" in captured.err
    assert "imported 100 tracks" in captured.out
    assert "45 rows rejected" in captured.out


@pytest.mark.parametrize("title", ["NA", "N/A", "null", "", "  ", "None"])
def test_a_row_without_a_title_is_reported_not_imported_nameless(
    tmp_path: Path, store: CatalogStore, title: str
) -> None:
    rows = [f"{tid(i)},Song {i},0.5,0.5" for i in range(3)] + [f'{A},"{title}",0.5,0.5']
    path = write(tmp_path, "track_id,track_name,valence,energy\n" + "\n".join(rows) + "\n")
    report = import_csv(path, store)
    assert report.rejected == [RejectedRow(5, "missing title")]
    assert store.track(f"spotify:track:{A}") is None
    assert store.count() == 3


def test_bracketed_artist_names_and_kaggle_lists(tmp_path: Path, store: CatalogStore) -> None:
    """``[ALEXANDROS]`` is a band; ``['A', 'B']`` (the 600k and 1.2M datasets) is a list."""
    path = write(tmp_path, (
        "id,name,artists,valence,energy\n"
        f"{A},Wataridori,[ALEXANDROS],0.5,0.5\n"
        f"{B},Duet,\"['[ALEXANDROS]', 'Tyler, The Creator']\",0.5,0.5\n"
        f"{C},Solo,\"['Uli']\",0.5,0.5\n"
        f"{D},Nobody,[],0.5,0.5\n"
    ))
    assert import_csv(path, store).imported == 4
    assert get(store, A).artists == ("[ALEXANDROS]",)
    assert get(store, B).artists == ("[ALEXANDROS]", "Tyler, The Creator")
    assert get(store, C).artists == ("Uli",)
    assert get(store, D).artists == ()


def test_exportify_artist_names_are_split_on_commas_a_plain_artist_column_is_not(
    tmp_path: Path, store: CatalogStore
) -> None:
    exportify = write(tmp_path, (
        '"Track URI","Track Name","Album Name","Artist Name(s)","Release Date","Duration (ms)","Popularity",'
        '"Added By","Added At","Danceability","Energy","Key","Loudness","Mode","Speechiness","Acousticness",'
        '"Instrumentalness","Liveness","Valence","Tempo","Time Signature"\n'
        f'"spotify:track:{A}","Earfquake","IGOR","Tyler, The Creator,Playboi Carti","2019-05-17","190066",'
        '"80","","2024-01-02T10:00:00Z","","","","","","","","","","","",""\n'
        f'"spotify:track:{B}","Song","Album","[ALEXANDROS]","2019","200000","1","","","0.5","0.6","1","-5",'
        '"1","0.1","0.1","0","0.1","0.7","120","4"\n'
        '"spotify:local:::Home+Video:60","Home Video","","","","60000","0","","","","","","","","","","","",'
        '"","","",""\n'
    ), "liked_songs.csv")
    report = import_csv(exportify, store)
    assert (report.imported, report.without_features) == (2, 1)
    local = "a local file, not a Spotify track: 'spotify:local:::Home+Video:60'"
    assert report.rejected == [RejectedRow(4, local)]
    # An older Exportify joined with ',' -- which splits "Tyler, The Creator" too: what it wrote.
    assert get(store, A).artists == ("Tyler", "The Creator", "Playboi Carti")
    assert (get(store, A).valence, get(store, A).duration_s) == (None, 190.066)
    assert get(store, B).artists == ("[ALEXANDROS]",)
    assert get(store, B).valence == 0.7
    newer = write(tmp_path, (
        '"Track URI","Track Name","Artist Name(s)","Valence","Energy"\n'
        f'"spotify:track:{C}","Earfquake","Tyler, The Creator;Playboi Carti","",""\n'
        f'"spotify:track:{D}","Yonkers","Tyler, The Creator","",""\n'
    ), "newer_exportify.csv")
    import_csv(newer, store)  # a later Exportify joins with ';': then a comma is part of a name
    assert get(store, C).artists == ("Tyler, The Creator", "Playboi Carti")
    assert get(store, D).artists == ("Tyler, The Creator",)
    plain = write(tmp_path, f'uri,artist,valence,energy\n{tid(1)},"Tyler, The Creator",0.5,0.5\n')
    import_csv(plain, store)
    assert get(store, tid(1)).artists == ("Tyler, The Creator",)


def test_the_progress_line_waits_then_draws_then_erases() -> None:
    import io

    from soulsyncd.catalog.csvfile import ProgressLine

    now = [0.0]
    out = io.StringIO()
    line = ProgressLine(out, "importing x.csv", after_s=2.0, every_s=0.5, clock=lambda: now[0])
    line(0.1, 0)
    now[0] = 1.9
    line(0.2, 0)
    assert out.getvalue() == ""  # a short import prints nothing extra
    now[0] = 2.5
    line(0.25, 0)
    line(0.3, 0)  # too soon to redraw
    assert out.getvalue().count("\r") == 1
    assert "importing x.csv [######------------------]  25 % checking, 2 s" in out.getvalue()
    now[0] = 3.1
    line(0.75, 1234)
    assert "75 % 1,234 rows" in out.getvalue()
    line.close()
    assert out.getvalue().endswith("\r\x1b[K")


_TEXT = st.text(
    st.characters(codec="cp1252", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30
).map(str.strip).filter(lambda t: t.lower() not in {"", "na", "n/a", "nan", "null", "none", "-", "#n/a"})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(_TEXT, _TEXT.filter(lambda t: not t.startswith("[")), st.integers(0, 1000),
                            st.integers(0, 1000)), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_any_names_survive_any_delimiter_and_encoding(
    tmp_path: Path, rows: list[tuple[str, str, int, int]], delimiter: str, encoding: str
) -> None:
    """Whatever the names hold (commas, semicolons, quotes, accents), a file written by Python's csv
    module in any of the accepted delimiters and encodings reads back exactly."""
    import csv
    import io

    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["track_id", "track_name", "artist", "valence", "energy"])
    for i, (title, artist, valence, energy) in enumerate(rows):
        writer.writerow([tid(i), title, artist, f"{valence / 1000:.3f}", f"{energy / 1000:.3f}"])
    path = tmp_path / f"names-{encoding}.csv"
    path.write_bytes(text.getvalue().encode(encoding))
    store = CatalogStore(":memory:")
    report = import_csv(path, store)
    assert (report.rejected, report.imported) == ([], len(rows))
    for i, (title, artist, valence, energy) in enumerate(rows):
        got = get(store, tid(i))
        assert (got.name, got.artists) == (title, tuple(a.strip() for a in artist.split(";") if a.strip()))
        assert (got.valence, got.energy) == (valence / 1000, energy / 1000)


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [
        # csv.Sniffer alone says ';' here (it reads ;'Live' as a quoted field after a ';').
        (f"id,name\n{A},Outro;'Live'\n", ","),
        (f"track_id,track_name,artists\n{A},Intro,;'Til Tuesday'\n", ","),
        (f"id\n{A}\n", ","),  # one column: the sniffer gives up
        (f"Track URI;Track Name\nspotify:track:{A};A, B and C\n", ";"),
        (f"track_id\ttrack_name\n{A}\tSong, Part 1; live\n", "\t"),
        ("title;valence\nx;0,5\n", ";"),  # no id column with any: the header's most frequent
    ],
)
def test_the_delimiter_is_checked_against_the_header(sample: str, delimiter: str) -> None:
    from soulsyncd.catalog.csvfile import sniff_delimiter
    from soulsyncd.catalog.importer import has_id_column

    assert sniff_delimiter(sample, has_id_column) == delimiter
