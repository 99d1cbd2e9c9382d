"""Case 5 of `bun run bench`: CPU time per token spent in the generated pipe under the harness.

Baseline: a bare aiohttp reader of the same bridge stream (no decoding beyond splitting lines),
measured in this same process, so the difference is what the pipe's own work costs.
"""

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

import aiohttp

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "test"))
from harness.openwebui import chat, load_pipe  # noqa: E402

PIPE_FILE = str(HERE.parent / "dist" / "letta_pipe.py")


async def raw_reader(server: str, key: str, protocol: str, user: str) -> int:
    body = {"protocolVersion": protocol, "user": {"id": user}, "message": "bench"}
    headers = {"Authorization": f"Bearer {key}"}
    lines = 0
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server}/v1/chat/stream", json=body, headers=headers) as response:
            async for line in response.content:
                lines += line.startswith(b"data:")
    return lines


def cpu_of(run) -> tuple[float, object]:
    started = time.process_time()
    result = asyncio.run(run())
    return time.process_time() - started, result


def profiled(name: str, run) -> tuple[float, object]:
    """cpu_of, and with BENCH_PROFILE_DIR set, the run's profile there (name.pstats, name.txt)."""
    directory = os.environ.get("BENCH_PROFILE_DIR")
    if not directory:
        return cpu_of(run)
    profile = cProfile.Profile()
    profile.enable()
    measured = cpu_of(run)
    profile.disable()
    os.makedirs(directory, exist_ok=True)
    profile.dump_stats(os.path.join(directory, f"{name}.pstats"))
    with open(os.path.join(directory, f"{name}.txt"), "w") as out:
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(40)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--tokens", type=int, required=True)
    args = parser.parse_args()
    pipe, meta = load_pipe(PIPE_FILE)
    valves = {"SERVER_URL": args.server, "API_KEY": args.key}
    # Both users exist before timing, so neither run pays for agent creation.
    baseline_cpu, frames = cpu_of(lambda: raw_reader(args.server, args.key, meta["protocol_version"], "pipe-cost"))
    pipe_cpu, seen = profiled("pipe-cost", lambda: chat(pipe, "bench", valves=valves, user={"id": "pipe-cost"}))
    tokens = seen.answer.count("token")
    print(
        json.dumps(
            {
                "tokens": tokens,
                "frames": frames,
                "pipeMicrosPerToken": pipe_cpu / max(1, tokens) * 1e6,
                "baselineMicrosPerToken": baseline_cpu / max(1, frames) * 1e6,
            }
        )
    )


if __name__ == "__main__":
    main()
