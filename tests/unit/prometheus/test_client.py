"""The reader against the fake Prometheus on loopback: retries, errors and range chunks."""

from __future__ import annotations

import gzip
import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sloctl.demo.local_prometheus import free_port
from sloctl.errors import PrometheusUnavailableError, QueryError, TooManySamplesError
from sloctl.prometheus.client import (
    MAX_POINTS,
    Credentials,
    Limits,
    PrometheusReader,
    range_chunks,
    redact,
    scrub,
    secrets_of,
)
from sloctl.runtime.retry import RetryPolicy
from tests.fake_prometheus import FakePrometheus, Query, Reply, fake_prometheus, refusal

AT = datetime(2026, 11, 2, tzinfo=UTC)
VECTOR = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            {"metric": {"service": "api"}, "value": [1, "42"]},
            {"metric": {"service": "auth"}, "value": [1, "NaN"]},
        ],
    },
}


@pytest.fixture
def server() -> Iterator[FakePrometheus]:
    with fake_prometheus() as started:
        started.play([Reply(200, VECTOR)])
        yield started


def reader(url: str, pauses: list[float], timeout: float = 5.0) -> PrometheusReader:
    return PrometheusReader(
        url,
        timeout=timeout,
        sleep=pauses.append,
        rng=random.Random(1),
        retry=RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0),
    )


def test_instant_query_is_pinned_and_parsed(server: FakePrometheus) -> None:
    url = server.url
    samples = reader(url, []).instant("up", AT)
    assert server.received[0].params["time"] == [f"{AT.timestamp():.3f}"]
    assert server.received[0].params["query"] == ["up"]
    assert samples[0].labels == {"service": "api"}
    assert samples[0].value == 42.0
    assert samples[1].value != samples[1].value  # NaN arrives as a string and stays NaN


@pytest.mark.parametrize(
    ("replies", "requests"),
    [
        pytest.param([Reply(503, {"error": "busy"}), Reply(200, VECTOR)], 2, id="one-503"),
        pytest.param([Reply(503), Reply(503), Reply(503), Reply(200, VECTOR)], 4, id="three-503"),
    ],
)
def test_503_is_retried_with_jittered_backoff(
    server: FakePrometheus, replies: list[Reply], requests: int
) -> None:
    url = server.url
    server.play(replies)
    pauses: list[float] = []
    client = reader(url, pauses)
    assert client.instant("up", AT)[0].value == 42.0
    assert client.requests_made == requests
    assert len(pauses) == requests - 1
    for attempt, pause in enumerate(pauses):
        assert 0 <= pause <= 0.5 * 2**attempt  # full jitter under the exponential ceiling


def test_503_that_persists_gives_up_after_the_attempts(server: FakePrometheus) -> None:
    url = server.url
    server.play([Reply(503, {"error": "query timed out"})])
    client = reader(url, [])
    with pytest.raises(PrometheusUnavailableError, match=r"after 4 attempts.*503"):
        client.instant("up", AT)
    assert client.requests_made == 4


@pytest.mark.parametrize("status", [400, 422])
def test_bad_query_is_not_retried_and_names_slo_and_query(
    server: FakePrometheus, status: int
) -> None:
    url = server.url
    server.play([Reply(status, {"status": "error", "error": "parse error: boom"})])
    client = reader(url, [])
    with pytest.raises(QueryError) as caught:
        client.instant("sum(rate(x[5m])", AT, slos=["api/availability"])
    assert client.requests_made == 1
    message = str(caught.value)
    assert "api/availability" in message
    assert "sum(rate(x[5m])" in message
    assert "parse error: boom" in message
    assert f"HTTP {status}" in message


def test_other_4xx_is_not_retried(server: FakePrometheus) -> None:
    url = server.url
    server.play([Reply(401, {"error": "unauthorized"})])
    client = reader(url, [])
    with pytest.raises(PrometheusUnavailableError, match="401"):
        client.instant("up", AT)
    assert client.requests_made == 1


