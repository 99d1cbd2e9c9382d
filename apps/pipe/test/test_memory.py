"""`/memory` in the chat: the agent's memory blocks, shown and edited by the pipe, never by the agent.

Against the real bridge and letta-sim (test/stack.ts); the faults the real bridge never shows
(redirects, silence, nonsense) against tiny local servers (fake_bridge.py).
"""

import asyncio
import json
import urllib.request
import uuid

import pytest
from aiohttp import web
from fake_bridge import serve
from harness.openwebui import CANCEL, NEVER_ANSWERS, TAB_CLOSED, TIMED_OUT, chat

# A request the pipe does not bound would keep the test waiting: fail instead.
NEVER = 60
EDIT_HINT = "Send `/memory <label>` to edit a block."
NOTHING_CHANGED = "Nothing changed."
DIALOG_CLOSED = "Nothing changed: the edit dialog was closed."


def new_user(stem: str) -> dict:
    return {"id": f"{stem}-{uuid.uuid4().hex[:8]}", "name": "Ada", "role": "user"}


def protocol_version(pipe) -> str:
    return pipe.pipe.__globals__["PROTOCOL_VERSION"]


def bridge_blocks(stack, pipe, user: dict, template: str = "tutor") -> dict:
    """The blocks as the bridge holds them (the truth the chat must show), by label."""
    body = {"protocolVersion": protocol_version(pipe), "user": user, "template": template}
    request = urllib.request.Request(
        stack.server_url + "/v1/memory",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {stack.api_key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return {block["label"]: block for block in json.loads(response.read())["blocks"]}


def seed_agent(stack, user: dict, blocks: list) -> None:
    """An agent of `user` in letta-sim, with the blocks a test needs, found by the bridge as theirs."""
    stack._sim(
        "POST",
        "/v1/agents",
        {
            "name": f"tutor-{user['id']}",
            "model": "openai/gpt-4o-mini",
            "tags": [f"owui-user:{user['id']}", "template:tutor", "letta-openwebui"],
            "metadata": {"owui_user_id": user["id"], "template": "tutor"},
            "memory_blocks": blocks,
        },
    )


def letta_runs(stack) -> int:
    """Messages sent to any Letta agent so far: each would be a run and a turn in the thread."""
    return sum(1 for r in stack.requests() if r["path"].rstrip("/").endswith("/messages"))


def say(pipe, stack, text: str, user: dict, *, stream: bool = True, ui: bool = True, **options):
    """One chat message; returns (what the person reads, what was seen)."""
    options.setdefault("valves", stack.valves)
    seen = asyncio.run(asyncio.wait_for(chat(pipe, text, user=user, stream=stream, ui=ui, **options), NEVER))
    assert seen.error_box is None
    if stream:
        assert seen.returned is None
        if ui:
            assert seen.last_status_done and seen.unfinished_statuses == [], seen.statuses
        return seen.answer, seen
    assert isinstance(seen.returned, str)
    return seen.returned, seen


def fenced(value: str) -> str:
    return f"```text\n{value}\n```"


@pytest.mark.parametrize(("stream", "ui"), [(True, True), (False, False), (True, False)], ids=["chat", "api-plain", "api-stream"])
def test_memory_shows_this_users_blocks_without_a_letta_run(stack, pipe, stream, ui):
    bob = new_user("mem-bob")
    seed_agent(stack, bob, [{"label": "human", "value": "Bob secretly likes comets."}, {"label": "persona", "value": "x"}])
    ada = new_user("mem-ada")
    runs = letta_runs(stack)
    shown, _ = say(pipe, stack, "  /memory \n", ada, stream=stream, ui=ui)
    assert letta_runs(stack) == runs, "/memory started a Letta run"
    blocks = bridge_blocks(stack, pipe, ada)
    assert sorted(blocks) == ["human", "persona"]
    for label, block in blocks.items():
        assert f"### {label}\n" in shown
        assert fenced(block["value"]) in shown, label
        assert f"{len(block['value']):,} of {block['limit']:,} characters" in shown
    assert "Name: Ada" in blocks["human"]["value"]
    assert "comets" not in shown
    assert "read-only" not in shown
    assert shown.endswith(EDIT_HINT)


def test_a_long_value_with_markdown_is_shown_in_full_and_cannot_break_the_layout(stack, pipe):
    dee = new_user("mem-long")
    value = "# Not a heading\n```\nnot the end of the block\n```\n" + "Dee likes long words. " * 200
    seed_agent(
        stack,
        dee,
        [
            {"label": "human", "value": value, "limit": 10_000, "description": "What I know about *you*"},
            {"label": "policy", "value": "Be kind.", "read_only": True},
        ],
    )
    shown, _ = say(pipe, stack, "/memory", dee)
    # A fence longer than the value's own backtick runs: the value cannot close it early.
    assert f"````text\n{value}\n````" in shown
    assert "What I know about \\*you\\*" in shown
    assert f"{len(value):,} of 10,000 characters" in shown
    assert "### policy\n8 of" in shown and "characters (read-only)" in shown


def test_the_edit_dialog_is_prefilled_and_ok_saves(stack, pipe):
    ada = new_user("mem-edit")
    before = bridge_blocks(stack, pipe, ada)["human"]
    runs = letta_runs(stack)
    shown, seen = say(pipe, stack, "/memory human", ada, dialog_answers=["Ada is learning calculus."])
    assert shown == "Saved your human memory (25 characters)."
    assert seen.dialogs == [
        {
            "type": "input",
            "title": "Edit your human memory",
            "message": f"Up to {before['limit']:,} characters (now {len(before['value']):,}). Enter saves, Escape cancels.",
            "placeholder": "What your agent keeps in human",
            "value": before["value"],
        }
    ]
    assert bridge_blocks(stack, pipe, ada)["human"]["value"] == "Ada is learning calculus."
    again, _ = say(pipe, stack, "/memory", ada, stream=False)
    assert fenced("Ada is learning calculus.") in again
    assert letta_runs(stack) == runs, "/memory started a Letta run"


def test_an_edit_reaches_the_agent_of_the_chats_template_only(stack, pipe):
    ada = new_user("mem-coach")
    tutor_before = bridge_blocks(stack, pipe, ada)["human"]["value"]
    shown, _ = say(pipe, stack, "/memory", ada, model="letta.coach")
    assert fenced("I am a running coach.") in shown
    saved, _ = say(pipe, stack, "/memory human", ada, model="letta.coach", dialog_answers=["Ada runs 5 km."])
    assert saved == "Saved your human memory (14 characters)."
    assert bridge_blocks(stack, pipe, ada, template="coach")["human"]["value"] == "Ada runs 5 km."
    assert bridge_blocks(stack, pipe, ada)["human"]["value"] == tutor_before


def test_a_non_streamed_edit_saves_too(stack, pipe):
    ada = new_user("mem-plain-edit")
    shown, seen = say(pipe, stack, "/memory human", ada, stream=False, dialog_answers=["Short."])
    assert shown == "Saved your human memory (6 characters)."
    assert len(seen.dialogs) == 1
    assert bridge_blocks(stack, pipe, ada)["human"]["value"] == "Short."


@pytest.mark.parametrize(
    ("answer", "sentence"),
    [(CANCEL, NOTHING_CHANGED), (TAB_CLOSED, DIALOG_CLOSED), (TIMED_OUT, DIALOG_CLOSED), (NEVER_ANSWERS, DIALOG_CLOSED)],
    ids=["cancel", "tab-gone", "owui-timeout", "silence"],
)
def test_a_dialog_without_ok_changes_nothing(stack, pipe, answer, sentence):
    ada = new_user("mem-cancel")
    before = bridge_blocks(stack, pipe, ada)["human"]["value"]
    # NEVER_ANSWERS: only the pipe's own bound ends the wait, well before NEVER.
    valves = {**stack.valves, "MEMORY_DIALOG_SECONDS": 1}
    shown, seen = say(pipe, stack, "/memory human", ada, valves=valves, dialog_answers=[answer])
    assert shown == sentence
    assert len(seen.dialogs) == 1
    assert bridge_blocks(stack, pipe, ada)["human"]["value"] == before


def test_an_edit_over_the_limit_is_refused_with_the_bridges_sentence(stack, pipe):
    dee = new_user("mem-limit")
    seed_agent(stack, dee, [{"label": "human", "value": "Dee.", "limit": 10}])
    shown, seen = say(pipe, stack, "/memory human", dee, dialog_answers=["x" * 11])
    assert shown == 'The "human" memory block holds at most 10 characters; this is 11. Please shorten it.'
    assert seen.dialogs[0]["message"].startswith("Up to 10 characters (now 4).")
    assert bridge_blocks(stack, pipe, dee)["human"]["value"] == "Dee."


def test_a_read_only_block_is_refused_at_once_without_a_dialog(stack, pipe):
    dee = new_user("mem-ro")
    seed_agent(stack, dee, [{"label": "human", "value": "Dee."}, {"label": "policy", "value": "Be kind.", "read_only": True}])
    # An empty script: any dialog fails the test.
    shown, seen = say(pipe, stack, "/memory policy", dee, dialog_answers=[])
    assert shown == 'The "policy" memory block is read-only: it cannot be changed.'
    assert seen.dialogs == []


def test_an_unknown_block_is_named_without_a_dialog(stack, pipe):
    ada = new_user("mem-unknown")
    shown, seen = say(pipe, stack, "/memory goals", ada, dialog_answers=[])
    assert shown == 'Your agent has no memory block called "goals". Send /memory to see its blocks.'
    assert seen.dialogs == []


@pytest.mark.parametrize("stream", [True, False])
def test_editing_without_the_chat_window_says_it_needs_one(stack, pipe, stream):
    ada = new_user("mem-api")
    before = bridge_blocks(stack, pipe, ada)["human"]["value"]
    shown, _ = say(pipe, stack, "/memory human", ada, stream=stream, ui=False)
    assert shown.startswith("Editing a memory block needs the chat window")
    assert bridge_blocks(stack, pipe, ada)["human"]["value"] == before


@pytest.mark.parametrize("text", ["/memory", "/memory human"])
def test_a_template_with_memory_turned_off_says_so(stack, pipe, text):
    ada = new_user("mem-off")
    shown, seen = say(pipe, stack, text, ada, model="letta.private", dialog_answers=[])
    assert shown == "An admin has turned off /memory for this agent."
    assert seen.dialogs == []


def test_background_tasks_are_unaffected(stack, pipe):
    before = len(stack.requests())
    seen = asyncio.run(chat(pipe, "/memory", valves=stack.valves, task="title_generation"))
    assert json.loads(seen.returned) == {"title": "/memory"}
    assert len(stack.requests()) == before


def test_other_messages_still_go_to_the_agent(stack, pipe):
    ada = new_user("mem-chat")
    runs = letta_runs(stack)
    say(pipe, stack, "What is /memory for?", ada)
    say(pipe, stack, "/memoryless", ada)
    assert letta_runs(stack) == runs + 2


def test_bridge_down_and_wrong_key_are_sentences(stack, pipe):
    ada = new_user("mem-down")
    down, _ = say(pipe, stack, "/memory", ada, valves={"SERVER_URL": "http://127.0.0.1:9", "API_KEY": "x"})
    assert "cannot be reached at http://127.0.0.1:9" in down
    wrong, _ = say(pipe, stack, "/memory human", ada, valves={**stack.valves, "API_KEY": "wrong-key"}, dialog_answers=[])
    assert "API_KEY" in wrong


# Set when a test against a fake bridge is over: a handler that plays dead waits for it.
release = asyncio.Event()


async def against(pipe, handler, text: str, *, valves: dict | None = None, stream: bool = True, **options):
    """The pipe against a fake bridge; returns (what the person reads, the requests it got)."""
    hits: list = []
    release.clear()

    async def bridge(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        return await handler(request)

    async with serve(bridge) as url:
        try:
            seen = await chat(pipe, text, valves={"SERVER_URL": url, "API_KEY": "k", **(valves or {})}, stream=stream, **options)
        finally:
            # The fake bridge stops only once its handlers have returned.
            release.set()
    if stream:
        assert seen.last_status_done
    return (seen.answer if stream else seen.returned), hits


def test_a_redirect_is_not_followed(pipe):
    async def elsewhere(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect("http://127.0.0.1:9/v1/memory")

    shown, hits = asyncio.run(against(pipe, elsewhere, "/memory"))
    assert hits == ["/v1/memory"]
    assert "redirect" in shown and "SERVER_URL" in shown


def test_a_silent_bridge_is_bounded_by_request_timeout(pipe):
    async def silent(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.json_response({})

    shown, _ = asyncio.run(asyncio.wait_for(against(pipe, silent, "/memory", valves={"REQUEST_TIMEOUT": 1}, stream=False), NEVER))
    assert shown == "The Letta bridge server stopped responding. Please try again."


def test_a_malformed_memory_view_is_a_sentence(pipe):
    async def nonsense(request: web.Request) -> web.StreamResponse:
        return web.json_response({"template": "tutor", "blocks": [{"label": "human"}]})

    shown, _ = asyncio.run(against(pipe, nonsense, "/memory human", dialog_answers=[]))
    assert shown.startswith("The Letta pipe does not understand the bridge server (a memory block is malformed)")


def test_a_save_that_fails_on_the_way_is_a_sentence(pipe):
    view = {"template": "tutor", "blocks": [{"label": "human", "description": "", "value": "Ada.", "limit": 100, "readOnly": False}]}

    async def flaky(request: web.Request) -> web.StreamResponse:
        if request.path == "/v1/memory":
            return web.json_response(view)
        return web.json_response({"code": "letta_unreachable", "message": "The Letta server cannot be reached right now. Please try again in a minute.", "retryable": True}, status=502)

    shown, hits = asyncio.run(against(pipe, flaky, "/memory human", dialog_answers=["Ada likes tea."]))
    assert hits == ["/v1/memory", "/v1/memory/update"]
    assert shown == "The Letta server cannot be reached right now. Please try again in a minute."
