"""Capacity rate limits as Meta's rate-limit page gives them (issue 25): above 20 requests per second (bursts up to
60) the client answers 429, above 50 per second (bursts 150) on /v1/messages; too many requests at once: 503.
Both with Retry-After. On by default; ``POST /_emulator/config {"rate_limits": ...}`` changes or disables them."""
import threading
import time

from conftest import send_text

TOKEN = [None]


def burst(api, n, path="/v1/health"):
    """n requests as fast as one connection goes; the answers' statuses and the first refusal."""
    statuses, refused = [], None
    for dummy in range(n):
        r = api.get(path, token=api.token or TOKEN[0])
        statuses.append(r.status)
        if r.status != 200 and refused is None:
            refused = r
    return statuses, refused


def parallel_burst(api, threads=8, each=25):
    """threads x each requests on as many connections at once; statuses and one refusal."""
    out = []

    def run():
        out.append(burst(type(api)(api.url, api.ca_path), each))
    workers = [threading.Thread(target=run) for dummy in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return [s for st, dummy in out for s in st], next((r for dummy, r in out if r is not None), None)


def test_request_rate_limit_answers_429_with_retry_after(shared_registered):
    api = shared_registered
    TOKEN[0] = api.token
    t0 = time.monotonic()
    statuses, refused = parallel_burst(api)
    elapsed = time.monotonic() - t0
    # 60 at once, then 20 per second: at most 60 + 20 * elapsed of them answered.
    assert statuses.count(200) <= 60 + 20 * elapsed + 1, (statuses.count(200), elapsed)
    assert 429 in statuses and set(statuses) == {200, 429}
    assert refused.error_code() == 1015 and refused.json["errors"][0]["title"] == "Too many requests"
    assert int(refused.headers["Retry-After"]) >= 1
    # The Admin interface is not the client's API: never limited.
    assert all(api.get("/_emulator/state").status == 200 for dummy in range(5))
    time.sleep(int(refused.headers["Retry-After"]) + 0.1)
    assert api.get("/v1/health").status == 200  # after Retry-After, answered again


def test_messages_have_their_own_bucket(registered):
    api = registered
    assert api.post("/_emulator/config", {"rate_limits": {"requests_per_second": 0.2, "burst": 3,
                                                          "messages_per_second": 0.2, "messages_burst": 5}}).status == 200
    assert burst(api, 4)[0] == [200, 200, 200, 429]  # the general bucket is empty now ...
    assert send_text(api).status == 201  # ... the messages bucket is not
    codes = [send_text(api, "rate %d" % i).status for i in range(6)]
    assert codes == [201] * 4 + [429] * 2, codes


def test_concurrency_limit_answers_503_and_limits_can_be_changed(registered):
    api = registered
    assert api.post("/_emulator/config", {"rate_limits": {"max_concurrent": 1}}).status == 200
    assert api.post("/_emulator/faults", {"latency_ms": 600, "latency_path_prefix": "/v1/health"}).status == 200
    slow = threading.Thread(target=lambda: type(api)(api.url, api.ca_path).get("/v1/health", token=api.token))
    slow.start()
    time.sleep(0.2)
    r = api.get("/v1/stats/db")
    slow.join()
    assert r.status == 503 and r.error_code() == 1016 and r.headers["Retry-After"] == "1"
    assert api.post("/_emulator/config", {"rate_limits": False}).status == 200
    assert api.post("/_emulator/faults", {}).status == 200
    assert set(burst(api, 100)[0]) == {200}
    assert api.post("/_emulator/config", {"rate_limits": {"burst": "many"}}).status == 400
    assert api.post("/_emulator/config", {"rate_limits": {"bursts": 5}}).status == 400
