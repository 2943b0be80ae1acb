# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module tests run target-side: importing a controller plugin (the progress action tests) marks the whole
process as the controller, and ``module.warn`` then goes to the controller's display instead of the result.
ansible-test runs controller and target tests in separate processes; one pytest run over tests/unit does not."""

from __future__ import annotations

import pytest

from ansible.module_utils import _internal


@pytest.fixture(autouse=True)
def target_side(monkeypatch):
    monkeypatch.setattr(_internal, "is_controller", False)


class FakeClock:
    """A monotonic clock that moves only when slept on (``sleeps`` records each sleep)."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()
