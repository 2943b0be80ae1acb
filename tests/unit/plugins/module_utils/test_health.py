# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the health normalisation shared by health_info, settings_restore and account_info."""

from __future__ import annotations

import contextlib

import pytest

from ansible_collections.wabiz.api_client.plugins.module_utils import _answer, _health
from ansible_collections.wabiz.api_client.plugins.module_utils._api import WAApiError

META = {"api_status": "stable", "version": "v2.62.5"}


def single(status):
    return {"health": {"gateway_status": status}, "meta": META}


def multi(*nodes):
    return {"health": dict(("%s:%s" % (host, cid), {"gateway_status": status, "role": role})
                           for host, cid, status, role in nodes), "meta": META}


HEALTHY_2_SHARDS = multi(
    ("master1", "aaa111", "connected", "primary_master"),
    ("master2", "bbb222", "disconnected", "secondary_master"),
    ("wacore1", "ccc333", "connected", "coreapp"),
    ("wacore2", "ddd444", "connected", "coreapp"),
    ("wacore3", "eee555", "disconnected", "coreapp"),
)


def test_single_instance_is_one_node():
    nodes = _health.normalise(single("connected"))
    assert nodes == [dict(name="single", hostname=None, container_id=None, gateway_status="connected", role="coreapp")]
    assert not _health.is_multiconnect(nodes)
    assert _health.topology(nodes) == {"masters": 0, "coreapps": 1}


def test_multiconnect_nodes_are_split_into_hostname_and_container():
    nodes = _health.normalise(HEALTHY_2_SHARDS)
    assert [n["name"] for n in nodes][:2] == ["master1:aaa111", "master2:bbb222"]
    assert nodes[0]["hostname"] == "master1" and nodes[0]["container_id"] == "aaa111"
    assert _health.is_multiconnect(nodes)
    assert _health.topology(nodes) == {"masters": 2, "coreapps": 3}


@pytest.mark.parametrize("bad, words", [
    (None, "the body must be an object, got nothing"), ([], "the body must be an object, got a list"),
    ({}, "health must be an object, got nothing"), ({"health": "x"}, "health must be an object, got a string"),
    ({"health": {}}, "health names no node"),
    ({"health": {"n:1": "connected"}}, "health.n:1 must be an object, got a string"),
    ({"health": {"gateway_status": ["connected"]}}, "health.gateway_status must be a string, got a list"),
    ({"health": {"gateway_status": {"a": 1}}}, "health.gateway_status must be a string, got an object"),
    ({"health": {"n:1": {"gateway_status": ["x"], "role": "coreapp"}}}, "health.n:1.gateway_status must be a string"),
    ({"health": {"n:1": {"gateway_status": "connected", "role": {}}}}, "health.n:1.role must be a string"),
])
def test_unknown_shapes_are_refused_naming_the_call_and_the_field(bad, words):
    with pytest.raises(_answer.AnswerError) as caught:
        _health.normalise(bad)
    assert "unexpected answer to GET /v1/health: " + words in str(caught.value)
    assert not caught.value.retryable


@pytest.mark.parametrize("condition", ["length(health.gateway_status) > `1`", "abs(summary.primary_master)",
                                       "max(nodes)"])
def test_a_condition_that_fails_at_evaluation_is_a_clear_error(condition):
    nodes = _health.normalise(single("connected"))
    compiled = _health.compile_condition(condition)
    with pytest.raises(_health.HealthError, match="condition cannot be evaluated against the health answer"):
        _health.evaluate(compiled, {"health": {"gateway_status": 7}}, nodes, _health.summarise(nodes))


def test_single_healthy_and_not():
    ok = _health.summarise(_health.normalise(single("connected")))
    assert ok["healthy"] and ok["registered"] and ok["not_ready"] == [] and ok["primary_master"] is None
    bad = _health.summarise(_health.normalise(single("uninitialized")))
    assert not bad["healthy"] and bad["not_ready"][0]["reason"].startswith("initialising")
    unreg = _health.summarise(_health.normalise(single("unregistered")))
    assert not unreg["registered"] and not unreg["healthy"]


def test_multiconnect_healthy_with_n_coreapps_and_primary_master():
    summary = _health.summarise(_health.normalise(HEALTHY_2_SHARDS), expected_shards=2)
    assert summary["healthy"] is True
    assert summary["primary_master"] == "master1:aaa111"
    assert summary["connected_coreapps"] == 2
    # the secondary Master and the spare CoreApp are disconnected: normal
    assert summary["not_ready"] == []


def test_multiconnect_not_enough_coreapps_lists_the_disconnected_ones():
    summary = _health.summarise(_health.normalise(HEALTHY_2_SHARDS), expected_shards=4)
    assert summary["healthy"] is False
    names = [e["name"] for e in summary["not_ready"]]
    assert names == ["wacore3:eee555"]
    assert "2 of the 4 needed" in summary["not_ready"][0]["reason"]
    text = _health.describe_not_ready(summary)
    assert "wacore3:eee555 (coreapp)" in text


