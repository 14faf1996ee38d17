"""The installed layout (what ``tools/install.sh`` makes) and how commands people run fit into it.

- :func:`resolve_config_path`: which config file a command uses when ``--config`` is not given
  (``$SOULSYNC_CONFIG``, then the installed ``/etc/soulsyncd/config.yaml``, else none).
- :func:`machine_problems`: what a valid config still needs from this machine (the file camera's
  file, the model, the MQTT password), each as ``file:line: key: message``; ``check-config`` and ``doctor``.
- :class:`StateWrite`: a command that writes state (``library import``, ``spotify-login``) writes
  where the service reads, as the service's user: run as root it hands what it wrote to the owner
  of the state directory (user ``soulsync`` when installed); run as someone who cannot write there
  it stops before touching anything and names the ``sudo`` form of the same command.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soulsyncd.config import Config

CONFIG_ENV = "SOULSYNC_CONFIG"
"""Environment variable naming the config file every command uses without ``--config``."""
INSTALLED_CONFIG = Path("/etc/soulsyncd/config.yaml")
STATE_DIR = Path("/var/lib/soulsyncd")
"""The service's ``StateDirectory=``."""
CREDSTORE = Path("/etc/credstore")
"""Where the unit's ``LoadCredential=`` finds the secrets (root-only files)."""
SERVICE_USER = "soulsync"
UNIT = "soulsyncd"
DIR_MODE = 0o700
FILE_MODE = 0o600


def resolve_config_path(given: Path | None) -> Path | None:
    """The config file a command uses: ``--config``, else ``$SOULSYNC_CONFIG``, else the installed one
    (``/etc/soulsyncd/config.yaml``) when it exists, else None (the command's own default)."""
    if given is not None:
        return given
    from_env = os.environ.get(CONFIG_ENV, "")
    if from_env:
        return Path(from_env)
    return INSTALLED_CONFIG if INSTALLED_CONFIG.is_file() else None


def installed_secret(name: str) -> str | None:
    """A secret as the service gets it: ``read_secret`` (credentials directory, environment), else the
    root-only ``/etc/credstore/<name>`` the unit loads (readable when run as root)."""
    from soulsyncd.config import read_secret

    value = read_secret(name)
    if value:
        return value
    try:
        value = (CREDSTORE / name).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


def secret_available(name: str) -> bool | None:
    """Whether the secret reaches the service: True, False, or None when this user cannot tell
    (``/etc/credstore`` is root-only)."""
    if installed_secret(name):
        return True
    try:
        (CREDSTORE / name).stat()
    except PermissionError:
        return None
    except OSError:
        return False
    return True  # there, but we cannot read it: the unit (as root) can


# --- what the machine must provide ------------------------------------------------------------------


def machine_problems(path: Path, config: Config) -> list[str]:
    """What a config that validated still needs from this machine: the file camera's video file or
    folder, the model file, the page's password beyond loopback, and the MQTT password when
    ``mqtt.username`` is set. Each as ``file:line: key: message``."""
    from soulsyncd.config import FileCameraConfig

    problems: list[str] = []
    camera = config.camera
    if isinstance(camera, FileCameraConfig) and not camera.path.exists():
        problems.append(_located(path, ("camera", "path"),
                                 f"{camera.path} does not exist (a video file or a folder of images)"))
    if not config.model.path.is_file():
        problems.append(_located(path, ("model", "path"),
                                 f"{config.model.path} does not exist (the int8 TFLite model)"))
    web = config.web
    if web.enabled and not web.loopback and secret_available("web-password") is False:
        from soulsyncd.web.settings import lan_without_password

        problems.append(_located(path, ("web", "listen"), lan_without_password(web.listen)))
    mqtt = config.mqtt
    if mqtt.enabled and mqtt.username is not None and secret_available("mqtt-password") is False:
        problems.append(_located(
            path, ("mqtt", "username"),
            f"set to {mqtt.username!r} but no password is available: store it as the credential "
            f"{CREDSTORE}/mqtt-password (root-only), or $CREDENTIALS_DIRECTORY/mqtt-password or "
            "SOULSYNC_MQTT_PASSWORD when run by hand"))
    return problems


