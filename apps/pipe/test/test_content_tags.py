"""Answer text that spells out OpenWebUI's block tags stays text (ContentTagGuard in the pipe)."""

import pytest
from conftest import PIPE_FILE
from harness.openwebui import CODE_INTERPRETER_TAGS, REASONING_TAGS, SOLUTION_TAGS, load_module, split_tagged_content

ContentTagGuard = load_module(PIPE_FILE)[0].ContentTagGuard
ZWSP = "\u200b"
ALL_TAGS = [tag for pair in REASONING_TAGS + SOLUTION_TAGS + CODE_INTERPRETER_TAGS for tag in pair]


def shown(pieces: list[str]) -> str:
    guard = ContentTagGuard()
    return "".join(guard.push(piece) for piece in pieces) + guard.flush()


@pytest.mark.parametrize("start", [start for start, _ in REASONING_TAGS + SOLUTION_TAGS + CODE_INTERPRETER_TAGS])
def test_no_tag_survives_any_split_point(start):
    end = next(e for s, e in REASONING_TAGS + SOLUTION_TAGS + CODE_INTERPRETER_TAGS if s == start)
    text = f"Before {start}inside{end} after, and {start[:-1]} attr='x'{start[-1]} too."
    for at in range(len(text) + 1):
        result = shown([text[:at], text[at:]])
        answer, reasoning, code = split_tagged_content(result)
        assert (reasoning, code) == ([], []), (start, at)
        assert answer.replace(ZWSP, "") == text, (start, at)


def test_ordinary_text_is_not_held_back():
    guard = ContentTagGuard()
    assert guard.push("Plain words, x < y and a<b, <b>bold</b>, List<reasonCode>.") == (
        "Plain words, x < y and a<b, <b>bold</b>, List<reasonCode>."
    )


def test_only_a_possible_tag_prefix_is_held_back():
    guard = ContentTagGuard()
    assert guard.push("Look: <thi") == "Look: "
    assert guard.push("s is fine") == "<this is fine"
    assert guard.push(" <think") == " "
    assert guard.push(">") == f"<{ZWSP}think>"


def test_a_tag_stem_at_the_very_end_is_broken_too():
    guard = ContentTagGuard()
    assert guard.push("ends with <think") == "ends with "
    assert guard.flush() == f"<{ZWSP}think"


def test_every_tag_openwebui_lifts_is_covered():
    for tag in ALL_TAGS:
        assert split_tagged_content(shown([f"a {tag} b"]))[1:] == ([], []), tag
        assert shown([f"a {tag} b"]) != f"a {tag} b", tag
