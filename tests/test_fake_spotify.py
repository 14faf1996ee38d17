"""The fake Spotify server, exercised through the real spotipy client over HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.exceptions import SpotifyException
from spotipy.oauth2 import SpotifyOAuth, SpotifyOauthError, SpotifyPKCE

from soulsyncd.testing import ManualClock
from soulsyncd.testing.fake_spotify import FakeSpotify

REDIRECT = "http://127.0.0.1:8888/callback"
SCOPE = "playlist-read-private user-modify-playback-state user-read-playback-state"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSpotify]:
    with FakeSpotify(clock=clock.monotonic) as server:
        yield server


def pkce(fake: FakeSpotify) -> SpotifyPKCE:
    """spotipy's PKCE manager aimed at the fake (instance attributes shadow the class's URLs)."""
    auth = SpotifyPKCE(
        client_id=fake.client_id,
        redirect_uri=REDIRECT,
        scope=SCOPE,
        cache_handler=MemoryCacheHandler(),
        open_browser=False,
        requests_session=requests.Session(),
    )
    auth.OAUTH_TOKEN_URL = fake.token_url
    auth.OAUTH_AUTHORIZE_URL = fake.authorize_url
    return auth


def login(fake: FakeSpotify, auth: SpotifyPKCE) -> None:
    """The user consents in the browser; the redirected URL's code is exchanged with the verifier."""
    auth.get_access_token(auth.parse_response_code(fake.approve_url(auth.get_authorize_url())))


def client(fake: FakeSpotify, auth: SpotifyPKCE | SpotifyOAuth) -> spotipy.Spotify:
    """A spotipy client that neither retries nor sleeps, so Retry-After reaches the caller."""
    sp = spotipy.Spotify(
        auth_manager=auth,
        requests_session=requests.Session(),
        retries=0,
        status_retries=0,
        requests_timeout=5,
    )
    fake.point_spotipy(sp)
    return sp


@pytest.fixture
def auth(fake: FakeSpotify) -> SpotifyPKCE:
    manager = pkce(fake)
    login(fake, manager)
    return manager


@pytest.fixture
def sp(fake: FakeSpotify, auth: SpotifyPKCE) -> spotipy.Spotify:
    return client(fake, auth)


def add_tracks(fake: FakeSpotify, n: int, duration_s: float = 100.0, prefix: str = "t") -> list[str]:
    uris = [f"spotify:track:{prefix}{i}" for i in range(n)]
    for i, uri in enumerate(uris):
        fake.add_track(uri, f"Song {prefix}{i}", [f"Artist {i % 3}"], duration_s)
    return uris


def error_of(call: object) -> SpotifyException:
    with pytest.raises(SpotifyException) as info:
        call()  # type: ignore[operator]
    return info.value


# --- accounts ----------------------------------------------------------------------------------


