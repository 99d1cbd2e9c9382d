"""Tiny local HTTP servers for what the real bridge never does (redirect, end a stream early), and one
that records what the pipe sends."""

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def frame(seq: int, event: str, data: dict) -> bytes:
    return f"id: {seq}\nevent: {event}\ndata: {json.dumps(data)}\n\n".encode()


@asynccontextmanager
async def serve(handler: Handler):
    """Runs `handler` for every request on a free loopback port; yields the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def stream_then_end(
    request: web.Request, frames: list[bytes], *, abort: asyncio.Event | None = None
) -> web.StreamResponse:
    """A 200 event stream that sends `frames` and ends without `done`: cleanly, or mid-body.

    With `abort`, the socket is closed without the chunked body's last chunk once the event is
    set (the client has shown the frames: aiohttp drops data that arrives with the close), as
    a crashing server or a proxy timing out does.
    """
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    for chunk in frames:
        await response.write(chunk)
    if abort is not None and request.transport is not None:
        await asyncio.wait_for(abort.wait(), 10)
        request.transport.close()
    return response


class RecordingBridge:
    """A bridge that answers every message with `answer` and keeps each request's JSON body.

    It runs its own event loop in a thread, so it outlives the loop of each harness turn (a
    Chat runs every turn in a fresh `asyncio.run`).
    """

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.bodies: list[dict] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.bodies.append(await request.json())
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(frame(1, "answer.delta", {"text": self.answer}))
        await response.write(frame(2, "done", {"stopReason": "end_turn"}))
        return response

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def __enter__(self) -> "RecordingBridge":
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
