"""The Spotify Web API source: per genre, tracks found by search, their audio features, their
artists' genres.

spotipy speaks the API over a plain ``requests.Session`` with its own retries off, so an
error keeps its status and ``Retry-After``; jamd retries: a 429 waits what ``Retry-After``
says (up to ``retry_after_cap_seconds``; longer, and the genre is left for the next refresh
with a notice), a 5xx, a timeout or a dropped connection backs off exponentially with
jitter, ``attempts`` tries in all. spotipy blocks, so every call runs on a thread
(``asyncio.to_thread``), bounded by ``asyncio.wait_for``: the event loop never waits on it.

Spotify stopped giving audio features to new apps in November 2024: a 403 on
``/audio-features`` is said once (a notice and a log warning), remembered, and never asked
again; tracks are then stored with their metadata only (quality 0.2, against 1.0 with
features). A response or item of the wrong shape is skipped and counted as "malformed
response", never a crash. Credentials are never logged, nor put in an error or a notice.
"""

import asyncio
import base64
import logging
import math
import os
import random
import re
import time
import tomllib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import spotipy

from jamd.settings import Spotify
from jamd.store.records import Sample
from jamd.training.source import Fetched, Progress, SourceError

logger = logging.getLogger(__name__)

SEARCH_PAGE = 50  # tracks per search request, Spotify's most
FEATURES_BATCH = 100  # ids per /audio-features request
ARTISTS_BATCH = 50  # ids per /artists request
BACKOFF_BASE = 0.5  # seconds before the second attempt; doubled each time, plus jitter
BACKOFF_CAP = 30.0
QUALITY_FEATURES = 1.0
QUALITY_METADATA = 0.2
MALFORMED = "malformed response"
RATE_LIMITED = "rate limited (Retry-After over the cap)"
FEATURES_DENIED = (
    "Spotify no longer gives this app audio features (403): using track and artist metadata only"
)
CREDENTIALS_HELP = (
    "set training.spotify.client_id and client_secret (or the environment's "
    "SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET, or training.spotify.credentials_file, "
    "a TOML file of client_id and client_secret)"
)
SEARCH_GENRES = {
    "pop": "pop",
    "rock": "rock",
    "jazz": "jazz",
    "electronic": "electronic",
    "hip-hop": "hip-hop",
    "classical": "classical",
    "country": "country",
    "blues": "blues",
}
"""jamd's genre -> the Spotify genre searched for (``genre:"hip-hop"``); a genre not here is
searched by its own name."""

AUDIO_FEATURES = {
    "tempo": float,
    "key": int,
    "mode": int,
    "time_signature": int,
    "energy": float,
    "danceability": float,
    "valence": float,
}
"""What is kept of a track's audio features, in the store's vocabulary (Spotify's names). A
key of -1 is Spotify's "no key found"; the fitter leaves it out."""

_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
_TOKENS = re.compile(r"\b(Basic|Bearer) [A-Za-z0-9+/=._~-]+")