def test_pkce_login_exchanges_the_code_and_the_api_answers(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    me = sp.me()
    assert me["id"] == fake.user_id
    assert "product" not in me  # gone from /me in 2026: Premium shows only at play time
    assert [r.path for r in fake.requests][:2] == ["/api/token", "/v1/me/"]
    assert SpotifyPKCE.OAUTH_TOKEN_URL == "https://accounts.spotify.com/api/token"  # nothing leaked


def test_pkce_wrong_verifier_is_invalid_grant_and_the_code_is_single_use(fake: FakeSpotify) -> None:
    auth = pkce(fake)
    code = auth.parse_response_code(fake.approve_url(auth.get_authorize_url()))
    auth.code_verifier = "not-the-verifier-whose-challenge-was-approved-0123456789"
    with pytest.raises(SpotifyOauthError) as wrong:
        auth.get_access_token(code)
    assert (wrong.value.error, wrong.value.error_description) == (
        "invalid_grant",
        "code_verifier was incorrect",
    )
    with pytest.raises(SpotifyOauthError) as reused:
        auth.get_access_token(code)
    assert reused.value.error_description == "Invalid authorization code"


def test_code_is_bound_to_its_redirect_uri(fake: FakeSpotify) -> None:
    auth = pkce(fake)
    code = auth.parse_response_code(fake.approve_url(auth.get_authorize_url()))
    auth.redirect_uri = "http://127.0.0.1:9999/elsewhere"
    with pytest.raises(SpotifyOauthError) as info:
        auth.get_access_token(code)
    assert info.value.error_description == "Invalid redirect URI"


def test_approve_url_refuses_localhost_and_foreign_clients(fake: FakeSpotify) -> None:
    auth = pkce(fake)
    auth.redirect_uri = "http://localhost:8888/callback"
    with pytest.raises(ValueError, match="Insecure redirect URI"):
        fake.approve_url(auth.get_authorize_url())
    with pytest.raises(ValueError, match="Invalid client"):
        fake.approve_url(auth.get_authorize_url().replace("fake-client-id", "someone-else"))


def test_approve_url_returns_state_and_auto_approve_redirects_the_browser(fake: FakeSpotify) -> None:
    auth = pkce(fake)
    redirected = urlsplit(fake.approve_url(auth.get_authorize_url(state="xyz")))
    assert parse_qs(redirected.query)["state"] == ["xyz"]
    assert requests.get(auth.get_authorize_url(), timeout=5, allow_redirects=False).status_code == 200
    fake.auto_approve = True
    answer = requests.get(auth.get_authorize_url(state="s1"), timeout=5, allow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    assert parse_qs(urlsplit(location).query)["state"] == ["s1"]
    auth.get_access_token(auth.parse_response_code(location))  # the code works like any other


def test_classic_flow_needs_the_client_secret(fake: FakeSpotify) -> None:
    def oauth(secret: str) -> SpotifyOAuth:
        manager = SpotifyOAuth(
            client_id=fake.client_id,
            client_secret=secret,
            redirect_uri=REDIRECT,
            scope=SCOPE,
            cache_handler=MemoryCacheHandler(),
            open_browser=False,
            requests_session=requests.Session(),
        )
        fake.point_spotipy(manager)
        return manager

    wrong = oauth("wrong-secret")
    code = fake.approve(redirect_uri=REDIRECT, state=None, code_challenge=None)
    with pytest.raises(SpotifyOauthError) as info:
        wrong.get_access_token(code, as_dict=False)
    assert (info.value.error, info.value.error_description) == ("invalid_client", "Invalid client secret")
    right = oauth(fake.client_secret)
    code = fake.approve(redirect_uri=REDIRECT, state=None, code_challenge=None)
    right.get_access_token(code, as_dict=False)
    assert client(fake, right).me()["id"] == fake.user_id


def test_without_pkce_or_secret_the_code_is_refused(fake: FakeSpotify) -> None:
    code = fake.approve(redirect_uri=REDIRECT, state=None, code_challenge=None)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": fake.client_id,
    }
    answer = requests.post(fake.token_url, data=form, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"


def test_approve_binds_the_code_to_the_s256_challenge(fake: FakeSpotify) -> None:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    code = fake.approve(redirect_uri=REDIRECT, state="s", code_challenge=challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": fake.client_id,
        "code_verifier": verifier,
    }
    token = requests.post(fake.token_url, data=form, timeout=5).json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["refresh_token"]


def test_refresh_rotates_and_the_old_refresh_token_is_spent(fake: FakeSpotify, auth: SpotifyPKCE) -> None:
    first = auth.cache_handler.get_cached_token()["refresh_token"]
    renewed = auth.refresh_access_token(first)
    assert renewed["refresh_token"] != first
    assert auth.cache_handler.get_cached_token()["refresh_token"] == renewed["refresh_token"]
    with pytest.raises(SpotifyOauthError) as info:
        auth.refresh_access_token(first)
    assert (info.value.error, info.value.error_description) == ("invalid_grant", "Invalid refresh token")
    auth.refresh_access_token(renewed["refresh_token"])


def test_revoked_refresh_token_is_invalid_grant(fake: FakeSpotify, auth: SpotifyPKCE) -> None:
    fake.revoke_refresh_tokens()
    with pytest.raises(SpotifyOauthError) as info:
        auth.refresh_access_token(auth.cache_handler.get_cached_token()["refresh_token"])
    assert (info.value.error, info.value.error_description) == ("invalid_grant", "Refresh token revoked")


def test_access_token_expires_on_the_clock_and_a_refresh_cures_it(
    fake: FakeSpotify, auth: SpotifyPKCE, sp: spotipy.Spotify, clock: ManualClock
) -> None:
    sp.me()
    clock.advance(3600)
    error = error_of(sp.me)
    assert error.http_status == 401
    assert "The access token expired" in error.msg
    auth.refresh_access_token(auth.cache_handler.get_cached_token()["refresh_token"])
    assert sp.me()["id"] == fake.user_id
    fake.expire_access_tokens()
    assert error_of(sp.me).http_status == 401


def test_missing_or_unknown_token_is_401(fake: FakeSpotify) -> None:
    assert requests.get(fake.api_prefix + "me", timeout=5).json()["error"] == {
        "status": 401,
        "message": "No token provided",
    }
    answer = requests.get(fake.api_prefix + "me", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "Invalid access token"


def test_issue_tokens_logs_in_without_the_dance(fake: FakeSpotify) -> None:
    cache = MemoryCacheHandler(token_info=fake.issue_tokens())
    auth = pkce(fake)
    auth.cache_handler = cache
    assert client(fake, auth).me()["id"] == fake.user_id


# --- devices -----------------------------------------------------------------------------------


def test_devices_appear_disappear_and_change_id(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    assert sp.devices() == {"devices": []}
    kitchen = fake.add_device("Kitchen", volume=30)
    fake.add_device("Phone", type="Smartphone", restricted=True)
    listed = sp.devices()["devices"]
    assert [(d["name"], d["type"], d["is_active"], d["is_restricted"]) for d in listed] == [
        ("Kitchen", "Speaker", False, False),
        ("Phone", "Smartphone", False, True),
    ]
    assert listed[0] == {
        "id": kitchen,
        "is_active": False,
        "is_private_session": False,
        "is_restricted": False,
        "name": "Kitchen",
        "supports_volume": True,
        "type": "Speaker",
        "volume_percent": 30,
    }
    fake.set_device_id("Kitchen", "new-id")
    stale = error_of(lambda: sp.start_playback(device_id=kitchen, uris=add_tracks(fake, 1)))
    assert (stale.http_status, stale.msg.split("\n")[-1].strip(), stale.reason) == (
        404,
        "Device not found",
        None,
    )
    fake.remove_device("Kitchen")
    assert [d["name"] for d in sp.devices()["devices"]] == ["Phone"]
    fake.add_device("Kitchen", id="back-again")
    sp.start_playback(device_id="back-again", uris=["spotify:track:t0"])
    assert fake.playback()["device"]["name"] == "Kitchen"  # type: ignore[index]


def test_restricted_device_refuses_commands(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    phone = fake.add_device("Phone", restricted=True)
    error = error_of(lambda: sp.start_playback(device_id=phone, uris=add_tracks(fake, 1)))
    assert (error.http_status, error.reason) == (403, "UNKNOWN")
    assert "Restricted device" in error.msg


def test_no_active_device(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    uris = add_tracks(fake, 1)
    fake.add_device("Kitchen")
    for call in (lambda: sp.start_playback(uris=uris), lambda: sp.add_to_queue(uris[0]), sp.pause_playback):
        error = error_of(call)
        assert (error.http_status, error.reason) == (404, "NO_ACTIVE_DEVICE")
        assert "Player command failed: No active device found" in error.msg


# --- player ------------------------------------------------------------------------------------


def test_nothing_playing_is_204(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    assert sp.current_playback() is None
    assert sp.currently_playing() is None
    assert [r.status for r in fake.requests[-2:]] == [204, 204]
    assert fake.playback() is None


def test_play_a_playlist_and_progress_through_tracks_queue_first(
    fake: FakeSpotify, sp: spotipy.Spotify, clock: ManualClock
) -> None:
    t = add_tracks(fake, 3, duration_s=100)
    (extra,) = add_tracks(fake, 1, duration_s=30, prefix="q")
    fake.add_playlist("calm", "Calm", t)
    kitchen = fake.add_device("Kitchen")
    sp.start_playback(device_id=kitchen, context_uri="spotify:playlist:calm")
    state = sp.current_playback()
    assert (state["item"]["uri"], state["progress_ms"], state["is_playing"]) == (t[0], 0, True)
    assert state["device"]["id"] == kitchen
    assert state["device"]["is_active"]
    assert state["context"]["uri"] == "spotify:playlist:calm"
    assert state["currently_playing_type"] == "track"
    item = state["item"]
    assert (item["id"], item["name"], item["duration_ms"], item["artists"][0]["name"]) == (
        "t0",
        "Song t0",
        100_000,
        "Artist 0",
    )
    clock.advance(150)
    assert (sp.currently_playing()["item"]["uri"], sp.currently_playing()["progress_ms"]) == (t[1], 50_000)
    sp.add_to_queue(extra)
    assert fake.queue == [extra]
    clock.advance(60)  # t1 ends at +50: the queued track comes before the playlist's next
    assert (fake.playback()["item"]["uri"], fake.playback()["progress_ms"]) == (extra, 10_000)  # type: ignore[index]
    assert fake.queue == []
    clock.advance(20)
    assert fake.playback()["item"]["uri"] == t[2]  # type: ignore[index]
    clock.advance(500)  # the end of the playlist: playback stops on its last track
    state = sp.current_playback()
    assert (state["item"]["uri"], state["is_playing"], state["progress_ms"]) == (t[2], False, 0)


def test_pause_resume_next_and_pausing_twice(
    fake: FakeSpotify, sp: spotipy.Spotify, clock: ManualClock
) -> None:
    t = add_tracks(fake, 2)
    kitchen = fake.add_device("Kitchen")
    sp.start_playback(device_id=kitchen, uris=t, offset={"uri": t[0]}, position_ms=20_000)
    clock.advance(10)
    sp.pause_playback()
    clock.advance(1000)  # paused: no progress
    assert fake.playback()["progress_ms"] == 30_000
    assert not fake.playback()["is_playing"]
    error = error_of(sp.pause_playback)
    assert (error.http_status, error.reason) == (403, "UNKNOWN")
    sp.start_playback()  # resume
    clock.advance(5)
    assert fake.playback()["progress_ms"] == 35_000  # type: ignore[index]
    sp.next_track()
    assert (fake.playback()["item"]["uri"], fake.playback()["progress_ms"]) == (t[1], 0)  # type: ignore[index]
    sp.next_track()  # nothing after the last: playback stops
    assert not fake.playback()["is_playing"]  # type: ignore[index]


def test_transfer_moves_playback_and_volume_sets_the_device(
    fake: FakeSpotify, sp: spotipy.Spotify, clock: ManualClock
) -> None:
    t = add_tracks(fake, 1, duration_s=300)
    kitchen, den = fake.add_device("Kitchen"), fake.add_device("Den", volume=10)
    sp.transfer_playback(den, force_play=True)  # nothing loaded: the device just becomes active
    assert sp.current_playback() is None
    assert [d["is_active"] for d in sp.devices()["devices"]] == [False, True]
    sp.start_playback(device_id=kitchen, uris=t)
    clock.advance(30)
    sp.transfer_playback(den, force_play=True)
    state = sp.current_playback()
    assert (state["device"]["name"], state["progress_ms"], state["is_playing"]) == ("Den", 30_000, True)
    sp.volume(77)
    assert sp.devices()["devices"][1]["volume_percent"] == 77
    sp.volume(5, device_id=kitchen)  # another device's volume; playback stays where it is
    assert [(d["volume_percent"], d["is_active"]) for d in sp.devices()["devices"]] == [
        (5, False),
        (77, True),
    ]


def test_the_listener_takes_over_from_the_phone(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    t = add_tracks(fake, 2)
    fake.add_playlist("mine", "Mine", t[1:])
    kitchen = fake.add_device("Kitchen")
    fake.add_device("Phone", type="Smartphone", restricted=True)
    sp.start_playback(device_id=kitchen, uris=t[:1])
    fake.listener_plays("spotify:playlist:mine")
    state = sp.current_playback()
    assert (state["item"]["uri"], state["context"]["uri"]) == (t[1], "spotify:playlist:mine")
    fake.listener_pauses()
    assert not sp.current_playback()["is_playing"]
    fake.listener_transfers("Phone")
    assert sp.current_playback()["device"]["name"] == "Phone"
    fake.listener_plays(t[0], device="Kitchen")
    state = sp.current_playback()
    assert (state["device"]["name"], state["item"]["uri"], state["context"]) == ("Kitchen", t[0], None)


def test_an_ad_or_a_local_file_plays_without_a_catalog_item_and_stops_at_its_end(
    fake: FakeSpotify, sp: spotipy.Spotify, clock: ManualClock
) -> None:
    t = add_tracks(fake, 1)
    sp.start_playback(device_id=fake.add_device("Kitchen"), uris=t)
    fake.listener_plays_non_catalog("ad", duration_s=30.0)
    clock.advance(12)
    state = sp.current_playback()
    assert (state["device"]["name"], state["item"], state["currently_playing_type"], state["progress_ms"],
            state["is_playing"]) == ("Kitchen", None, "ad", 12_000, True)
    fake.listener_plays_non_catalog("local file", device="Kitchen", duration_s=20.0)
    clock.advance(5)
    state = sp.current_playback()
    item = state["item"]
    assert (item["uri"], item["is_local"], item["id"], item["duration_ms"], state["currently_playing_type"],
            state["progress_ms"]) == (
        "spotify:local:Local+Band:Home+Recordings:Demo+Tape:20", True, None, 20_000, "track", 5_000)
    clock.advance(15)  # it ended: nothing follows it
    state = sp.current_playback()
    assert (state["is_playing"], state["progress_ms"], state["item"]["is_local"]) == (False, 0, True)
    fake.listener_plays(t[0])  # a catalog track replaces it
    assert sp.current_playback()["item"]["uri"] == t[0]
    with pytest.raises(ValueError, match="not an ad or a local file: podcast"):
        fake.listener_plays_non_catalog("podcast")


def test_answer_next_sends_a_body_as_it_is_then_serves_again(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    t = add_tracks(fake, 1)
    sp.start_playback(device_id=fake.add_device("Kitchen"), uris=t)
    fake.answer_next(1, {"progress_ms": "soon", "item": []}, path_prefix="me/player")
    assert sp.current_playback() == {"progress_ms": "soon", "item": []}
    assert sp.current_playback()["item"]["uri"] == t[0]
    assert [r.status for r in fake.requests if r.path == "/v1/me/player"] == [200, 200]


def test_the_active_device_leaving_ends_playback(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    t = add_tracks(fake, 1)
    sp.start_playback(device_id=fake.add_device("Kitchen"), uris=t)
    fake.remove_device("Kitchen")
    assert sp.current_playback() is None
    assert error_of(sp.pause_playback).reason == "NO_ACTIVE_DEVICE"


def test_without_premium_player_commands_are_403_but_reads_work(
    fake: FakeSpotify, sp: spotipy.Spotify
) -> None:
    t = add_tracks(fake, 1)
    kitchen = fake.add_device("Kitchen")
    fake.premium = False
    error = error_of(lambda: sp.start_playback(device_id=kitchen, uris=t))
    assert (error.http_status, error.reason) == (403, "PREMIUM_REQUIRED")
    assert sp.devices()["devices"][0]["name"] == "Kitchen"
    assert sp.current_playback() is None


def test_unknown_tracks_and_contexts_are_refused(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    kitchen = fake.add_device("Kitchen")
    assert (
        error_of(lambda: sp.start_playback(device_id=kitchen, uris=["spotify:track:nope"])).http_status == 404
    )
    assert (
        error_of(lambda: sp.start_playback(device_id=kitchen, context_uri="spotify:playlist:x")).http_status
        == 404
    )
    fake.add_playlist("one", "One", add_tracks(fake, 1))
    offset = error_of(
        lambda: sp.start_playback(
            device_id=kitchen, context_uri="spotify:playlist:one", offset={"position": 5}
        )
    )
    assert offset.http_status == 400


# --- catalog -----------------------------------------------------------------------------------


def test_playlist_items_page_by_50_with_next_pointing_at_the_fake(
    fake: FakeSpotify, sp: spotipy.Spotify
) -> None:
    uris = add_tracks(fake, 120, duration_s=200)
    fake.add_playlist("big", "Big", uris)
    page = sp.playlist_items("big", limit=50)
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (120, 0, 50, 50)
    assert page["next"].startswith(fake.api_prefix + "playlists/big/items?")
    assert page["previous"] is None
    first = page["items"][0]
    assert "track" not in first  # 2026: items[].item; the deprecated field is absent here on purpose
    assert (first["item"]["uri"], first["item"]["duration_ms"], first["is_local"]) == (
        uris[0],
        200_000,
        False,
    )
    seen = [i["item"]["uri"] for i in page["items"]]
    while page["next"]:
        page = sp.next(page)
        seen += [i["item"]["uri"] for i in page["items"]]
    assert seen == uris
    assert page["offset"] == 100
    assert len(page["items"]) == 20
    assert error_of(lambda: sp.playlist_items("big", limit=51)).http_status == 400


def test_playlist_fields_filter_is_applied_and_carried_to_next_pages(
    fake: FakeSpotify, sp: spotipy.Spotify
) -> None:
    fake.add_playlist("p", "P", add_tracks(fake, 3))
    page = sp.playlist_items(
        "p", limit=2, fields="items(item(uri,name,artists(name),duration_ms)),next,total"
    )
    assert set(page) == {"items", "next", "total"}
    assert page["items"][0] == {
        "item": {
            "uri": "spotify:track:t0",
            "name": "Song t0",
            "artists": [{"name": "Artist 0"}],
            "duration_ms": 100_000,
        }
    }
    assert sp.next(page) == {
        "items": [
            {
                "item": {
                    "uri": "spotify:track:t2",
                    "name": "Song t2",
                    "artists": [{"name": "Artist 2"}],
                    "duration_ms": 100_000,
                }
            }
        ],
        "next": None,
        "total": 3,
    }
    assert sp.playlist_items("p", fields="items.item.uri") == {
        "items": [{"item": {"uri": u}} for u in ("spotify:track:t0", "spotify:track:t1", "spotify:track:t2")]
    }
    assert error_of(lambda: sp.playlist_items("p", fields="items(item")).http_status == 400


def test_playlists_not_owned_are_403_and_spotify_owned_are_404(
    fake: FakeSpotify, sp: spotipy.Spotify
) -> None:
    uris = add_tracks(fake, 2)
    fake.add_playlist("theirs", "Theirs", uris, owned=False)
    fake.add_playlist("37i9dQZF1DX0", "Editorial", uris)
    error = error_of(lambda: sp.playlist_items("theirs"))
    assert error.http_status == 403
    meta = sp.playlist("theirs")
    assert (meta["name"], meta["owner"]["id"], meta["items"]) == ("Theirs", "someone-else", None)
    assert error_of(lambda: sp.playlist_items("37i9dQZF1DX0")).http_status == 404
    assert error_of(lambda: sp.playlist("37i9dQZF1DX0")).http_status == 404
    assert error_of(lambda: sp.playlist_items("unknown")).http_status == 404
    fake.add_playlist("mine", "Mine", uris)
    assert sp.playlist("mine", fields="name,owner.id") == {"name": "Mine", "owner": {"id": fake.user_id}}
    assert sp.playlist("mine")["items"]["total"] == 2


def test_search_tracks_at_most_10(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    add_tracks(fake, 30)
    page = sp.search('artist:"Artist 1"', limit=10, type="track")["tracks"]
    assert page["total"] == 10
    assert len(page["items"]) == 10
    assert all(t["artists"][0]["name"] == "Artist 1" for t in page["items"])
    assert sp.search("Song t7")["tracks"]["items"][0]["uri"] == "spotify:track:t7"
    assert error_of(lambda: sp.search("Song", limit=11)).http_status == 400


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_removed_endpoints_are_404(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    for call in (
        lambda: sp.audio_features(["t0"]),
        lambda: sp.audio_analysis("t0"),
        lambda: sp.recommendations(seed_tracks=["t0"]),
        lambda: sp.artist_related_artists("a0"),
    ):
        assert error_of(call).http_status == 404


# --- faults ------------------------------------------------------------------------------------


def test_429_carries_retry_after_to_the_caller(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    fake.fail_next(1, 429, retry_after=3600, reason="QUOTA_EXCEEDED")
    error = error_of(sp.devices)
    assert (error.http_status, error.reason, error.headers["Retry-After"]) == (429, "QUOTA_EXCEEDED", "3600")
    assert sp.devices() == {"devices": []}  # one failure only


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (500, None),
        (502, None),
        (503, None),
        (401, None),
        (403, "PREMIUM_REQUIRED"),
        (404, "NO_ACTIVE_DEVICE"),
    ],
)
def test_injected_errors_reach_spotipy_with_spotifys_body(
    fake: FakeSpotify, sp: spotipy.Spotify, status: int, reason: str | None
) -> None:
    fake.fail_next(2, status, reason=reason)
    for _ in range(2):
        error = error_of(sp.current_playback)
        assert (error.http_status, error.reason) == (status, reason)
    assert sp.current_playback() is None


def test_202_means_the_command_was_not_carried_out(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    t = add_tracks(fake, 1)
    kitchen = fake.add_device("Kitchen")
    fake.fail_next(1, 202, path_prefix="me/player/play")
    assert sp.current_playback() is None  # a GET is not matched by the prefix
    assert sp.start_playback(device_id=kitchen, uris=t) is None
    assert fake.requests[-1].status == 202
    assert fake.playback() is None
    sp.start_playback(device_id=kitchen, uris=t)
    assert fake.playback() is not None


def test_faults_on_the_token_endpoint_only_when_asked(fake: FakeSpotify, auth: SpotifyPKCE) -> None:
    fake.fail_next(1, 503)
    fake.fail_next(1, 500, path_prefix="/api/token", message="Accounts down")
    refresh = auth.cache_handler.get_cached_token()["refresh_token"]
    with pytest.raises(SpotifyOauthError) as info:
        auth.refresh_access_token(refresh)
    assert info.value.error_description == "Accounts down"
    auth.refresh_access_token(refresh)  # the failed attempt did not spend it


def test_go_down_refuses_connections_and_come_up_recovers_on_the_same_port(
    fake: FakeSpotify, sp: spotipy.Spotify
) -> None:
    url = fake.url
    fake.go_down()
    with pytest.raises(requests.exceptions.ConnectionError):
        sp.devices()
    fake.come_up()
    assert fake.url == url
    assert sp.devices() == {"devices": []}


def test_latency_delays_answers_past_the_clients_timeout(fake: FakeSpotify, sp: spotipy.Spotify) -> None:
    fake.set_latency(30)  # stop() cuts the wait short at teardown
    sp.requests_timeout = 0.05
    with pytest.raises(requests.exceptions.ReadTimeout):
        sp.devices()


def test_request_log_is_stamped_with_the_clock_and_thread_safe(
    fake: FakeSpotify, sp: spotipy.Spotify, clock: ManualClock
) -> None:
    clock.advance(10)
    sp.devices()
    clock.advance(10)
    sp.current_playback()
    assert [(r.method, r.path, r.status) for r in fake.requests_between(1010, 1020)] == [
        ("GET", "/v1/me/player/devices", 200)
    ]
    auth_header = {"Authorization": "Bearer " + fake.issue_tokens()["access_token"]}

    def hammer() -> None:
        with requests.Session() as session:
            for _ in range(10):
                assert session.get(fake.api_prefix + "me/player/devices", headers=auth_header, timeout=5).ok

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.requests_between(1020, 1021)) == 1 + 60


def test_malformed_requests_are_400_and_wrong_methods_405(fake: FakeSpotify) -> None:
    headers = {"Authorization": "Bearer " + fake.issue_tokens()["access_token"]}
    fake.add_device("Kitchen", id="k")
    put = requests.put(
        fake.api_prefix + "me/player/play?device_id=k", data='{"uris": 5}', headers=headers, timeout=5
    )
    assert put.status_code == 400
    assert put.json()["error"]["status"] == 400
    assert (
        requests.put(fake.api_prefix + "me/player", data="{", headers=headers, timeout=5).status_code == 400
    )
    assert requests.post(fake.api_prefix + "me/player/devices", headers=headers, timeout=5).status_code == 405
