"""``soulsyncd spotify-login | spotify-devices | spotify-status | spotify-playlists``.

Login is a command of its own, never something the daemon does: it needs a person (a browser, or a
URL pasted into the terminal). The daemon only ever reads the token cache this leaves in
``state.dir`` and reports ``login required`` when it is missing or no longer accepted.
"""

from __future__ import annotations

import argparse
import logging
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soulsyncd.service.installed import writes_state

if TYPE_CHECKING:
    from soulsyncd.config import Config, SpotifyPlayerConfig
    from soulsyncd.spotify.client import SpotifyClient

EXIT_FAILED = 1  # the login did not complete, or Spotify refused the stored one

LOGIN_TIMEOUT_S = 300.0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the Spotify commands to the top-level parser."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", "-c", type=Path, default=None,
                            help="YAML config file with player.kind: spotify (default: $SOULSYNC_CONFIG, "
                            "else /etc/soulsyncd/config.yaml)")
        # For tests and tools: the base URL of a fake Spotify (serving /v1/, /api/token, /authorize).
        parser.add_argument("--api-base", default=None, help=argparse.SUPPRESS)

    login = sub.add_parser(
        "spotify-login", help="log in to Spotify once (the daemon keeps the login fresh)",
        description="Prints a URL to open in a browser on any device. After you approve, Spotify "
        "redirects to http://127.0.0.1:PORT/callback: on this machine that page is caught "
        "directly; elsewhere, copy the address from the browser's address bar and paste it here.",
    )
    common(login)
    login.add_argument("--timeout", type=float, default=LOGIN_TIMEOUT_S, metavar="SECONDS",
                       help=f"give up after this long (default {LOGIN_TIMEOUT_S:.0f})")
    login.add_argument("--no-listen", action="store_true",
                       help="don't listen on the redirect port; only accept a pasted URL")
    login.add_argument("--open-browser", action="store_true", help="also open the URL in a local browser")
    login.set_defaults(handler=writes_state(_token_file, _login))

    devices = sub.add_parser("spotify-devices", help="list the Spotify Connect speakers the Web API sees")
    common(devices)
    # Both may refresh the token, which rewrites the token file: as root, it must stay the service's.
    devices.set_defaults(handler=writes_state(_token_file, _devices, announce=False))

    status = sub.add_parser("spotify-status", help="does the login work, which speakers are visible")
    common(status)
    status.set_defaults(handler=writes_state(_token_file, _status, announce=False))

    playlists = sub.add_parser("spotify-playlists",
                               help="read music.playlists into the track catalog now and report each")
    common(playlists)
    playlists.set_defaults(handler=writes_state(_catalog_file, _playlists))


def _state_file(args: argparse.Namespace, name: str) -> Path | int:
    from soulsyncd.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return os.EX_CONFIG
    return Path(config.state.dir) / name


def _token_file(args: argparse.Namespace) -> Path | int:
    """Where spotify-login writes: the token cache in the config's state.dir."""
    from soulsyncd.spotify.auth import TOKEN_FILE

    return _state_file(args, TOKEN_FILE)


def _catalog_file(args: argparse.Namespace) -> Path | int:
    from soulsyncd.catalog.store import CATALOG_FILE_NAME

    return _state_file(args, CATALOG_FILE_NAME)


