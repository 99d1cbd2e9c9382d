"""The pipe in front of two bridge replicas behind a load balancer: one dies mid-answer."""

import asyncio
import os
import signal

from harness.openwebui import chat

FULL_ANSWER = "".join(f"token{index} " for index in range(80))


async def _until(check, within: float = 10.0):
    """check() once it is truthy, asked every 20 ms for at most `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        found = await asyncio.to_thread(check)
        if found:
            return found
        await asyncio.sleep(0.02)
    return None


def test_a_replica_killed_mid_answer_is_resumed_on_the_other_and_the_answer_is_whole(replica_stack, pipe):
    replica_stack.enqueue(replica_stack.slow_answer)

    async def scenario():
        answer = asyncio.create_task(chat(pipe, "Tell me", valves=replica_stack.valves, user={"id": "killed-mid-answer"}))
        serving = await _until(replica_stack.streaming_replica)
        assert serving is not None, "the answer never started streaming"
        # A second into the 4 s answer: mid-way, with part of it shown.
        await asyncio.sleep(1)
        os.kill(serving["pid"], signal.SIGKILL)
        return await asyncio.wait_for(answer, 30)

    seen = asyncio.run(scenario())
    assert seen.error_box is None
    assert seen.content.strip() == FULL_ANSWER.strip()
    assert replica_stack.state()["cancels"] == []
