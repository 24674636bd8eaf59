"""The operator's ways to a kept photo by the name the export gives: `run_bot.py photos get NAME`, and
GET /photos/NAME on the bot's HTTP server with the operator's token (``Authorization: Bearer TOKEN``).

Without KOMUNALKA_OPERATOR_TOKEN the route does not exist. The token is compared in constant time; a
photo is served only while its record exists (forget-me and the retention remove records first).
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.bootstrap import App
from bot.photos.store import NAME

log = logging.getLogger(__name__)


async def kept_photo(app: App, name: str) -> bytes | None:
    """A photo by name, when it is kept and has a record; None otherwise."""
    if app.photos is None or not NAME.fullmatch(name):
        return None
    async with app.uow_factory() as uow:
        if not await uow.photos.known([name]):
            return None
    return await app.photos.store.load(name)


def mount_photos(web_app: web.Application, app: App) -> None:
    token = app.settings.operator_token.get_secret_value().encode() if app.settings.operator_token else b""
    if not token:
        return

    async def photo(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "")
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip().encode(), token):
            log.warning("photos: a request without the operator's token was refused")
            return web.Response(status=401, text="the operator's token is needed\n",
                                headers={"WWW-Authenticate": 'Bearer realm="komunalka"'})
        data = await kept_photo(app, request.match_info["name"])
        if data is None:
            return web.Response(status=404, text="no such photo\n")
        return web.Response(body=data, content_type="image/jpeg",
                            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    web_app.router.add_get("/photos/{name}", photo)
