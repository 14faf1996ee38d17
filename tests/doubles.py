"""Small test doubles shared by more than one test file (the larger fakes live in soulsyncd/testing/)."""

from __future__ import annotations

import queue as stdlib_queue


class RacedQueue:
    """A queue that was full when a producer tried, and already empty (the consumer drained it) when
    the producer made room: the race a bounded queue's "drop the oldest, then put" must survive."""

    def __init__(self) -> None:
        self.items: list[object] = []
        self.full_once = True

    def put_nowait(self, item: object) -> None:
        if self.full_once:
            self.full_once = False
            raise stdlib_queue.Full
        self.items.append(item)

    def get_nowait(self) -> object:
        raise stdlib_queue.Empty