def _located(path: Path, keys: tuple[str, ...], message: str) -> str:
    line = _line_of(path, keys)
    where = f"{path}:{line}" if line is not None else str(path)
    return f"{where}: {'.'.join(keys)}: {message}"


def _line_of(path: Path, keys: tuple[str, ...]) -> int | None:
    """The 1-based line of ``keys`` in the YAML file (a file the loader accepted), or None."""
    import yaml

    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return line
        for key_node, value_node in node.value:
            if key_node.value == key:
                line = key_node.start_mark.line + 1
                node = value_node
                break
        else:
            return line
    return line


# --- writing state as the service -------------------------------------------------------------------


class StateAccessError(Exception):
    """This user cannot write the state directory; the message names the ``sudo`` form."""


def sudo_form(argv: list[str] | None = None) -> str:
    """The command line (default: this process's), as ``sudo soulsyncd ...``."""
    args = sys.argv[1:] if argv is None else argv
    return "sudo soulsyncd " + shlex.join(args)


def _can(path: Path, mode: int) -> bool:
    """``os.access`` for the effective user (the one that will open the file)."""
    if os.access in os.supports_effective_ids:
        return os.access(path, mode, effective_ids=True)
    return os.access(path, mode)


@dataclass
class StateWrite:
    """Write into ``directory`` as the service would: check first, hand over to its owner after.

    Use :meth:`check` before opening anything, then :meth:`finish` (also after a failure) to give
    every file and folder the command left in the directory to the directory's owner, with modes
    0700/0600. Only root changes owners; anyone else either can write there (their own state) or
    is stopped by :meth:`check`.
    """

    directory: Path
    command: list[str] | None = None  # the command line, for the sudo form (default: sys.argv)
    owner_uid: int | None = None
    owner_gid: int | None = None

    def check(self) -> None:
        """Raise :class:`StateAccessError` when this user can neither write ``directory`` nor
        create it; as root, note whose it is (the service user's, for the installed one)."""
        existing = _nearest_existing(self.directory)
        if os.geteuid() == 0:
            self._choose_owner(existing)
            return
        # The folder itself, or the nearest one above it where it would be created.
        if not _can(existing, os.W_OK | os.X_OK):
            whose = " (the service's state)" if self.directory == STATE_DIR else ""
            raise StateAccessError(
                f"{self.directory} belongs to {_owner_name(existing)}{whose}, and {_me()} cannot write "
                f"there. Run the same command as root; it writes there as the folder's owner:\n"
                f"  {sudo_form(self.command)}")

    def _choose_owner(self, existing: Path) -> None:
        if existing == self.directory:
            info = self.directory.stat()
            self.owner_uid, self.owner_gid = info.st_uid, info.st_gid
            return
        if self.directory == STATE_DIR:  # not made yet: the service's, as systemd's StateDirectory= would
            try:
                user = pwd.getpwnam(SERVICE_USER)
            except KeyError:
                return
            self.owner_uid, self.owner_gid = user.pw_uid, user.pw_gid

    def finish(self) -> list[Path]:
        """Give what this command left in the directory to its owner (root only); the paths changed."""
        if os.geteuid() != 0 or self.owner_uid is None or not self.directory.is_dir():
            return []
        changed = []
        for path in [self.directory, *sorted(self.directory.rglob("*"))]:
            try:
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    continue
                if info.st_uid != self.owner_uid or info.st_gid != self.owner_gid:
                    os.chown(path, self.owner_uid, self.owner_gid if self.owner_gid is not None else -1)
                    changed.append(path)
                mode = DIR_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
                if stat.S_IMODE(info.st_mode) != mode:
                    os.chmod(path, mode)
            except FileNotFoundError:  # a SQLite -wal/-shm that went away meanwhile
                continue
        return changed


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.exists(candidate):  # False, not PermissionError, when a folder above is closed to us
            return candidate
    return Path("/")


def _owner_name(path: Path) -> str:
    try:
        uid = path.stat().st_uid
    except OSError:
        return "another user"
    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"uid {uid}"


def _me() -> str:
    try:
        return f"user {pwd.getpwuid(os.geteuid()).pw_name}"
    except KeyError:
        return f"uid {os.geteuid()}"


