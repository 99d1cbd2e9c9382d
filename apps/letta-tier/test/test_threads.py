"""Chats as threads against the real Letta 0.16.8: one conversation per chat, memory across them."""

import asyncio

from harness.openwebui import chat


def system_prompt(call: dict) -> str:
    first = call["messages"][0]
    assert first.get("role") == "system", first
    return str(first.get("content"))


def test_each_chat_is_its_own_thread_and_memory_written_in_one_reaches_the_others(tier, pipe):
    mark = tier.marker()
    in_a, in_b = f"{mark}A", f"{mark}B"
    fact = f"Collects fossils ({mark})"
    user = {"id": f"threads-{mark}", "name": "Ada"}
    tier.script(in_b, [{"content": "Hello from chat B."}])
    tier.script(
        in_a,
        [
            {"toolCalls": [{"name": "memory_insert", "arguments": {"label": "human", "new_string": fact}}]},
            {"content": "Noted."},
        ],
    )

    from harness.openwebui import Chat

    chats = {name: Chat(pipe, name, valves=tier.valves, user=user) for name in ("chat-a", "chat-b")}

    def say(text: str, chat_id: str):
        seen = chats[chat_id].send(text)
        assert seen.error_box is None and seen.last_status_done, seen.answer
        return seen

    say(f"Hello {in_b}", "chat-b")  # chat B exists before the memory write
    say(f"I collect fossils {in_a}", "chat-a")
    say(f"What do I collect? {in_b}", "chat-b")

    [agent] = tier.agents_of(user["id"])
    conversations = tier.letta("/v1/conversations/", agent_id=agent["id"])
    assert sorted(c["summary"] for c in conversations) == ["owui-chat:chat-a", "owui-chat:chat-b"]
    assert fact in tier.letta(f"/v1/agents/{agent['id']}/core-memory/blocks/human")["value"]

    b_calls = tier.model_calls(in_b)
    assert len(b_calls) == 2
    # Chat B's thread never held chat A's words…
    assert all(in_a not in str(call["messages"]) for call in b_calls)
    # …but what the agent wrote to memory in chat A is in chat B's system prompt at its next turn
    # (Letta compiles a conversation's prompt only at creation and on recompile: the bridge recompiles).
    assert fact not in system_prompt(b_calls[0])
    assert fact in system_prompt(b_calls[1])
    # And chat B's second turn continued its thread: its first exchange is in the context.
    assert f"Hello {in_b}" in str(b_calls[1]["messages"])


def test_two_chats_of_one_person_answer_at_the_same_time(tier, pipe):
    mark = tier.marker()
    tier.script(mark, [{"content": "A slow and steady answer.", "chunkDelayMs": 40}])
    user = {"id": f"parallel-{mark}"}
    asyncio.run(chat(pipe, f"warm up {mark}", valves=tier.valves, user=user, chat_id="warm"))

    async def both():
        from conftest import PIPE_FILE
        from harness.openwebui import load_pipe

        other, _ = load_pipe(PIPE_FILE)
        return await asyncio.gather(
            chat(pipe, f"first {mark}", valves=tier.valves, user=user, chat_id="one"),
            chat(other, f"second {mark}", valves=tier.valves, user=user, chat_id="two"),
        )

    for seen in asyncio.run(both()):
        assert seen.error_box is None, seen.answer
        assert seen.answer == "A slow and steady answer."


def conversation_text(call: dict) -> list:
    """The model's context after the system prompt, as (role, text) pairs of the chat's words."""
    pairs = []
    for message in call["messages"][1:]:
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if message.get("role") in ("user", "assistant") and content:
            pairs.append((message["role"], str(content)))
    return pairs


def test_regenerate_and_edit_give_the_model_exactly_what_the_chat_shows(tier, pipe):
    from harness.openwebui import Chat

    mark = tier.marker()
    tier.script(f"{mark}-1", [{"content": f"Vectors have direction ({mark}-a1)."}])
    tier.script(f"{mark}-2", [{"content": f"First matrix answer ({mark}-a2)."}, {"content": f"Second matrix answer ({mark}-a2b)."}])
    tier.script(f"{mark}-3", [{"content": f"Tensors generalise them ({mark}-a3)."}])
    talk = Chat(pipe, f"chat-{mark}", valves=tier.valves, user={"id": f"rewind-{mark}"})
    for text in (f"What is a vector? {mark}-1", f"And a matrix? {mark}-2"):
        seen = talk.send(text)
        assert seen.error_box is None, seen.answer

    regenerated = talk.regenerate()
    assert regenerated.error_box is None and regenerated.answer == f"Second matrix answer ({mark}-a2b)."
    call = tier.model_calls(f"{mark}-2")[-1]
    context = conversation_text(call)
    users = [text for role, text in context if role == "user"]
    # The regenerated message once, the replaced answer nowhere, the kept turn before it.
    assert sum(f"And a matrix? {mark}-2" in text for text in users) == 1
    assert all(f"{mark}-a2)" not in text for _, text in context)
    assert any(f"{mark}-a1" in text for role, text in context if role == "assistant")

    edited = talk.edit(2, f"And a tensor? {mark}-3")
    assert edited.error_box is None and edited.answer == f"Tensors generalise them ({mark}-a3)."
    context = conversation_text(tier.model_calls(f"{mark}-3")[-1])
    assert all(f"{mark}-2" not in text for _, text in context), context
    assert [role for role, _ in context][-3:] == ["user", "assistant", "user"]
    assert f"What is a vector? {mark}-1" in context[-3][1]
