"""The pipe's one SSE parser (SseParser in the generated file), fed the way sockets deliver bytes."""

import pytest
from conftest import PIPE_FILE
from harness.openwebui import load_module

SseParser = load_module(PIPE_FILE)[0].SseParser

# Frames with id lines, comments, multi-line data, a frame without `event:` and one without data.
LINES = [
    ": keepalive comment",
    "id: 0",
    "event: tool.started",
    'data: {"id":"t1","name":"web_search"}',
    "",
    "id: 1",
    "event: answer.delta",
    "data: first line",
    "data:  second line",
    "",
    ": a frame of comments and an id only",
    "id: 2",
    "",
    "data:no space",
    "",
    "event: done",
    'data: {"stopReason":"end_turn"}',
    "",
]
# (event, data, the last event id so far): an id stays until the next one replaces it.
EXPECTED = [
    ("tool.started", '{"id":"t1","name":"web_search"}', "0"),
    ("answer.delta", "first line\n second line", "1"),
    ("message", "no space", "2"),
    ("done", '{"stopReason":"end_turn"}', "2"),
]


def stream(ends: list[str]) -> str:
    """LINES joined with the given line ends, used in turn."""
    return "".join(line + ends[index % len(ends)] for index, line in enumerate(LINES))


STREAMS = {
    "crlf": stream(["\r\n"]),
    "cr": stream(["\r"]),
    "lf": stream(["\n"]),
    # Never "\r" right before a "\n" line end: that pair is one CRLF by definition.
    "mixed": stream(["\r\n", "\n", "\r\n", "\r"]),
}


def parse(pieces: list[str]) -> list:
    parser = SseParser()
    frames = []
    for piece in pieces:
        frames += parser.push(piece)
    return frames


@pytest.mark.parametrize("ends", STREAMS)
def test_every_split_point_gives_the_same_frames(ends):
    text = STREAMS[ends]
    assert parse([text]) == EXPECTED
    for at in range(1, len(text)):
        assert parse([text[:at], text[at:]]) == EXPECTED, (ends, at, text[:at][-3:], text[at:][:3])


@pytest.mark.parametrize("ends", STREAMS)
def test_one_character_at_a_time_gives_the_same_frames(ends):
    assert parse(list(STREAMS[ends])) == EXPECTED


def test_a_cr_and_lf_in_two_reads_are_one_line_end_not_an_empty_line():
    frames = parse(['event: answer.delta\r\ndata: {"text":"a"}\r', '\ndata: more\r\n\r\n'])
    assert frames == [("answer.delta", '{"text":"a"}\nmore', None)]


def test_an_unfinished_frame_waits_for_its_blank_line():
    parser = SseParser()
    assert parser.push("event: answer.delta\r\ndata: x\r\n") == []
    assert parser.push("\r\n") == [("answer.delta", "x", None)]
