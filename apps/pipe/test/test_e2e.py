"""The generated pipe, loaded and driven as OpenWebUI does, against the real bridge and letta-sim."""

import asyncio
import json
import time
from pathlib import Path

import pytest
from harness.openwebui import chat, models, split_tagged_content

# A turn without a bound would keep the test waiting forever: fail instead.
NEVER = 120
TURN_TOO_LONG = "The agent took longer than {seconds} seconds, so the answer was stopped here. Please try again."


def expected_from(transcript: str) -> dict:
    """Thinking and answer text straight from a Letta transcript, grouped by (type, otid)."""
    reasoning: dict = {}
    answer = ""
    for line in transcript.splitlines():
        if not line.startswith("data: {"):
            continue
        frame = json.loads(line[6:])
        if frame.get("message_type") == "reasoning_message":
            reasoning[frame["otid"]] = reasoning.get(frame["otid"], "") + frame["reasoning"]
        if frame.get("message_type") == "assistant_message":
            answer += frame["content"]
    error = None
    for block in transcript.split("\n\n"):
        if block.startswith("event: error"):
            error = json.loads(block.split("data: ", 1)[1])["message"]
    return {"thinking": "\n\n".join(reasoning.values()), "answer": answer, "error": error}


def fixture_names(stack_dir: str) -> list:
    return sorted(path.name for path in Path(stack_dir).glob("*.sse"))


def test_fixtures_come_out_as_exact_thinking_answer_and_tool_statuses(stack, pipe):
    names = fixture_names(stack.fixture_dir)
    assert len(names) >= 3
    for name in names:
        expected = expected_from((Path(stack.fixture_dir) / name).read_text())
        stack.enqueue(stack.fixtures[name])
        seen = asyncio.run(chat(pipe, "What's the weather?", valves=stack.valves, user={"id": f"fx-{name}"}))
        assert seen.error_box is None
        assert seen.thinking == expected["thinking"], name
        if expected["error"]:
            assert seen.answer.strip() == expected["error"], name
        else:
            assert seen.answer == expected["answer"], name
            assert any(s["description"] == "Searching the web…" and not s["done"] for s in seen.statuses)
            assert any(s["description"] == "Searching the web" and s["done"] for s in seen.statuses)
        assert seen.last_status_done, name


def test_each_failure_is_a_readable_sentence_and_the_spinner_stops(stack, pipe):
    for scenario in ("errorBeforeOutput", "errorAfterOutput", "dropAfter"):
        stack.enqueue(stack.scenarios[scenario])
        seen = asyncio.run(chat(pipe, "Hi", valves=stack.valves, user={"id": f"err-{scenario}"}))
        assert seen.error_box is None, scenario
        last_line = seen.answer.strip().splitlines()[-1]
        assert last_line[0].isupper() and last_line.endswith((".", "!")), (scenario, last_line)
        assert "Traceback" not in seen.answer and "Error:" not in seen.answer
        assert seen.last_status_done, scenario


def test_bridge_down_wrong_key_and_old_protocol_are_explained(stack, pipe):
    down = asyncio.run(chat(pipe, "Hi", valves={"SERVER_URL": "http://127.0.0.1:9", "API_KEY": "x"}))
    assert "cannot be reached at http://127.0.0.1:9" in down.answer
    assert down.last_status_done
    wrong = asyncio.run(chat(pipe, "Hi", valves={**stack.valves, "API_KEY": "wrong-key"}))
    assert "API_KEY" in wrong.answer
    assert wrong.last_status_done


def test_letta_down_reaches_the_chat_as_a_sentence(stack, pipe):
    valves = {**stack.valves, "SERVER_URL": stack.letta_down_url}
    seen = asyncio.run(chat(pipe, "Hi", valves=valves, user={"id": "down-1"}))
    assert seen.answer == "The Letta server cannot be reached right now. Please try again in a minute."
    assert seen.last_status_done


def test_unknown_template_is_explained(stack, pipe):
    seen = asyncio.run(chat(pipe, "Hi", valves=stack.valves, user={"id": "tpl-1"}, model="letta.wizard"))
    assert 'There is no agent template "wizard".' in seen.answer
    assert seen.last_status_done


def test_background_tasks_never_reach_letta(stack, pipe):
    before = len(stack.requests())
    for task, expected in (
        ("title_generation", {"title": "Derivatives"}),
        ("tags_generation", {"tags": []}),
        ("follow_up_generation", {"follow_ups": []}),
    ):
        seen = asyncio.run(chat(pipe, "Explain derivatives to me please", valves=stack.valves, task=task))
        assert json.loads(seen.returned) == expected, task
    assert len(stack.requests()) == before


