"""The feature look-up against the fake ReccoBeats on 127.0.0.1 (real requests, no real sleeping)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from soulsyncd.catalog.enrich import EnrichError, ReccoBeatsClient, enrich, parse_features
from soulsyncd.catalog.store import CatalogStore, CatalogTrack
from soulsyncd.testing.fake_reccobeats import FakeReccoBeats


def tid(n: int) -> str:
    return f"{n:022d}"


def uri(n: int) -> str:
    return f"spotify:track:{tid(n)}"


@pytest.fixture
def fake() -> Iterator[FakeReccoBeats]:
    with FakeReccoBeats() as server:
        yield server


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(fake: FakeReccoBeats, sleeps: Sleeps | None = None, **kw: float) -> ReccoBeatsClient:
    return ReccoBeatsClient(fake.base_url, sleep=sleeps or Sleeps(), timeout_s=5, **kw)  # type: ignore[arg-type]


def test_batches_of_40_matched_by_href_unknown_ids_absent_each_asked_once(fake: FakeReccoBeats) -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([CatalogTrack(uri(i), f"Song {i}", ("A",)) for i in range(100)], source="spotify")
    store.upsert_tracks([CatalogTrack(uri(200), "Known", ("A",), valence=0.1, energy=0.1)], source="csv:x")
    for i in range(0, 100, 3):  # the service knows every third track
        fake.add(tid(i), valence=0.01 * i, energy=1 - 0.01 * i, tempo=100.0 + i)
    report = enrich(store, client(fake))
    assert [len(ids) for ids in fake.requests] == [40, 40, 20]
    assert tid(200) not in {i for ids in fake.requests for i in ids}  # CSV features are not asked about
    assert (report.asked, report.found, report.requests) == (100, 34, 3)
    # The fake answers in reversed order under its own UUIDs: only href matching gets this right.
    t = store.track(uri(42))
    assert t == CatalogTrack(uri(42), "Song 42", ("A",), 0.0, 0.42, pytest.approx(0.58), 142.0, "reccobeats")
    assert (store.track(uri(1)) or t).valence is None
    # A second run asks nobody: found and unknown ids alike were remembered.
    again = enrich(store, client(fake))
    assert (again.asked, len(fake.requests)) == (0, 3)
    assert store.stats()["enrich_asked"] == 100


def test_tracks_with_only_a_playlist_prior_are_looked_up(fake: FakeReccoBeats) -> None:
    store = CatalogStore(":memory:")
    store.set_playlist("p", name="Happy", tag="happy", valence=0.9, energy=0.7,
                       tracks=[CatalogTrack(uri(1), "S", ("A",))])
    fake.add(tid(1), valence=0.3, energy=0.2)
    assert enrich(store, client(fake)).found == 1
    assert (store.track(uri(1)) or CatalogTrack("", "", ())).feature_source == "reccobeats"


def test_429_waits_retry_after_then_succeeds(fake: FakeReccoBeats) -> None:
    sleeps = Sleeps()
    fake.add(tid(1), valence=0.5, energy=0.5)
    fake.fail_next(429, retry_after="7")
    fake.fail_next(429)  # no Retry-After: our own back-off
    fake.fail_next(503)
    found = client(fake, sleeps).audio_features([tid(1)])
    assert set(found) == {tid(1)}
    assert sleeps.waits == [7.0, 2.0, 4.0]  # the fallback doubles on every failed attempt
    assert len(fake.requests) == 4


def test_a_huge_retry_after_is_clamped(fake: FakeReccoBeats) -> None:
    sleeps = Sleeps()
    fake.fail_next(429, retry_after="86400")
    client(fake, sleeps, max_wait_s=60).audio_features([tid(1)])
    assert sleeps.waits == [60.0]


def test_persistent_failure_is_an_error_and_keeps_earlier_batches(fake: FakeReccoBeats) -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([CatalogTrack(uri(i), "S", ()) for i in range(50)], source="spotify")
    fake.add(tid(0), valence=0.5, energy=0.5)
    sleeps = Sleeps()
    c = client(fake, sleeps, max_attempts=3)
    # The first batch goes through; then the service drops every connection.
    original = c.audio_features

    def first_then_down(ids: list[str]) -> object:
        result = original(ids)
        fake.fail_next(drop=True, times=10)
        return result

    c.audio_features = first_then_down  # type: ignore[method-assign,assignment]
    with pytest.raises(EnrichError, match=r"unreachable .* after 3 attempts"):
        enrich(store, c)
    assert sleeps.waits == [1.0, 2.0]
    assert (store.track(uri(0)) or CatalogTrack("", "", ())).valence == 0.5
    assert store.ids_to_enrich(service="reccobeats")[:1] == [tid(40)]  # the failed batch is asked again


def test_a_refused_request_is_an_error_at_once(fake: FakeReccoBeats) -> None:
    fake.fail_next(403)
    with pytest.raises(EnrichError, match="refused the request"):
        client(fake).audio_features([tid(1)])
    assert len(fake.requests) == 1


def test_more_than_40_ids_is_refused_before_sending(fake: FakeReccoBeats) -> None:
    with pytest.raises(ValueError, match="at most 40"):
        client(fake).audio_features([tid(i) for i in range(41)])
    assert fake.requests == []


def test_limit_and_stop(fake: FakeReccoBeats) -> None:
    import threading

    store = CatalogStore(":memory:")
    store.upsert_tracks([CatalogTrack(uri(i), "S", ()) for i in range(100)], source="spotify")
    report = enrich(store, client(fake), limit=45)
    assert (report.asked, report.remaining) == (45, 55)
    stop = threading.Event()
    stop.set()
    assert enrich(store, client(fake), stop=stop).remaining == 55


def test_parse_features_drops_malformed_items() -> None:
    body = {"content": [
        {"href": f"https://open.spotify.com/track/{tid(1)}", "valence": 0.5, "energy": 0.4, "tempo": 0},
        {"href": f"https://open.spotify.com/track/{tid(2)}", "valence": 1.5, "energy": 0.4},
        {"href": "https://example.com/", "valence": 0.5, "energy": 0.4},
        {"href": f"https://open.spotify.com/track/{tid(3)}", "valence": "0.5", "energy": 0.4},
        "junk",
    ]}
    found = parse_features(body)
    assert list(found) == [tid(1)]
    assert found[tid(1)].tempo is None
    assert parse_features({"error": "x"}) == {}
    assert parse_features([]) == {}


def test_the_daemon_service_looks_up_in_the_background_and_stops_promptly(fake: FakeReccoBeats) -> None:
    from soulsyncd.catalog.enrich import EnrichService

    store = CatalogStore(":memory:")
    store.upsert_tracks([CatalogTrack(uri(1), "S", ())], source="spotify")
    fake.add(tid(1), valence=0.6, energy=0.4)
    service = EnrichService(store, fake.base_url, first_delay_s=0, interval_s=3600)
    service.start()
    try:
        assert service.passed.wait(timeout=10)
        assert service.last_report is not None
        assert service.last_report.found == 1
    finally:
        service.stop()  # returns at once although the next pass is an hour away
    assert (store.track(uri(1)) or CatalogTrack("", "", ())).valence == 0.6


def test_the_daemon_service_survives_a_failing_service(fake: FakeReccoBeats) -> None:
    from soulsyncd.catalog.enrich import EnrichService

    store = CatalogStore(":memory:")
    store.upsert_tracks([CatalogTrack(uri(1), "S", ())], source="spotify")
    fake.fail_next(403)
    service = EnrichService(store, fake.base_url, first_delay_s=0, retry_s=3600)
    service.start()
    try:
        assert service.passed.wait(timeout=10)
        assert service.last_error is not None
        assert "refused" in service.last_error
    finally:
        service.stop()
