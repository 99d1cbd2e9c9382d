"""Tiny local HTTP servers for what the real bridge never does: redirect, or end a stream early."""

import asyncio
import json
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
