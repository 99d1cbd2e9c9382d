"""Cases that disrupt the whole stack, so they run alone, after the others: a bridge restart, then
Letta dying (SIGKILL) in the middle of an answer (Letta stays down afterwards)."""

import asyncio

import pytest
from conftest import readable_sentence
from harness.openwebui import Chat, chat


def test_after_a_bridge_restart_the_same_agent_and_the_chats_conversation_are_used(tier, pipe):
    first, second = tier.marker(), tier.marker()
    tier.script(first, [{"content": "I will remember that you like comets."}])
    tier.script(second, [{"content": "You told me you like comets."}])
    user = f"restart-{first}"
    talk = Chat(pipe, "chat-restart", valves=tier.valves, user={"id": user})
    seen = talk.send(f"I like comets {first}")
    assert seen.answer == "I will remember that you like comets."
    agent_id = tier.agents_of(user)[0]["id"]
    tier.restart_bridge()
    again = talk.send(f"What do I like? {second}")
    assert again.answer == "You told me you like comets."
    assert [agent["id"] for agent in tier.agents_of(user)] == [agent_id]
    # The second turn continued the chat's conversation (the bridge's DATA_DIR survived): its
    # context carries the first message, and the agent has that one conversation only.
    call = tier.model_calls(second)[0]
    assert first in str(call["messages"])
    assert len(tier.letta("/v1/conversations/", agent_id=agent_id)) == 1


def test_letta_killed_mid_stream_ends_the_stream_with_a_sentence(tier, pipe):
    if not tier.can_kill:
        pytest.skip("this Letta was started outside the tier")
    mark = tier.marker()
    words = " ".join(f"token{i}" for i in range(600))
    tier.script(mark, [{"content": words, "chunkDelayMs": 50}])

    async def scenario():
        # Letta dies only once the answer has started to reach the chat: its words must stay.
        answering = asyncio.Event()

        def observe(seen):
            if seen.answer:
                answering.set()

        turn = asyncio.create_task(
            chat(pipe, f"Talk to me {mark}", valves=tier.valves, user={"id": f"kill-{mark}"}, observe=observe)
        )
        await asyncio.wait_for(answering.wait(), timeout=60)
        await asyncio.to_thread(tier.kill_letta)
        return await asyncio.wait_for(turn, timeout=120)

    seen = asyncio.run(scenario())
    assert seen.error_box is None
    assert seen.answer.startswith("token0")
    # The words already shown stay; the sentence says the answer broke off.
    sentence = readable_sentence(seen.answer)
    assert "lost" in sentence or "interrupted" in sentence, sentence
    assert seen.last_status_done
