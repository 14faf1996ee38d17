"""The core's face toward the adapters around it (MQTT, systemd, the journal, a web page): what they
may use of the running core, and what the app asks of each of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from soulsyncd.core.commands import Command
    from soulsyncd.core.progress import Progress
    from soulsyncd.core.state import DaemonState, Subscriber


class CoreHandle(Protocol):
    """What adapters around the core (MQTT, systemd, a future web page) may use: the command queue
    in, state snapshots and events out, and the progress the watchdog trusts."""

    def submit(self, command: Command) -> bool:
        """Queue a command for the analysis loop's thread; never blocks; False if dropped."""
        ...

    def latest(self) -> DaemonState:
        """The newest state snapshot."""
        ...

    def subscribe(self, name: str, callback: Subscriber) -> None:
        """Receive every event on a thread of the subscriber's own."""
        ...

    def progress(self) -> Progress:
        """Proof of life for the watchdog."""
        ...


class Service(Protocol):
    """A network or system adapter around the core, with threads of its own (MQTT bridge, watchdog).

    ``start`` must return promptly even when the service's far end is down (it retries in the
    background and reports that as state); ``stop`` must return within about a second.
    """

    def start(self, core: CoreHandle) -> None: ...

    def stop(self) -> None: ...
