"""`/memory` through the bridge to the real Letta 0.16.8: the real agent's blocks, and an edit that lands."""

import asyncio

from harness.openwebui import chat


def fenced(value: str) -> str:
    return f"```text\n{value}\n```"


def test_memory_shows_the_real_agents_blocks_and_an_edit_lands_in_letta(tier, pipe):
    mark = tier.marker()
    user = {"id": f"mem-{mark}", "name": "Ada"}
    shown = asyncio.run(chat(pipe, "/memory", valves=tier.valves, user=user))
    assert shown.error_box is None and shown.last_status_done
    [agent] = tier.agents_of(user["id"])
    blocks = {block["label"]: block for block in tier.letta(f"/v1/agents/{agent['id']}/core-memory/blocks")}
    for label in ("human", "persona"):
        block = blocks[label]
        assert f"### {label}\n" in shown.answer
        assert fenced(block["value"]) in shown.answer, label
        assert f"{len(block['value']):,} of {block['limit']:,} characters" in shown.answer
    assert "Name: Ada" in blocks["human"]["value"]

    new = f"Ada studies comets ({mark})."
    edited = asyncio.run(chat(pipe, "/memory human", valves=tier.valves, user=user, dialog_answers=[new]))
    assert edited.dialogs[0]["value"] == blocks["human"]["value"]
    assert edited.answer == f"Saved your human memory ({len(new)} characters)."
    assert tier.letta(f"/v1/agents/{agent['id']}/core-memory/blocks/human")["value"] == new

    again = asyncio.run(chat(pipe, "/memory", valves=tier.valves, user=user, stream=False))
    assert fenced(new) in again.returned
    # Neither showing nor editing the memory ran the agent.
    assert tier.runs_of(agent["id"]) == []
    assert tier.model_calls(mark) == []
