"""Images and files against the real Letta 0.16.8: what the model is finally given."""

import base64
import uuid

from harness.openwebui import Chat

# The smallest PNG: one transparent pixel.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def new_chat(tier, pipe, mark: str, **valves) -> Chat:
    user = {"id": f"attach-{mark}-{uuid.uuid4().hex[:4]}", "name": "Ada"}
    return Chat(pipe, f"chat-{mark}", valves={**tier.valves, **valves}, user=user)


def last_user_content(call: dict):
    return [message for message in call["messages"] if message.get("role") == "user"][-1]["content"]


def test_an_image_reaches_the_model_as_an_image_after_the_words(tier, pipe):
    mark = tier.marker()
    tier.script(mark, [{"content": "A single pixel."}])
    seen = new_chat(tier, pipe, mark).send(f"What is this? {mark}", images=[f"data:image/png;base64,{PIXEL}"])
    assert seen.error_box is None and seen.answer.strip() == "A single pixel."
    [call] = tier.model_calls(mark)
    content = last_user_content(call)
    texts = [part["text"] for part in content if part.get("type") == "text"]
    images = [part["image_url"]["url"] for part in content if part.get("type") == "image_url"]
    assert any(f"What is this? {mark}" in text for text in texts)
    assert images == [f"data:image/png;base64,{PIXEL}"]


def test_a_files_text_reaches_the_model_marked_as_attached(tier, pipe):
    mark = tier.marker()
    tier.script(mark, [{"content": "Your notes are about cells."}])
    notes = {"id": f"file-{mark}", "name": "notes.txt", "content": "Mitochondria make ATP."}
    seen = new_chat(tier, pipe, mark).send(f"Summarise {mark}", files=[notes])
    assert seen.error_box is None
    [call] = tier.model_calls(mark)
    given = str(last_user_content(call))
    assert '<attached_file name="notes.txt">\\nMitochondria make ATP.\\n</attached_file>' in given


def test_a_folder_letta_cannot_process_sends_the_text_instead_and_says_so(tier, pipe):
    # The kit's Letta has no document parser or embeddings: its folder cannot take the file.
    mark = tier.marker()
    tier.script(mark, [{"content": "Read it."}])
    notes = {"id": f"file-{mark}", "name": "notes.md", "content": "Cells divide."}
    seen = new_chat(tier, pipe, mark, FILE_MODE="folder").send(f"Keep this {mark}", files=[notes])
    assert seen.error_box is None and seen.answer.strip() == "Read it."
    assert any("could not take notes.md" in note for note in seen.notifications)
    [call] = tier.model_calls(mark)
    assert "Cells divide." in str(last_user_content(call))
    assert not seen.unfinished_statuses
