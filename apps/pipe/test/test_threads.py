"""Chats as threads: the pipe sends a chat's visible history, the bridge keeps each chat's thread."""

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

from conftest import PIPE_FILE
from harness.openwebui import Chat, chat, load_module, load_pipe

REPO = Path(__file__).resolve().parents[3]


def sends(stack, since: int) -> list:
    """The messages the bridge sent to Letta since request number `since`: thread and contents."""
    found = []
    for request in stack.requests()[since:]:
        path = request["path"]
        if request["method"] != "POST" or not path.endswith("/messages"):
            continue
        _, _, kind, ident, _ = path.split("/")
        found.append(
            {
                "thread": ident if kind == "conversations" else f"agent:{ident}",
                # An approval answer (another test's agent) has a type, not a role.
                "messages": [f"{m.get('role', m.get('type'))}: {m.get('content')}" for m in request["body"]["messages"]],
            }
        )
    return found


def last_run(stack) -> dict:
    """The newest Letta run: its conversation and what the agent was given (letta-sim's /_sim/runs)."""
    run = stack.runs()[-1]
    return {"thread": run["conversationId"], "context": [f"{m['role']}: {m['text']}" for m in run["messages"]]}


def new_chat(stack, pipe, **options) -> Chat:
    user = {"id": f"threads-{uuid.uuid4().hex[:8]}", "name": "Ada"}
    return Chat(pipe, f"chat-{uuid.uuid4().hex[:8]}", valves=stack.valves, user=user, **options)


def answer_of(chat_: Chat, index: int) -> str:
    """An answer as the agent should read it again: the pipe's zero-width spaces removed."""
    return chat_.visible[index]["content"].replace("\u200b", "").strip()


def test_a_chat_is_one_thread_that_a_next_message_continues(stack, pipe):
    talk = new_chat(stack, pipe)
    since = len(stack.requests())
    first = talk.send("What is a vector?")
    second = talk.send("And a matrix?")
    assert first.error_box is None and second.error_box is None
    one, two = sends(stack, since)
    assert one["thread"].startswith("conv-")
    assert one == {"thread": one["thread"], "messages": ["user: What is a vector?"]}
    assert two == {"thread": one["thread"], "messages": ["user: And a matrix?"]}
    assert last_run(stack) == {
        "thread": one["thread"],
        "context": ["user: What is a vector?", f"assistant: {answer_of(talk, 1)}", "user: And a matrix?"],
    }


def test_regenerate_answers_from_what_the_chat_shows_in_a_new_thread(stack, pipe):
    talk = new_chat(stack, pipe)
    talk.send("Define a limit.")
    talk.send("Give an example.")
    before = sends(stack, 0)[-1]["thread"]
    since = len(stack.requests())
    again = talk.regenerate()
    assert again.error_box is None
    [send] = sends(stack, since)
    assert send["thread"] != before
    # The user's message once, the discarded answer nowhere.
    assert send["messages"] == [
        "user: Define a limit.",
        f"assistant: {answer_of(talk, 1)}",
        "user: Give an example.",
    ]
    # What the agent read: the same, whether the bridge forked or carried.
    assert last_run(stack)["context"] == send["messages"]
    assert again.notifications == []
    since = len(stack.requests())
    talk.send("Thanks!")
    assert sends(stack, since) == [{"thread": send["thread"], "messages": ["user: Thanks!"]}]


def test_an_edit_keeps_the_turns_before_it_and_nothing_after(stack, pipe):
    talk = new_chat(stack, pipe)
    talk.send("I study physics.")
    talk.send("Explain momentum.")
    talk.send("And energy?")
    since = len(stack.requests())
    talk.edit(2, "Explain torque.")
    [send] = sends(stack, since)
    assert send["messages"] == [
        "user: I study physics.",
        f"assistant: {answer_of(talk, 1)}",
        "user: Explain torque.",
    ]
    assert last_run(stack) == {"thread": send["thread"], "context": send["messages"]}


def test_an_edit_of_the_first_message_starts_over(stack, pipe):
    talk = new_chat(stack, pipe)
    talk.send("I study physics.")
    talk.send("Explain momentum.")
    before = last_run(stack)["thread"]
    talk.edit(0, "I study chemistry.")
    after = last_run(stack)
    assert after["thread"] != before
    assert after["context"] == ["user: I study chemistry."]
    assert [m["role"] for m in talk.visible] == ["user", "assistant"]


def test_replacing_an_answer_that_wrote_memory_says_once_that_the_memory_stays(stack, pipe):
    talk = new_chat(stack, pipe)
    talk.send("Hello")
    stack.enqueue(stack.scenarios["memoryWrite"])
    talk.send("I like tea.")
    again = talk.regenerate()
    assert again.error_box is None
    assert len(again.notifications) == 1
    assert "/memory" in again.notifications[0]
    # A toast, not part of the answer: the answer stays what the agent said.
    assert "/memory" not in again.answer
    assert talk.send("Next question").notifications == []