def test_timeout_is_retried_then_reported(server: FakePrometheus) -> None:
    url = server.url
    server.play([Reply(200, VECTOR, delay=1.5)])
    client = reader(url, [], timeout=0.3)
    with pytest.raises(PrometheusUnavailableError, match=r"no whole answer within 0\.3 s"):
        client.instant("up", AT)
    assert client.requests_made == 4


def test_refused_connection_is_retried_then_reported() -> None:
    pauses: list[float] = []
    client = reader(f"http://127.0.0.1:{free_port()}", pauses)
    with pytest.raises(PrometheusUnavailableError, match="cannot connect"):
        client.instant("up", AT)
    assert client.requests_made == 4
    assert len(pauses) == 3
    # Down is down for the rest of this reader's work: no second round of retries.
    with pytest.raises(PrometheusUnavailableError, match="cannot connect"):
        client.range("up", AT, AT, timedelta(minutes=1))
    assert client.requests_made == 4


def test_credentials_never_appear_in_errors() -> None:
    client = reader(f"http://admin:s3cret@127.0.0.1:{free_port()}", [])
    with pytest.raises(PrometheusUnavailableError) as caught:
        client.instant("up", AT)
    assert "s3cret" not in str(caught.value)
    assert redact("https://u:p@host:9090/prom") == "https://host:9090/prom"


def test_non_vector_answer_is_a_query_error(server: FakePrometheus) -> None:
    url = server.url
    server.play([Reply(200, {"status": "success", "data": {"resultType": "scalar"}})])
    with pytest.raises(QueryError, match="instant vector"):
        reader(url, []).instant("1", AT)


@pytest.mark.parametrize(
    ("span", "step", "chunks"),
    [
        pytest.param(timedelta(hours=1), timedelta(minutes=1), 1, id="small"),
        pytest.param(timedelta(days=31), timedelta(minutes=1), 5, id="month-at-1m"),
        pytest.param(timedelta(seconds=(MAX_POINTS - 1) * 60), timedelta(minutes=1), 1, id="limit"),
        pytest.param(timedelta(seconds=MAX_POINTS * 60), timedelta(minutes=1), 2, id="limit+1"),
    ],
)
def test_range_chunks_respect_the_point_limit(
    span: timedelta, step: timedelta, chunks: int
) -> None:
    start = AT - span
    parts = range_chunks(start, AT, step)
    assert len(parts) == chunks
    assert parts[0][0] == start
    assert parts[-1][1] == AT
    points = 0
    for (chunk_start, chunk_end), following in zip(parts, [*parts[1:], None], strict=True):
        count = int((chunk_end - chunk_start) / step) + 1
        assert count <= MAX_POINTS
        points += count
        if following is not None:
            assert following[0] == chunk_end + step  # no point twice, none left out
    assert points == int(span / step) + 1


def test_range_query_is_sent_in_chunks_and_stitched(server: FakePrometheus) -> None:
    url = server.url
    start = AT - timedelta(days=10)

    def matrix(first: float, count: int) -> object:
        values = [[first + i * 60, str(i)] for i in range(count)]
        return {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [{"metric": {"service": "api"}, "values": values}],
            },
        }

    first_count = MAX_POINTS
    second_count = int(timedelta(days=10) / timedelta(minutes=1)) + 1 - first_count
    server.play(
        [
            Reply(200, matrix(start.timestamp(), first_count)),
            Reply(200, matrix(start.timestamp() + first_count * 60, second_count)),
        ]
    )
    series = reader(url, []).range("up", start, AT, timedelta(minutes=1))
    assert len(server.received) == 2
    for request in server.received:
        begin, end = float(request.params["start"][0]), float(request.params["end"][0])
        assert (end - begin) / 60 + 1 <= MAX_POINTS
    assert len(series) == 1
    stamps = [t for t, _ in series[0].points]
    assert stamps == sorted(set(stamps))
    assert len(stamps) == 14401


