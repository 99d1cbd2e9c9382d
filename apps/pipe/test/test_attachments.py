"""Images and files: what a person attaches reaches the agent, or a sentence says why not."""

import base64
import uuid

from harness.openwebui import Chat, chat

# The smallest PNG: one transparent pixel.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def data_url(data: str = PIXEL, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{data}"


def letta_sends(stack, since: int) -> list:
    """The message bodies the bridge sent to Letta since request number `since`."""
    return [
        request["body"]
        for request in stack.requests()[since:]
        if request["method"] == "POST" and request["path"].endswith("/messages")
    ]


def new_chat(stack, pipe, **options) -> Chat:
    user = {"id": f"attach-{uuid.uuid4().hex[:8]}", "name": "Ada"}
    return Chat(pipe, f"chat-{uuid.uuid4().hex[:8]}", valves=stack.valves, user=user, **options)


def test_an_image_reaches_the_agent_as_an_image_part_after_the_words(stack, pipe):
    since = len(stack.requests())
    seen = new_chat(stack, pipe).send("What is in this picture?", images=[data_url()])
    assert seen.error_box is None and seen.answer
    (body,) = letta_sends(stack, since)
    content = body["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What is in this picture?"}
    assert content[1:] == [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}]


def test_an_image_too_large_or_of_another_kind_gets_a_sentence_and_nothing_is_sent(stack, pipe):
    since = len(stack.requests())
    six_megabytes = "A" * (8 * 1024 * 1024)
    large = new_chat(stack, pipe).send("Look", images=[data_url(six_megabytes)])
    assert "6.0 MB" in large.answer and "up to 5.0 MB" in large.answer
    bmp = new_chat(stack, pipe).send("Look", images=[data_url(PIXEL, "image/bmp")])
    assert "PNG, JPEG, GIF and WebP" in bmp.answer and "image/bmp" in bmp.answer
    broken = new_chat(stack, pipe).send("Look", images=["https://example.org/cat.png"])
    assert "could not be read" in broken.answer
    assert letta_sends(stack, since) == []
    assert not large.unfinished_statuses and not bmp.unfinished_statuses


def test_an_agent_that_cannot_see_says_so_and_gets_nothing(stack, pipe):
    since = len(stack.requests())
    seen = new_chat(stack, pipe, model="letta.coach").send("How is my form?", images=[data_url()])
    assert "cannot see images" in seen.answer
    assert letta_sends(stack, since) == []


def test_a_file_reaches_the_agent_once_marked_as_attached_apart_from_the_words(stack, pipe):
    talk = new_chat(stack, pipe)
    notes = {"id": "file-notes", "name": "notes.txt", "content": "Mitochondria make ATP."}
    since = len(stack.requests())
    first = talk.send("Summarise my notes", files=[notes])
    # OpenWebUI sends the chat's files again with every message: the thread has it already.
    second = talk.send("And in one word?")
    assert first.error_box is None and second.error_box is None
    one, two = letta_sends(stack, since)
    words, attached = one["messages"][-1]["content"]
    assert words == {"type": "text", "text": "Summarise my notes"}
    assert attached == {
        "type": "text",
        "text": '<attached_file name="notes.txt">\nMitochondria make ATP.\n</attached_file>',
    }
    assert two["messages"][-1]["content"] == "And in one word?"


def test_a_long_file_is_cut_to_the_budget_and_the_agent_is_told_where(stack, pipe):
    since = len(stack.requests())
    text = "".join(f"line {n}\n" for n in range(5000))
    seen = new_chat(stack, pipe).send("Read this", files=[{"id": "file-long", "name": "log.txt", "content": text}])
    assert seen.error_box is None
    (body,) = letta_sends(stack, since)
    attached = body["messages"][-1]["content"][1]["text"]
    assert attached.startswith(f'<attached_file name="log.txt" cut="the first 24,000 of {len(text):,} characters">\n')
    assert text[:24_000] in attached and text[:24_001] not in attached


def test_a_file_without_text_is_named_in_a_notification(stack, pipe):
    since = len(stack.requests())
    seen = new_chat(stack, pipe).send("Here", files=[{"id": "file-scan", "name": "scan.pdf", "content": None}])
    assert any("scan.pdf" in note for note in seen.notifications)
    (body,) = letta_sends(stack, since)
    assert body["messages"][-1]["content"] == "Here"


def test_an_api_call_with_an_image_part_sends_it_too(stack, pipe):
    import asyncio

    since = len(stack.requests())
    seen = asyncio.run(
        chat(pipe, "Describe it", valves=stack.valves, ui=False, stream=False, images=[data_url()])
    )
    assert seen.returned
    (body,) = letta_sends(stack, since)
    assert body["messages"][-1]["content"][1]["source"]["data"] == PIXEL


def test_a_chat_with_an_image_and_a_file_goes_on_in_the_same_thread(stack, pipe):
    # OpenWebUI lists a message's files in front of its words in every request, and sends earlier
    # images again: neither may make an earlier message look edited (a new thread each time).
    talk = new_chat(stack, pipe)
    since = len(stack.requests())
    notes = {"id": "file-bio", "name": "bio.txt", "content": "Cells divide."}
    talk.send("Look at this", images=[data_url()], files=[notes])
    talk.send("What did I send?")
    first, second = letta_sends(stack, since)
    words = first["messages"][-1]["content"][0]
    assert words == {"type": "text", "text": "Look at this"}
    assert second["messages"] == [{"role": "user", "content": "What did I send?", "otid": second["messages"][0]["otid"]}]
    paths = [r["path"] for r in stack.requests()[since:] if r["path"].endswith("/messages") and r["method"] == "POST"]
    assert paths[0] == paths[1]


def test_a_knowledge_base_picked_with_hash_gives_the_agent_what_retrieval_found(stack, pipe):
    since = len(stack.requests())
    kb = {"id": "kb-bio", "name": "Biology", "content": "Ribosomes build proteins.", "type": "collection"}
    seen = new_chat(stack, pipe).send("What builds proteins?", files=[kb])
    assert seen.error_box is None
    (body,) = letta_sends(stack, since)
    assert body["messages"][-1]["content"][1]["text"] == (
        '<attached_file name="Biology">\nRibosomes build proteins.\n</attached_file>'
    )