def test_non_streaming_returns_a_plain_string(stack, pipe):
    stack.enqueue(stack.fixtures["step_stream_tool_then_answer.sse"])
    seen = asyncio.run(chat(pipe, "Weather?", valves=stack.valves, stream=False, user={"id": "plain-1"}))
    assert seen.returned == "It's 18°C with light rain in Paris right now."


def test_stop_button_cancels_the_letta_run(stack, pipe):
    cancels_before = len(stack.state()["cancels"])
    stack.enqueue(stack.scenarios["slowAnswer"])
    seen = asyncio.run(chat(pipe, "Long answer please", valves=stack.valves, user={"id": "stop-1"}, stop_after_chunks=5))
    assert seen.chunks == 5
    stopped = time.monotonic()
    while time.monotonic() - stopped < 1.0 and len(stack.state()["cancels"]) == cancels_before:
        time.sleep(0.02)
    assert len(stack.state()["cancels"]) == cancels_before + 1
    assert seen.last_status_done


def test_two_users_get_two_agents(stack, pipe):
    before = [r for r in stack.requests() if r["method"] == "POST" and r["path"].rstrip("/") == "/v1/agents"]
    asyncio.run(chat(pipe, "Hi", valves=stack.valves, user={"id": "pair-alice", "name": "Alice"}))
    asyncio.run(chat(pipe, "Hi", valves=stack.valves, user={"id": "pair-bob", "name": "Bob"}))
    asyncio.run(chat(pipe, "Hi again", valves=stack.valves, user={"id": "pair-alice", "name": "Alice"}))
    created = [r for r in stack.requests() if r["method"] == "POST" and r["path"].rstrip("/") == "/v1/agents"]
    new = created[len(before) :]
    assert len(new) == 2
    assert {tag for r in new for tag in r["body"]["tags"] if tag.startswith("owui-user:")} == {
        "owui-user:pair-alice",
        "owui-user:pair-bob",
    }


def test_user_can_hide_the_thinking_block(stack, pipe):
    stack.enqueue(stack.fixtures["anthropic_token_stream_tool_then_answer.sse"])
    seen = asyncio.run(
        chat(pipe, "Hi", valves=stack.valves, user={"id": "quiet-1"}, user_valves={"SHOW_THINKING": False})
    )
    assert seen.thinking == ""
    assert seen.answer.endswith("right now.")


def test_models_are_listed_per_template_and_degrade_when_the_bridge_is_down(stack, pipe):
    listed = asyncio.run(models(pipe, stack.valves))
    assert {"id": "letta.tutor", "name": "Letta/Tutor"} in listed
    down = asyncio.run(models(pipe, {"SERVER_URL": "http://127.0.0.1:9"}))
    assert len(down) == 1 and "bridge unreachable at http://127.0.0.1:9" in down[0]["name"]


@pytest.mark.parametrize("question", ["¿Qué es una derivada? 🤔"])
def test_unicode_survives_the_round_trip(stack, pipe, question):
    seen = asyncio.run(chat(pipe, question, valves=stack.valves, user={"id": "uni-1"}))
    assert seen.last_status_done
    sent = [r for r in stack.requests() if r["path"].endswith("/messages")][-1]
    assert sent["body"]["messages"][0]["content"] == question


def test_a_failed_tool_is_shown_as_failed(stack, pipe):
    stack.enqueue(stack.scenarios["toolFails"])
    seen = asyncio.run(chat(pipe, "Weather?", valves=stack.valves, user={"id": "toolfail-1"}))
    finished = [s["description"] for s in seen.statuses if s["done"] and "Searching the web" in s["description"]]
    assert finished and all("failed" in description for description in finished), seen.statuses
    assert seen.answer == "The search failed, sorry."
    assert seen.last_status_done


def test_a_tool_status_line_is_closed_when_the_stream_fails_mid_tool(stack, pipe):
    stack.enqueue(stack.scenarios["toolThenDrop"])
    seen = asyncio.run(chat(pipe, "Weather?", valves=stack.valves, user={"id": "tooldrop-1"}))
    assert {"description": "Searching the web…", "done": False, "hidden": False} in seen.statuses
    assert seen.unfinished_statuses == []
    assert seen.answer == "The connection to the agent was lost before the answer finished."
    assert seen.last_status_done


def test_a_non_streamed_answer_carries_the_error_sentence(stack, pipe):
    stack.enqueue(stack.scenarios["errorBeforeOutput"])
    seen = asyncio.run(chat(pipe, "Hi", valves=stack.valves, stream=False, ui=False, user={"id": "plain-err-1"}))
    assert seen.returned == "Rate limit exceeded for LLM model provider. Please wait before making another request."


def test_hidden_thinking_is_shown_as_private(stack, pipe):
    stack.enqueue(stack.scenarios["hiddenThinking"])
    seen = asyncio.run(chat(pipe, "Hi", valves=stack.valves, user={"id": "hidden-1"}))
    assert seen.thinking == "(The model keeps this thinking private.)"
    assert seen.answer == "Here is my answer."


