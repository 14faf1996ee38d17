"""The doctor's network checks: Spotify (token, login, speaker, mood playlists) and the MQTT broker
(reachable, credentials, discovery prefix). See :mod:`soulsyncd.doctor.checks`."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soulsyncd.doctor.report import Check, as_service, service_uid, sudo_form, user_name
from soulsyncd.service.installed import (
    CREDSTORE,
    SERVICE_USER,
    STATE_DIR,
    installed_secret,
    secret_available,
)

if TYPE_CHECKING:
    from soulsyncd.config import Config, SpotifyPlayerConfig
    from soulsyncd.mqtt.settings import MqttConfig
    from soulsyncd.spotify.client import SpotifyClient

MQTT_CONNECT_TIMEOUT_S = 5.0
MQTT_RETAINED_WAIT_S = 1.0  # retained messages arrive right after SUBACK; this is plenty on a LAN


# --- Spotify ----------------------------------------------------------------------------------------


def check_spotify(config: Config, api_base: str | None) -> Iterator[Check]:
    from soulsyncd.config import SpotifyPlayerConfig
    from soulsyncd.spotify.auth import token_path

    settings = config.player
    if not isinstance(settings, SpotifyPlayerConfig):
        yield Check("spotify", "off", f"player.kind is {settings.kind}")
        return
    path = token_path(config.state.dir)
    token = _token_check(config, path)
    yield token
    if token.status == "fail" or token.detail.startswith("cannot"):
        return
    if not os.access(path, os.R_OK):
        yield Check("spotify login", "warn", f"cannot read {path} as {user_name(os.geteuid())}",
                    "sudo soulsyncd doctor")
        return
    with as_service(path.parent):  # a refreshed token is written back: it stays the service's
        yield from _login_checks(config, settings, path, api_base)


def _token_check(config: Config, path: Path) -> Check:
    try:
        info = path.stat()
    except FileNotFoundError:
        return Check("spotify token", "fail", f"no login at {path}", sudo_form("soulsyncd spotify-login"))
    except PermissionError:
        return Check("spotify token", "warn", f"cannot look at {path} as {user_name(os.geteuid())}",
                     "sudo soulsyncd doctor")
    uid = service_uid(config)
    mode = stat.S_IMODE(info.st_mode)
    if uid is not None and Path(config.state.dir) == STATE_DIR and info.st_uid != uid:
        return Check("spotify token", "fail", f"{path} is {user_name(info.st_uid)}'s: the service "
                     f"(user {SERVICE_USER}) cannot read it", sudo_form("soulsyncd spotify-login"))
    if mode & 0o077:
        return Check("spotify token", "warn", f"{path} is mode {mode:04o}: others can read the login",
                     f"chmod 600 {path}")
    return Check("spotify token", "ok", f"{path} ({user_name(info.st_uid)}'s, mode {mode:04o})")


def _login_checks(config: Config, settings: SpotifyPlayerConfig, path: Path,
                  api_base: str | None) -> Iterator[Check]:
    from soulsyncd.spotify.auth import CLIENT_SECRET_NAME, TokenCache, install_redaction, make_auth_manager
    from soulsyncd.spotify.client import SpotifyClient
    from soulsyncd.spotify.errors import LoginRequiredError, SpotifyError

    install_redaction()
    base = api_base.rstrip("/") if api_base else None
    auth = make_auth_manager(
        client_id=settings.client_id, redirect_uri=settings.redirect_uri, cache=TokenCache(path),
        client_secret=installed_secret(CLIENT_SECRET_NAME), timeout_s=settings.request_timeout_s,
        token_url=f"{base}/api/token" if base else None,
        authorize_url=f"{base}/authorize" if base else None)
    client = SpotifyClient(auth, timeout_s=settings.request_timeout_s,
                           api_prefix=f"{base}/v1/" if base else None)
    try:
        me = client.me()
        devices = client.devices()
    except LoginRequiredError as exc:
        yield Check("spotify login", "fail", str(exc), sudo_form("soulsyncd spotify-login"))
        return
    except SpotifyError as exc:
        yield Check("spotify login", "fail", f"Spotify did not answer: {exc}",
                    "check the network; Spotify's status page")
        return
    who = me.get("display_name") or me.get("id") or "unknown"
    yield Check("spotify login", "ok", f"logged in as {who}")
    yield _speaker(settings.device, devices)
    for tag, spec in config.music.playlists.items():
        for uri in spec.uris:
            yield _playlist(client, f"music.playlists.{tag}", uri)


def _playlist(client: SpotifyClient, where: str, uri: str) -> Check:
    from soulsyncd.spotify.client import playlist_id
    from soulsyncd.spotify.errors import SpotifyError

    pid = playlist_id(uri)
    if pid is None:
        return Check("playlist", "fail", f"{where}: {uri} is not a playlist",
                     "use spotify:playlist:ID or an open.spotify.com/playlist link")
    try:
        name = client.playlist_name(pid)
    except SpotifyError as exc:
        return Check("playlist", "fail", f"{where}: {uri} cannot be read: {exc}",
                     "is it yours (or followed), and not deleted? copy its link again")
    return Check("playlist", "ok", f"{where}: {name!r} readable")


def _speaker(wanted: str | None, devices: list[Any]) -> Check:
    names = ", ".join(d.name for d in devices) or "none"
    if wanted is None:
        active = [d for d in devices if d.active and not d.restricted]
        if active:
            return Check("speaker", "ok", f"plays on the active speaker, now {active[0].name}")
        return Check("speaker", "warn", f"no speaker is active now (visible: {names})",
                     "set player.device, or play something on a speaker once")
    found = [d for d in devices if d.name.casefold() == wanted.casefold()]
    if not found:
        return Check("speaker", "fail", f"player.device {wanted!r} is not visible (visible: {names})",
                     "wake it (play something on it once) or check the spelling")
    if all(d.restricted for d in found):
        return Check("speaker", "fail", f"{wanted!r} is visible but accepts no commands (restricted)",
                     "choose another speaker in player.device")
    return Check("speaker", "ok", f"{wanted!r} is visible")


# --- MQTT -------------------------------------------------------------------------------------------


def check_mqtt(config: Config) -> Iterator[Check]:
    settings = config.mqtt
    if not settings.enabled:
        yield Check("mqtt", "off", "mqtt.enabled is false")
        return
    password = None
    if settings.username is not None:
        password = installed_secret("mqtt-password")
        if password is None and secret_available("mqtt-password") is None:
            yield Check("mqtt", "warn", f"cannot read {CREDSTORE}/mqtt-password as "
                        f"{user_name(os.geteuid())}", "sudo soulsyncd doctor")
            return
    probe = _BrokerProbe(settings, password)
    try:
        connected = probe.connect()
        yield connected
        if connected.status != "ok":
            return
        if not settings.discovery:
            yield Check("discovery", "off", "mqtt.discovery is false")
            return
        yield probe.discovery()
    finally:
        probe.close()


class _BrokerProbe:
    """One short connection of our own to the broker (its own client id: taking the service's would
    disconnect the service)."""

    def __init__(self, settings: MqttConfig, password: str | None) -> None:
        from paho.mqtt import client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.settings = settings
        v5 = settings.protocol == "5"
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id=f"{settings.effective_client_id}-doctor",
                                  protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                                  clean_session=None if v5 else True)
        if settings.username is not None:
            self.client.username_pw_set(settings.username, password)
        if settings.tls:
            self.client.tls_set(ca_certs=None if settings.ca_file is None else str(settings.ca_file),
                                certfile=None if settings.certfile is None else str(settings.certfile),
                                keyfile=None if settings.keyfile is None else str(settings.keyfile))
        self.answered = threading.Event()
        self.subscribed = threading.Event()
        self.reason: Any = None
        self.retained: list[str] = []
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self.subscribed.set()
        self.started = False

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.reason = reason
        self.answered.set()

    def _on_message(self, _c: Any, _u: Any, message: Any) -> None:
        if message.retain:
            self.retained.append(message.topic)

    def connect(self) -> Check:
        settings = self.settings
        where = f"{settings.host}:{settings.port}"
        try:
            self.client.connect_async(settings.host, settings.port, keepalive=settings.keepalive)
            self.client.loop_start()
            self.started = True
        except (OSError, ValueError) as exc:
            return Check("mqtt", "fail", f"cannot connect to {where}: {exc}", "check mqtt.host and mqtt.port")
        if not self.answered.wait(MQTT_CONNECT_TIMEOUT_S):
            return Check("mqtt", "fail",
                         f"no broker answers at {where} within {MQTT_CONNECT_TIMEOUT_S:.0f} s",
                         "check mqtt.host and mqtt.port; is the broker (Mosquitto) running?")
        if not self.reason.is_failure:
            who = f" as {settings.username!r}" if settings.username else ""
            return Check("mqtt", "ok", f"{where} accepts{who}")
        text = str(self.reason)
        if "authori" in text.lower() or "password" in text.lower():
            who = f"user {settings.username!r}" if settings.username else "anonymous clients"
            return Check("mqtt", "fail", f"{where} refuses {who}: {text}",
                         f"check mqtt.username and {CREDSTORE}/mqtt-password (the broker's user and "
                         "password)")
        return Check("mqtt", "fail", f"{where} refused the connection: {text}", "check the broker's log")

    def discovery(self) -> Check:
        prefix = self.settings.discovery_prefix
        device = self.settings.device_id
        self.client.subscribe(f"{prefix}/#", qos=0)
        self.subscribed.wait(MQTT_CONNECT_TIMEOUT_S)
        threading.Event().wait(MQTT_RETAINED_WAIT_S)  # the broker sends retained messages after SUBACK
        ours = [t for t in self.retained if f"/{device}/" in t or f"/{device}_" in t]
        if ours:
            return Check("discovery", "ok", f"{len(ours)} of our entities announced under {prefix}/")
        if self.retained:
            return Check("discovery", "warn", f"{prefix}/ is in use ({len(self.retained)} retained), none "
                         "of ours yet", "start the service; it announces itself when it connects")
        return Check("discovery", "warn", f"nothing retained under {prefix}/: Home Assistant may use "
                     "another prefix, or nothing was announced yet",
                     "compare mqtt.discovery_prefix with Home Assistant's MQTT settings")

    def close(self) -> None:
        if self.started:
            self.client.disconnect()
            self.client.loop_stop()
