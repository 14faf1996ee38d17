"""What this player started lately, kept across restarts, so it knows its own music from the listener's.

After a restart (or a reload) the track playing may be the one the daemon itself started a minute
ago; without this memory it would look like the listener's music and the player would keep its hands
off for a quarter of an hour. The file is tiny (a few track URIs) and written only when a track is
started or queued.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections import deque
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "spotify-player.json"
SIZE = 4  # the playing track, the queued one, and a little slack


class PlayedMemory:
    """The last :data:`SIZE` track URIs started or queued; persisted to ``path`` when given.

    Reading or writing the file never raises: a missing or broken file is an empty memory (logged).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._uris: deque[str] = deque(maxlen=SIZE)
        if path is not None:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self._uris.extend(str(uri) for uri in data.get("uris", [])[-SIZE:])
            except FileNotFoundError:
                pass
            except (OSError, ValueError, AttributeError, TypeError) as exc:
                log.warning("ignoring %s: %s", path, exc)

    def __contains__(self, uri: object) -> bool:
        return uri in self._uris

    def add(self, uri: str) -> None:
        """Remember ``uri`` as this player's (and save, best effort)."""
        if uri in self._uris:
            self._uris.remove(uri)
        self._uris.append(uri)
        if self.path is None:
            return
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps({"uris": list(self._uris)}), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("cannot save %s: %s", self.path, exc.strerror or exc)
            with contextlib.suppress(OSError):
                temporary.unlink()
