"""Loads and drives a pipe function the way OpenWebUI (v0.11) does, and records what a user sees.

Mirrors backend/open_webui/utils/plugin.py (frontmatter, import rewrite, exec, class
detection), functions.py (valves applied per request, reserved arguments injected by
signature, UserValves in __user__["valves"]) and middleware.py (each yielded item is one SSE
line; reasoning_content renders the Thinking block; statuses from the event emitter).
"""

import inspect
import json
import re
import types
from dataclasses import dataclass, field
from typing import Any

FRONTMATTER_LINE = re.compile(r"^\s*([a-z_]+):\s*(.*)\s*$", re.IGNORECASE)
IMPORT_REWRITES = {
    "from utils": "from open_webui.utils",
    "from apps": "from open_webui.apps",
    "from main": "from open_webui.main",
    "from config": "from open_webui.config",
}
RESERVED = (
    "__user__",
    "__metadata__",
    "__event_emitter__",
    "__event_call__",
    "__task__",
    "__task_body__",
    "__chat_id__",
    "__message_id__",
    "__session_id__",
    "__files__",
    "__request__",
    "__tools__",
)


def extract_frontmatter(content: str) -> dict:
    lines = content.splitlines()
    if not lines or lines[0].strip() != '"""':
        return {}
    frontmatter = {}
    for line in lines[1:]:
        if '"""' in line:
            break
        match = FRONTMATTER_LINE.match(line)
        if match:
            frontmatter[match.group(1).lower().strip()] = match.group(2).strip()
    return frontmatter


def load_pipe(path: str) -> tuple[Any, dict]:
    """Returns (Pipe instance, frontmatter) like OpenWebUI's load_function_module_by_id."""
    with open(path, encoding="utf-8") as handle:
        content = handle.read()
    for old, new in IMPORT_REWRITES.items():
        content = content.replace(old, new)
    frontmatter = extract_frontmatter(content)
    module = types.ModuleType("function_letta")
    module.__dict__["__file__"] = path
    exec(content, module.__dict__)  # noqa: S102 - this is what OpenWebUI does
    del module.__dict__["__file__"]
    pipe_class = module.__dict__.get("Pipe")
    if pipe_class is None:
        raise RuntimeError("no Pipe class in the function file")
    return pipe_class(), frontmatter


@dataclass
class Seen:
    """What the person in the chat sees after one message."""

    thinking: str = ""
    answer: str = ""
    statuses: list = field(default_factory=list)
    error_box: str | None = None
    returned: str | None = None
    chunks: int = 0

    @property
    def last_status_done(self) -> bool:
        return bool(self.statuses) and self.statuses[-1]["done"] is True


async def models(pipe: Any, valves: dict) -> list:
    pipe.valves = pipe.Valves(**valves)
    result = pipe.pipes() if callable(pipe.pipes) else pipe.pipes
    if inspect.isawaitable(result):
        result = await result
    return [{"id": f"letta.{m['id']}", "name": pipe.name + m["name"]} for m in result]


async def chat(
    pipe: Any,
    text: str,
    *,
    valves: dict,
    user: dict | None = None,
    user_valves: dict | None = None,
    model: str = "letta.tutor",
    stream: bool = True,
    task: str | None = None,
    chat_id: str = "chat-1",
    stop_after_chunks: int | None = None,
) -> Seen:
    """One request as OpenWebUI sends it; `stop_after_chunks` presses the stop button."""
    seen = Seen()
    pipe.valves = pipe.Valves(**valves)
    user = dict(user or {"id": "user-1", "name": "Ada", "email": "ada@example.org", "role": "user"})
    if hasattr(pipe, "UserValves"):
        user["valves"] = pipe.UserValves(**(user_valves or {}))

    async def emitter(event: dict) -> None:
        if event.get("type") == "status":
            seen.statuses.append(event["data"])

    body = {
        "model": model,
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": f"Use the context to answer.\n<context>…</context>\n{text}"},
        ],
    }
    available = {
        "__user__": user,
        "__metadata__": {"user_prompt": text, "chat_id": chat_id, "task": task},
        "__event_emitter__": emitter,
        "__event_call__": None,
        "__task__": task,
        "__task_body__": body if task else None,
        "__chat_id__": chat_id,
        "__message_id__": "message-1",
        "__session_id__": "session-1",
        "__files__": None,
        "__request__": None,
        "__tools__": {},
    }
    parameters = inspect.signature(pipe.pipe).parameters
    kwargs = {name: available[name] for name in RESERVED if name in parameters}
    result = await pipe.pipe(body, **kwargs)
    if isinstance(result, str):
        seen.returned = result
        return seen
    if inspect.isasyncgen(result):
        try:
            async for item in result:
                _consume(seen, item)
                if stop_after_chunks is not None and seen.chunks >= stop_after_chunks:
                    await result.aclose()
                    break
        except Exception as error:  # noqa: BLE001 - OpenWebUI shows an error box
            seen.error_box = str(error)
        return seen
    raise TypeError(f"pipe returned {type(result).__name__}")


def _consume(seen: Seen, item: Any) -> None:
    """One yielded item = one SSE line, parsed back the way the frontend does."""
    if isinstance(item, str):
        line = "data: " + json.dumps({"choices": [{"delta": {"content": item}}]})
    elif isinstance(item, dict):
        line = "data: " + json.dumps(item)
    else:
        return
    try:
        data = json.loads(line[len("data: ") :])
    except ValueError:
        return  # dropped silently, like OpenWebUI
    delta = (data.get("choices") or [{}])[0].get("delta") or {}
    if "tool_calls" in delta:
        raise AssertionError("the pipe yielded delta.tool_calls: OpenWebUI would execute them")
    seen.chunks += 1
    if delta.get("reasoning_content"):
        seen.thinking += delta["reasoning_content"]
    if delta.get("content"):
        seen.answer += delta["content"]