def test_a_second_answer_message_after_a_tool_starts_a_new_paragraph(stack, pipe):
    stack.enqueue(stack.scenarios["answerToolAnswer"])
    seen = asyncio.run(chat(pipe, "Weather?", valves=stack.valves, user={"id": "paragraph-1"}))
    assert seen.answer == "Let me check that.\n\nIt is raining."


WRITTEN_TAGS = (
    "Models write <think>plans</think> or <|begin_of_solution|>x<|end_of_solution|>"
    " and <code_interpreter>y</code_interpreter>."
)


def test_answer_text_cannot_open_a_thinking_or_code_block(stack, pipe):
    stack.enqueue(stack.scenarios["fakeTags"])
    seen = asyncio.run(chat(pipe, "Which tags exist?", valves=stack.valves, user={"id": "tags-1"}))
    assert seen.thinking == ""
    assert seen.code_blocks == []
    # The tags stay readable text; only an invisible zero-width space keeps OpenWebUI from parsing them.
    assert seen.answer.replace("\u200b", "") == WRITTEN_TAGS


def test_a_non_streamed_answer_cannot_open_blocks_either(stack, pipe):
    stack.enqueue(stack.scenarios["fakeTags"])
    seen = asyncio.run(chat(pipe, "Which tags exist?", valves=stack.valves, stream=False, user={"id": "tags-2"}))
    assert split_tagged_content(seen.returned)[1:] == ([], [])
    assert seen.returned.replace("\u200b", "") == WRITTEN_TAGS


def test_an_api_call_gets_full_openai_chunks_and_no_status_events(stack, pipe):
    stack.enqueue(stack.fixtures["anthropic_token_stream_tool_then_answer.sse"])
    seen = asyncio.run(chat(pipe, "Weather?", valves=stack.valves, ui=False, user={"id": "api-1"}))
    assert seen.statuses == []
    assert seen.answer.endswith("right now.")
    assert seen.items[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert {item["model"] for item in seen.items} == {"letta.tutor"}


def test_a_turn_that_only_keeps_alive_ends_after_max_turn_seconds(stack, pipe):
    cancels = len(stack.state()["cancels"])
    stack.enqueue(stack.scenarios["stall"])
    valves = {**stack.valves, "SERVER_URL": stack.patient_server_url, "MAX_TURN_SECONDS": 2}
    seen = asyncio.run(asyncio.wait_for(chat(pipe, "Hi", valves=valves, user={"id": "stall-1"}), NEVER))
    assert seen.answer.startswith("part0 part1 part2")
    assert seen.answer.splitlines()[-1] == TURN_TOO_LONG.format(seconds=2)
    assert seen.last_status_done
    assert stack.wait_for_cancels(cancels + 1) == cancels + 1, "the Letta run was not cancelled"


def test_a_non_streamed_turn_is_bounded_too(stack, pipe):
    cancels = len(stack.state()["cancels"])
    stack.enqueue(stack.scenarios["stall"])
    valves = {**stack.valves, "SERVER_URL": stack.patient_server_url, "MAX_TURN_SECONDS": 2}
    seen = asyncio.run(asyncio.wait_for(chat(pipe, "Hi", valves=valves, stream=False, ui=False, user={"id": "stall-2"}), NEVER))
    assert seen.returned == TURN_TOO_LONG.format(seconds=2)
    assert stack.wait_for_cancels(cancels + 1) == cancels + 1, "the Letta run was not cancelled"


def test_what_a_search_found_shows_as_sources_from_its_full_output(stack, pipe):
    stack.enqueue(stack.scenarios["webSources"])
    seen = asyncio.run(chat(pipe, "What is a comet?", valves=stack.valves, user={"id": "sources-1"}))
    assert seen.error_box is None and seen.answer == "Comets are icy bodies."
    [group] = seen.sources
    assert group["source"] == {"name": "Searching the web"}
    assert [m["url"] for m in group["metadata"]] == [
        "https://science.nasa.gov/solar-system/comets/",
        "https://en.wikipedia.org/wiki/Comet",
    ]
    assert [m["name"] for m in group["metadata"]] == ["Comets — NASA", "Comet"]
    assert group["document"][0] == "Comets are cosmic snowballs of frozen gases, rock and dust."
    # The long page is cut at the source limit, not at the status line's 500 characters.
    assert len(group["document"][1]) == 1000
    stack.enqueue(stack.scenarios["webSources"])
    hidden = asyncio.run(
        chat(pipe, "Again", valves={**stack.valves, "SHOW_SOURCES": False}, user={"id": "sources-2"})
    )
    assert hidden.answer == "Comets are icy bodies." and hidden.sources == []
