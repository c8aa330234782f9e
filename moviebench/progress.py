"""Progress of long data steps (image checks, decoding) for whatever display is showing.

Data code deep below a run (a task checking 3,000 posters, a rung decoding them) has no
handle on the terminal. It calls `report(description, done, total)`; the ladder display
installs itself as the listener while a run is on screen (`listening`). With no listener,
as under tests, CI logs and worker processes, a report costs one attribute lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, int, int], None]
_listener: Listener | None = None
# Reports arrive every this many items, so a bar moves without costing a redraw per file.
EVERY = 64


def report(description: str, completed: int, total: int) -> None:
    if _listener is not None:
        _listener(description, completed, total)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Route reports to `listener` inside the block (the previous one is restored after)."""
    global _listener
    previous, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = previous
