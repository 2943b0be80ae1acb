# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one wait (PRIVATE to this collection): every wait in ``plugins/`` (health, containers, ports, databases) is
:func:`poll`, and the API calls of a wait end by its :class:`Deadline` (``WAClient.within``). The options of the
health waits: ``WAIT_ARGUMENT_SPEC``, documented once in ``doc_fragments/_wait.py``.
"""

from __future__ import annotations

import time

WAIT_ARGUMENT_SPEC = dict(
    wait_timeout=dict(type="int", default=600),
    wait_interval=dict(type="float", default=2.0),
)


class Deadline:
    """A point in time ``timeout`` seconds from now on ``clock`` (injectable for tests)."""

    def __init__(self, timeout, clock=time.monotonic):
        self.clock = clock
        self.at = clock() + timeout

    def left(self):
        """Seconds left, never below 0."""
        return max(0.0, self.at - self.clock())


def poll(check, timeout, interval=1.0, clock=time.monotonic, sleep=time.sleep):
    """Call ``check(deadline)`` until it returns true or ``timeout`` seconds have passed; the last poll is at the
    deadline at the latest. Returns ``(ok, polls)``. ``check`` bounds its own calls with the deadline it is given.
    """
    deadline = Deadline(timeout, clock)
    polls = 0
    while True:
        polls += 1
        if check(deadline):
            return True, polls
        left = deadline.left()
        if left <= 0:
            return False, polls
        sleep(min(interval, left))