class _CredentialsRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _CallFailed(Exception):
    """A call given up: not to be retried (``status``: the HTTP status, if one came), or out
    of attempts; ``reason`` in plain words, such as ``HTTP 500 after 5 attempts``."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class _RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(f"Retry-After {wait:g} s")
        self.wait = wait


class _Credentials(spotipy.SpotifyClientCredentials):  # type: ignore[misc]
    """spotipy's client-credentials flow against ``token_url``, its token kept in memory
    (spotipy's default writes it to ``.cache`` in the working folder). The request is made
    here rather than by spotipy, which logs its headers (the encoded secret) at DEBUG, and
    turns every HTTP error into one without its status."""

    def __init__(self, client_id: str, client_secret: str, token_url: str, **kwargs: Any) -> None:
        super().__init__(
            client_id, client_secret, cache_handler=spotipy.MemoryCacheHandler(), **kwargs
        )
        self.OAUTH_TOKEN_URL = token_url

    def _request_access_token(self) -> dict[str, Any]:
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        response = self._session.post(
            self.OAUTH_TOKEN_URL,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
            proxies=self.proxies,
            timeout=self.requests_timeout,
        )
        if response.status_code in (400, 401):
            raise _CredentialsRefused(response.status_code)
        response.raise_for_status()  # a 429 or 5xx: retried like any call
        try:
            token = response.json()
        except ValueError:
            token = None
        if (
            not isinstance(token, dict)
            or not isinstance(token.get("access_token"), str)
            or not _number(token.get("expires_in"))
        ):
            raise _CallFailed(f"{MALFORMED} from the token endpoint")
        return token

    def forget_token(self) -> None:
        self.cache_handler.save_token_to_cache(None)


class _HideTokens(logging.Filter):
    """Blanks ``Basic``/``Bearer`` credentials in what spotipy logs at DEBUG (request
    headers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Basic " in message or "Bearer " in message:
            record.msg, record.args = _TOKENS.sub(r"\1 ********", message), ()
        return True


def _hide_tokens_in_spotipy_logs() -> None:
    for name in ("spotipy.client", "spotipy.oauth2"):
        named = logging.getLogger(name)
        if not any(isinstance(present, _HideTokens) for present in named.filters):
            named.addFilter(_HideTokens())


def spotify_credentials(
    settings: Spotify, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(client id, client secret): each from the settings, else the environment
    (``SPOTIPY_CLIENT_ID``, ``SPOTIPY_CLIENT_SECRET``), else ``credentials_file``.
    ``SourceError`` saying what to set when either is missing; never the values."""
    environ = os.environ if environ is None else environ
    client_id = settings.client_id.get_secret_value() or environ.get("SPOTIPY_CLIENT_ID", "")
    secret = settings.client_secret.get_secret_value() or environ.get("SPOTIPY_CLIENT_SECRET", "")
    path = settings.credentials_file
    if (not client_id or not secret) and path is not None:
        from_file = _read_credentials(path)
        client_id = client_id or from_file.get("client_id", "")
        secret = secret or from_file.get("client_secret", "")
    missing = [
        name for name, value in (("client_id", client_id), ("client_secret", secret)) if not value
    ]
    if missing:
        raise SourceError(f"no Spotify {' or '.join(missing)}: {CREDENTIALS_HELP}")
    return client_id, secret


def _read_credentials(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SourceError(
            f"the Spotify credentials file {path} cannot be read: {error.strerror or error}"
        ) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise SourceError(
            f"the Spotify credentials file {path} is not TOML "
            '(it should hold client_id = "..." and client_secret = "...")'
        ) from None
    return {
        key: value
        for key in ("client_id", "client_secret")
        if isinstance(value := data.get(key), str)
    }


@dataclass(slots=True)
class _Track:
    id: str
    features: dict[str, Any]
    artist_ids: list[str]


class SpotifySource:
    """``jamd.training.source.Source`` over the Spotify Web API (module docstring).

    ``sleep`` and ``jitter`` (0..1) are injected so tests run the retries without waiting;
    ``environ`` is where ``SPOTIPY_CLIENT_ID``/``SPOTIPY_CLIENT_SECRET`` are looked up."""

    name = "spotify"

    def __init__(
        self,
        settings: Spotify,
        *,
        genres: Iterable[str],
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = settings
        self._genres = list(genres)
        self._now = now
        self._sleep = sleep
        self._jitter = jitter
        self._environ = environ
        self._client: Any = None
        self._credentials: _Credentials | None = None
        self._session: requests.Session | None = None
        self._features_denied = False
        # requests' timeout bounds the connect and each read; a call may make two requests
        # (the token, then the API), so the thread is given a bit more than twice that
        self._call_timeout = 2 * settings.timeout_seconds + 1.0
        _hide_tokens_in_spotipy_logs()

    async def genres(self) -> list[str]:
        """Every jamd genre: Spotify has tracks of each."""
        return list(self._genres)

    async def fetch(self, genre: str, progress: Progress | None = None) -> Fetched:
        """Up to ``tracks_per_genre`` tracks of ``genre`` as samples. ``SourceError`` when
        there are no credentials or Spotify refuses them; anything else is counted."""
        client = self._connect()
        fetched = Fetched()
        target = self._settings.tracks_per_genre
        if progress is not None:
            progress(0, target)
        tracks: list[_Track] = []
        try:
            tracks = await self._search(client, genre, fetched, progress)
            features = await self._audio_features(client, [t.id for t in tracks], fetched)
            artist_ids = list(dict.fromkeys(a for track in tracks for a in track.artist_ids))
            artist_genres = await self._artist_genres(client, artist_ids, fetched)
        except _RateLimited as limited:
            cap = self._settings.retry_after_cap_seconds
            message = (
                f"Spotify asked jamd to wait {limited.wait:g} s (429), more than "
                f"training.spotify.retry_after_cap_seconds ({cap:g} s): {genre} is left for "
                "the next refresh"
            )
            logger.warning("%s", message)
            fetched.notices.append(message)
            fetched.skipped[RATE_LIMITED] += max(1, len(tracks))
            return fetched
        fetched_at = self._now()
        for track in tracks:
            values = dict(track.features)
            genres = list(
                dict.fromkeys(g for a in track.artist_ids for g in artist_genres.get(a, ()))
            )
            if genres:
                values["artist_genres"] = genres
            audio = features.get(track.id)
            if audio:
                values.update(audio)
            fetched.samples.append(
                Sample(
                    source=self.name,
                    genre=genre,
                    external_id=track.id,
                    features=values,
                    quality=QUALITY_FEATURES if audio else QUALITY_METADATA,
                    fetched_at=fetched_at,
                )
            )
        if progress is not None:
            progress(len(tracks), len(tracks))
        return fetched

    async def close(self) -> None:
        """Closes the HTTP session (its pooled connections)."""
        session, self._session = self._session, None
        self._client = self._credentials = None
        if session is not None:
            session.close()

    # -- the three requests -----------------------------------------------------------------

    async def _search(
        self, client: Any, genre: str, fetched: Fetched, progress: Progress | None
    ) -> list[_Track]:
        target = self._settings.tracks_per_genre
        query = f'genre:"{SEARCH_GENRES.get(genre, genre)}"'
        tracks: dict[str, _Track] = {}
        offset = 0
        while len(tracks) < target:
            limit = min(SEARCH_PAGE, target - len(tracks))
            try:
                page = await self._call(
                    f"search {query} offset {offset}",
                    client.search,
                    query,
                    limit,
                    offset,
                    "track",
                    self._settings.market,
                )
            except _CallFailed as failed:
                logger.warning("Spotify search for %s failed: %s", genre, failed.reason)
                fetched.skipped[f"search failed ({failed.reason})"] += 1
                break
            body = page.get("tracks") if isinstance(page, dict) else None
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(body, dict) or not isinstance(items, list):
                logger.warning("Spotify search for %s: a malformed page; the search stops", genre)
                fetched.skipped[MALFORMED] += 1
                break
            for item in items:
                fetched.read += 1
                track = _track(item)
                if track is None:
                    logger.info("Spotify search for %s: a malformed track skipped", genre)
                    fetched.skipped[MALFORMED] += 1
                elif len(tracks) < target:
                    tracks.setdefault(track.id, track)
            offset += len(items)
            if progress is not None:
                progress(len(tracks), target)
            if len(items) < limit or not body.get("next"):
                break  # no more results
        return list(tracks.values())

    async def _audio_features(
        self, client: Any, ids: Sequence[str], fetched: Fetched
    ) -> dict[str, dict[str, Any]]:
        features: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), FEATURES_BATCH):
            if self._features_denied:
                break
            batch = ids[start : start + FEATURES_BATCH]
            try:
                # spotipy's audio_features() warns it is deprecated and fails on a body
                # that is not JSON; the same GET through its request method does neither
                result = await self._call(
                    "audio features", client._get, "audio-features", ids=",".join(batch)
                )
            except _CallFailed as failed:
                if failed.status == 403:
                    self._features_denied = True
                    logger.warning("%s", FEATURES_DENIED)
                    fetched.notices.append(FEATURES_DENIED)
                    break
                logger.warning("Spotify audio features failed: %s", failed.reason)
                fetched.skipped[f"audio features failed ({failed.reason})"] += len(batch)
                continue
            entries = result.get("audio_features") if isinstance(result, dict) else None
            if not isinstance(entries, list):
                logger.warning("Spotify audio features: a malformed response for %d", len(batch))
                fetched.skipped[MALFORMED] += 1
                continue
            for entry in entries:
                if entry is None:
                    continue  # Spotify has none for that track
                read = _audio_features(entry)
                if read is None:
                    fetched.skipped[MALFORMED] += 1
                    continue
                track_id, values = read
                features[track_id] = values
        return features

    async def _artist_genres(
        self, client: Any, ids: Sequence[str], fetched: Fetched
    ) -> dict[str, list[str]]:
        genres: dict[str, list[str]] = {}
        for start in range(0, len(ids), ARTISTS_BATCH):
            batch = ids[start : start + ARTISTS_BATCH]
            try:
                result = await self._call("artists", client.artists, batch)
            except _CallFailed as failed:
                logger.warning("Spotify artists failed: %s", failed.reason)
                fetched.skipped[f"artists failed ({failed.reason})"] += len(batch)
                continue
            artists = result.get("artists") if isinstance(result, dict) else None
            if not isinstance(artists, list):
                fetched.skipped[MALFORMED] += 1
                continue
            for artist in artists:
                if artist is None:
                    continue  # an id Spotify does not know
                if (
                    not isinstance(artist, dict)
                    or not isinstance(artist.get("id"), str)
                    or not isinstance(artist.get("genres"), list)
                ):
                    fetched.skipped[MALFORMED] += 1
                    continue
                genres[artist["id"]] = [g for g in artist["genres"] if isinstance(g, str)]
        return genres

    # -- one call, retried ------------------------------------------------------------------

    def _connect(self) -> Any:
        if self._client is None:
            client_id, secret = spotify_credentials(self._settings, self._environ)
            timeout = self._settings.timeout_seconds
            self._session = requests.Session()
            self._credentials = _Credentials(
                client_id,
                secret,
                self._settings.token_url,
                requests_session=self._session,
                requests_timeout=timeout,
            )
            api_url = self._settings.api_url
            self._client = spotipy.Spotify(
                auth_manager=self._credentials,
                requests_session=self._session,
                requests_timeout=timeout,
                retries=0,
                status_retries=0,
                backoff_factor=0,
            )
            self._client.prefix = api_url if api_url.endswith("/") else api_url + "/"
        return self._client

    async def _call(
        self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """``function(*args, **kwargs)`` on a thread, tried up to ``attempts`` times (module
        docstring); its result, which may be None (a body that is not JSON)."""
        attempts = self._settings.attempts
        cap = self._settings.retry_after_cap_seconds
        last = ""
        token_renewed = False
        for attempt in range(1, attempts + 1):
            wait: float | None = None  # what Retry-After asks; None: back off
            try:
                return await asyncio.wait_for(
                    asyncio.to_thread(function, *args, **kwargs), self._call_timeout
                )
            except _CredentialsRefused as refused:
                raise SourceError(
                    f"Spotify refused the client credentials (HTTP {refused.status}): "
                    f"{CREDENTIALS_HELP}"
                ) from None
            except (spotipy.SpotifyException, requests.HTTPError) as error:
                status, headers = _status(error)
                last = f"HTTP {status}"
                if status == 429:
                    wait = _retry_after(headers)
                    if wait is not None and wait > cap:
                        raise _RateLimited(wait) from None
                elif status == 401 and not token_renewed and self._credentials is not None:
                    self._credentials.forget_token()  # expired or revoked: a new one, once
                    token_renewed = True
                elif status is None or status < 500:
                    raise _CallFailed(last, status) from None
            except (TimeoutError, requests.Timeout):
                last = "timed out"
            except requests.ConnectionError:
                last = "connection failed"
            except requests.RequestException as error:
                last = type(error).__name__
            if attempt < attempts:
                delay = wait if wait is not None else self._backoff(attempt)
                logger.info(
                    "Spotify %s: %s (attempt %d of %d); again in %.2f s",
                    what,
                    last,
                    attempt,
                    attempts,
                    delay,
                )
                await self._sleep(delay)
        raise _CallFailed(f"{last} after {attempts} attempts")

    def _backoff(self, attempt: int) -> float:
        delay: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (attempt - 1))
        return delay * (1.0 + self._jitter())


def _status(error: Exception) -> tuple[int | None, Mapping[str, str]]:
    if isinstance(error, spotipy.SpotifyException):
        status = error.http_status if isinstance(error.http_status, int) else None
        return status, error.headers or {}
    response = getattr(error, "response", None)
    if response is None:
        return None, {}
    return response.status_code, response.headers


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds; None when absent or a date (backed off instead)."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        wait = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return wait if math.isfinite(wait) and wait >= 0 else None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _track(item: object) -> _Track | None:
    """A search result's metadata, or None when it is not shaped like a track."""
    if not isinstance(item, dict):
        return None
    track_id, name, artists = item.get("id"), item.get("name"), item.get("artists")
    if not isinstance(track_id, str) or not _ID.match(track_id) or not isinstance(name, str):
        return None
    if not isinstance(artists, list) or not all(isinstance(a, dict) for a in artists):
        return None
    features: dict[str, Any] = {
        "name": name,
        "artists": [a["name"] for a in artists if isinstance(a.get("name"), str)],
    }
    for key in ("popularity", "duration_ms"):
        if _number(item.get(key)):
            features[key] = int(item[key])
    album = item.get("album")
    released = album.get("release_date") if isinstance(album, dict) else None
    if isinstance(released, str) and released[:4].isdigit():
        features["year"] = int(released[:4])
    artist_ids = [a["id"] for a in artists if isinstance(a.get("id"), str) and _ID.match(a["id"])]
    return _Track(track_id, features, artist_ids)


def _audio_features(entry: object) -> tuple[str, dict[str, Any]] | None:
    """(track id, features in the store's vocabulary), or None when malformed."""
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        return None
    values: dict[str, Any] = {}
    for key, kind in AUDIO_FEATURES.items():
        value = entry.get(key)
        if value is None:
            continue
        if not _number(value) or (kind is int and value != int(value)):
            return None
        values[key] = kind(value)
    return entry["id"], values
