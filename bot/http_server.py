"""The process's one HTTP server: channel webhooks, /healthz and /metrics."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.metrics import Metrics

log = logging.getLogger(__name__)


class HttpServer:
    def __init__(self, host: str, port: int, metrics: Metrics,
                 health: Callable[[], Awaitable[dict[str, object]]]) -> None:
        self.web = web.Application(client_max_size=2 * 1024 * 1024)
        self._host, self._port = host, port
        self._metrics = metrics
        self._health = health
        self._runner: web.AppRunner | None = None
        self.ready = False
        self.port = port
        self.web.router.add_get("/healthz", self._healthz)
        self.web.router.add_get("/metrics", self._metrics_page)

    async def start(self) -> int:
        self._runner = web.AppRunner(self.web, access_log=None, handle_signals=False, shutdown_timeout=30)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("listening on %s:%d", self._host, self.port)
        return self.port

    async def stop(self) -> None:
        self.ready = False
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        if not self.ready:
            return web.json_response({"status": "starting"}, status=503)
        try:
            details = await self._health()
        except Exception as exc:  # the database is down, or a loop keeps failing
            log.warning("health check failed: %s", exc.__class__.__name__)
            failing = getattr(exc, "names", None)
            body: dict[str, object] = {"status": "unhealthy", "error": exc.__class__.__name__}
            if failing:
                body["failing"] = failing
            return web.json_response(body, status=503)
        return web.json_response({"status": "ok", **details})

    async def _metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
