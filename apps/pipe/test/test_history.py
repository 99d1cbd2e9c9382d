"""A chat's history as the pipe sends it, recorded by a fake bridge, for chats kept as OpenWebUI's tree."""

import asyncio

import pytest
from conftest import PIPE_FILE
from fake_bridge import RecordingBridge
from harness.openwebui import Chat, chat, load_module

# The agent writes a tag: the pipe shows it with a zero-width space so OpenWebUI keeps it inert.
ANSWER = "Write <think> in your notes."


@pytest.fixture
def bridge():
    with RecordingBridge(ANSWER) as recording:
        yield recording


@pytest.fixture
def module():
    return load_module(PIPE_FILE)[0]


def talk(pipe, bridge) -> Chat:
    return Chat(pipe, "chat-history", valves={"SERVER_URL": bridge.url, "API_KEY": "k"}, user={"id": "ada"})


def sent(bridge, module) -> tuple:
    """The last request: (its message, its history as (role, the text it names), its texts)."""
    body = bridge.bodies[-1]
    by_fp = {module.fingerprint(text): text for text in [ANSWER, *TEXTS]}
    named = [(item["role"], by_fp.get(item["fp"], item["fp"])) for item in body.get("history", [])]
    return body["message"], named, [item.get("text") for item in body.get("history", [])]


TEXTS = ["Define a limit.", "Give an example.", "And a proof?", "Define a derivative."]


def test_a_next_message_names_every_earlier_message_of_the_chat_oldest_first(pipe, bridge, module):
    chat_ = talk(pipe, bridge)
    chat_.send(TEXTS[0])
    assert bridge.bodies[0]["chatId"] == "chat-history" and bridge.bodies[0]["history"] == []
    chat_.send(TEXTS[1])
    chat_.send(TEXTS[2])
    message, named, texts = sent(bridge, module)
    assert message == TEXTS[2]
    # The stored answers carry the pipe's zero-width space; their fingerprint is the bridge's.
    assert "\u200b" in chat_.visible[1]["content"]
    assert named == [("user", TEXTS[0]), ("assistant", ANSWER), ("user", TEXTS[1]), ("assistant", ANSWER)]
    # The agent reads what the person read: no zero-width space.
    assert texts == [TEXTS[0], ANSWER, TEXTS[1], ANSWER]


def test_a_regenerate_names_the_messages_before_the_question_without_the_replaced_answer(pipe, bridge, module):
    chat_ = talk(pipe, bridge)
    chat_.send(TEXTS[0])
    chat_.send(TEXTS[1])
    chat_.regenerate()
    message, named, _ = sent(bridge, module)
    assert message == TEXTS[1]
    assert named == [("user", TEXTS[0]), ("assistant", ANSWER)]
    assert bridge.bodies[-1]["history"] == bridge.bodies[1]["history"]


def test_an_edit_names_only_the_messages_before_it(pipe, bridge, module):
    chat_ = talk(pipe, bridge)
    for text in TEXTS[:3]:
        chat_.send(text)
    chat_.edit(2, TEXTS[3])  # "Give an example." becomes "Define a derivative."
    message, named, _ = sent(bridge, module)
    assert (message, named) == (TEXTS[3], [("user", TEXTS[0]), ("assistant", ANSWER)])
    chat_.edit(0, TEXTS[3])
    assert sent(bridge, module)[:2] == (TEXTS[3], [])
    # The arrows back to the first version show it with its newest descendants (the first edit).
    chat_.show_sibling(0, 0)
    chat_.send("Thanks!")
    assert [text for _, text in sent(bridge, module)[1]] == [TEXTS[0], ANSWER, TEXTS[3], ANSWER]


def test_an_api_call_and_a_background_task_send_no_history(pipe, bridge):
    valves = {"SERVER_URL": bridge.url, "API_KEY": "k"}
    asyncio.run(chat(pipe, "Hi", valves=valves, user={"id": "ada"}, ui=False, stream=False))
    assert "chatId" not in bridge.bodies[-1] and "history" not in bridge.bodies[-1]
    asyncio.run(chat(pipe, "Hi", valves=valves, user={"id": "ada"}, task="title_generation"))
    assert len(bridge.bodies) == 1
