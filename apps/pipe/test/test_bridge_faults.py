"""What the real bridge never does, from tiny local servers: redirects, streams that end early."""

import asyncio

import pytest
from aiohttp import web
from fake_bridge import frame, serve, stream_then_end
from harness.openwebui import chat, models

CUT_SHORT = "ended before the answer finished"


def redirect_to(target: str):
    async def handler(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect(target + request.path)

    return handler


async def redirected(pipe, **options):
    """Runs a request against a bridge URL that answers 307; returns (what was seen, hits behind it)."""
    hits: list = []

    async def elsewhere(request: web.Request) -> web.StreamResponse:
        hits.append((request.method, request.path, await request.text()))
        return web.json_response({"templates": []})

    async with serve(elsewhere) as target, serve(redirect_to(target)) as bridge:
        valves = {"SERVER_URL": bridge, "API_KEY": "k"}
        if options.pop("list_models", False):
            return await models(pipe, valves), hits
        return await chat(pipe, "My secret question", valves=valves, user={"id": "r-1", "email": "ada@example.org"}, **options), hits


@pytest.mark.parametrize("stream", [True, False])
def test_a_redirect_is_not_followed_and_the_admin_is_told_to_check_server_url(pipe, stream):
    seen, hits = asyncio.run(redirected(pipe, stream=stream))
    assert hits == [], "the message and the user's details went to the redirect target"
    shown = seen.answer if stream else seen.returned
    assert "redirect" in shown and "SERVER_URL" in shown, shown
    assert "Traceback" not in shown
    if stream:
        assert seen.last_status_done


def test_the_model_list_does_not_follow_a_redirect_either(pipe):
    listed, hits = asyncio.run(redirected(pipe, list_models=True))
    assert hits == []
    assert len(listed) == 1 and "redirect" in listed[0]["name"], listed


async def early_end(pipe, frames: list[bytes], *, abort: bool):
    """The pipe against a bridge that ends after `frames`: cleanly, or by cutting the socket."""
    shown = asyncio.Event() if abort else None

    async def bridge(request: web.Request) -> web.StreamResponse:
        return await stream_then_end(request, frames, abort=shown)

    def observe(seen) -> None:
        if shown is not None and (seen.content or seen.statuses):
            shown.set()

    async with serve(bridge) as url:
        return await chat(pipe, "Hi", valves={"SERVER_URL": url, "API_KEY": "k"}, observe=observe)


@pytest.mark.parametrize("abort", [False, True], ids=["closed", "reset"])
def test_a_stream_without_done_says_the_answer_was_cut(pipe, abort):
    frames = [frame(0, "answer.delta", {"text": "The first half"})]
    seen = asyncio.run(early_end(pipe, frames, abort=abort))
    assert seen.error_box is None
    assert seen.answer.startswith("The first half\n\n")
    last_line = seen.answer.splitlines()[-1]
    assert "lost" in last_line or CUT_SHORT in last_line, last_line
    assert seen.last_status_done


@pytest.mark.parametrize("abort", [False, True], ids=["closed", "reset"])
def test_a_tool_status_line_is_closed_when_the_connection_ends_mid_tool(pipe, abort):
    frames = [frame(0, "tool.started", {"id": "call-1", "name": "web_search"})]
    seen = asyncio.run(early_end(pipe, frames, abort=abort))
    assert {"description": "Searching the web…", "done": False, "hidden": False} in seen.statuses
    assert seen.unfinished_statuses == []
    assert seen.last_status_done
