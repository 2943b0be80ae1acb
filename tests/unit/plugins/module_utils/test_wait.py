# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one wait: poll's deadline arithmetic, and the container wait built on it."""

from __future__ import annotations

from ansible_collections.wabiz.api_client.plugins.module_utils import _docker_engine, _wait


def test_poll_never_sleeps_past_the_deadline_and_polls_once_more_at_it(clock):
    seen = []
    ok, polls = _wait.poll(lambda d: seen.append(d.left()), 5, 2, clock, clock.sleep)
    assert not ok and polls == 4 and clock.sleeps == [2, 2, 1] and clock.now == 5
    assert seen == [5, 3, 1, 0]


def test_poll_ends_at_the_first_true_check_and_a_0_timeout_checks_once(clock):
    assert _wait.poll(lambda d: clock.now >= 4, 60, 2, clock, clock.sleep) == (True, 3)
    assert _wait.poll(lambda d: False, 0, 2, clock, clock.sleep) == (False, 1)


class Engine:
    def __init__(self, states):
        self.states = states

    def inspect_container(self, name):
        return {"Id": "id-" + name, "State": self.states[name]}

    def logs(self, name, tail=20):
        return b"boom\n"


def test_wait_running_settles_or_names_the_container_that_exited():
    running = {"Status": "running", "Running": True}
    assert _docker_engine.wait_running(Engine({"a": running, "b": running}), ["a", "b"], 5, settle=0) is None
    exited = {"Status": "exited", "ExitCode": 3}
    assert _docker_engine.wait_running(Engine({"a": running, "b": exited}), ["a", "b"], 0.2) == (
        "container b is not running after 0.2s (exited with code 3); last log lines:\nboom\n")
