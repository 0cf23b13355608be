"""The Spotify source against a stand-in Spotify (pytest-httpserver on 127.0.0.1): the token,
search, audio features (given, or refused with a 403), artists; 429s, 5xx, timeouts and
malformed bodies; credentials from each place, refused, and never in a log."""

import asyncio
import base64
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from jamd.app.training import make_sources, train
from jamd.errors import InputError
from jamd.settings import Settings, Spotify, Training
from jamd.store import Store
from jamd.training.source import Fetched, SourceError
from jamd.training.spotify import FEATURES_DENIED, MALFORMED, RATE_LIMITED, SpotifySource

CLIENT_ID = "jamd-test-client-id"
SECRET = "s3cr3t-Xq9-never-logged"
TOKEN = "access-token-Zr7-also-private"
BASIC = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
GENRES = ["blues", "jazz", "hip-hop"]


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json")


def _track_id(genre: str, index: int) -> str:
    return f"t{genre.replace('-', '')}{index:04d}"


def _artist_id(genre: str, index: int) -> str:
    return f"a{genre.replace('-', '')}{index // 2:04d}"  # two tracks an artist


class FakeSpotify:
    """Token, search, audio features and artists, as Spotify shapes them; each genre has
    ``total`` tracks. Failures are put in front of these with ``fail`` (one-shot answers)."""

    def __init__(self, server: HTTPServer, total: int = 1000) -> None:
        self.server = server
        self.total = total
        server.expect_request("/api/token", method="POST").respond_with_handler(self.token)
        server.expect_request("/v1/search").respond_with_handler(self.search)
        server.expect_request("/v1/audio-features").respond_with_handler(self.features)
        server.expect_request("/v1/artists/").respond_with_handler(self.artists)

    def settings(self, **changes: Any) -> Spotify:
        values: dict[str, Any] = {
            "enabled": True,
            "client_id": SecretStr(CLIENT_ID),
            "client_secret": SecretStr(SECRET),
            "tracks_per_genre": 3,
            "timeout_seconds": 5.0,
            "attempts": 3,
            "api_url": self.server.url_for("/v1/"),
            "token_url": self.server.url_for("/api/token"),
        }
        values.update(changes)
        return Spotify(**values)

    def fail(self, path: str, response: Callable[[Request], Response], times: int = 1) -> None:
        for _ in range(times):
            self.server.expect_oneshot_request(path).respond_with_handler(response)

    def requests(self, path: str) -> list[Request]:
        return [request for request, _ in self.server.log if request.path == path]

    def token(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Basic {BASIC}":
            return _json({"error": "invalid_client", "error_description": "Invalid client"}, 400)
        if request.form.get("grant_type") != "client_credentials":
            return _json({"error": "unsupported_grant_type"}, 400)
        return _json({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600})

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def search(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json({"error": {"status": 401, "message": "No token"}}, 401)
        found = re.fullmatch(r'genre:"([a-z-]+)"', request.args["q"])
        assert found is not None, request.args["q"]
        genre = found.group(1)
        limit, offset = int(request.args["limit"]), int(request.args["offset"])
        assert 1 <= limit <= 50
        items = [
            {
                "id": _track_id(genre, index),
                "name": f"{genre} song {index}",
                "artists": [{"id": _artist_id(genre, index), "name": f"{genre} artist"}],
                "album": {"release_date": f"{1990 + index % 30}-05-01"},
                "popularity": index % 100,
                "duration_ms": 180_000 + index,
            }
            for index in range(offset, min(offset + limit, self.total))
        ]
        more = offset + limit < self.total
        return _json(
            {
                "tracks": {
                    "items": items,
                    "total": self.total,
                    "limit": limit,
                    "offset": offset,
                    "next": "https://example.invalid/next" if more else None,
                }
            }
        )

    def features(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json({"error": {"status": 401, "message": "No token"}}, 401)
        ids = request.args["ids"].split(",")
        assert len(ids) <= 100
        return _json(
            {
                "audio_features": [
                    {
                        "id": track_id,
                        "tempo": 90.0 + int(track_id[-4:]) % 20,
                        "key": 4,
                        "mode": 1,
                        "time_signature": 4,
                        "energy": 0.6,
                        "danceability": 0.5,
                        "valence": 0.4,
                        "loudness": -7.0,  # not in the vocabulary: left out
                    }
                    for track_id in ids
                ]
            }
        )

    def artists(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json({"error": {"status": 401, "message": "No token"}}, 401)
        ids = request.args["ids"].split(",")
        assert len(ids) <= 50
        return _json(
            {"artists": [{"id": a, "name": a, "genres": ["delta blues", a[1:-4]]} for a in ids]}
        )


@pytest.fixture
def spotify() -> Iterator[FakeSpotify]:
    server = HTTPServer(host="127.0.0.1", threaded=True)  # a slow answer holds no other up
    server.start()
    try:
        yield FakeSpotify(server)
    finally:
        server.clear()
        server.stop()


@pytest.fixture(autouse=True)
def _no_spotify_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPOTIPY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET", raising=False)


class Sleeps:
    """The injected sleep: records what it was asked to wait, waits nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _source(settings: Spotify, sleeps: Sleeps | None = None, **kwargs: Any) -> SpotifySource:
    return SpotifySource(
        settings,
        genres=GENRES,
        sleep=sleeps or Sleeps(),
        jitter=lambda: 0.0,
        now=lambda: 1000.0,
        **kwargs,
    )


def _fetch(source: SpotifySource, *genres: str) -> list[Fetched]:
    async def run() -> list[Fetched]:
        try:
            return [await source.fetch(genre) for genre in genres]
        finally:
            await source.close()

    return asyncio.run(run())


def _error(status: int, headers: dict[str, str] | None = None) -> Callable[[Request], Response]:
    return lambda _request: _json({"error": {"status": status, "message": "no"}}, status, headers)


# -- what a fetch brings -------------------------------------------------------------------


def test_a_fetch_reads_tracks_their_audio_features_and_their_artists_genres(
    spotify: FakeSpotify,
) -> None:
    progress: list[tuple[int, int | None]] = []
    source = _source(spotify.settings())

    async def run() -> tuple[list[str], Fetched]:
        try:
            return await source.genres(), await source.fetch(
                "hip-hop", lambda *a: progress.append(a)
            )
        finally:
            await source.close()

    genres, fetched = asyncio.run(run())

    assert genres == GENRES
    assert [request.path for request, _ in spotify.server.log] == [
        "/api/token",
        "/v1/search",
        "/v1/audio-features",
        "/v1/artists/",
    ]
    (search,) = spotify.requests("/v1/search")
    assert search.args["q"] == 'genre:"hip-hop"'
    assert (search.args["type"], search.args["market"]) == ("track", "US")
    assert (search.args["limit"], search.args["offset"]) == ("3", "0")
    assert fetched.read == 3
    assert fetched.skipped.total() == 0
    assert fetched.notices == []
    assert [s.external_id for s in fetched.samples] == ["thiphop0000", "thiphop0001", "thiphop0002"]
    first = fetched.samples[0]
    assert (first.source, first.genre, first.quality, first.fetched_at) == (
        "spotify",
        "hip-hop",
        1.0,
        1000.0,
    )
    assert dict(first.features) == {
        "name": "hip-hop song 0",
        "artists": ["hip-hop artist"],
        "artist_genres": ["delta blues", "hiphop"],
        "popularity": 0,
        "duration_ms": 180_000,
        "year": 1990,
        "tempo": 90.0,
        "key": 4,
        "mode": 1,
        "time_signature": 4,
        "energy": 0.6,
        "danceability": 0.5,
        "valence": 0.4,
    }
    assert progress[0] == (0, 3)
    assert progress[-1] == (3, 3)


def test_search_pages_by_50_and_features_and_artists_go_in_batches_of_100_and_50(
    spotify: FakeSpotify,
) -> None:
    spotify.total = 130
    (fetched,) = _fetch(_source(spotify.settings(tracks_per_genre=120)), "jazz")

    pages = [(r.args["limit"], r.args["offset"]) for r in spotify.requests("/v1/search")]
    assert pages == [("50", "0"), ("50", "50"), ("20", "100")]
    batches = [len(r.args["ids"].split(",")) for r in spotify.requests("/v1/audio-features")]
    assert batches == [100, 20]
    artists = [len(r.args["ids"].split(",")) for r in spotify.requests("/v1/artists/")]
    assert artists == [50, 10]  # 60 artists, two tracks each
    assert len(spotify.requests("/api/token")) == 1  # the token is kept
    assert fetched.read == 120
    assert len({s.external_id for s in fetched.samples}) == 120
    assert all(s.quality == 1.0 for s in fetched.samples)


def test_search_stops_when_spotify_has_no_more_tracks(spotify: FakeSpotify) -> None:
    spotify.total = 70
    (fetched,) = _fetch(_source(spotify.settings(tracks_per_genre=100)), "blues")

    pages = [(r.args["limit"], r.args["offset"]) for r in spotify.requests("/v1/search")]
    assert pages == [("50", "0"), ("50", "50")]
    assert len(fetched.samples) == 70


def test_a_403_on_audio_features_is_said_once_and_tracks_are_kept_with_metadata_only(
    spotify: FakeSpotify, caplog: pytest.LogCaptureFixture
) -> None:
    spotify.fail("/v1/audio-features", _error(403), times=5)
    caplog.set_level(logging.INFO, logger="jamd")

    blues, jazz = _fetch(_source(spotify.settings()), "blues", "jazz")

    assert len(spotify.requests("/v1/audio-features")) == 1  # not asked again
    assert len(spotify.requests("/v1/artists/")) == 2
    assert blues.notices == [FEATURES_DENIED]
    assert jazz.notices == []
    warned = [r for r in caplog.records if r.name == "jamd.training.spotify" and "403" in r.message]
    assert [r.levelno for r in warned] == [logging.WARNING]
    for fetched in (blues, jazz):
        assert len(fetched.samples) == 3
        assert fetched.skipped.total() == 0
        for sample in fetched.samples:
            assert sample.quality == 0.2
            assert "tempo" not in sample.features
            assert sample.features["artist_genres"][0] == "delta blues"
            assert sample.features["name"].endswith(("song 0", "song 1", "song 2"))


# -- retries -------------------------------------------------------------------------------


def test_a_429_waits_what_retry_after_says_then_goes_on(spotify: FakeSpotify) -> None:
    spotify.fail("/v1/search", _error(429, {"Retry-After": "7"}))
    sleeps = Sleeps()

    (fetched,) = _fetch(_source(spotify.settings(), sleeps), "blues")

    assert sleeps.waits == [7.0]
    assert len(spotify.requests("/v1/search")) == 2
    assert len(fetched.samples) == 3
    assert fetched.skipped.total() == 0


def test_a_retry_after_over_the_cap_leaves_the_genre_for_the_next_refresh(
    spotify: FakeSpotify,
) -> None:
    spotify.fail("/v1/audio-features", _error(429, {"Retry-After": "3600"}))
    sleeps = Sleeps()
    source = _source(spotify.settings(retry_after_cap_seconds=60), sleeps)

    blues, jazz = _fetch(source, "blues", "jazz")

    assert sleeps.waits == []  # no hour-long sleep
    assert blues.samples == []
    assert blues.skipped == {RATE_LIMITED: 3}
    (notice,) = blues.notices
    assert "3600 s (429)" in notice
    assert "retry_after_cap_seconds (60 s)" in notice
    assert "blues is left for the next refresh" in notice
    assert len(jazz.samples) == 3  # the next genre is asked as usual


def test_5xx_answers_are_retried_with_exponential_backoff(spotify: FakeSpotify) -> None:
    spotify.fail("/v1/search", _error(500), times=2)
    spotify.fail("/api/token", _error(503))
    sleeps = Sleeps()

    (fetched,) = _fetch(_source(spotify.settings(attempts=4), sleeps), "jazz")

    assert sleeps.waits == [0.5, 1.0, 2.0]  # the token's 503, then the search's two 500s
    assert len(spotify.requests("/v1/search")) == 3  # the first try got no token
    assert len(fetched.samples) == 3
    assert fetched.skipped.total() == 0


def test_backoff_has_jitter(spotify: FakeSpotify) -> None:
    spotify.fail("/v1/search", _error(502), times=2)
    sleeps = Sleeps()
    source = SpotifySource(spotify.settings(), genres=GENRES, sleep=sleeps, jitter=lambda: 0.5)

    _fetch(source, "jazz")

    assert sleeps.waits == [0.75, 1.5]


def test_5xx_forever_uses_up_the_attempts_and_is_counted(spotify: FakeSpotify) -> None:
    spotify.fail("/v1/search", _error(500), times=3)
    spotify.fail("/v1/artists/", _error(500), times=3)
    sleeps = Sleeps()

    blues, jazz = _fetch(_source(spotify.settings(), sleeps), "blues", "jazz")

    assert len(spotify.requests("/v1/search")) == 4  # 3 for blues, 1 for jazz
    assert blues.samples == []
    assert blues.skipped == {"search failed (HTTP 500 after 3 attempts)": 1}
    assert jazz.skipped == {"artists failed (HTTP 500 after 3 attempts)": 2}
    assert [s.quality for s in jazz.samples] == [1.0, 1.0, 1.0]  # features, no artist genres
    assert all("artist_genres" not in s.features for s in jazz.samples)
    assert sleeps.waits == [0.5, 1.0, 0.5, 1.0]


def test_a_call_that_takes_longer_than_the_timeout_is_given_up_and_counted(
    spotify: FakeSpotify,
) -> None:
    def slow(_request: Request) -> Response:
        time.sleep(1.5)
        return _json({"audio_features": []})

    spotify.fail("/v1/audio-features", slow, times=2)

    (fetched,) = _fetch(_source(spotify.settings(timeout_seconds=0.2, attempts=2)), "hip-hop")

    assert len(spotify.requests("/v1/audio-features")) <= 2
    assert fetched.skipped == {"audio features failed (timed out after 2 attempts)": 3}
    assert [s.quality for s in fetched.samples] == [0.2, 0.2, 0.2]


def test_a_connection_refused_is_retried_then_counted() -> None:
    server = HTTPServer(host="127.0.0.1")
    server.start()
    url = server.url_for("/")
    server.stop()  # nothing listens there now
    sleeps = Sleeps()
    settings = Spotify(
        client_id=SecretStr(CLIENT_ID),
        client_secret=SecretStr(SECRET),
        api_url=url + "v1/",
        token_url=url + "api/token",
        attempts=2,
    )

    (fetched,) = _fetch(_source(settings, sleeps), "blues")

    assert fetched.skipped == {"search failed (connection failed after 2 attempts)": 1}
    assert sleeps.waits == [0.5]


def test_an_expired_token_is_fetched_again(spotify: FakeSpotify) -> None:
    spotify.fail("/v1/search", _error(401))

    (fetched,) = _fetch(_source(spotify.settings()), "blues")

    assert len(spotify.requests("/api/token")) == 2
    assert len(fetched.samples) == 3


def test_a_401_with_a_new_token_too_is_given_up(spotify: FakeSpotify) -> None:
    spotify.fail("/v1/search", _error(401), times=2)

    (fetched,) = _fetch(_source(spotify.settings(attempts=5)), "blues")

    assert len(spotify.requests("/api/token")) == 2
    assert len(spotify.requests("/v1/search")) == 2
    assert fetched.skipped == {"search failed (HTTP 401)": 1}


def test_another_4xx_is_not_retried(spotify: FakeSpotify) -> None:
    spotify.fail("/v1/search", _error(404))
    sleeps = Sleeps()

    (fetched,) = _fetch(_source(spotify.settings(), sleeps), "blues")

    assert fetched.skipped == {"search failed (HTTP 404)": 1}
    assert sleeps.waits == []


# -- malformed answers ---------------------------------------------------------------------


def test_a_body_that_is_not_json_is_skipped_and_counted(spotify: FakeSpotify) -> None:
    spotify.fail("/v1/search", lambda _r: Response("<html>oops</html>", 200))

    blues, jazz = _fetch(_source(spotify.settings()), "blues", "jazz")

    assert blues.samples == []
    assert blues.skipped == {MALFORMED: 1}
    assert len(jazz.samples) == 3


def test_items_of_the_wrong_shape_are_skipped_one_by_one(spotify: FakeSpotify) -> None:
    good = {"id": "good1", "name": "fine", "artists": [{"id": "art1", "name": "A"}]}
    page = {
        "tracks": {
            "items": [good, "a string", {"name": "no id", "artists": []}, {"id": "x y", "name": 1}],
            "next": None,
        }
    }
    spotify.fail("/v1/search", lambda _r: _json(page))
    features = {"audio_features": [{"id": "good1", "tempo": "fast", "key": 2, "mode": 1}, None]}
    spotify.fail("/v1/audio-features", lambda _r: _json(features))
    spotify.fail("/v1/artists/", lambda _r: _json({"artists": [{"id": "art1", "genres": 7}]}))

    (fetched,) = _fetch(_source(spotify.settings(tracks_per_genre=10)), "rock")

    assert fetched.read == 4
    assert fetched.skipped == {MALFORMED: 3 + 1 + 1}  # 3 tracks, 1 feature set, 1 artist
    (sample,) = fetched.samples
    assert sample.external_id == "good1"
    assert sample.quality == 0.2
    assert dict(sample.features) == {"name": "fine", "artists": ["A"]}


@pytest.mark.parametrize(
    "body",
    [[], {"tracks": None}, {"tracks": {"items": {"id": "x"}}}, None],
    ids=["list", "no tracks", "items not a list", "null"],
)
def test_a_search_page_of_the_wrong_shape_is_counted(spotify: FakeSpotify, body: object) -> None:
    spotify.fail("/v1/search", lambda _r: _json(body))

    (fetched,) = _fetch(_source(spotify.settings()), "pop")

    assert fetched.samples == []
    assert fetched.skipped == {MALFORMED: 1}


def test_a_malformed_token_answer_is_counted_not_raised(spotify: FakeSpotify) -> None:
    spotify.fail("/api/token", lambda _r: _json({"token": "?"}))

    blues, jazz = _fetch(_source(spotify.settings()), "blues", "jazz")

    assert blues.skipped == {f"search failed ({MALFORMED} from the token endpoint)": 1}
    assert len(jazz.samples) == 3


# -- credentials ---------------------------------------------------------------------------


def test_no_credentials_is_a_source_error_that_says_what_to_set(tmp_path: Path) -> None:
    source = _source(Spotify(enabled=True), environ={})

    with pytest.raises(SourceError) as raised:
        _fetch(source, "blues")

    message = str(raised.value)
    assert message.startswith("no Spotify client_id or client_secret")
    for name in ("training.spotify.client_id", "SPOTIPY_CLIENT_ID", "credentials_file"):
        assert name in message


def test_credentials_come_from_the_environment(spotify: FakeSpotify) -> None:
    settings = spotify.settings(client_id=SecretStr(""), client_secret=SecretStr(""))
    environ = {"SPOTIPY_CLIENT_ID": CLIENT_ID, "SPOTIPY_CLIENT_SECRET": SECRET}

    (fetched,) = _fetch(_source(settings, environ=environ), "blues")

    assert len(fetched.samples) == 3


def test_credentials_come_from_a_file(spotify: FakeSpotify, tmp_path: Path) -> None:
    path = tmp_path / "spotify.toml"
    path.write_text(f'client_id = "{CLIENT_ID}"\nclient_secret = "{SECRET}"\n', encoding="utf-8")
    settings = spotify.settings(
        client_id=SecretStr(""), client_secret=SecretStr(""), credentials_file=path
    )

    (fetched,) = _fetch(_source(settings, environ={}), "blues")

    assert len(fetched.samples) == 3


def test_a_credentials_file_that_is_not_toml_is_named_not_quoted(tmp_path: Path) -> None:
    path = tmp_path / "spotify.toml"
    path.write_text(f"client_secret = {SECRET}\n", encoding="utf-8")  # unquoted: not TOML
    settings = Spotify(credentials_file=path)

    with pytest.raises(SourceError, match="is not TOML") as raised:
        _fetch(_source(settings, environ={}), "blues")

    assert str(path) in str(raised.value)
    assert SECRET not in str(raised.value)


def test_a_missing_credentials_file_is_a_source_error(tmp_path: Path) -> None:
    settings = Spotify(credentials_file=tmp_path / "gone.toml")

    with pytest.raises(SourceError, match=r"gone\.toml cannot be read: No such file"):
        _fetch(_source(settings, environ={}), "blues")


def test_refused_credentials_are_a_source_error(spotify: FakeSpotify) -> None:
    settings = spotify.settings(client_secret=SecretStr("wrong"))

    with pytest.raises(SourceError, match=r"^Spotify refused the client credentials \(HTTP 400\)"):
        _fetch(_source(settings), "blues")

    assert spotify.requests("/v1/search") == []
    assert len(spotify.requests("/api/token")) == 1  # refused is refused: not retried


def test_secrets_never_reach_the_log_an_error_or_a_notice(
    spotify: FakeSpotify, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("spotipy", "spotipy.client", "spotipy.oauth2", "urllib3", "requests", "jamd"):
        caplog.set_level(logging.DEBUG, logger=name)
    spotify.fail("/v1/search", _error(500))
    spotify.fail("/v1/audio-features", _error(403))

    fetched = _fetch(_source(spotify.settings()), "blues", "jazz")
    with pytest.raises(SourceError) as refused:
        _fetch(_source(spotify.settings(client_id=SecretStr("other"))), "blues")

    said = caplog.text + str(refused.value) + repr([f.notices for f in fetched])
    said += "".join(repr(r.args) for r in caplog.records)
    assert "Sending GET" in caplog.text  # spotipy's DEBUG lines were captured
    assert "Bearer ********" in caplog.text
    for secret in (SECRET, BASIC, TOKEN, base64.b64encode(f"other:{SECRET}".encode()).decode()):
        assert secret not in said


# -- wiring: make_sources, jamd train ------------------------------------------------------


def _settings(spotify: Spotify) -> Settings:
    return Settings(training=Training(spotify=spotify, sources=("spotify",)))


def test_make_sources_takes_spotify_when_it_is_enabled_or_asked_for(
    spotify: FakeSpotify, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jamd")
    enabled = make_sources(_settings(spotify.settings()), GENRES)
    assert [type(s) for s in enabled] == [SpotifySource]
    assert make_sources(_settings(spotify.settings(enabled=False)), GENRES) == []
    assert "Spotify is off" in caplog.text
    asked = make_sources(_settings(spotify.settings(enabled=False)), GENRES, only=["spotify"])
    assert [s.name for s in asked] == ["spotify"]
    for source in [*enabled, *asked]:
        asyncio.run(source.close())


def test_asking_for_spotify_without_credentials_says_what_to_set() -> None:
    with pytest.raises(InputError, match="no Spotify client_id or client_secret: set"):
        make_sources(_settings(Spotify()), GENRES, only=["spotify"])
    # merely listed and enabled: made; it says so once, when the refresh asks it
    (listed,) = make_sources(_settings(Spotify(enabled=True)), GENRES)
    assert listed.name == "spotify"


def test_jamd_train_stores_spotify_samples_and_fits_models(
    spotify: FakeSpotify, tmp_path: Path
) -> None:
    spotify.fail("/v1/audio-features", _error(403))
    database = tmp_path / "train.sqlite3"
    out = io.StringIO()
    settings = _settings(spotify.settings(tracks_per_genre=5))

    result = asyncio.run(
        train(settings, genres=["blues", "jazz"], database=database, out=out, progress=False)
    )

    assert [g.genre for g in result.genres] == ["blues", "jazz"]
    assert [g.stored for g in result.genres] == [{"spotify": 5}, {"spotify": 5}]
    assert [g.errors for g in result.genres] == [(), ()]
    assert result.notices == (FEATURES_DENIED,)
    assert all(g.model_version == 1 for g in result.genres)
    printed = out.getvalue()
    assert "notices:\n  " + FEATURES_DENIED in printed
    assert re.search(r"^blues\s+spotify\s+5\s+0\s+5\s+v1 \(5 samples\)$", printed, re.M)

    async def stored() -> list[tuple[str, str, float]]:
        store = await Store.open(database)
        try:
            return [
                (s.genre, s.external_id, s.quality)
                for genre in ("blues", "jazz")
                for s in await store.samples(genre, "spotify")
            ]
        finally:
            await store.close()

    rows = asyncio.run(stored())
    assert [row[1] for row in rows] == [_track_id("blues", i) for i in range(5)] + [
        _track_id("jazz", i) for i in range(5)
    ]
    assert {row[2] for row in rows} == {0.2}


def _jamd_train(
    database: Path, *arguments: str, **environ: str
) -> "subprocess.CompletedProcess[str]":
    """``jamd train --source spotify`` as a user runs it, with no Spotify settings of the
    suite's environment but ``environ``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIPY_", "JAMD_TRAIN"))}
    jamd = str(Path(sys.executable).parent / "jamd")
    return subprocess.run(
        [jamd, "train", "--source", "spotify", *arguments, "--db", str(database), "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=clean | environ,
    )


def test_jamd_train_source_spotify_without_credentials_exits_2_saying_what_to_set(
    tmp_path: Path,
) -> None:
    done = _jamd_train(tmp_path / "none.sqlite3")
    assert done.returncode == 2, done.stderr
    assert "no Spotify client_id or client_secret" in done.stderr
    assert "SPOTIPY_CLIENT_SECRET" in done.stderr


def test_jamd_train_source_spotify_from_the_command_line(
    spotify: FakeSpotify, tmp_path: Path
) -> None:
    done = _jamd_train(
        tmp_path / "cli.sqlite3",
        "--genre",
        "blues",
        SPOTIPY_CLIENT_ID=CLIENT_ID,
        SPOTIPY_CLIENT_SECRET=SECRET,
        JAMD_TRAINING__SPOTIFY__API_URL=spotify.server.url_for("/v1/"),
        JAMD_TRAINING__SPOTIFY__TOKEN_URL=spotify.server.url_for("/api/token"),
        JAMD_TRAINING__SPOTIFY__TRACKS_PER_GENRE="4",
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^blues\s+spotify\s+4\s+0\s+4\s+v1 \(4 samples\)$", done.stdout, re.M)
    for secret in (SECRET, BASIC, TOKEN):
        assert secret not in done.stdout + done.stderr