def test_a_gzip_bomb_is_cut_off_at_the_decompressed_limit(server: FakePrometheus) -> None:
    url = server.url
    bomb = gzip.compress(
        b'{"status":"success","data":{"resultType":"vector","result":['
        + b" " * (64 * 2**20)
        + b"]}}"
    )
    assert len(bomb) < 2**20
    server.play([Reply(200, raw=bomb, encoding="gzip")])
    client = PrometheusReader(url, limits=Limits(max_body_bytes=2**20))
    with pytest.raises(QueryError, match="larger than 1048576 bytes") as caught:
        client.instant("up", AT)
    assert caught.value.reason == "too_large"


def test_a_gzipped_answer_is_read(server: FakePrometheus) -> None:
    url = server.url
    server.play([Reply(200, raw=gzip.compress(json.dumps(VECTOR).encode()), encoding="gzip")])
    assert reader(url, []).instant("up", AT)[0].value == 42.0


def test_one_persistent_503_does_not_fail_the_next_query(server: FakePrometheus) -> None:
    url = server.url
    server.play([Reply(503), Reply(503), Reply(503), Reply(503), Reply(200, VECTOR)])
    client = reader(url, [])
    with pytest.raises(PrometheusUnavailableError) as caught:
        client.instant("up", AT)
    assert caught.value.reason == "overloaded"
    assert client.instant("up", AT)[0].value == 42.0  # asked again, not given up
    assert client.failures == {"overloaded": 1}
    assert client.answered == 1


def test_failures_are_counted_by_reason(server: FakePrometheus) -> None:
    url = server.url
    scalar = {"status": "success", "data": {"resultType": "scalar"}}
    server.play(
        [
            Reply(422, {"status": "error", "error": "bad"}),
            Reply(401, {"error": "no"}),
            Reply(200, scalar),
        ]
    )
    client = reader(url, [])
    for _ in range(3):
        with pytest.raises((QueryError, PrometheusUnavailableError)):
            client.instant("up", AT)
    assert client.failures == {"rejected": 1, "http_error": 1, "bad_answer": 1}
    assert client.answered == 2  # the 422 and the 200: Prometheus is evaluating queries


def test_secrets_include_the_forms_they_take_on_the_wire() -> None:
    found = secrets_of(
        "https://bob:p%40ss@prom:9090/?token=q-s3cret",
        Credentials(bearer_token="tok-1", basic_auth=("ann", "pw/2")),
    )
    for secret in (
        "tok-1",
        "pw/2",
        "pw%2F2",
        "YW5uOnB3LzI=",
        "p%40ss",
        "p@ss",
        "Ym9iOnBAc3M=",
        "q-s3cret",
    ):
        assert secret in found, secret
    assert scrub("Basic YW5uOnB3LzI= and Bearer tok-1 and p@ss", found) == (
        "Basic *** and Bearer *** and ***"
    )


def test_too_many_samples_is_its_own_error_and_not_retried(server: FakePrometheus) -> None:
    url = server.url
    error = "query processing would load too many samples into memory in query execution"
    server.play([Reply(422, {"status": "error", "errorType": "execution", "error": error})])
    client = reader(url, [])
    with pytest.raises(TooManySamplesError, match="too many samples"):
        client.instant("increase(x[30d])", AT)
    assert client.requests_made == 1
    server.play([Reply(422, {"status": "error", "error": "vector cannot contain metrics"})])
    with pytest.raises(QueryError) as caught:
        client.instant("x", AT)
    assert not isinstance(caught.value, TooManySamplesError)


def test_stats_are_asked_for_and_added_up(server: FakePrometheus) -> None:
    url = server.url
    stats = {"samples": {"totalQueryableSamples": 1200, "peakSamples": 300}}
    body = {"status": "success", "data": {**VECTOR["data"], "stats": stats}}  # type: ignore[dict-item]
    server.play([Reply(200, body)])
    client = reader(url, [])
    client.stats = True
    client.instant("up", AT)
    client.instant("up", AT)
    assert server.received[-1].params["stats"] == ["all"]
    assert (client.samples_read, client.peak_samples) == (2400, 300)
    plain = reader(url, [])
    plain.instant("up", AT)
    assert "stats" not in server.received[-1].params


