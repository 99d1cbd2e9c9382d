import asyncio
import codecs
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import aiohttp
from pydantic import BaseModel, Field

# @protocol: the generator inserts the constants generated from packages/events here.

# --- hand-written runtime (apps/pipe/src/runtime.py) ------------------------
# The UPPER_CASE protocol names read below (PROTOCOL_VERSION, EVENT_*, FIELD_*, ROUTE_*,
# EVENT_FIELDS, DEFAULT_SERVER_URL) come from the generated section above.

Emitter = Callable[[dict], Awaitable[None]] | None

# How long the model list is reused before asking the bridge again (pipes() runs on every
# model-list build in OpenWebUI).
MODEL_CACHE_SECONDS = 60
MODEL_LIST_TIMEOUT_SECONDS = 3
# Shared across users on purpose: it caches server configuration, not request state.
_model_cache: dict[str, tuple[float, list[dict]]] = {}

FRIENDLY_TOOL_NAMES = {
    "archival_memory_search": "Searching memory",
    "archival_memory_insert": "Saving to memory",
    "conversation_search": "Searching past conversations",
    "core_memory_append": "Updating memory",
    "core_memory_replace": "Updating memory",
    "memory_insert": "Updating memory",
    "memory_replace": "Updating memory",
    "web_search": "Searching the web",
}


class ProtocolError(Exception):
    """The bridge sent something this pipe does not understand."""


class SseParser:
    """Incremental server-sent-events parser: feed text, get (event, data) pairs."""

    def __init__(self) -> None:
        self.buffer = ""
        self.event = ""
        self.data: list[str] = []

    def push(self, text: str) -> list[tuple[str, str]]:
        self.buffer += text.replace("\r\n", "\n").replace("\r", "\n")
        frames = []
        while "\n" in self.buffer:
            line, self.buffer = self.buffer.split("\n", 1)
            if line == "":
                if self.data:
                    frames.append((self.event or "message", "\n".join(self.data)))
                self.event, self.data = "", []
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    self.data.append(value)
                elif field == "event":
                    self.event = value
        return frames


def _check_value(event: str, field: str, value: Any, kind: str, allowed: tuple) -> None:
    types = {"str": str, "int": int, "bool": bool, "dict": dict}
    ok = isinstance(value, types[kind]) and not (kind == "int" and isinstance(value, bool))
    if ok and allowed and value not in allowed:
        ok = False
    if not ok:
        raise ProtocolError(f'event "{event}" has an invalid field "{field}"')


def decode_event(event: str, data_text: str) -> dict:
    """Checks one bridge event against the generated schema table."""
    fields = EVENT_FIELDS.get(event)
    if fields is None:
        raise ProtocolError(f'unknown event "{event}"')
    try:
        data = json.loads(data_text)
    except ValueError as error:
        raise ProtocolError(f'event "{event}" is not JSON') from error
    if not isinstance(data, dict):
        raise ProtocolError(f'event "{event}" is not an object')
    for field, (kind, allowed, required) in fields.items():
        if field not in data:
            if required:
                raise ProtocolError(f'event "{event}" lacks "{field}"')
            continue
        _check_value(event, field, data[field], kind, allowed)
    return data


def _user_text(body: dict, metadata: dict | None) -> str:
    """The user's own words: before OpenWebUI's RAG wrapping when available."""
    prompt = (metadata or {}).get("user_prompt")
    if isinstance(prompt, str) and prompt.strip():
        return prompt
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(
                part.get("text", "")
                for part in content
                if isinstance(part, dict) and part.get("type") == "text"
            )
        return content if isinstance(content, str) else ""
    return ""


def _task_answer(task: str, text: str) -> str:
    """Background tasks (title, tags, follow-ups…) are answered here, never by the agent."""
    if "title" in task:
        words = " ".join(text.split()[:6]).strip() or "New chat"
        return json.dumps({"title": words[:60]})
    if "tags" in task:
        return json.dumps({"tags": []})
    if "follow" in task:
        return json.dumps({"follow_ups": []})
    if "query" in task:
        return json.dumps({"queries": []})
    return ""


def _status(description: str, done: bool, hidden: bool = False) -> dict:
    return {
        "type": "status",
        "data": {"description": description, "done": done, "hidden": hidden},
    }


def _reasoning(text: str) -> dict:
    return {"choices": [{"delta": {"reasoning_content": text}}]}


async def _emit(emitter: Emitter, event: dict) -> None:
    if emitter is not None:
        try:
            await emitter(event)
        except Exception:  # noqa: BLE001 - a closed UI must not break the answer
            pass