def test_a_chat_continues_its_thread_after_a_bridge_restart(stack, pipe):
    talk = new_chat(stack, pipe)
    talk.send("Before the restart")
    thread = sends(stack, 0)[-1]["thread"]
    talk.options["valves"] = {**stack.valves, "SERVER_URL": stack.restarted_server_url}
    since = len(stack.requests())
    talk.send("After the restart")
    assert sends(stack, since) == [{"thread": thread, "messages": ["user: After the restart"]}]
    assert last_run(stack)["context"] == [
        "user: Before the restart",
        f"assistant: {answer_of(talk, 1)}",
        "user: After the restart",
    ]


def test_two_chats_of_one_person_stream_at_the_same_time(stack, pipe):
    user = {"id": f"threads-both-{uuid.uuid4().hex[:8]}"}
    other, _ = load_pipe(PIPE_FILE)
    stack.enqueue(stack.scenarios["steadyAnswer"])
    stack.enqueue(stack.scenarios["steadyAnswer"])

    async def both():
        return await asyncio.gather(
            chat(pipe, "first chat", valves=stack.valves, user=user, chat_id="both-1"),
            chat(other, "second chat", valves=stack.valves, user=user, chat_id="both-2"),
        )

    for seen in asyncio.run(both()):
        assert seen.error_box is None
        assert "token29" in seen.answer


def test_a_second_message_while_the_chat_still_answers_says_so_in_the_chat(stack, pipe):
    user = {"id": f"threads-busy-{uuid.uuid4().hex[:8]}"}
    other, _ = load_pipe(PIPE_FILE)
    stack.enqueue(stack.scenarios["steadyAnswer"])

    async def both():
        return await asyncio.gather(
            chat(pipe, "first", valves=stack.valves, user=user, chat_id="busy-1"),
            chat(other, "second", valves=stack.valves, user=user, chat_id="busy-1"),
        )

    answered, busy = sorted(asyncio.run(both()), key=lambda seen: "token29" not in seen.answer)
    assert "token29" in answered.answer
    # chat_busy takes the error path: its sentence in the chat, no error box, no toast.
    assert "This chat is still answering your previous message" in busy.answer
    assert busy.error_box is None and busy.notifications == []


def test_each_temporary_chat_of_a_browser_tab_is_its_own_thread(stack, pipe):
    # OpenWebUI 0.11 names every temporary chat of a tab temporary:<socket id>.
    user = {"id": f"threads-temporary-{uuid.uuid4().hex[:8]}"}
    tab = f"temporary:{uuid.uuid4().hex[:20]}"
    first = Chat(pipe, tab, valves=stack.valves, user=user)
    first.send("Hello")
    stack.enqueue(stack.scenarios["memoryWrite"])
    first.send("I like tea.")
    before = last_run(stack)
    assert before["context"][0] == "user: Hello" and before["context"][-1] == "user: I like tea."
    # A new temporary chat: a thread of its own, no word about the other chat's memory.
    second = Chat(pipe, tab, valves=stack.valves, user=user)
    seen = second.send("What is a vector?")
    assert seen.notifications == []
    assert last_run(stack)["context"] == ["user: What is a vector?"]
    thread = last_run(stack)["thread"]
    assert thread != before["thread"]
    second.send("And a matrix?")
    assert last_run(stack)["thread"] == thread
    # The first one's regenerate is still one, notice included.
    again = first.regenerate()
    assert len(again.notifications) == 1
    assert last_run(stack)["context"] == ["user: Hello", f"assistant: {answer_of(first, 1)}", "user: I like tea."]


def test_a_temporary_chat_is_known_by_its_first_message_in_the_persons_own_words():
    module, _ = load_module(PIPE_FILE)
    wrapped = [{"role": "user", "content": "Use the context to answer.\n<context>…</context>\nHi"}]
    key = module._chat_key("local:abc", wrapped, "Hi")
    assert key == f"local:abc#{module.fingerprint('Hi')}"
    later = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, *wrapped]
    assert module._chat_key("local:abc", later, "Next") == key
    assert module._chat_key("3f2a-chat", later, "Next") == "3f2a-chat"


def test_an_api_call_without_a_chat_uses_the_agents_own_thread(stack, pipe):
    since = len(stack.requests())
    seen = asyncio.run(chat(pipe, "Hi", valves=stack.valves, user={"id": "api-only"}, ui=False, stream=False))
    assert seen.returned
    [send] = sends(stack, since)
    assert send["thread"].startswith("agent:")


def history_of(messages: list) -> list | None:
    module, _ = load_module(PIPE_FILE)
    return module._history(messages)