# Meta's health reference, note under the response: in high availability mode (1 shard) only one CoreApp is
# connected and every other node, the primary Master included, reports disconnected; in multiconnect mode
# (N >= 2 shards) N CoreApps and the primary Master are connected.
HEALTHY_HA = multi(
    ("master1", "aaa111", "disconnected", "primary_master"),
    ("master2", "bbb222", "disconnected", "secondary_master"),
    ("wacore1", "ccc333", "connected", "coreapp"),
    ("wacore2", "ddd444", "disconnected", "coreapp"),
)


@pytest.mark.parametrize("shards", [1, None])
def test_high_availability_primary_master_disconnected_is_healthy(shards):
    summary = _health.summarise(_health.normalise(HEALTHY_HA), expected_shards=shards)
    assert summary["healthy"] is True
    assert summary["primary_master"] == "master1:aaa111"
    assert summary["connected_coreapps"] == 1
    assert summary["not_ready"] == []
    assert summary["topology"] == {"masters": 2, "coreapps": 2}


def test_high_availability_without_a_connected_coreapp_is_unhealthy():
    health = multi(("master1", "a", "disconnected", "primary_master"), ("master2", "b", "disconnected",
                   "secondary_master"), ("wacore1", "c", "disconnected", "coreapp"),
                   ("wacore2", "d", "disconnected", "coreapp"))
    summary = _health.summarise(_health.normalise(health), expected_shards=1)
    assert not summary["healthy"]
    assert [e["name"] for e in summary["not_ready"]] == ["wacore1:c", "wacore2:d"]


@pytest.mark.parametrize("status", ["uninitialized", "unregistered", "connecting", "bogus"])
def test_high_availability_primary_master_not_settled_is_not_ready(status):
    health = multi(("master1", "a", status, "primary_master"), ("wacore1", "b", "connected", "coreapp"))
    summary = _health.summarise(_health.normalise(health), expected_shards=1)
    assert not summary["healthy"]
    assert summary["not_ready"][0]["name"] == "master1:a"
    assert "primary Master" in summary["not_ready"][0]["reason"]


def test_multiconnect_primary_master_down_is_unhealthy():
    health = multi(("master1", "a", "disconnected", "primary_master"), ("master2", "b", "disconnected",
                   "secondary_master"), ("wacore1", "c", "connected", "coreapp"), ("wacore2", "d", "connected",
                   "coreapp"), ("wacore3", "e", "disconnected", "coreapp"))
    for shards in (2, None):
        summary = _health.summarise(_health.normalise(health), expected_shards=shards)
        assert not summary["healthy"]
        assert summary["not_ready"][0]["name"] == "master1:a"
        assert "primary Master" in summary["not_ready"][0]["reason"]


def test_multiconnect_without_primary_master_is_reported():
    health = multi(("master1", "a", "disconnected", "secondary_master"), ("wacore1", "b", "connected", "coreapp"))
    summary = _health.summarise(_health.normalise(health), expected_shards=1)
    assert not summary["healthy"] and summary["primary_master"] is None
    assert any("no node reports the primary_master" in e["reason"] for e in summary["not_ready"])


def test_initialising_nodes_are_not_ready_but_registered():
    health = multi(("master1", "a", "uninitialized", "primary_master"), ("wacore1", "b", "uninitialized", "coreapp"))
    summary = _health.summarise(_health.normalise(health), expected_shards=1)
    assert summary["registered"] and not summary["healthy"]
    assert len(summary["not_ready"]) == 2


def test_unregistered_multiconnect():
    health = multi(("master1", "a", "unregistered", "primary_master"), ("master2", "c", "unregistered",
                   "secondary_master"), ("wacore1", "b", "unregistered", "coreapp"))
    nodes = _health.normalise(health)
    assert _health.registration(nodes) == "unregistered"
    assert _health.summarise(nodes)["registered"] is False


def test_unknown_expected_shards_means_one_coreapp():
    summary = _health.summarise(_health.normalise(HEALTHY_2_SHARDS))
    assert summary["healthy"] and summary["expected_shards"] is None


def test_topology_mismatch_text_names_both():
    assert _health.describe_topology({"masters": 2, "coreapps": 3, "shards": 2}) == "2 Masters, 3 CoreApps, 2 shards"
    assert _health.describe_topology(None) == "unknown"


