# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of every wait for a healthy setup (private to this collection)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  wait_timeout:
    description:
      - Seconds the module waits for the setup (when it waits); from 0 to 86400.
      - The wait covers a Webapp that does not answer yet (starting, connection refused) as well as one that
        answers but is not ready. Every API call of the wait ends by this deadline, whatever the server does
        (a slow answer, a long C(Retry-After)).
    type: int
    default: 600
  wait_interval:
    description:
      - Seconds between two health polls (a fraction is allowed); more than 0 and at most 3600.
    type: float
    default: 2
"""