class Pipe:
    class Valves(BaseModel):
        SERVER_URL: str = Field(
            default=DEFAULT_SERVER_URL,
            description="Base URL of the letta-openwebui bridge server, as OpenWebUI reaches it.",
        )
        API_KEY: str = Field(
            default="",
            description="The bridge's BRIDGE_API_KEY (sent as a bearer token).",
            json_schema_extra={"input": {"type": "password"}},
        )
        DEFAULT_TEMPLATE: str = Field(
            default="",
            description="Agent template when the model id names none (empty: the bridge's default).",
        )
        SHOW_THINKING: bool = Field(
            default=True, description="Stream the agent's thinking into the Thinking block."
        )
        SHOW_TOOL_ACTIVITY: bool = Field(
            default=True, description="Show the agent's tool use as status lines."
        )
        REQUEST_TIMEOUT: int = Field(
            default=300,
            description="Seconds without any data from the bridge before giving up (it sends keepalives every 15 s).",
        )

    class UserValves(BaseModel):
        SHOW_THINKING: bool = Field(
            default=True, description="Show the agent's thinking while it answers."
        )

    def __init__(self) -> None:
        self.type = "manifold"
        self.name = "Letta/"
        self.valves = self.Valves()

    def _headers(self) -> dict:
        return {
            "Authorization": f"Bearer {self.valves.API_KEY}",
            "Content-Type": "application/json",
        }

    def _url(self, route: str) -> str:
        return self.valves.SERVER_URL.rstrip("/") + route

    async def pipes(self) -> list[dict]:
        """One model per agent template, cached; one explanatory model when the bridge is down."""
        key = f"{self.valves.SERVER_URL}\n{hash(self.valves.API_KEY)}"
        cached = _model_cache.get(key)
        if cached and time.monotonic() - cached[0] < MODEL_CACHE_SECONDS:
            return cached[1]
        timeout = aiohttp.ClientTimeout(total=MODEL_LIST_TIMEOUT_SECONDS)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(self._url(ROUTE_TEMPLATES), headers=self._headers()) as response:
                    payload = await response.json(content_type=None)
                    if response.status != 200:
                        raise ProtocolError(str(payload.get(FIELD_MESSAGE, response.status)))
            models = [
                {"id": template[FIELD_NAME], "name": template[FIELD_TITLE]}
                for template in payload[FIELD_TEMPLATES]
            ]
        except Exception as error:  # noqa: BLE001 - shown to the admin as a model name
            reason = str(error) or type(error).__name__
            return [
                {
                    "id": "unavailable",
                    "name": f"(bridge unreachable at {self.valves.SERVER_URL}: {reason[:120]})",
                }
            ]
        _model_cache[key] = (time.monotonic(), models)
        return models

    async def pipe(
        self,
        body: dict,
        __user__: dict | None = None,
        __metadata__: dict | None = None,
        __event_emitter__: Emitter = None,
        __task__: str | None = None,
        __chat_id__: str | None = None,
    ) -> str | AsyncGenerator:
        text = _user_text(body, __metadata__)
        if __task__:
            return _task_answer(str(__task__), text)
        user = __user__ or {}
        model = str(body.get("model") or "")
        template = model.split(".", 1)[1] if "." in model else ""
        template = template or self.valves.DEFAULT_TEMPLATE
        request = {
            FIELD_PROTOCOL_VERSION: PROTOCOL_VERSION,
            FIELD_USER: {
                key: str(user[key])
                for key in (FIELD_ID, FIELD_NAME, FIELD_EMAIL, FIELD_ROLE)
                if user.get(key) is not None
            },
            FIELD_MESSAGE: text,
        }
        chat_id = __chat_id__ or (__metadata__ or {}).get("chat_id")
        if chat_id:
            request[FIELD_CHAT_ID] = str(chat_id)
        if template and template != "unavailable":
            request[FIELD_TEMPLATE] = template
        user_valves = user.get("valves")
        show_thinking = self.valves.SHOW_THINKING and getattr(user_valves, "SHOW_THINKING", True)
        if not body.get("stream", False):
            return await self._complete(request)
        return self._stream(request, show_thinking, __event_emitter__)

    async def _complete(self, request: dict) -> str:
        """Non-streaming callers get the whole answer as one string."""
        try:
            timeout = aiohttp.ClientTimeout(total=self.valves.REQUEST_TIMEOUT)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(
                    self._url(ROUTE_CHAT), json=request, headers=self._headers()
                ) as response:
                    payload = await response.json(content_type=None)
            if response.status != 200:
                return self._http_error(response.status, payload)
            error = payload.get(FIELD_ERROR)
            answer = payload.get(FIELD_ANSWER, "")
            if error:
                return f"{answer}\n\n{error.get(FIELD_MESSAGE)}".strip()
            return answer
        except Exception as error:  # noqa: BLE001 - becomes a sentence in the chat
            return self._transport_error(error)

    def _http_error(self, status: int, payload: Any) -> str:
        if isinstance(payload, dict) and isinstance(payload.get(FIELD_MESSAGE), str):
            return payload[FIELD_MESSAGE]
        if status == 401:
            return "The bridge server refused the pipe's API key: check the API_KEY valve."
        return f"The bridge server answered with HTTP {status}. Please try again later."

    def _transport_error(self, error: BaseException) -> str:
        if isinstance(error, aiohttp.ClientConnectorError):
            return (
                f"The Letta bridge server cannot be reached at {self.valves.SERVER_URL}. "
                "Please try again later or ask an admin to check the SERVER_URL valve."
            )
        if isinstance(error, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
            return "The Letta bridge server stopped responding. Please try again."
        if isinstance(error, ProtocolError):
            return (
                f"The Letta pipe does not understand the bridge server ({error}): "
                "an admin should re-upload apps/pipe/dist/letta_pipe.py."
            )
        if isinstance(error, aiohttp.ClientError):
            return "The connection to the Letta bridge server was lost. Please try again."
        return "Something went wrong in the Letta pipe. Please try again."

    async def _stream(self, request: dict, show_thinking: bool, emitter: Emitter) -> AsyncGenerator:
        """Bridge events → OpenWebUI chunks: thinking, status lines, answer, readable errors."""
        thinking = False
        segment = None
        answered = False
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=10, sock_read=self.valves.REQUEST_TIMEOUT
        )
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(
                    self._url(ROUTE_CHAT_STREAM), json=request, headers=self._headers()
                ) as response:
                    if response.status != 200:
                        try:
                            payload = await response.json(content_type=None)
                        except ValueError:
                            payload = None
                        yield self._http_error(response.status, payload)
                        return
                    parser = SseParser()
                    decoder = codecs.getincrementaldecoder("utf-8")()
                    async for chunk in response.content.iter_any():
                        for name, raw in parser.push(decoder.decode(chunk)):
                            data = decode_event(name, raw)
                            if name == EVENT_REASONING_DELTA and show_thinking:
                                prefix = "\n\n" if thinking and data[FIELD_SEGMENT] != segment else ""
                                segment, thinking = data[FIELD_SEGMENT], True
                                yield _reasoning(prefix + data[FIELD_TEXT])
                            elif name == EVENT_REASONING_HIDDEN and show_thinking:
                                prefix = "\n\n" if thinking else ""
                                segment, thinking = data[FIELD_SEGMENT], True
                                yield _reasoning(f"{prefix}(The model keeps this thinking private.)")
                            elif name == EVENT_ANSWER_DELTA:
                                answered = True
                                yield data[FIELD_TEXT]
                            elif name == EVENT_TOOL_STARTED and self.valves.SHOW_TOOL_ACTIVITY:
                                label = FRIENDLY_TOOL_NAMES.get(data[FIELD_NAME], f"Using {data[FIELD_NAME]}")
                                await _emit(emitter, _status(f"{label}…", False))
                            elif name == EVENT_TOOL_FINISHED and self.valves.SHOW_TOOL_ACTIVITY:
                                label = FRIENDLY_TOOL_NAMES.get(data[FIELD_NAME], f"Used {data[FIELD_NAME]}")
                                failed = " (failed)" if data[FIELD_STATUS] == "error" else ""
                                await _emit(emitter, _status(f"{label}{failed}", True))
                            elif name == EVENT_ERROR:
                                yield ("\n\n" if answered else "") + data[FIELD_MESSAGE]
                                answered = True
                            elif name == EVENT_DONE:
                                return
                    yield ("\n\n" if answered else "") + (
                        "The connection to the Letta bridge server ended before the answer finished."
                    )
        except (GeneratorExit, asyncio.CancelledError):
            # The stop button: leaving the session closes the connection; the bridge cancels the run.
            raise
        except Exception as error:  # noqa: BLE001 - every failure becomes a sentence
            yield ("\n\n" if answered else "") + self._transport_error(error)
        finally:
            await _emit(emitter, _status("", True, hidden=True))