# --- plumbing ----------------------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> tuple[Config, SpotifyPlayerConfig] | int:
    from soulsyncd.config import ConfigError, SpotifyPlayerConfig, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return os.EX_CONFIG
    if not isinstance(config.player, SpotifyPlayerConfig):
        print(f"{args.config}: player.kind is {config.player.kind!r}; set player.kind: spotify and "
              "player.client_id (your app's Client ID) to use Spotify", file=sys.stderr)
        return os.EX_CONFIG
    logging.basicConfig(level=getattr(logging, config.logging.level.upper()), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    return config, config.player


def _auth(args: argparse.Namespace, config: Config, settings: SpotifyPlayerConfig) -> Any:
    from soulsyncd.service.installed import installed_secret
    from soulsyncd.spotify.auth import (
        CLIENT_SECRET_NAME,
        TokenCache,
        install_redaction,
        make_auth_manager,
        token_path,
    )

    install_redaction()
    base = args.api_base.rstrip("/") if args.api_base else None
    return make_auth_manager(
        client_id=settings.client_id,
        redirect_uri=settings.redirect_uri,
        cache=TokenCache(token_path(config.state.dir)),
        client_secret=installed_secret(CLIENT_SECRET_NAME),
        timeout_s=settings.request_timeout_s,
        token_url=f"{base}/api/token" if base else None,
        authorize_url=f"{base}/authorize" if base else None,
    )


def _client(args: argparse.Namespace, auth: Any, settings: SpotifyPlayerConfig) -> SpotifyClient:
    from soulsyncd.spotify.client import SpotifyClient

    base = args.api_base.rstrip("/") if args.api_base else None
    prefix = f"{base}/v1/" if base else None
    return SpotifyClient(auth, timeout_s=settings.request_timeout_s, api_prefix=prefix)


def _failure(exc: Exception) -> int:
    from soulsyncd.spotify.errors import LoginRequiredError, OfflineError, RateLimitedError

    if isinstance(exc, LoginRequiredError):
        print(f"login required: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Spotify: {exc}", file=sys.stderr)
    return os.EX_UNAVAILABLE if isinstance(exc, (OfflineError, RateLimitedError)) else EXIT_FAILED


def _mode_text(path: Path) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return "missing"
    return f"mode {mode:04o}" + ("" if mode & 0o077 == 0 else " (readable by others!)")


def _device_table(devices: list[Any], wanted: str | None) -> list[str]:
    if not devices:
        return ["  (none: start a Spotify app or raspotify; idle speakers drop out of the list)"]
    width = max(len(d.name) for d in devices)
    lines = []
    for d in devices:
        flags = ", ".join(f for f, on in (("active", d.active), ("restricted: accepts no commands",
                                                                   d.restricted)) if on)
        mark = "*" if wanted is not None and d.name.casefold() == wanted.casefold() else " "
        volume = f"{d.volume:3d} %" if d.volume is not None else "    -"
        lines.append(f" {mark}{d.name:<{width}}  {d.type:<12} {volume}  {flags}")
    return lines


# --- the commands ------------------------------------------------------------------------------------


def _login(args: argparse.Namespace) -> int:
    from soulsyncd.spotify.auth import LoginError, login, token_path
    from soulsyncd.spotify.errors import SpotifyError

    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    config, settings = loaded
    auth = _auth(args, config, settings)
    on_url = None
    if args.open_browser:
        import webbrowser

        def on_url(url: str) -> None:
            webbrowser.open(url)

    try:
        login(auth, out=sys.stdout, paste=sys.stdin, timeout_s=args.timeout, listen=not args.no_listen,
              on_url=on_url)
    except LoginError as exc:
        print(f"login failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    path = token_path(config.state.dir)
    print(f"Login saved to {path} ({_mode_text(path)}); the daemon refreshes it from now on.")
    try:
        client = _client(args, auth, settings)
        me = client.me()
        devices = client.devices()
    except SpotifyError as exc:
        return _failure(exc)
    print(f"Logged in as {me.get('display_name') or me.get('id') or 'unknown'}. Speakers visible now:")
    print("\n".join(_device_table(devices, settings.device)))
    return os.EX_OK


def _devices(args: argparse.Namespace) -> int:
    from soulsyncd.spotify.errors import SpotifyError

    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    config, settings = loaded
    try:
        devices = _client(args, _auth(args, config, settings), settings).devices()
    except SpotifyError as exc:
        return _failure(exc)
    print("\n".join(_device_table(devices, settings.device)))
    wanted = settings.device
    if wanted is not None and not any(d.name.casefold() == wanted.casefold() for d in devices):
        print(f"player.device {settings.device!r} is not among them (it may be asleep: play something on "
              "it once, or check the spelling)")
    return os.EX_OK


def _status(args: argparse.Namespace) -> int:
    from soulsyncd.spotify.auth import token_path
    from soulsyncd.spotify.errors import LoginRequiredError, SpotifyError

    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    config, settings = loaded
    path = token_path(config.state.dir)
    print(f"token cache: {path} ({_mode_text(path)})")
    client = _client(args, _auth(args, config, settings), settings)
    try:
        me = client.me()
        print(f"login: ok, as {me.get('display_name') or me.get('id') or 'unknown'}")
        devices = client.devices()
        playback = client.playback()
    except SpotifyError as exc:
        print(f"login: {'required' if isinstance(exc, LoginRequiredError) else 'not checked'}")
        return _failure(exc)
    print("speakers:")
    print("\n".join(_device_table(devices, settings.device)))
    wanted = settings.device or "(the active one)"
    found = [d for d in devices if settings.device and d.name.casefold() == settings.device.casefold()]
    if settings.device is None:
        verdict = "ok" if any(d.active and not d.restricted for d in devices) else "no active speaker now"
    elif not found:
        verdict = "not visible now (asleep, or a different name)"
    elif all(d.restricted for d in found):
        verdict = "restricted: it accepts no commands"
    else:
        verdict = "ok"
    print(f"player.device {wanted}: {verdict}")
    if playback is None or playback.track is None:
        print("now: nothing playing")
    else:
        where = playback.device.name if playback.device else "?"
        print(f"now: {'playing' if playback.playing else 'paused'} {playback.track.name!r} by "
              f"{playback.track.artist_text} on {where}")
    return os.EX_OK


def _playlists(args: argparse.Namespace) -> int:
    from soulsyncd.catalog.store import CatalogError, CatalogStore, catalog_path
    from soulsyncd.interfaces import SystemClock
    from soulsyncd.mood.targets import merged_points
    from soulsyncd.spotify.errors import SpotifyError
    from soulsyncd.spotify.playlists import PlaylistSync

    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    config, settings = loaded
    if not config.music.playlists:
        print("music.playlists is empty: nothing to read")
        return os.EX_OK
    client = _client(args, _auth(args, config, settings), settings)
    try:
        store = CatalogStore(catalog_path(config))
    except CatalogError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    with store:
        sync = PlaylistSync(client, store, config.music.tagged(merged_points(config.engine.emotion_points)),
                            refresh_s=0, clock=SystemClock())
        try:
            report = sync.run_round()
        except SpotifyError as exc:
            return _failure(exc)
    for uri, count in report.stored.items():
        print(f"ok       {uri}: {count} tracks")
    for warning in report.warnings:
        print(f"skipped  {warning}")
    return os.EX_OK if report.stored else EXIT_FAILED
