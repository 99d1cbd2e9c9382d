"""The design users would otherwise pick: a Python proxy of the classic kind, for `bun run bench`.

FastAPI + httpx, async, one streaming Letta request per message, each Letta frame passed on as
soon as it arrives. It speaks the bridge's /v1/chat/stream: the same request in (bearer key,
protocolVersion, user, message) and the same Letta request out (streaming, stream_tokens,
include_pings), with the frames translated into the bridge's events: answer and reasoning deltas,
a keepalive for each Letta ping, an error, and exactly one done. Each user gets one agent, found
by tag or created on first use, then cached, as the bridge does.

Deliberately no more than that: no chats as threads, tools, approvals, files or memory, and
Letta's run is not cancelled when the client leaves (closing the connection is all). It is the
floor of what such a proxy costs, not a second bridge.

Configured by environment (LETTA_BASE_URL, BRIDGE_API_KEY); prints one JSON line with its URL
once it listens on a free loopback port.
"""

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import socket
import sys
from collections.abc import AsyncIterator

import httpx
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

LETTA_URL = os.environ["LETTA_BASE_URL"]
API_KEY = os.environ["BRIDGE_API_KEY"]
# Letta (and letta-sim) stream only to clients that name an SDK version, as the Python SDK does.
SDK_HEADERS = {"x-stainless-package-version": "1.12.1"}
# The Letta handles the bench's letta-sim knows.
MODEL = "openai/gpt-4o-mini"
EMBEDDING = "openai/text-embedding-3-small"
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class User(BaseModel):
    id: str
    name: str | None = None


class ChatRequest(BaseModel):
    protocolVersion: str
    user: User
    message: str


def sse(seq: int, event: str, data: dict) -> str:
    """One bridge event, framed as the bridge frames it."""
    return f"id: {seq}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n"


def content_text(content: object) -> str:
    """Letta's content is a string, or a list of `{type: text, text}` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


class Agents:
    """One agent per user: looked up by tag, created if missing, cached; one lookup per user at a time."""

    def __init__(self, letta: httpx.AsyncClient) -> None:
        self.letta = letta
        self.cache: dict[str, str] = {}
        self.pending: dict[str, asyncio.Task[str]] = {}

    async def of(self, user: User) -> str:
        if user.id in self.cache:
            return self.cache[user.id]
        if user.id not in self.pending:
            self.pending[user.id] = asyncio.create_task(self.find_or_create(user))
        try:
            agent_id = await self.pending[user.id]
        finally:
            self.pending.pop(user.id, None)
        self.cache[user.id] = agent_id
        return agent_id

    async def find_or_create(self, user: User) -> str:
        tag = f"peer-user:{user.id}"
        found = await self.letta.get("/v1/agents", params={"tags": tag, "match_all_tags": "true", "limit": 1})
        found.raise_for_status()
        if found.json():
            return found.json()[0]["id"]
        created = await self.letta.post(
            "/v1/agents",
            json={"name": f"peer-{user.id}"[:100], "model": MODEL, "embedding": EMBEDDING, "tags": [tag]},
        )
        created.raise_for_status()
        return created.json()["id"]


class Translation:
    """Letta's frames of one run as bridge events; remembers the stop reason and thinking segments."""

    def __init__(self) -> None:
        self.stop_reason = "end_turn"
        self.segments: dict[str, int] = {}

    def event(self, frame: dict) -> tuple[str, dict] | None:
        kind = frame.get("message_type")
        if kind == "assistant_message":
            text = content_text(frame.get("content"))
            return ("answer.delta", {"text": text}) if text else None
        if kind == "reasoning_message" and frame.get("reasoning"):
            # Each thinking message (by otid) is its own segment, as the bridge numbers them.
            key = str(frame.get("otid") or frame.get("id"))
            segment = self.segments.setdefault(key, len(self.segments))
            return "reasoning.delta", {"segment": segment, "text": frame["reasoning"]}
        if kind == "ping":
            return "keepalive", {}
        if kind == "stop_reason":
            self.stop_reason = frame.get("stop_reason") or self.stop_reason
        return None


async def relay(letta: httpx.AsyncClient, agent_id: str, message: str) -> AsyncIterator[str]:
    """The run's events, one write per Letta frame; ends with exactly one done."""
    body = {
        "messages": [{"role": "user", "content": message}],
        "streaming": True,
        "stream_tokens": True,
        "include_pings": True,
    }
    translation = Translation()
    seq = 0
    failure: str | None = None
    async with letta.stream("POST", f"/v1/agents/{agent_id}/messages", json=body) as response:
        if response.status_code != 200:
            failure = f"Letta answered HTTP {response.status_code}"
        else:
            named = "message"
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    named = line[6:].strip()
                    continue
                if not line.startswith("data:"):
                    if not line:
                        named = "message"
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                if named == "error":
                    failure = content_text(json.loads(data).get("message")) or "Letta reported an error"
                    break
                translated = translation.event(json.loads(data))
                if translated:
                    yield sse(seq, *translated)
                    seq += 1
    if failure:
        translation.stop_reason = "error"
        yield sse(seq, "error", {"code": "letta_error", "message": failure, "retryable": True})
        seq += 1
    yield sse(seq, "done", {"stopReason": translation.stop_reason})


def create_app(letta: httpx.AsyncClient) -> FastAPI:
    app = FastAPI()
    agents = Agents(letta)

    def bearer(authorization: str = Header(default="")) -> None:
        if authorization != f"Bearer {API_KEY}":
            raise HTTPException(status_code=401, detail="wrong or missing API key")

    @app.post("/v1/chat/stream", dependencies=[Depends(bearer)])
    async def chat_stream(request: ChatRequest) -> StreamingResponse:
        agent_id = await agents.of(request.user)
        return StreamingResponse(
            relay(letta, agent_id, request.message), media_type="text/event-stream", headers=SSE_HEADERS
        )

    return app


def listening_socket() -> socket.socket:
    """A free loopback port, listening before the URL is announced, so no first request is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # As many waiting connections as the kernel allows: the bench opens thousands at once.
    sock.listen(socket.SOMAXCONN)
    return sock


def main() -> None:
    letta = httpx.AsyncClient(
        base_url=LETTA_URL,
        headers=SDK_HEADERS,
        # A stream is silent between tokens for as long as the agent thinks: no read timeout.
        timeout=httpx.Timeout(30.0, read=None),
        # httpx's default of 100 connections would queue the 101st chat behind the others.
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
    )
    sock = listening_socket()
    host, port = sock.getsockname()
    # uvicorn's "auto" picks uvloop and httptools when installed (uvicorn[standard]), else asyncio and h11.
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    versions = {name: importlib.metadata.version(name) for name in ("fastapi", "uvicorn", "httpx")}
    ready = {"peerUrl": f"http://{host}:{port}", "loop": loop, "http": parser, **versions}
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    config = uvicorn.Config(create_app(letta), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