def read_problem(path: Path, what: str, command: list[str] | None = None) -> tuple[int, str] | None:
    """Why a read-only command cannot use ``path``, as (exit code, message), or None when it can.

    Missing: ``os.EX_NOINPUT`` (66), and nothing is created; not readable by this user (the
    service's state, as someone else): ``os.EX_NOPERM`` (77) with the ``sudo`` form.
    """
    existing = _nearest_existing(path)
    if existing == path:
        if _can(path, os.R_OK):
            return None
        return os.EX_NOPERM, (f"cannot read {path} as {_me()} (it is {_owner_name(path)}'s); run:\n"
                              f"  {sudo_form(command)}")
    if not _can(existing, os.R_OK | os.X_OK):
        return os.EX_NOPERM, (f"cannot look into {existing} as {_me()} (it is {_owner_name(existing)}'s); "
                              f"run:\n  {sudo_form(command)}")
    return os.EX_NOINPUT, f"no {what} at {path}"


def describe_file(path: Path) -> str:
    """``owner soulsync, mode 0600`` for a person (or ``missing``)."""
    try:
        info = path.stat()
    except OSError:
        return "missing"
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    return f"owner {owner}, mode {stat.S_IMODE(info.st_mode):04o}"


Handler = Callable[[argparse.Namespace], int]


def writes_state(target: Callable[[argparse.Namespace], Path | int], handler: Handler, *,
                 announce: bool = True, reload: bool = False) -> Handler:
    """``handler`` as a command that writes the file ``target(args)`` in the state directory.

    ``target`` returns the file (or an exit code, its reason printed). Before the handler runs, a
    user who cannot write the folder is stopped (exit 77, the ``sudo`` form named) with nothing
    touched; afterwards, as root, everything in the folder goes to the folder's owner (the service
    user), and the file's path, owner and mode are printed (unless ``announce`` is False: for
    commands that only write by the way, as a Spotify token refresh does). With ``reload``, a running
    installed service that reads the file only at start (the catalog) is reloaded, so it uses it now.
    """

    def wrapped(args: argparse.Namespace) -> int:
        path = target(args)
        if isinstance(path, int):
            return path
        access = StateWrite(path.parent, getattr(args, "argv", None))
        try:
            access.check()
        except StateAccessError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return os.EX_NOPERM
        old_umask = os.umask(0o077)  # owner-only from the start, like the unit's UMask=0077
        try:
            status = handler(args)
        finally:
            os.umask(old_umask)
            access.finish()
        if announce and status == os.EX_OK and path.exists():
            print(f"wrote {path} ({describe_file(path)})", flush=True)
        if reload and status == os.EX_OK:
            _reload_service(path)
        return status

    return wrapped


def reads_state(target: Callable[[argparse.Namespace], Path | int], what: str, handler: Handler) -> Handler:
    """``handler`` as a command that only reads the file ``target(args)``: a missing file is exit 66
    (nothing created), an unreadable one exit 77 with the ``sudo`` form."""

    def wrapped(args: argparse.Namespace) -> int:
        path = target(args)
        if isinstance(path, int):
            return path
        problem = read_problem(path, what, getattr(args, "argv", None))
        if problem is not None:
            print(f"error: {problem[1]}", file=sys.stderr)
            return problem[0]
        access = StateWrite(path.parent)  # as root: SQLite's -wal/-shm stay the service's
        if os.geteuid() == 0:
            access.check()
        try:
            return handler(args)
        finally:
            access.finish()

    return wrapped


def _reload_service(path: Path) -> None:
    """Reload the running installed service when ``path`` is in its state (root, under systemd)."""
    import subprocess

    if os.geteuid() != 0 or path.parent != STATE_DIR or not Path("/run/systemd/system").is_dir():
        return
    try:
        if subprocess.run(["systemctl", "is-active", "--quiet", UNIT], check=False, timeout=10).returncode:
            return  # not running: it reads the file when it starts
        reloaded = subprocess.run(["systemctl", "reload", UNIT], capture_output=True, check=False,
                                  timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        reloaded = False
    if reloaded:
        print(f"reloaded {UNIT}: it chooses from this catalog now", flush=True)
    else:
        print(f"could not reload {UNIT}; it uses this catalog from its next start "
              f"(sudo systemctl reload {UNIT})", flush=True)
