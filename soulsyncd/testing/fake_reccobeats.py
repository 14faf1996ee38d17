"""A fake ReccoBeats audio-features service on 127.0.0.1, for tests, ``simulate`` and benchmarks.

It answers ``GET /v1/audio-features?ids=<id>,<id>…`` (comma-separated and/or repeated ``ids``) as
the real service does: ``{"content": [...]}`` with one item per *known* Spotify id (unknown ids are
simply absent), each item keyed by ReccoBeats' own UUID and linked to the Spotify id only through
``href`` (``https://open.spotify.com/track/<id>``), items in an order of its own (not the request's);
more than 40 ids (or none) is a 400 with the real body (``{"status": 4004, "errors": [{"message":
"size must be between 1 and 40"}]}``). Faults can be queued: any status with an optional
``Retry-After`` (429 rate limits), or a dropped connection.

    with FakeReccoBeats() as fake:
        fake.add("4uLU6hMCjMI75M1A2tKUQC", valence=0.8, energy=0.6, tempo=120.0)
        fake.fail_next(429, retry_after="3")
        ...  # point the client at fake.base_url
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["MAX_IDS", "FakeReccoBeats", "Fault"]

MAX_IDS = 40


@dataclass(frozen=True)
class Fault:
    """One queued failure: answer ``status`` (with ``Retry-After`` if given), or drop the connection."""

    status: int = 500
    retry_after: str | None = None
    drop: bool = False


@dataclass(frozen=True)
class _Features:
    valence: float
    energy: float
    tempo: float


class FakeReccoBeats:
    """The fake service; ``requests`` lists the ids of every audio-features request, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._features: dict[str, _Features] = {}
        self._faults: deque[Fault] = deque()
        self.requests: list[list[str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up -------------------------------------------------------------------------------------

    def add(self, track_id: str, *, valence: float, energy: float, tempo: float = 120.0) -> None:
        """Make the service know a Spotify track id's features."""
        with self._lock:
            self._features[track_id] = _Features(valence, energy, tempo)

    def fail_next(self, status: int = 500, *, retry_after: str | None = None, times: int = 1,
                  drop: bool = False) -> None:
        """Answer the next ``times`` requests with ``status`` (or drop them) instead of features."""
        with self._lock:
            self._faults.extend([Fault(status, retry_after, drop)] * times)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (the client appends ``/v1/audio-features``)."""
        if self._server is None:
            raise RuntimeError("FakeReccoBeats is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one connection per request: a dropped one is a clean error

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll so stop() returns at once (the default 0.5 s poll would slow every test).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-reccobeats", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeReccoBeats:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- serving ------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        if url.path.rstrip("/") != "/v1/audio-features":
            self._send(handler, 404, {"status": 404, "errors": [{"message": "Not found"}]})
            return
        ids = [i for value in parse_qs(url.query).get("ids", []) for i in value.split(",") if i]
        with self._lock:
            self.requests.append(ids)
            fault = self._faults.popleft() if self._faults else None
            known = {i: self._features[i] for i in dict.fromkeys(ids) if i in self._features}
        if fault is not None:
            if fault.drop:
                handler.close_connection = True
                handler.connection.close()
                return
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._send(handler, fault.status, {"status": fault.status, "errors": [{"message": "fault"}]},
                       headers)
            return
        if not 1 <= len(ids) <= MAX_IDS:
            self._send(handler, 400, {"timestamp": "2026-01-01T00:00:00Z", "status": 4004,
                                      "errors": [{"message": "size must be between 1 and 40"}]})
            return
        # The real service orders items its own way; reversed here so matching by position fails.
        content = [_item(track_id, features) for track_id, features in reversed(known.items())]
        self._send(handler, 200, {"content": content})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: object,
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


def _item(track_id: str, features: _Features) -> dict[str, object]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, track_id)),  # ReccoBeats' own id, not Spotify's
        "href": f"https://open.spotify.com/track/{track_id}",
        "acousticness": 0.2,
        "danceability": 0.5,
        "energy": features.energy,
        "instrumentalness": 0.0,
        "key": 5,
        "liveness": 0.1,
        "loudness": -7.5,
        "mode": 1,
        "speechiness": 0.05,
        "tempo": features.tempo,
        "valence": features.valence,
    }