def test_queries_reuse_one_kept_alive_connection() -> None:
    with fake_prometheus(keep_alive=True) as server:
        client = reader(server.url, [])
        for _ in range(4):
            client.instant("up", AT)
        assert len({query.peer for query in server.received}) == 1
    assert client.transport.connections_made == 1
    assert client.requests_made == 4


def test_several_threads_share_one_reader() -> None:
    """Eight threads send 160 queries through one reader: every answer is the one asked for,
    and every counter adds up (a tenth are refused, the rest report their samples)."""
    queries, threads = 160, 8

    def answer(query: Query) -> Reply:
        number = int(query.expr.removeprefix("q_"))
        if number % 10 == 9:
            return refusal(400, f"refused {number}")
        stats = {"samples": {"totalQueryableSamples": number, "peakSamples": number}}
        result = [{"metric": {"n": str(number)}, "value": [1, str(number)]}]
        data = {"resultType": "vector", "result": result, "stats": stats}
        return Reply(200, {"status": "success", "data": data})

    answers: dict[int, tuple[dict[str, str], float]] = {}
    refused: dict[int, str] = {}

    def work(first: int) -> None:
        for number in range(first, queries, threads):
            try:
                [sample] = client.instant(f"q_{number}", AT)
            except QueryError as exc:
                refused[number] = exc.reason if f"refused {number}" in str(exc) else str(exc)
            else:
                answers[number] = (dict(sample.labels), sample.value)

    with fake_prometheus(answer, keep_alive=True) as server:
        client = PrometheusReader(server.url, stats=True, retry=RetryPolicy(attempts=1))
        running = [threading.Thread(target=work, args=(first,)) for first in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join(60)
        peers = {query.peer for query in server.received}
    good = [n for n in range(queries) if n % 10 != 9]
    assert answers == {n: ({"n": str(n)}, float(n)) for n in good}
    assert refused == {n: "rejected" for n in range(queries) if n % 10 == 9}
    assert client.requests_made == queries
    assert client.answered == queries
    assert client.failures == {"rejected": queries // 10}
    assert client.samples_read == sum(good)
    assert client.peak_samples == max(good)
    assert client.gave_up is None
    assert len(peers) == client.transport.connections_made <= threads  # one per request in flight


@pytest.mark.parametrize(
    ("userinfo", "credentials", "expected"),
    [
        ("", Credentials(bearer_token="tok-1"), "Bearer tok-1"),
        ("", Credentials(basic_auth=("ann", "pw/2")), "Basic YW5uOnB3LzI="),
        ("bob:p%40ss@", Credentials(), "Basic Ym9iOnBAc3M="),  # percent-decoded: bob:p@ss
        ("bob:p%40ss@", Credentials(bearer_token="tok-1"), "Basic Ym9iOnBAc3M="),
        ("bob:p%40ss@", Credentials(basic_auth=("ann", "pw/2")), "Basic YW5uOnB3LzI="),
        ("", Credentials(), None),
    ],
)
def test_credentials_are_sent_as_before(
    server: FakePrometheus, userinfo: str, credentials: Credentials, expected: str | None
) -> None:
    """Basic auth from the credentials wins over the URL's user information, which wins over
    the bearer token (as requests applied them); the Host header never carries any."""
    url = server.url.replace("://", f"://{userinfo}")
    PrometheusReader(url, credentials=credentials).instant("up", AT)
    headers = server.received[-1].headers
    assert headers.get("Authorization") == expected
    assert headers["Host"] == server.url.removeprefix("http://")
    assert headers["Accept-Encoding"] == "gzip"
