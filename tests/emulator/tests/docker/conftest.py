# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the Docker-mode tests: a real engine, the emulator images, compose projects.

Nothing is mocked. Every Docker object gets the prefix ``wabiz-emu-<random>`` of this run, and only
objects this run created are removed. A missing engine or image is a failure, never a skip
(run tools/ensure-docker.sh and tools/build-images.sh first: tests/suites/30-emulator-docker.sh does).
"""
import os
import secrets
import sys

import pytest

EMULATOR_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if EMULATOR_DIR not in sys.path:
    sys.path.insert(0, EMULATOR_DIR)

import dockerctl  # noqa: E402  pylint: disable=wrong-import-position

OLD_VERSION = "2.61.2"
NEW_VERSION = "2.62.5"
ADMIN_PASSWORD = "Old-Setup-Passw0rd!"
# Docker mode runs one process per container; these make leases and initialisation quick.
FAST_ENV = {"WA_EMULATOR_TICK_SECONDS": "0.5", "WA_EMULATOR_LEASE_SECONDS": "4", "WA_EMULATOR_INIT_SECONDS": "1"}
REQUIRED_IMAGES = ["wabiz-emulator/mysql:8.0.33", "wabiz-emulator/postgres:13", "wabiz-emulator/network:latest"] + [
    "wabiz-emulator/%s:v%s" % (kind, v) for v in (OLD_VERSION, NEW_VERSION) for kind in ("coreapp", "web")]


def docker(*args, check=True):
    return dockerctl.docker(*args, check=check)


@pytest.fixture(scope="session")
def engine():
    problem = dockerctl.missing_engine_or_images(REQUIRED_IMAGES)
    if problem:
        pytest.fail(problem)
    return True


@pytest.fixture(scope="session")
def run_id():
    return "wabiz-emu-%s" % secrets.token_hex(4)


@pytest.fixture(scope="session")
def network_standin(engine, run_id):  # pylint: disable=redefined-outer-name,unused-argument
    """One WhatsApp network stand-in for the whole run (as there is one real WhatsApp network)."""
    standin = dockerctl.NetworkStandIn("%s-net" % run_id).start()
    yield standin
    standin.stop()


@pytest.fixture
def stacks(network_standin, run_id):  # pylint: disable=redefined-outer-name
    """Factory: ``stacks("name", layout=..., ...)`` brings a compose project up with the stand-in
    attached; every project it made is taken down (newest first) with its volumes afterwards."""
    made = []

    def make(name, **kwargs):
        kwargs.setdefault("db_env", dict(FAST_ENV))
        kwargs.setdefault("version", OLD_VERSION)
        stack = dockerctl.Stack("%s-%s" % (run_id, name), **kwargs)
        made.append(stack)
        stack.up()
        stack.attach_network(network_standin)
        return stack

    yield make
    errors = []
    for stack in reversed(made):
        try:
            stack.down(volumes=True)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            errors.append("%s: %s" % (stack.project, exc))
    assert not errors, errors
