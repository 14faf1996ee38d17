"""A made-up catalog with realistic audio features, generated from a seed (``tools/make_catalog.py``).

The demo, ``simulate``, the tests and the benchmarks need tracks to choose from without anyone's
Spotify data. Titles, artists and ids are invented (ids are random 22-character base-62 strings, so
they do not name real tracks). The features follow the shape of the public Spotify-features
datasets: a dozen genre clusters spread over valence/energy space (dance and happy pop high/high,
ambient and piano low/low, metal low valence/high energy, bossa high valence/low energy, ...),
within each cluster valence and energy correlated (about 0.4, close to the datasets' overall
correlation), tempo per genre, durations of 2-6 minutes (median about 3.6), and artists with a
home genre and a long-tailed number of tracks (~4 tracks an artist).

``personal_library`` draws a personal-size library from it: a random subset that favours a quarter
of the artists, as a real listener's saved tracks do, while keeping every genre.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from soulsyncd.catalog.store import TRACK_URI_PREFIX, CatalogTrack

__all__ = ["GENRES", "Genre", "SampleTrack", "generate", "personal_library", "write_csv"]


@dataclass(frozen=True)
class Genre:
    """A cluster in feature space: mean and spread of valence/energy, tempo, and its share."""

    name: str
    valence: float
    energy: float
    spread: float
    tempo: float
    tempo_sd: float
    weight: float


GENRES: tuple[Genre, ...] = (
    Genre("happy pop", 0.82, 0.72, 0.10, 118, 10, 1.2),
    Genre("dance", 0.72, 0.86, 0.10, 124, 5, 1.0),
    Genre("funk & disco", 0.85, 0.62, 0.09, 112, 8, 0.7),
    Genre("rock", 0.52, 0.80, 0.13, 132, 18, 1.0),
    Genre("metal", 0.24, 0.92, 0.10, 142, 25, 0.6),
    Genre("hip-hop", 0.55, 0.66, 0.14, 96, 14, 0.9),
    Genre("soul", 0.62, 0.48, 0.12, 100, 14, 0.8),
    Genre("bossa & lounge", 0.70, 0.27, 0.10, 104, 14, 0.9),
    Genre("folk", 0.45, 0.33, 0.12, 108, 20, 0.8),
    Genre("sad indie", 0.18, 0.34, 0.08, 96, 18, 0.8),
    Genre("ambient", 0.17, 0.14, 0.08, 82, 14, 0.6),
    Genre("piano", 0.22, 0.10, 0.08, 88, 20, 0.6),
)
"""The clusters; together they cover every mood point the engine aims at."""

_CORRELATION = 0.4  # within a cluster, between valence and energy

_ADJECTIVES = (
    "Velvet", "Paper", "Neon", "Quiet", "Golden", "Hollow", "Electric", "Silver", "Wild", "Crimson",
    "Northern", "Lonely", "Bright", "Distant", "Broken", "Sunny", "Midnight", "Glass", "Amber", "Blue",
    "Restless", "Gentle", "Faded", "Burning", "Secret", "Little", "Endless", "Copper", "Static", "Lucky",
)
_NOUNS = (
    "Harbor", "Lanterns", "Echoes", "Foxes", "Satellites", "Rivers", "Orchards", "Engines", "Sparrows",
    "Tides", "Mirrors", "Comets", "Gardens", "Wolves", "Signals", "Horizons", "Pilots", "Meadows",
    "Shadows", "Kites", "Islands", "Machines", "Poets", "Summers", "Winters", "Lights", "Rooms",
)
_FIRST = (
    "Ada", "Milo", "Noor", "Jonas", "Lina", "Theo", "Maya", "Felix", "Iris", "Otto", "Zara", "Emil",
    "Nina", "Leon", "Rosa", "Arlo", "Vera", "Kai", "Edie", "Hugo", "Mina", "Oskar", "Lou", "Remy",
)
_LAST = (
    "Vale", "Marlowe", "Quinn", "Hart", "Sol", "Reyes", "Lind", "Okafor", "Novak", "Bloom", "Frost",
    "Ashby", "Moreau", "Kline", "Sato", "Byrne", "Castell", "Dune", "Wilder", "Page", "Rook", "Ember",
)
_BRIGHT_WORDS = (
    "Sunshine", "Dancing", "Golden Hour", "Fireworks", "Holiday", "Good Times", "Summer Love", "Lift Off",
    "Runaway Smile", "Sugar Rush", "Open Road", "Bright Side", "Party Lights", "Heartbeat", "Celebrate",
)
_DARK_WORDS = (
    "Rain", "Goodbye", "Empty Rooms", "Winter", "Ghosts", "Letters", "Undertow", "Last Train", "Grey",
    "Falling", "Old Photographs", "Silence", "Night Drive", "Ashes", "Cold Coffee", "Slow Hours",
)
_ANY_WORDS = (
    "Waves", "Paper Planes", "City", "Mirror", "Satellite", "Home", "Maps", "Window", "Horizon", "Echo",
    "Skyline", "Tide", "Lanterns", "Signals", "Highway", "Orbit", "Garden", "Harbor", "Compass", "Stars",
)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class SampleTrack:
    """A generated track and its genre."""

    track: CatalogTrack
    genre: str


def _artist_name(rng: random.Random, taken: set[str]) -> str:
    for _ in range(100):
        kind = rng.random()
        if kind < 0.4:
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        elif kind < 0.75:
            name = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        else:
            name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        if name not in taken:
            taken.add(name)
            return name
    name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)} {len(taken)}"
    taken.add(name)
    return name


def _title(rng: random.Random, valence: float) -> str:
    words = _BRIGHT_WORDS if valence > 0.6 else _DARK_WORDS if valence < 0.35 else _ANY_WORDS
    first = rng.choice(words)
    kind = rng.random()
    if kind < 0.35:
        return first
    if kind < 0.6:
        return f"{first} {rng.choice(('Again', 'Tonight', 'Forever', 'in June', 'No More', '(Reprise)'))}"
    if kind < 0.8:
        return f"{rng.choice(_ADJECTIVES)} {first}"
    return f"{first} & {rng.choice(_ANY_WORDS)}"


def _clip(value: float, low: float = 0.01, high: float = 0.99) -> float:
    return min(high, max(low, value))


def _features(rng: random.Random, genre: Genre) -> tuple[float, float, float]:
    a, b = rng.gauss(0, 1), rng.gauss(0, 1)
    valence = genre.valence + genre.spread * a
    energy = genre.energy + genre.spread * (_CORRELATION * a + math.sqrt(1 - _CORRELATION**2) * b)
    tempo = max(50.0, rng.gauss(genre.tempo, genre.tempo_sd))
    return round(_clip(valence), 3), round(_clip(energy), 3), round(tempo, 3)


def generate(seed: int = 7, tracks: int = 1200, artists: int | None = None) -> list[SampleTrack]:
    """``tracks`` made-up tracks, the same for the same arguments.

    Args:
        seed: Random seed.
        tracks: How many tracks.
        artists: How many artists (default: a quarter of the tracks, at least 30).
    """
    rng = random.Random(seed)
    n_artists = artists if artists is not None else max(30, round(tracks / 4))
    taken: set[str] = set()
    weights = [g.weight for g in GENRES]
    roster = [(_artist_name(rng, taken), rng.choices(GENRES, weights)[0]) for _ in range(n_artists)]
    # Long-tailed productivity: a few artists have many tracks, most a handful (capped, so no one
    # artist fills a mood's region on their own).
    productivity = [min(8.0, rng.paretovariate(1.6)) for _ in roster]
    cumulative = list(itertools.accumulate(productivity))  # choices() with cum_weights: O(log n) a pick
    out: list[SampleTrack] = []
    seen_ids: set[str] = set()
    for index in range(tracks):
        # Every artist gets a track first, then by productivity.
        artist_index = (
            index if index < n_artists else rng.choices(range(n_artists), cum_weights=cumulative)[0]
        )
        artist, home = roster[artist_index]
        # Mostly the artist's own genre, sometimes a neighbour's (albums are not all one mood).
        genre = home if rng.random() < 0.8 else rng.choices(GENRES, weights)[0]
        valence, energy, tempo = _features(rng, genre)
        names: tuple[str, ...] = (artist,)
        if rng.random() < 0.08:  # a featured artist
            guest = roster[rng.randrange(n_artists)][0]
            if guest != artist:
                names = (artist, guest)
        track_id = "".join(rng.choice(_BASE62) for _ in range(22))
        while track_id in seen_ids:
            track_id = "".join(rng.choice(_BASE62) for _ in range(22))
        seen_ids.add(track_id)
        duration = round(_clip(rng.lognormvariate(math.log(216), 0.22), 120, 360), 3)
        out.append(SampleTrack(
            CatalogTrack(uri=TRACK_URI_PREFIX + track_id, name=_title(rng, valence), artists=names,
                         duration_s=duration, valence=valence, energy=energy, tempo=tempo),
            genre.name,
        ))
    return out


def personal_library(catalog: Sequence[SampleTrack], size: int, seed: int = 7) -> list[SampleTrack]:
    """A personal-size library drawn from ``catalog``: ``size`` distinct tracks, in catalog order,
    favouring a random quarter of the artists (three times as likely)."""
    if size >= len(catalog):
        return list(catalog)
    rng = random.Random(seed * 7919 + size)
    artists = sorted({t.track.artists[0] for t in catalog})
    favourites = set(rng.sample(artists, max(1, len(artists) // 4)))
    # Weighted sampling without replacement (Efraimidis-Spirakis keys).
    keyed = sorted(
        range(len(catalog)),
        key=lambda i: rng.random() ** (1 / (3.0 if catalog[i].track.artists[0] in favourites else 1.0)),
        reverse=True,
    )
    chosen = sorted(keyed[:size])
    return [catalog[i] for i in chosen]


COLUMNS = ("track_id", "track_name", "artists", "track_genre", "duration_ms", "valence", "energy", "tempo")


def write_csv(tracks: Iterable[SampleTrack], path: Path | str) -> int:
    """Write tracks in the Kaggle "Spotify tracks" layout (``;``-separated artists), gzip if the
    name ends in ``.gz``. Returns the number of rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    rows = 0
    with opener(path, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for sample in tracks:
            t = sample.track
            writer.writerow((t.track_id, t.name, ";".join(t.artists), sample.genre,
                             round(t.duration_s * 1000), t.valence, t.energy, t.tempo))
            rows += 1
    return rows
