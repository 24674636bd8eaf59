"""Supervised loops: restarted after any exception, and reported to /healthz while they keep failing."""

from __future__ import annotations

import asyncio

from bot.delivery.supervisor import LoopHealth, Supervisor


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_loop_that_raises_is_restarted_and_reported_only_while_it_keeps_failing():
    ticks = Ticks()
    health = LoopHealth(grace_s=60, clock=ticks)
    supervisor = Supervisor(health, first_backoff_s=0.01)
    runs: list[str] = []

    async def polling() -> None:
        runs.append("run")
        if len(runs) < 3:
            raise ConnectionError("Telegram is not answering")
        health.ok("polling")  # a successful round
        await asyncio.Event().wait()  # and on it goes

    supervisor.spawn("polling", polling)
    await asyncio.sleep(0.1)
    assert runs == ["run", "run", "run"] and supervisor.running("polling")
    assert health.unhealthy() == []
    await supervisor.stop()
    assert not supervisor.running("polling")


async def test_a_loop_failing_longer_than_the_grace_is_named_and_cleared_when_it_recovers():
    ticks = Ticks()
    health = LoopHealth(grace_s=60, clock=ticks)
    health.failing("viber-set-webhook")
    ticks.now = 59
    assert health.unhealthy() == []
    ticks.now = 61
    health.failing("viber-set-webhook")  # failing again does not restart the count
    health.failing("telegram-inbox")
    assert health.unhealthy() == ["viber-set-webhook"]
    health.ok("viber-set-webhook")
    assert health.unhealthy() == []


async def test_a_loop_that_finishes_its_work_ends_and_is_healthy():
    health = LoopHealth(grace_s=0.0)
    supervisor = Supervisor(health, first_backoff_s=0.01)
    attempts = []

    async def set_webhook() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("a proxy's HTML page")

    supervisor.spawn("set-webhook", set_webhook)
    await asyncio.sleep(0.1)
    assert len(attempts) == 2 and not supervisor.running("set-webhook") and health.unhealthy() == []
