"""What the agent's search tools found, under the answer, against the real Letta 0.16.8: the
sources come from the tool's whole output (Letta streams it as a Python repr), not from the
status line's 500 characters."""

from harness.openwebui import Chat

STATUS_CUT = 500

# About 80 characters a note: 12 of them make a message well over the status line's cut.
NOTES = " ".join(f"Note {i}: Halley's comet comes back about every 76 years." for i in range(12))


def new_chat(tier, pipe, mark: str, model: str = "letta.tutor") -> Chat:
    user = {"id": f"sources-{mark}", "name": "Ada"}
    return Chat(pipe, f"chat-{mark}", valves=tier.valves, user=user, model=model)


def test_a_conversation_search_shows_each_message_it_found_whole(tier, pipe):
    mark = tier.marker()
    talk = new_chat(tier, pipe, mark)
    # One script for both turns: the search's output carries the first message's marker, and the
    # fake model answers the script whose marker it saw last.
    tier.script(
        mark,
        [
            {"content": f"About comets: {NOTES} (answer)"},
            {"toolCalls": [{"name": "conversation_search", "arguments": {"query": "Halley"}}]},
            {"content": "We talked about Halley's comet."},
        ],
    )
    first = talk.send(f"Tell me about Halley. {NOTES} {mark}")
    assert first.error_box is None, first.answer
    seen = talk.send(f"What did we say about Halley? {mark}")
    assert seen.error_box is None, seen.answer
    assert seen.answer.strip() == "We talked about Halley's comet."
    [group] = seen.sources
    assert group["source"] == {"name": "Searching past conversations"}
    titles = [item["name"] for item in group["metadata"]]
    documents = group["document"]
    # One source per message found, each named by who said it: not the repr as one blob.
    assert any(title.startswith("Past conversation · user · ") for title in titles), titles
    assert any(title.startswith("Past conversation · assistant · ") for title in titles), titles
    [answer] = [doc for doc in documents if doc.startswith("About comets:")]
    # The whole message, past the status line's cut: its last note is there, unescaped.
    assert len(answer) > STATUS_CUT, len(answer)
    assert answer.endswith("Note 11: Halley's comet comes back about every 76 years. (answer)")
    assert not any(doc.startswith("{'message'") for doc in documents)


def test_an_archival_search_shows_the_passage_it_found_whole(tier, pipe):
    mark = tier.marker()
    passage = f'Halley\'s comet, a "periodic" comet. {NOTES}'
    tier.script(
        mark,
        [
            {"toolCalls": [{"name": "archival_memory_insert", "arguments": {"content": passage}}]},
            {"toolCalls": [{"name": "archival_memory_search", "arguments": {"query": "Halley comet"}}]},
            {"content": "I remember Halley's comet."},
        ],
    )
    seen = new_chat(tier, pipe, mark, model="letta.researcher").send(f"Keep and recall Halley. {mark}")
    assert seen.error_box is None, seen.answer
    assert seen.answer.strip() == "I remember Halley's comet."
    [group] = seen.sources
    assert group["source"] == {"name": "Searching memory"}
    [title] = [item["name"] for item in group["metadata"]]
    assert title.startswith("Memory · "), title
    # Letta's repr double-quotes a text with an apostrophe and escapes nothing else here.
    assert group["document"] == [passage]
    assert len(passage) > STATUS_CUT