def test_jmespath_condition_sees_raw_answer_nodes_and_summary():
    nodes = _health.normalise(HEALTHY_2_SHARDS)
    summary = _health.summarise(nodes, 2)
    cond = _health.compile_condition("length(nodes[?gateway_status=='connected']) >= `3`")
    assert _health.evaluate(cond, HEALTHY_2_SHARDS, nodes, summary) == (True, True)
    cond = _health.compile_condition("summary.connected_coreapps == `3`")
    assert _health.evaluate(cond, HEALTHY_2_SHARDS, nodes, summary)[0] is False
    cond = _health.compile_condition("meta.version")
    assert _health.evaluate(cond, HEALTHY_2_SHARDS, nodes, summary) == (True, "v2.62.5")


def test_invalid_jmespath_is_a_clear_error():
    with pytest.raises(ValueError, match="not a valid JMESPath"):
        _health.compile_condition("nodes[?")


class FakeClient:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []
        self.deadlines = []

    @contextlib.contextmanager
    def within(self, deadline):
        self.deadlines.append(deadline)
        yield self

    def get(self, path, auth="token", retries=None):
        self.calls.append((path, auth))
        self.retries = getattr(self, "retries", []) + [retries]
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_wait_polls_until_healthy_and_tolerates_transient_errors():
    clock = Clock()
    client = FakeClient([single("unregistered"), WAApiError(status=503, title="busy"), single("uninitialized"),
                         single("connected")])
    reader = _health.HealthReader(client, clock=clock, sleep=clock.sleep)
    ok, response, nodes, summary, last_error, polls = reader.wait(timeout=60, interval=2)
    assert ok and polls == 4 and summary["healthy"] and last_error is None
    assert clock.now == 6
    assert all(call == ("/v1/health", "any") for call in client.calls)
    # One attempt per poll: a transient error waits for the next poll, never for the client's own backoff.
    assert client.retries == [0, 0, 0, 0]


def test_wait_times_out_with_the_last_answer():
    clock = Clock()
    client = FakeClient([single("uninitialized")] * 10)
    reader = _health.HealthReader(client, clock=clock, sleep=clock.sleep)
    ok, response, nodes, summary, last_error, polls = reader.wait(timeout=5, interval=2)
    # Polls at 0, 2, 4 and a last one at the deadline (5), never later.
    assert not ok and polls == 4 and clock.now == 5 and summary["not_ready"][0]["gateway_status"] == "uninitialized"


def test_wait_raises_non_transient_errors_at_once():
    client = FakeClient([WAApiError(status=401, code=1005, title="Access denied")])
    reader = _health.HealthReader(client, clock=Clock(), sleep=lambda s: None)
    with pytest.raises(WAApiError):
        reader.wait(timeout=5)


def test_wait_with_condition():
    clock = Clock()
    client = FakeClient([HEALTHY_2_SHARDS, HEALTHY_2_SHARDS])
    reader = _health.HealthReader(client, expected_shards=2, condition="summary.connected_nodes >= `3`",
                                  clock=clock, sleep=clock.sleep)
    assert reader.wait(timeout=5)[0] is True


def test_shard_count():
    assert _health.shard_count(FakeClient([{"account": {"shards": 4}}])) == 4
    assert _health.shard_count(FakeClient([WAApiError(status=400, code=1011)])) is None
    for bad in ({"account": {}}, {"account": {"shards": 1e999}}, {"account": {"shards": "2"}}, {"account": 2}):
        with pytest.raises(_answer.AnswerError, match="GET /v1/account/shards: account"):
            _health.shard_count(FakeClient([bad]))
    with pytest.raises(WAApiError):
        _health.shard_count(FakeClient([WAApiError(status=401, code=1005)]))


def test_wait_covers_a_webapp_not_answering_yet_and_reads_the_shards_once_it_answers():
    clock = Clock()
    refused = WAApiError(title="Cannot reach https://wa:9090", details="connection refused")
    client = FakeClient([refused, refused, {"account": {"shards": 2}}, HEALTHY_2_SHARDS])
    reader = _health.HealthReader(client, clock=clock, sleep=clock.sleep, read_shards=True)
    ok, response, nodes, summary, last_error, polls = reader.wait(timeout=60, interval=2)
    assert ok and polls == 3 and reader.expected_shards == 2 and summary["expected_shards"] == 2
    assert [path for path, _auth in client.calls] == ["/v1/account/shards"] * 3 + ["/v1/health"]
    assert len(client.deadlines) == 3 and all(d.at == 60 for d in client.deadlines)


def test_wait_against_a_closed_port_waits_its_timeout_and_names_the_last_error():
    from ansible_collections.wabiz.api_client.plugins.module_utils._api import WAClient
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: connection refused
    clock = Clock()
    reader = _health.HealthReader(WAClient("https://127.0.0.1:%d" % port, token="t", sleep=clock.sleep),
                                  clock=clock, sleep=clock.sleep, read_shards=True)
    ok, response, nodes, summary, last_error, polls = reader.wait(timeout=30, interval=2)
    assert not ok and clock.now == 30 and polls == 16 and response is None
    assert "connection refused" in last_error.describe()
