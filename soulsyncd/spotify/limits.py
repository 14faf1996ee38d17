"""The Spotify player's limits, declared once: the config's fields (``soulsyncd.spotify.settings``) use
these same constants, so a value the config accepts is one the player runs with. No imports: loading
the config must not load spotipy."""

from __future__ import annotations

VOLUME_MAX = 100  # percent
PORT_MAX = 65535
BOUNDARY_LEAD_S_MAX = 60.0  # queueing earlier only lets a later mood change miss this boundary
POLL_INTERVAL_S_MIN = 0.5  # faster would spend the rate limit on nothing (Spotify updates ~1/s)
POLL_INTERVAL_S_MAX = 60.0  # slower and a queued boundary (boundary_lead_s) can be missed
TAKEOVER_BACKOFF_S_MAX = 24 * 3600.0
REQUEST_TIMEOUT_S_MAX = 120.0
RETRY_S_MAX = 3600.0  # retry_initial_s and retry_max_s: an hour between tries at most
RETRY_AFTER_S_MAX = 24 * 3600.0  # a clamp for Retry-After beyond a day is no clamp
PLAYLIST_REFRESH_H_MAX = 7 * 24.0
SKIP_THRESHOLD_S = 30.0  # a track left before this many seconds counts as skipped for the engine