def test_history_is_every_earlier_message_with_the_newest_texts_within_the_budget():
    module, _ = load_module(PIPE_FILE)
    long = "x" * (module.MAX_CARRIED_MESSAGE_CHARS + 50)
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": '<details type="reasoning">\nhm\n</details>\nan <\u200bthink> answer'},
        {"role": "user", "content": [{"type": "text", "text": long}, {"type": "image_url", "image_url": {}}]},
        {"role": "assistant", "content": "second answer"},
        {"role": "user", "content": "now"},
    ]
    history = history_of(messages)
    assert [item["role"] for item in history] == ["user", "assistant", "user", "assistant"]
    assert [item["fp"] for item in history] == [
        module.fingerprint("first"),
        module.fingerprint(messages[2]["content"]),
        module.fingerprint(long),
        module.fingerprint("second answer"),
    ]
    assert history[1]["text"] == "an <think> answer"
    assert history[2]["text"] == "x" * module.MAX_CARRIED_MESSAGE_CHARS
    assert history[3]["text"] == "second answer"
    # The budget is spent from the newest message back.
    many = [{"role": "user", "content": "y" * 4_000} for _ in range(6)] + [{"role": "user", "content": "now"}]
    carried = [item for item in history_of(many) if "text" in item]
    assert len(carried) == module.MAX_CARRIED_CHARS // 4_000
    assert history_of(many)[-1].get("text") is not None and history_of(many)[0].get("text") is None
    # Length is counted as the bridge counts it (UTF-16 units): an emoji is two.
    emoji = history_of([{"role": "user", "content": "\U0001f600" * 3_000}, {"role": "user", "content": "now"}])
    assert len(emoji[0]["text"]) == module.MAX_CARRIED_MESSAGE_CHARS // 2
    too_long = [{"role": "user", "content": "z"}] * (module.MAX_HISTORY_MESSAGES + 1) + [{"role": "user", "content": "now"}]
    assert history_of(too_long) is None
    assert history_of([{"role": "user", "content": "first message"}]) == []
    # A compacted chat (OpenWebUI's context compaction) sends only its newest turns: no history.
    compacted = [
        {"role": "system", "content": "You are helpful.\n[CONVERSATION SUMMARY]\nThey met."},
        {"role": "user", "content": "kept"},
        {"role": "assistant", "content": "kept answer"},
        {"role": "user", "content": "now"},
    ]
    assert history_of(compacted) is None
    # Half an emoji (JSON can carry one) is carried as U+FFFD, never an exception.
    half = history_of([{"role": "user", "content": "a\ud83d"}, {"role": "user", "content": "now"}])
    assert half == [{"role": "user", "fp": module.fingerprint("a\ufffd"), "text": "a\ufffd"}]


TRICKY = [
    "",
    "Hello  world",
    " a\n\tb \u00a0c\u3000d\ufeff",
    '<details type="reasoning" done="true">\n<summary>Thought</summary>\n> x\n</details>\nAnswer',
    '<DETAILS type="tool_calls"></DETAILS>after',
    "<think>plan</think>said",
    "Models write <\u200bthink>plans<\u200b/think> too",
    "caf\u00e9 vs cafe\u0301",
    "emoji \U0001f600 and \u2028 line",
    # Python's re is Unicode-aware where JavaScript's (without the u flag) is not: \b and /i.
    "<detail\u017f>long s</detail\u017f>kept",
    "<details\u00e9>not a details tag</details>kept",
    "<DETA\u0130LS>dotted I</DETA\u0130LS>kept",
    "<th\u0131nk>dotless i</th\u0131nk>kept",
    # Half an emoji: JavaScript hashes a lone surrogate as U+FFFD; strict Python UTF-8 raises.
    "a\ud83d b",
    "\ude00 low",
]


def test_the_pipe_fingerprints_exactly_as_the_bridge_does():
    module, _ = load_module(PIPE_FILE)
    script = (
        "import { fingerprint } from './packages/events/src/index.ts';"
        "const texts = JSON.parse(await Bun.stdin.text());"
        "console.log(JSON.stringify(texts.map(fingerprint)))"
    )
    bridge = subprocess.run(
        ["bun", "-e", script], input=json.dumps(TRICKY), capture_output=True, text=True, cwd=REPO, check=True
    )
    assert [module.fingerprint(text) for text in TRICKY] == json.loads(bridge.stdout)
    assert module.fingerprint("caf\u00e9") == module.fingerprint("cafe\u0301")


def test_going_on_from_an_earlier_answer_shown_again(stack, pipe):
    talk = new_chat(stack, pipe)
    talk.send("Name a prime.")
    talk.send("Another one?")
    first = answer_of(talk, 3)
    stack.enqueue(stack.scenarios["steadyAnswer"])
    talk.regenerate()
    assert answer_of(talk, 3) != first
    # OpenWebUI's arrows under the answer: back to the first one, and on from there.
    talk.show_sibling(3, 0)
    assert answer_of(talk, 3) == first
    since = len(stack.requests())
    talk.send("Is it odd?")
    [send] = sends(stack, since)
    assert send["messages"] == [
        "user: Name a prime.",
        f"assistant: {answer_of(talk, 1)}",
        "user: Another one?",
        f"assistant: {first}",
        "user: Is it odd?",
    ]
