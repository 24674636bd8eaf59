"""Fetching a picture from a URL a stranger chose (a Viber picture message's media), as an SSRF guard would.

http(s) only; only public internet addresses — never loopback, private, link-local, multicast, reserved or
unspecified ones, nor an IPv4 address carried inside an IPv6 one — checked on the addresses the connection
really uses (the resolver below drops the others, so a name pointing inside, or switched there after a first
lookup, leads nowhere); at most a few redirects, each checked like the first; a 200 with an image type,
within the size limit, counted as it arrives; the whole fetch within a time limit. Logs carry the reason
only, never the URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from core.events import PhotoProblem
from bot.delivery.adapter import PhotoRefused

log = logging.getLogger(__name__)

PHOTO_REDIRECTS = 3  # hops a resident's media URL may take, each checked like the first
PHOTO_CHUNK = 64 * 1024
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
NOT_PUBLIC = "not a public address"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# ranges Python 3.11's is_global still counts as public: local-use NAT64 (RFC 8215), site-local (deprecated)
_NOT_GLOBAL = (ipaddress.IPv6Network("64:ff9b:1::/48"), ipaddress.IPv6Network("fec0::/10"))



class NotPublicAddress(OSError):
    """A media host whose every address is this machine's or a private network's."""


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet: not loopback, private, link-local, multicast,
    reserved or unspecified; nor is an IPv4 address carried inside an IPv6 one (mapped, 6to4, NAT64, ...)."""
    return all(ip.is_global and not ip.is_multicast and not any(ip in net for net in _NOT_GLOBAL if ip.version == 6)
               for ip in _reached(ipaddress.ip_address(address)))


def _reached(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    if isinstance(ip, ipaddress.IPv4Address):
        return [ip]
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    inner: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip, *(ip.teredo or ())]
    if ip.sixtofour is not None:
        inner.append(ip.sixtofour)
    if ip in _NAT64 or int(ip) >> 32 == 0:  # NAT64's well-known prefix; the old IPv4-compatible form
        inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    return inner


def looks_like_address(host: str) -> bool:
    """aiohttp's own test (helpers.is_ip_address): a host like this is connected to as given, never resolved."""
    return ":" in host or host.replace(".", "").isdigit()


def may_fetch_from(address: str, loopback: bool) -> bool:
    """``loopback``: this machine too (a fake Viber beside the bot), never the networks around it."""
    try:
        return is_public(address) or (loopback and ipaddress.ip_address(address).is_loopback)
    except ValueError:  # not an address Python reads (2130706433, 127.1): nothing to trust
        return False


class PublicResolver(AbstractResolver):
    """Host names resolve to public addresses only. The check is on the addresses the connection then uses,
    so a name that points at this machine, or is switched to it after a first lookup, leads nowhere."""

    def __init__(self, loopback: bool = False) -> None:
        self._resolver = DefaultResolver()
        self._loopback = loopback

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = [r for r in await self._resolver.resolve(host, port, family)
                 if may_fetch_from(r["host"], self._loopback)]
        if not found:
            raise NotPublicAddress(NOT_PUBLIC)
        return found

    async def close(self) -> None:
        await self._resolver.close()


class UntrustedPictures:
    """``loopback``: this machine too (a fake Viber beside the bot), never the networks around it."""

    def __init__(self, loopback: bool = False) -> None:
        self._loopback = loopback
        self._http: aiohttp.ClientSession | None = None

    async def fetch(self, ref: str, max_bytes: int, timeout_s: float) -> bytes:
        """The URL is the sender's to choose, so it is fetched like any untrusted one: http(s) only, public
        addresses only (and loopback when allowed), a few redirects, each checked like the first,
        an image, counted as it arrives. Logs carry the reason only, never the URL."""
        try:
            async with asyncio.timeout(timeout_s):
                return await self._fetch_media(URL(ref), max_bytes)
        except PhotoRefused as exc:
            log.info("photo refused (%s)", exc)
            raise
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            not_public = isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, NotPublicAddress)
            reason = NOT_PUBLIC if not_public else exc.__class__.__name__
            log.info("photo not fetched (%s)", reason)
            raise PhotoRefused(PhotoProblem.UNAVAILABLE, reason) from None

    async def _fetch_media(self, url: URL, max_bytes: int) -> bytes:
        http = self._client()
        for _ in range(PHOTO_REDIRECTS + 1):
            self._check_media_url(url)
            async with http.get(url, allow_redirects=False, headers={"Accept-Encoding": "identity"}) as response:
                location = response.headers.get("Location")
                if response.status in REDIRECT_STATUSES and location:
                    url = response.url.join(URL(location))
                    continue
                return await _picture_of(response, max_bytes)
        raise PhotoRefused(PhotoProblem.UNAVAILABLE, "too many redirects")

    def _check_media_url(self, url: URL) -> None:
        """What the resolver cannot see: the scheme, and a host given as an address (never resolved)."""
        if url.scheme not in ("http", "https") or not url.host:
            raise PhotoRefused(PhotoProblem.UNAVAILABLE, "not an http(s) URL")
        if looks_like_address(url.host) and not may_fetch_from(url.host, self._loopback):
            raise PhotoRefused(PhotoProblem.UNAVAILABLE, NOT_PUBLIC)

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            # the fetch's own timeout covers the whole of it; no cookies carried from one resident's URL to another's
            self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                                                         resolver=PublicResolver(self._loopback)),
                                                     timeout=aiohttp.ClientTimeout(total=None),
                                                     cookie_jar=aiohttp.DummyCookieJar())
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


async def _picture_of(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body of a final answer, when it is a picture within the limit; never more than ``max_bytes`` held."""
    if response.status != 200:
        raise PhotoRefused(PhotoProblem.UNAVAILABLE, f"HTTP {response.status}")
    if not response.content_type.startswith("image/"):
        raise PhotoRefused(PhotoProblem.NOT_IMAGE, "not an image content type")
    if response.content_length is not None and response.content_length > max_bytes:
        raise PhotoRefused(PhotoProblem.TOO_LARGE, "declared length")
    data = bytearray()
    async for chunk in response.content.iter_chunked(PHOTO_CHUNK):
        if len(data) + len(chunk) > max_bytes:
            raise PhotoRefused(PhotoProblem.TOO_LARGE, "more bytes than the limit")
        data += chunk
    return bytes(data)
