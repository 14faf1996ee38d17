"""Who may use the page: the Host check, signed session cookies, CSRF tokens and the login's rate limit.

Pure logic over values (no tornado here), so it is tested without a server.

* **Host**: a request must name this machine (``localhost``, an IP literal, this host's names, the
  configured ``web.hosts``); any other name is how DNS rebinding reaches a loopback page.
* **Sessions**: a cookie ``<expiry>.<mac>`` signed with a key kept in the state directory and bound to
  the password, so a restart keeps people logged in and a new password logs everyone out.
* **CSRF**: every state-changing request carries ``X-CSRF-Token`` = a MAC of the session cookie, which
  only a page of our own origin can read (from ``/api/state``).
* **Login**: failures are limited per client address and overall; the password is compared in
  constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from pathlib import Path

SESSION_COOKIE = "soulsync_session"
SESSION_S = 30 * 24 * 3600.0  # a phone stays logged in for a month
KEY_FILE = "web-session.key"
LOGIN_FAILURES_PER_CLIENT = 5  # within LOGIN_WINDOW_S; then that address waits
LOGIN_FAILURES_TOTAL = 30  # within LOGIN_WINDOW_S from everyone; then every login waits
LOGIN_WINDOW_S = 60.0
_CLIENTS_TRACKED = 1024  # addresses remembered for the rate limit (oldest forgotten first)


def load_key(state_dir: Path | None) -> bytes:
    """The session-signing key from ``state_dir`` (made, mode 0600, when missing); a fresh one per run
    when there is no state directory or it cannot be written."""
    if state_dir is None:
        return secrets.token_bytes(32)
    path = state_dir / KEY_FILE
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data[:32]
    except OSError:
        pass
    key = secrets.token_bytes(32)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(key)
    except OSError:
        pass  # sessions then last as long as this run
    return key


def machine_names() -> set[str]:
    """This machine's names as a browser on the LAN may type them (``pi``, ``pi.local``, the FQDN)."""
    names = {"localhost"}
    for name in (socket.gethostname(), socket.getfqdn()):
        if name:
            names.add(name.lower())
            names.add(name.split(".")[0].lower() + ".local")
    return names


def host_allowed(header: str | None, names: Iterable[str]) -> bool:  # noqa: PLR0911 - one reason each
    """Is the ``Host`` header (port included or not) this machine: an IP literal or a known name?"""
    if not header or len(header) > 260:
        return False
    host = header.strip().lower()
    if host.startswith("["):  # [::1]:8088
        end = host.find("]")
        if end < 0:
            return False
        literal, rest = host[1:end], host[end + 1:]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return False
        try:
            ipaddress.ip_address(literal)
        except ValueError:
            return False
        return True
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name.rstrip(".") in {n.lower().rstrip(".") for n in names}
    return True  # an address literal cannot be rebound: an attacker's page needs a name it controls


class Sessions:
    """Signed session cookies and their CSRF tokens; nothing kept per session on the server."""

    def __init__(self, key: bytes, password: str | None) -> None:
        # A changed password changes every MAC: everyone logs in again.
        self._key = hmac.new(key, (password or "").encode(), hashlib.sha256).digest()
        self._password = password

    @property
    def password_required(self) -> bool:
        return self._password is not None

    def check_password(self, given: str) -> bool:
        if self._password is None:
            return True
        return hmac.compare_digest(given.encode(), self._password.encode())

    def new(self, now: float | None = None) -> str:
        expiry = int((time.time() if now is None else now) + SESSION_S)
        nonce = secrets.token_hex(8)
        body = f"{expiry}.{nonce}"
        return f"{body}.{self._mac('session', body)}"

    def valid(self, cookie: str | None, now: float | None = None) -> bool:
        if not cookie or len(cookie) > 200:
            return False
        body, _, mac = cookie.rpartition(".")
        expiry, _, _nonce = body.partition(".")
        if not expiry.isdigit() or not hmac.compare_digest(mac, self._mac("session", body)):
            return False
        return int(expiry) > (time.time() if now is None else now)

    def csrf(self, cookie: str) -> str:
        return self._mac("csrf", cookie)

    def csrf_valid(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token or not self.valid(cookie):
            return False
        return hmac.compare_digest(token, self.csrf(cookie))

    def _mac(self, purpose: str, text: str) -> str:
        return hmac.new(self._key, f"{purpose}:{text}".encode(), hashlib.sha256).hexdigest()[:40]


class LoginLimiter:
    """Failed logins per client address and overall within a sliding window (bounded memory)."""

    def __init__(self, per_client: int = LOGIN_FAILURES_PER_CLIENT, total: int = LOGIN_FAILURES_TOTAL,
                 window_s: float = LOGIN_WINDOW_S) -> None:
        self._per_client = per_client
        self._total = total
        self._window_s = window_s
        self._clients: OrderedDict[str, deque[float]] = OrderedDict()
        self._all: deque[float] = deque(maxlen=total)

    def wait_s(self, client: str, now: float) -> float:
        """Seconds ``client`` must wait before trying again (0: may try now)."""
        waits = [0.0]
        failures = self._clients.get(client)
        if failures is not None and len(failures) >= self._per_client:
            waits.append(failures[0] + self._window_s - now)
        if len(self._all) >= self._total:
            waits.append(self._all[0] + self._window_s - now)
        return max(waits)

    def failed(self, client: str, now: float) -> None:
        failures = self._clients.pop(client, None) or deque(maxlen=self._per_client)
        failures.append(now)
        self._clients[client] = failures
        while len(self._clients) > _CLIENTS_TRACKED:
            self._clients.popitem(last=False)
        self._all.append(now)

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)


def machine_names_primary() -> str:
    """The name other machines on the LAN most likely reach this one by: ``<host>.local`` (mDNS)."""
    return socket.gethostname().split(".")[0].lower() + ".local"
