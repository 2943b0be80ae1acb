# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dockerctl.summarize, the test helper that judges a setup's health in the Docker-mode and end-to-end tests:
it must say what Meta's health reference says (wa-api-facts.md section 6), agree with the collection's
health_info (N or more CoreApps connected), and refuse to guess when it is not told the shard count."""
import pytest

import dockerctl


def node(status, role):
    return {"gateway_status": status, "role": role}


def ha(*statuses):
    """A health object: primary Master, secondary Master, then CoreApps with the given statuses."""
    health = {"master1:aaa": node(statuses[0], "primary_master"), "master2:bbb": node(statuses[1], "secondary_master")}
    for index, status in enumerate(statuses[2:], 1):
        health["wacore%d:c%02d" % (index, index)] = node(status, "coreapp")
    return health


@pytest.mark.parametrize("health, shards, healthy, documented", [
    # Multiconnect, 2 shards: the primary Master and 2 CoreApps connected, the rest disconnected.
    (ha("connected", "disconnected", "connected", "connected", "disconnected"), 2, True, True),
    # One CoreApp more than the shards connected: healthy for the collection (N or more), not the documented picture.
    (ha("connected", "disconnected", "connected", "connected", "connected"), 2, True, False),
    # The primary Master not connected with 2 shards: not healthy.
    (ha("disconnected", "disconnected", "connected", "connected", "disconnected"), 2, False, False),
    # Too few CoreApps connected.
    (ha("connected", "disconnected", "connected", "disconnected", "disconnected"), 2, False, False),
    # A spare CoreApp still initialising: healthy, but not yet the documented picture.
    (ha("connected", "disconnected", "connected", "connected", "uninitialized"), 2, True, False),
    # High availability (1 shard): one CoreApp connected, every other node (the primary Master too) disconnected.
    (ha("disconnected", "disconnected", "connected", "disconnected"), 1, True, True),
    (ha("disconnected", "disconnected", "disconnected", "disconnected"), 1, False, False),
    # 1 shard with the primary Master connected: the collection accepts it, the reference shows it disconnected.
    (ha("connected", "disconnected", "connected", "disconnected"), 1, True, False),
    (ha("unregistered", "disconnected", "connected", "disconnected"), 1, False, False),
])
def test_summarize_follows_the_reference(health, shards, healthy, documented):
    summary = dockerctl.summarize(health, shards)
    assert (summary["healthy"], summary["as_documented"]) == (healthy, documented)


def test_summarize_single_instance_and_missing_shard_count():
    assert dockerctl.summarize({"gateway_status": "connected"})["healthy"] is True
    assert dockerctl.summarize({"gateway_status": "uninitialized"})["healthy"] is False
    with pytest.raises(ValueError, match="needs expect_shards"):
        dockerctl.summarize(ha("connected", "disconnected", "connected", "connected", "disconnected"))


def test_the_emulators_own_multiconnect_answer_is_the_documented_picture(emulators):
    emu = emulators("summary", "--masters", "2", "--coreapps", "3")
    emu.api.login()
    emu.api.seed(shards=2)
    state = emu.api.wait(lambda s: dockerctl.summarize(s["health"], 2)["as_documented"], what="documented health")
    summary = dockerctl.summarize(state["health"], 2)
    assert summary["healthy"] and len(summary["connected_coreapps"]) == 2 and summary["nodes"] == 5
