"""SIGUSR1's state dump: one INFO block that says what the daemon is doing right now.

For the person at the shelf with only ``journalctl``: ``systemctl kill -s USR1 soulsyncd`` and the
journal shows mode, target, mood, camera, player, broker, catalog size and uptime together.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soulsyncd.core.loop import SoulSync

log = logging.getLogger(__name__)


def state_dump(core: SoulSync | None, services: Sequence[object], uptime_s: float) -> str:
    """The block's text (one line per item, the first a header)."""
    lines = [f"state dump (SIGUSR1), uptime {_duration(uptime_s)}"]
    if core is None:
        lines.append("  pipeline: not built yet")
        return "\n".join(lines)
    state = core.latest()
    mood = (f"{state.mood.label} (confidence {state.mood.confidence:.2f})"
            if state.mood is not None else "unknown (no frame analysed yet)")
    lines.append(f"  mode: {state.mode}, target: {state.target}" + (", paused" if state.paused else ""))
    lines.append(f"  mood: {mood}, faces {state.faces}")
    camera = state.camera.value + (f" ({state.camera_detail})" if state.camera_detail else "")
    lines.append(f"  camera: {camera}, {state.stats.analysis_fps:.1f} frames/s, "
                 f"{state.stats.frames_analysed} frames analysed")
    player = state.player
    text = f"{player.status.value}"
    if player.device:
        text += f" on {player.device}"
    if player.track is not None:
        text += f", {'playing' if player.playing else 'holding'} {player.track.name!r}"
    if player.last_error:
        text += f", last error: {player.last_error}"
    lines.append(f"  player: {text}")
    lines.append(f"  broker: {_broker(services)}")
    lines.append(f"  catalog: {_catalog(core)}")
    if state.last_error:
        lines.append(f"  last error: {state.last_error}")
    return "\n".join(lines)


def log_state_dump(core: SoulSync | None, services: Sequence[object], uptime_s: float) -> None:
    try:
        text = state_dump(core, services, uptime_s)
    except Exception as exc:  # a dump must never harm the daemon it describes
        text = f"state dump (SIGUSR1) failed: {type(exc).__name__}: {exc}"
    log.info("%s", text)


def _broker(services: Sequence[object]) -> str:
    from soulsyncd.mqtt.client import MqttBridge

    for service in services:
        if isinstance(service, MqttBridge):
            where = f"{service.config.host}:{service.config.port}"
            return f"connected to {where}" if service.connected.is_set() else f"not connected ({where})"
    return "MQTT off"


def _catalog(core: SoulSync) -> str:
    from soulsyncd.catalog.store import CatalogStore

    store = core.resource(CatalogStore)
    if store is None:
        return "none"
    try:
        return f"{store.count()} tracks"
    except Exception as exc:
        return f"unreadable ({type(exc).__name__}: {exc})"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"
