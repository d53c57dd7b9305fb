"""Publish/subscribe between the parts of the platform.

In one process the ``LocalBus`` hands messages to asyncio queues. With several processes
``RedisBus`` carries the same messages over Redis pub/sub. Messages are JSON-able dicts on
named topics (``metrics.campaign.<id>``, ``agent.<id>``, ``calls``...). A slow subscriber
never blocks a publisher: its queue is bounded and the oldest message is dropped (and
counted) — live views want the newest state, not a backlog.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

Message = dict[str, Any]


class Subscription:
    """A bounded queue of (topic, message) for one subscriber."""

    def __init__(self, patterns: tuple[str, ...], maxsize: int = 1000) -> None:
        self.patterns = patterns
        self.queue: asyncio.Queue[tuple[str, Message]] = asyncio.Queue(maxsize)
        self.dropped = 0

    def matches(self, topic: str) -> bool:
        return any(topic == p or (p.endswith("*") and topic.startswith(p[:-1])) for p in self.patterns)

    def offer(self, topic: str, message: Message) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait((topic, message))

    async def get(self) -> tuple[str, Message]:
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[tuple[str, Message]]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[tuple[str, Message]]:
        while True:
            yield await self.queue.get()


class Bus(Protocol):
    async def publish(self, topic: str, message: Message) -> None: ...

    def subscribe(self, *patterns: str) -> Any:
        """An async context manager yielding a ``Subscription`` (pattern ``x.*`` = prefix)."""

    async def close(self) -> None: ...


class LocalBus:
    """In-process bus: publish is synchronous fan-out to subscribers' queues."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []

    async def publish(self, topic: str, message: Message) -> None:
        self.publish_nowait(topic, message)

    def publish_nowait(self, topic: str, message: Message) -> None:
        for sub in list(self._subs):
            if sub.matches(topic):
                sub.offer(topic, message)

    @asynccontextmanager
    async def subscribe(self, *patterns: str) -> AsyncIterator[Subscription]:
        sub = Subscription(patterns)
        self._subs.append(sub)
        try:
            yield sub
        finally:
            self._subs.remove(sub)

    async def close(self) -> None:
        self._subs.clear()


class RedisBus:
    """The same bus over Redis pub/sub (``redis.asyncio``), for several processes."""

    def __init__(self, url: str, *, prefix: str = "recobro:") -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = prefix

    async def publish(self, topic: str, message: Message) -> None:
        await self._redis.publish(self._prefix + topic, json.dumps(message, default=str))

    @asynccontextmanager
    async def subscribe(self, *patterns: str) -> AsyncIterator[Subscription]:
        sub = Subscription(patterns)
        pubsub = self._redis.pubsub()
        exact = [self._prefix + p for p in patterns if not p.endswith("*")]
        globbed = [self._prefix + p for p in patterns if p.endswith("*")]
        if exact:
            await pubsub.subscribe(*exact)
        if globbed:
            await pubsub.psubscribe(*globbed)

        async def pump() -> None:
            async for raw in pubsub.listen():
                if raw.get("type") not in ("message", "pmessage"):
                    continue
                topic = str(raw["channel"])[len(self._prefix) :]
                try:
                    payload = json.loads(raw["data"])
                except (TypeError, ValueError):
                    continue  # not ours: ignore rather than crash the subscriber
                if isinstance(payload, dict):
                    sub.offer(topic, payload)

        task = asyncio.create_task(pump())
        try:
            yield sub
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._redis.aclose()
