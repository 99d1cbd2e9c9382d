"""Tool approvals: the agent's request becomes OpenWebUI's confirmation dialog, the person's answer
goes back to the agent, and the answer goes on in the same bubble — or ends readably, never stuck."""

import asyncio
import uuid

from harness.openwebui import CANCEL, NEVER_ANSWERS, OK, STOP, TAB_CLOSED, Chat, chat

NEW_MESSAGE_REASON = "The person did not answer this approval request (they stopped the answer or sent a new message)."


def new_chat(stack, pipe, answers: list, **options) -> Chat:
    user = {"id": f"approve-{uuid.uuid4().hex[:8]}", "name": "Ada"}
    return Chat(pipe, f"chat-{uuid.uuid4().hex[:8]}", valves=stack.valves, user=user, dialog_answers=answers, **options)


def decisions(stack) -> list:
    """What the newest Letta run was told about the pending tool calls."""
    return [(item["approve"], item["reason"]) for item in stack.runs()[-1]["approvals"]]


def statuses(seen) -> list:
    return [status["description"] for status in seen.statuses if status["description"]]


def test_ok_lets_the_tool_run_and_the_answer_goes_on_in_the_same_bubble(stack, pipe):
    stack.enqueue(stack.scenarios["asksToEmail"])
    seen = new_chat(stack, pipe, [OK]).send("Email my teacher")
    assert seen.error_box is None
    [dialog] = seen.dialogs
    assert dialog["type"] == "confirmation"
    assert dialog["title"] == "Allow your agent to use send_email?"
    assert "- **to**: teacher@example.org" in dialog["message"]
    assert "- **subject**: Extension request" in dialog["message"]
    assert seen.answer.strip() == "Done."
    assert decisions(stack) == [(True, None)]
    shown = statuses(seen)
    assert shown.index("Waiting for your approval to use send_email\u2026") < shown.index("Allowed send_email")
    assert not seen.unfinished_statuses


def test_cancel_refuses_with_a_reason_and_the_agent_answers(stack, pipe):
    stack.enqueue(stack.scenarios["asksToEmail"])
    seen = new_chat(stack, pipe, [CANCEL]).send("Email my teacher")
    assert seen.answer.strip() == "Understood."
    assert decisions(stack) == [(False, "The person declined this tool call.")]
    assert "Not allowed: send_email" in statuses(seen)
    assert not seen.unfinished_statuses


def test_no_answer_in_time_or_a_closed_tab_refuse_it_too(stack, pipe):
    stack.enqueue(stack.scenarios["asksToEmail"])
    valves = {**stack.valves, "APPROVAL_TIMEOUT_SECONDS": 1}
    user = {"id": f"approve-{uuid.uuid4().hex[:8]}"}
    late = Chat(pipe, "chat-late", valves=valves, user=user, dialog_answers=[NEVER_ANSWERS]).send("Email")
    assert late.answer.strip() == "Understood."
    assert decisions(stack) == [(False, "The person did not answer the approval request within 1 seconds.")]
    assert "Not allowed: send_email (no answer in time)" in statuses(late)
    stack.enqueue(stack.scenarios["asksToEmail"])
    gone = new_chat(stack, pipe, [TAB_CLOSED]).send("Email")
    assert gone.answer.strip() == "Understood."
    assert decisions(stack) == [(False, "The person's chat window closed before they answered the approval request.")]


def test_stop_with_the_dialog_open_ends_the_answer_and_the_next_message_refuses_it_first(stack, pipe):
    talk = new_chat(stack, pipe, [STOP])
    stack.enqueue(stack.scenarios["asksToEmail"])
    stopped = talk.send("Email my teacher")
    assert stopped.stopped and stopped.error_box is None
    assert not stopped.unfinished_statuses
    talk.options["dialog_answers"] = []
    after = talk.send("Never mind")
    assert after.error_box is None and after.answer.strip() == "Understood."
    # One run: the refusal and the new message together (Letta refused the message alone).
    last = stack.runs()[-1]
    assert [(item["approve"], item["reason"]) for item in last["approvals"]] == [(False, NEW_MESSAGE_REASON)]
    assert "Never mind" in [message["text"] for message in last["messages"]]


def test_an_api_call_cannot_ask_so_the_tool_is_refused_and_the_answer_comes(stack, pipe):
    stack.enqueue(stack.scenarios["asksToEmail"])
    seen = asyncio.run(chat(pipe, "Email my teacher", valves=stack.valves, ui=False, stream=True, dialog_answers=[]))
    assert seen.content.strip() == "Understood."
    assert decisions(stack) == [(False, "Nobody could be asked: this request came without a chat window (API use).")]
    stack.enqueue(stack.scenarios["asksToEmail"])
    whole = asyncio.run(chat(pipe, "Email my teacher", valves=stack.valves, ui=False, stream=False))
    assert whole.returned.strip() == "Understood."
