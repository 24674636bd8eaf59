"""The send budget's slots in Redis (KOMUNALKA_REDIS_URL), shared by every process of the bot.

One script call grants a slot: Redis runs a script atomically, reads its own clock (TIME; Redis 5
or newer), and moves the next free times on — the rule of ``slots_in_process.next_slot``. Keys
expire once they space nothing any more. Both keys of a request share a hash tag (the braces), so
they live on one node of a Redis Cluster too.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from bot.delivery.send_budget import Grant, SlotRequest

PREFIX = "komunalka:send-budget:"
TIMEOUT_S = 2.0  # a Redis that does not answer fails the call; the budget backs off and asks again
CONNECTIONS = 16  # more callers at once wait for one of these (a slot's round trip is well under a millisecond)

# KEYS: the bot's key when ARGV[4] is "1", then the chat's key if any
# ARGV: interval, chat interval, "1" when the request waits for the chat, "1" when it asks for the bot's slot, lead
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local bot_key, chat_key = nil, KEYS[1]
if ARGV[4] == '1' then bot_key, chat_key = KEYS[1], KEYS[2] end
local slot = now + tonumber(ARGV[5])
if bot_key then slot = math.max(slot, tonumber(redis.call('GET', bot_key) or '0')) end
if chat_key then
    local next_chat = tonumber(redis.call('GET', chat_key) or '0')
    if ARGV[3] == '1' and next_chat > slot then
        return {0, string.format('%.6f', next_chat - now)}
    end
    local chat_next = math.max(next_chat, slot + tonumber(ARGV[2]))
    redis.call('SET', chat_key, string.format('%.6f', chat_next), 'PX', math.ceil((chat_next - now) * 1000) + 1000)
end
if bot_key then
    local bot_next = slot + tonumber(ARGV[1])
    redis.call('SET', bot_key, string.format('%.6f', bot_next), 'PX', math.ceil((bot_next - now) * 1000) + 60000)
end
return {1, string.format('%.6f', slot - now)}
"""

# KEYS: the bot's key; ARGV: seconds
HOLD = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
local next_all = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > next_all then
    redis.call('SET', KEYS[1], string.format('%.6f', until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 60000)
end
return 1
"""


def redis_key(key: str) -> str:
    """``telegram:ab12`` → ``komunalka:send-budget:{telegram:ab12}``; a chat's key keeps its bot's tag."""
    bot, _, chat = key.partition(":chat:")
    return f"{PREFIX}{{{bot}}}" + (f":chat:{chat}" if chat else "")


class RedisSlots:
    def __init__(self, url: str) -> None:
        pool = BlockingConnectionPool.from_url(url, max_connections=CONNECTIONS, timeout=TIMEOUT_S,
                                               socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
        self._redis: Redis = Redis.from_pool(pool)
        self._take = self._redis.register_script(TAKE)
        self._hold = self._redis.register_script(HOLD)

    async def take(self, request: SlotRequest) -> Grant:
        keys = [redis_key(k) for k in (request.budget, request.chat) if k is not None]
        answer: Any = await self._take(keys=keys, args=[repr(request.interval), repr(request.chat_interval),
                                                        "1" if request.wait_for_chat else "0",
                                                        "1" if request.budget is not None else "0",
                                                        repr(request.lead)])
        granted, wait = answer
        return Grant(int(granted) == 1, max(0.0, float(wait)))

    async def hold(self, budget: str, seconds: float) -> None:
        await self._hold(keys=[redis_key(budget)], args=[repr(seconds)])

    async def close(self) -> None:
        await self._redis.aclose()
