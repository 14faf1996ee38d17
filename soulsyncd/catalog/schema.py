"""The catalog file's schema: the versioned migrations, the feature-source trust order and the
track upsert that honours it. :mod:`soulsyncd.catalog.store` is the only user."""

from __future__ import annotations

# Trust of each feature source, by the part of its name before ':' ("csv:kaggle-2023" -> "csv").
_SOURCE_RANKS: dict[str, int] = {
    "csv": 40,  # a dataset of Spotify's own audio features, imported by the user
    "reccobeats": 30,  # a third-party look-up by Spotify id (its own analysis, close to Spotify's)
    "enrich": 30,
    "learned": 20,  # moved by the listener's own responses
    "playlist-tag": 10,  # only the mood tag of a playlist the track is on: a prior
    "legacy": 5,  # features from a schema-1 file, whose origin was not recorded
}
_UNKNOWN_SOURCE_RANK = 30


def source_rank(source: str) -> int:
    """How much a feature source is trusted; higher wins (``csv`` 40 > ``reccobeats`` 30 >
    ``learned`` 20 > ``playlist-tag`` 10). Unknown sources rank with the look-up services."""
    return _SOURCE_RANKS.get(source.split(":", 1)[0], _UNKNOWN_SOURCE_RANK)


# --- schema -----------------------------------------------------------------------------------------

# Each entry takes the file from version i to i + 1. Never edit a released entry: append a new one.
MIGRATIONS: tuple[str, ...] = (
    # v1: the track cache.
    """
    CREATE TABLE tracks (
        uri TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        artists TEXT NOT NULL DEFAULT '[]',
        duration_s REAL NOT NULL DEFAULT 0,
        valence REAL,
        energy REAL,
        added_at REAL NOT NULL DEFAULT 0
    );
    """,
    # v2: where each feature came from, tempo; mood playlists; plays and learned feedback; the
    # ids already asked of the look-up service.
    """
    ALTER TABLE tracks ADD COLUMN tempo REAL;
    ALTER TABLE tracks ADD COLUMN feature_source TEXT;
    ALTER TABLE tracks ADD COLUMN feature_rank INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tracks ADD COLUMN updated_at REAL NOT NULL DEFAULT 0;
    UPDATE tracks SET feature_source = 'legacy', feature_rank = 5, updated_at = added_at
        WHERE valence IS NOT NULL AND energy IS NOT NULL;
    CREATE TABLE playlists (
        uri TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tag TEXT,
        valence REAL,
        energy REAL,
        refreshed_at REAL NOT NULL
    );
    CREATE TABLE playlist_items (
        playlist_uri TEXT NOT NULL REFERENCES playlists(uri) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        track_uri TEXT NOT NULL,
        PRIMARY KEY (playlist_uri, position)
    );
    CREATE TABLE plays (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uri TEXT NOT NULL,
        context TEXT NOT NULL,
        at REAL NOT NULL,
        listened_s REAL NOT NULL,
        skipped INTEGER NOT NULL,
        full_play INTEGER NOT NULL,
        valence_change REAL,
        arousal_change REAL
    );
    CREATE INDEX plays_at ON plays(at);
    CREATE TABLE feedback (
        context TEXT NOT NULL,
        uri TEXT NOT NULL,
        plays INTEGER NOT NULL DEFAULT 0,
        full_plays INTEGER NOT NULL DEFAULT 0,
        skips INTEGER NOT NULL DEFAULT 0,
        valence_change_sum REAL NOT NULL DEFAULT 0,
        arousal_change_sum REAL NOT NULL DEFAULT 0,
        affect_samples INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (context, uri)
    );
    CREATE TABLE enrich_asked (
        track_id TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        asked_at REAL NOT NULL,
        found INTEGER NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# Features change only when the incoming ones are complete and at least as trusted as the stored
# ones (or nothing usable is stored). In an upsert's SET every bare column is the *old* value.
_WINS = (
    "(excluded.valence IS NOT NULL AND excluded.energy IS NOT NULL AND "
    "(tracks.valence IS NULL OR tracks.energy IS NULL OR excluded.feature_rank >= tracks.feature_rank))"
)
UPSERT_TRACK = f"""
    INSERT INTO tracks (uri, name, artists, duration_s, valence, energy, tempo, feature_source,
                        feature_rank, added_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (uri) DO UPDATE SET
        name = CASE WHEN excluded.name != '' THEN excluded.name ELSE tracks.name END,
        artists = CASE WHEN excluded.artists != '[]' THEN excluded.artists ELSE tracks.artists END,
        duration_s = CASE WHEN excluded.duration_s > 0 THEN excluded.duration_s ELSE tracks.duration_s END,
        valence = CASE WHEN {_WINS} THEN excluded.valence ELSE tracks.valence END,
        energy = CASE WHEN {_WINS} THEN excluded.energy ELSE tracks.energy END,
        tempo = CASE WHEN {_WINS} THEN coalesce(excluded.tempo, tracks.tempo)
                     ELSE coalesce(tracks.tempo, excluded.tempo) END,
        feature_source = CASE WHEN {_WINS} THEN excluded.feature_source ELSE tracks.feature_source END,
        feature_rank = CASE WHEN {_WINS} THEN excluded.feature_rank ELSE tracks.feature_rank END,
        updated_at = excluded.updated_at
"""
TRACK_COLUMNS = "uri, name, artists, duration_s, valence, energy, tempo, feature_source"
HAS_FEATURES = "valence IS NOT NULL AND energy IS NOT NULL"
