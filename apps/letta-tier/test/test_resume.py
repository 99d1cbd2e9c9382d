"""Answers the real Letta keeps (a Letta with Redis: background mode), through the generated pipe:
the bridge dies or restarts mid-answer and the chat still gets the whole answer, from the stream
Letta kept; the stop button still cancels the run."""

import asyncio

import pytest
from conftest import wait_for
from harness.openwebui import chat

WORDS = " ".join(f"word{i}" for i in range(120))


@pytest.fixture
def kept(tier):
    if not tier.redis_bridge_url:
        pytest.skip("no Letta with Redis in this run (the tier starts one only beside its own Letta)")
    return tier


def _answer_across(kept, pipe, mark: str, disrupt) -> object:
    """One slow answer through the Redis-backed bridge; `disrupt()` runs once it is showing."""
    kept.script(mark, [{"content": WORDS, "chunkDelayMs": 30}])
    valves = {"SERVER_URL": kept.redis_bridge_url, "API_KEY": kept.api_key}

    async def scenario():
        answering = asyncio.Event()

        def observe(seen):
            if len(seen.answer) > 40:
                answering.set()

        turn = asyncio.create_task(
            chat(pipe, f"Tell me {mark}", valves=valves, user={"id": f"resume-{mark}"}, observe=observe)
        )
        await asyncio.wait_for(answering.wait(), timeout=60)
        await asyncio.to_thread(disrupt)
        return await asyncio.wait_for(turn, timeout=120)

    return asyncio.run(scenario())


def _runs(kept, mark: str) -> list:
    agent = wait_for(lambda: kept.letta("/v1/agents/", base=kept.redis_letta_url, tags=[f"owui-user:resume-{mark}"]), "the agent")[0]
    return kept.letta("/v1/runs/", base=kept.redis_letta_url, agent_id=agent["id"], limit=10)


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_a_bridge_gone_mid_answer_is_picked_up_and_the_answer_is_whole(kept, pipe, how):
    mark = kept.marker()
    seen = _answer_across(kept, pipe, mark, lambda: kept.restart_bridge("redis", how))
    assert seen.error_box is None
    assert seen.answer == WORDS
    # One run, asked of the model once: the rest came from Letta's copy, not a second send.
    assert len(kept.model_calls(mark)) == 1
    runs = _runs(kept, mark)
    assert [run["status"] for run in runs] == ["completed"]
    assert runs[0]["background"] is True


def test_the_stop_button_cancels_the_kept_run_at_once(kept, pipe):
    mark = kept.marker()
    kept.script(mark, [{"content": WORDS, "chunkDelayMs": 100}])
    valves = {"SERVER_URL": kept.redis_bridge_url, "API_KEY": kept.api_key}
    seen = asyncio.run(chat(pipe, f"Go on {mark}", valves=valves, user={"id": f"resume-{mark}"}, stop_after_chunks=5))
    assert seen.answer.startswith("word0")
    # Well before the bridge's 30 s RESUME_WINDOW_MS would have ended it.
    status = wait_for(lambda: [run["status"] for run in _runs(kept, mark) if run["status"] != "running"], "the run to end", timeout=10)
    assert status == ["cancelled"]
