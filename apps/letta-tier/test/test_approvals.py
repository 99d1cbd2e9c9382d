"""Tool approvals against the real Letta 0.16.8: the person's yes or no reaches the agent, and the
agent is never left waiting for an answer nobody will give."""

import asyncio
import json
import urllib.request
import uuid

from harness.openwebui import CANCEL, OK, STOP, Chat, chat

TOOL = "conversation_search"
MODEL = "letta.approver"


def ask_for_search(tier, mark: str, answer: str) -> None:
    """The fake model searches past conversations (a tool the template makes ask), then answers."""
    tier.script(
        mark,
        [
            {"toolCalls": [{"name": TOOL, "arguments": {"query": f"fossils {mark}"}}]},
            {"content": answer},
        ],
    )


def tool_results(call: dict) -> list:
    """The tool results a model call was given (OpenAI `tool` messages)."""
    return [str(message.get("content")) for message in call["messages"] if message.get("role") == "tool"]


def new_chat(tier, pipe, mark: str, **options) -> Chat:
    user = {"id": f"approvals-{mark}", "name": "Ada"}
    return Chat(pipe, f"chat-{mark}", valves=tier.valves, user=user, model=MODEL, **options)


def test_an_approved_tool_runs_and_the_same_answer_goes_on(tier, pipe):
    mark = tier.marker()
    ask_for_search(tier, mark, "I found nothing about fossils yet.")
    talk = new_chat(tier, pipe, mark, dialog_answers=[OK])
    seen = talk.send(f"Did I mention fossils? {mark}")
    assert seen.error_box is None, seen.answer
    [dialog] = seen.dialogs
    assert dialog["type"] == "confirmation" and TOOL in dialog["title"]
    assert f"fossils {mark}" in dialog["message"]
    assert seen.answer.strip() == "I found nothing about fossils yet."
    assert not seen.unfinished_statuses
    calls = tier.model_calls(mark)
    assert len(calls) == 2
    # The tool ran: its result (not a refusal) is what the model read next.
    [result] = tool_results(calls[1])
    assert "declined" not in result and "denied" not in result.lower(), result
    # The thread is not waiting for anything: the next message is answered.
    later = tier.marker()
    tier.script(later, [{"content": "Yes, fossils."}])
    follow = talk.send(f"Thanks {later}")
    assert follow.error_box is None and follow.answer.strip() == "Yes, fossils."


def test_a_refused_tool_tells_the_agent_why_and_it_answers_in_the_same_bubble(tier, pipe):
    mark = tier.marker()
    ask_for_search(tier, mark, "All right, I will not search.")
    seen = new_chat(tier, pipe, mark, dialog_answers=[CANCEL]).send(f"Search my chats {mark}")
    assert seen.error_box is None
    assert seen.answer.strip() == "All right, I will not search."
    calls = tier.model_calls(mark)
    [result] = tool_results(calls[1])
    assert "The person declined this tool call." in result


def test_stop_while_the_dialog_is_open_leaves_the_agent_free_for_the_next_message(tier, pipe):
    mark = tier.marker()
    ask_for_search(tier, mark, "This reply was stopped.")
    talk = new_chat(tier, pipe, mark, dialog_answers=[STOP])
    seen = talk.send(f"Search {mark}")
    assert seen.stopped and seen.error_box is None
    later = tier.marker()
    tier.script(later, [{"content": "Here I am again."}])
    talk.options["dialog_answers"] = []
    follow = talk.send(f"Hello again {later}")
    assert follow.error_box is None, follow.answer
    assert follow.answer.strip() == "Here I am again."
    [call] = tier.model_calls(later)
    # The open request was refused before the new message, in the same run: the agent read both,
    # and never replied to the refusal on its own.
    assert "The person did not answer this approval request" in str(call["messages"])
    assert "This reply was stopped." not in str(call["messages"])
    assert len(tier.model_calls(mark)) == 1


def test_without_a_chat_window_the_tool_is_refused_and_the_answer_still_comes(tier, pipe):
    mark = tier.marker()
    ask_for_search(tier, mark, "I could not search, sorry.")
    user = {"id": f"approvals-api-{mark}", "name": "Ada"}
    seen = asyncio.run(
        chat(pipe, f"Search {mark}", valves=tier.valves, user=user, model=MODEL, ui=False, stream=False)
    )
    assert seen.returned.strip() == "I could not search, sorry."
    [result] = tool_results(tier.model_calls(mark)[1])
    assert "without a chat window" in result


def test_a_message_to_an_agent_still_waiting_refuses_the_old_request_first(tier, pipe):
    mark = tier.marker()
    ask_for_search(tier, mark, "unused")
    user = {"id": f"approvals-left-{mark}", "name": "Ada"}
    # Another client leaves an approval unanswered on the agent's own thread (no chat id).
    request = {
        "protocolVersion": pipe_protocol(),
        "user": user,
        "template": "approver",
        "message": f"Search {mark}",
    }
    body = post_json(tier, "/v1/chat", request)
    assert body["stopReason"] == "requires_approval" and body["approvals"][0]["name"] == TOOL
    later = tier.marker()
    tier.script(later, [{"content": "Moving on."}])
    seen = asyncio.run(
        chat(pipe, f"Something else {later}", valves=tier.valves, user=user, model=MODEL, ui=False, stream=False)
    )
    assert seen.returned.strip() == "Moving on."
    [call] = tier.model_calls(later)
    assert any("did not answer this approval request" in result for result in tool_results(call))


def pipe_protocol() -> str:
    from conftest import PIPE_FILE
    from harness.openwebui import load_module

    module, _ = load_module(PIPE_FILE)
    return module.PROTOCOL_VERSION


def post_json(tier, route: str, body: dict) -> dict:
    request = urllib.request.Request(
        tier.bridge_url + route,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {tier.api_key}"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())
