"""Case 5b of `bun run bench`: OpenWebUI's own path with many chats answering at once.

`--streams` bare aiohttp readers of the bridge's stream at once, then as many chats through the
generated pipe under the OpenWebUI harness at once, in this one Python process (as OpenWebUI
runs every pipe call on one event loop). The bench has queued their answers and created their
users' agents; each phase reports answer events per second over all its streams, and the CPU
this process spent per event.
"""

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

PIPE_DIR = Path(__file__).parents[2] / "pipe"
sys.path.insert(0, str(PIPE_DIR / "test"))
from harness.openwebui import chat, load_pipe  # noqa: E402

PIPE_FILE = str(PIPE_DIR / "dist" / "letta_pipe.py")


async def raw_reader(session: aiohttp.ClientSession, server: str, key: str, body: dict) -> int:
    """Answer events of one stream, found by their event line only: the cheapest honest reader."""
    headers = {"Authorization": f"Bearer {key}"}
    events = 0
    async with session.post(f"{server}/v1/chat/stream", json=body, headers=headers) as response:
        async for line in response.content:
            events += line == b"event: answer.delta\n"
    return events


async def raw_readers(args: argparse.Namespace, protocol: str) -> int:
    # One session for all, as a service reading many streams would keep one.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        counts = await asyncio.gather(
            *(
                raw_reader(
                    session,
                    args.server,
                    args.key,
                    {"protocolVersion": protocol, "user": {"id": f"{args.users}-{i}"}, "message": "bench"},
                )
                for i in range(args.streams)
            )
        )
    return sum(counts)


async def pipes(args: argparse.Namespace, pipe: object) -> int:
    valves = {"SERVER_URL": args.server, "API_KEY": args.key}
    seen = await asyncio.gather(
        *(
            chat(pipe, "bench", valves=valves, user={"id": f"{args.users}-{i}"}, chat_id=f"bench-chat-{i}")
            for i in range(args.streams)
        )
    )
    return sum(one.answer.count("token") for one in seen)


def measured(run) -> dict:
    """Answer events per second of wall time, and CPU microseconds per event, of one phase."""
    cpu = time.process_time()
    wall = time.perf_counter()
    events = asyncio.run(run())
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    return {"events": events, "eventsPerSecond": events / wall, "cpuMicrosPerEvent": cpu / max(1, events) * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--streams", type=int, required=True)
    parser.add_argument("--users", required=True, help="user ids are USERS-0 … USERS-(streams-1)")
    args = parser.parse_args()
    pipe, meta = load_pipe(PIPE_FILE)
    raw = measured(lambda: raw_readers(args, meta["protocol_version"]))
    piped = measured(lambda: pipes(args, pipe))
    print(json.dumps({"streams": args.streams, "raw": raw, "pipe": piped}))


if __name__ == "__main__":
    main()
