"""A model that says nothing for 50 s (a cold or overloaded provider): the answer still arrives."""

import asyncio

from harness.openwebui import chat

SILENCE_MS = 50_000


def test_an_answer_after_fifty_silent_seconds_still_reaches_the_chat(tier, pipe):
    mark = tier.marker()
    tier.script(mark, [{"delayMs": SILENCE_MS, "reasoning": "That took a while.", "content": "Sorry for the wait: here it is."}])
    seen = asyncio.run(chat(pipe, f"Are you there? {mark}", valves=tier.valves, user={"id": f"silent-{mark}"}))
    assert seen.error_box is None
    assert seen.answer == "Sorry for the wait: here it is.", seen.answer
    assert seen.last_status_done
    calls = tier.model_calls(mark)
    assert len(calls) == 1 and not calls[0]["aborted"]
