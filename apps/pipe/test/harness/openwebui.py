"""Loads and drives a pipe function the way OpenWebUI (v0.11) does, and records what a user sees.

Mirrors backend/open_webui/utils/plugin.py (frontmatter, import rewrite, exec, class
detection), functions.py (valves applied per request, reserved arguments injected by
signature, UserValves in __user__["valves"], the event emitter only for UI requests) and
utils/middleware.py (each yielded item is one SSE line; reasoning_content renders the Thinking
block; reasoning and solution tags in the answer text are lifted out of it; statuses from the
event emitter). Where OpenWebUI is lenient but API clients are not, the harness is strict: a
yielded item that is not a full OpenAI chunk fails the test.

Dialogs (`__event_call__`) are answered from a script, as the browser tab would answer them;
see `chat(dialog_answers=…)`.
"""

import asyncio
import inspect
import json
import re
import types
import uuid
from dataclasses import dataclass, field
from collections.abc import Callable
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

# utils/middleware.py DEFAULT_REASONING_TAGS and DEFAULT_SOLUTION_TAGS (OpenWebUI 0.11): pairs it
# moves out of streamed answer text. DEFAULT_CODE_INTERPRETER_TAGS join them when the person
# turned the code interpreter on; the harness always checks them (the stricter case).
REASONING_TAGS = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<reason>", "</reason>"),
    ("<reasoning>", "</reasoning>"),
    ("<thought>", "</thought>"),
    ("<Thought>", "</Thought>"),
    ("<|begin_of_thought|>", "<|end_of_thought|>"),
    ("◁think▷", "◁/think▷"),
)
SOLUTION_TAGS = (("<|begin_of_solution|>", "<|end_of_solution|>"),)
CODE_INTERPRETER_TAGS = (("<code_interpreter>", "</code_interpreter>"),)

# What a title task's body.messages holds instead of the chat (config.py
# DEFAULT_TITLE_GENERATION_PROMPT_TEMPLATE, abridged): the pipe must never answer from it.
TITLE_TASK_PROMPT = (
    "### Task:\nGenerate a concise title summarizing the chat history.\n### Guidelines:\n"
    "- Keep it short: 2-4 words is best.\n### Output:\nJSON format: { \"title\": \"your concise title here\" }\n"
    "### Chat History:\n<chat_history>\nUSER: {text}\n</chat_history>"
)


class ContractViolation(AssertionError):
    """The pipe broke OpenWebUI's or an API client's expectations; never an error box."""


class _NeverAnswers:
    def __repr__(self) -> str:
        return "NEVER_ANSWERS"


# A dialog nobody answers: OpenWebUI 0.11's event call waits forever by default (socket/main.py
# get_event_call: `sio.call(..., timeout=WEBSOCKET_EVENT_CALLER_TIMEOUT)`, and env.py turns an
# unset WEBSOCKET_EVENT_CALLER_TIMEOUT into None), so only the pipe's own bound can end the wait.
NEVER_ANSWERS = _NeverAnswers()
# What the event call returns at once when the tab that sent the message is gone (socket/main.py
# get_event_call: the session is not in SESSION_POOL, or not the user's).
TAB_CLOSED = {"error": "Client session disconnected."}
# What it returns when an admin set WEBSOCKET_EVENT_CALLER_TIMEOUT and the tab did not answer in time.
TIMED_OUT = {"error": "Event call timed out. The browser tab may be inactive or closed."}
# What the person can do in an `input` dialog (frontend, read in a 0.10 tree: Chat.svelte shows
# common/ConfirmDialog.svelte with a textarea holding `data.value`; OK, or Enter anywhere, calls
# back with the textarea's text, a string, possibly empty; Cancel or Escape calls back False).
CANCEL = False
# A confirmation dialog's buttons (Chat.svelte EventConfirmDialog: confirm → `e.detail || true`).
OK = True
# The stop button pressed while a dialog is open: OpenWebUI cancels the task running the pipe
# (the asyncio.CancelledError arrives at the pipe's `await __event_call__(…)`).
STOP = object()


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


def load_module(path: str) -> tuple[types.ModuleType, dict]:
    """(module, frontmatter) like OpenWebUI's load_function_module_by_id: rewrite, then exec."""
    with open(path, encoding="utf-8") as handle:
        content = handle.read()
    for old, new in IMPORT_REWRITES.items():
        content = content.replace(old, new)
    frontmatter = extract_frontmatter(content)
    module = types.ModuleType("function_letta")
    module.__dict__["__file__"] = path
    exec(content, module.__dict__)  # noqa: S102 - this is what OpenWebUI does
    del module.__dict__["__file__"]
    return module, frontmatter


def load_pipe(path: str) -> tuple[Any, dict]:
    """Returns (Pipe instance, frontmatter), the one instance OpenWebUI keeps for every user."""
    module, frontmatter = load_module(path)
    pipe_class = module.__dict__.get("Pipe")
    if pipe_class is None:
        raise RuntimeError("no Pipe class in the function file")
    return pipe_class(), frontmatter


def _start_tag(tag: str) -> re.Pattern:
    """middleware.py _start_tag_pattern: `<name>` also matches `<name attr="…">`."""
    if tag.startswith("<") and tag.endswith(">"):
        return re.compile(rf"<{re.escape(tag[1:-1])}(\s.*?)?>")
    return re.compile(re.escape(tag))


def split_tagged_content(content: str) -> tuple[str, list[str], list[str]]:
    """(answer text, lifted reasoning blocks, lifted code blocks), as the chat renders them.

    A minimal re-implementation of middleware.py tag_output_handler applied to the whole
    content: the first start tag opens a block, its end tag closes it (stripped, like
    OpenWebUI), solution blocks stay answer text without their tags.
    """
    kinds = (
        [("reasoning", pair) for pair in REASONING_TAGS]
        + [("solution", pair) for pair in SOLUTION_TAGS]
        + [("code", pair) for pair in CODE_INTERPRETER_TAGS]
    )
    answer, reasoning, code = "", [], []
    rest = content
    while True:
        found = [(m, kind, end) for kind, (start, end) in kinds if (m := _start_tag(start).search(rest))]
        if not found:
            return answer + rest, reasoning, code
        match, kind, end_tag = min(found, key=lambda item: item[0].start())
        answer += rest[: match.start()]
        inside, closed, after = rest[match.end() :].partition(end_tag)
        block = inside.strip()
        if kind == "reasoning":
            reasoning.append(block)
        elif kind == "code":
            code.append(block)
        else:
            answer += block
        rest = after.strip() if closed else ""


@dataclass
class Seen:
    """What the person in the chat (or an API client) sees after one message."""

    reasoning_content: str = ""
    content: str = ""
    statuses: list = field(default_factory=list)
    error_box: str | None = None
    returned: str | None = None
    chunks: int = 0
    items: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)
    # `notification` events: OpenWebUI's toasts (Chat.svelte), shown live, never stored.
    notifications: list = field(default_factory=list)
    # `source` events: the citation groups OpenWebUI shows under the answer.
    sources: list = field(default_factory=list)
    # The stop button was pressed (while a dialog was open).
    stopped: bool = False

    @property
    def answer(self) -> str:
        """The answer text as rendered: tag-lifted blocks are not part of it."""
        return split_tagged_content(self.content)[0]

    @property
    def thinking(self) -> str:
        """The Thinking block(s): native reasoning plus anything lifted out of the answer."""
        lifted = split_tagged_content(self.content)[1]
        return "\n\n".join(part for part in [self.reasoning_content, *lifted] if part)

    @property
    def code_blocks(self) -> list:
        return split_tagged_content(self.content)[2]

    @property
    def last_status_done(self) -> bool:
        return bool(self.statuses) and self.statuses[-1]["done"] is True

    @property
    def unfinished_statuses(self) -> list:
        """Visible status lines left spinning: `done: False` with no visible `done: True` after."""
        left = []
        for index, status in enumerate(self.statuses):
            if status["done"] or status.get("hidden"):
                continue
            later = self.statuses[index + 1 :]
            if not any(s["done"] and not s.get("hidden") for s in later):
                left.append(status["description"])
        return left


async def models(pipe: Any, valves: dict) -> list:
    pipe.valves = pipe.Valves(**valves)
    result = pipe.pipes() if callable(pipe.pipes) else pipe.pipes
    if inspect.isawaitable(result):
        result = await result
    return [{"id": f"letta.{m['id']}", "name": pipe.name + m["name"]} for m in result]


def _new_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


def _file_listing(attached: list) -> str:
    """0.11's list of a user message's files, put in front of its text in every request
    (utils/middleware.py add_file_context: browser chats with native function calling)."""
    lines = "".join(
        f'<file type="file" id="{file["id"]}" url="{file["id"]}" content_type="text/plain" name="{file["name"]}"/>\n'
        for file in attached
    )
    return f"<attached_files>\n{lines}</attached_files>\n\n"


def _user_content(text: str, images: list | None, attached: list | None) -> Any:
    """A user message as 0.11 sends it to a pipe: its text behind the list of its files (when
    listed); with images a list of parts, the list and the words apart, the images as data URLs."""
    listing = _file_listing(attached) if attached else ""
    if not images:
        return listing + text
    parts = [{"type": "text", "text": listing}] if listing else []
    return [*parts, {"type": "text", "text": text}, *({"type": "image_url", "image_url": {"url": url}} for url in images)]


def _request(
    text: str,
    *,
    model: str,
    stream: bool,
    task: str | None,
    chat_id: str,
    ui: bool,
    history: list | None = None,
    message_ids: tuple[str, str] | None = None,
    images: list | None = None,
    files: list | None = None,
    chat_files: list | None = None,
) -> tuple:
    """(body, metadata) as OpenWebUI 0.11 builds them for a chat message, an API call or a task.

    main.py chat_completion copies its metadata to request.state.metadata *before*
    utils/middleware.py process_chat_payload adds `user_prompt` and the per-model `message_id`;
    the tasks router (routers/tasks.py generate_title & co.) builds a task request from that copy
    with `task` and `task_body` = the chat ({model, messages, chat_id}) and its own task prompt
    as the only message. Plain /api/chat/completions calls carry no session id.
    `history`: the chat's earlier visible messages; 0.11 loads a persisted chat's branch from its
    database (middleware.py load_messages_from_db, then process_messages_with_output turns an
    answer's `output` items into its plain text, without the reasoning), system message first.
    `message_ids`: (the user message's id, the answer's id) in the chat's message tree.
    `images` (data URLs) and `files` ({id, name, content}) are attached to this message;
    `chat_files` are all the files of the chat's branch, which the frontend sends with every
    message (Chat.svelte chatFiles), as `__files__` and retrieval's sources.
    """
    rag = "Use the context to answer.\n<context>…</context>\n"
    # The newest message: retrieval's context in front of each of its text parts (0.11
    # add_or_update_user_message, misc.py); in a browser chat its files listed first.
    attached = [*(files or []), *({"id": f"image-{n}", "name": f"image-{n}.png"} for n, _ in enumerate(images or []))]
    current = _user_content(text, images, attached if ui else None)
    content: Any = (
        [{**part, "text": rag + part["text"]} if part["type"] == "text" else part for part in current]
        if isinstance(current, list)
        else rag + current
    )
    chat_messages = [
        {"role": "system", "content": "You are helpful."},
        *[
            {
                "role": message["role"],
                "content": _user_content(message["content"], message.get("images"), message.get("attached") if ui else None)
                if message["role"] == "user"
                else message["content"],
            }
            for message in history or []
        ],
        {"role": "user", "content": content},
    ]
    metadata: dict = {"chat_id": chat_id if ui or task else ""}
    if ui or task:
        metadata["session_id"] = "session-1"
    if task:
        task_body = {
            "model": model,
            "messages": [
                {"role": "user", "content": text},
                {"role": "assistant", "content": "An answer the agent gave."},
            ],
            "chat_id": chat_id,
        }
        metadata |= {"task": task, "task_body": task_body}
        body = {
            "model": model,
            "stream": False,
            "messages": [{"role": "user", "content": TITLE_TASK_PROMPT.replace("{text}", text)}],
        }
        return body, metadata
    # Taken after the files are listed, before retrieval's context: the first text part.
    metadata["user_prompt"] = current[0]["text"] if isinstance(current, list) else current
    if chat_files:
        metadata["files"] = [file_item(**file) for file in chat_files]
        # Retrieval with BYPASS_EMBEDDING_AND_RETRIEVAL: each file's whole text is a source (a
        # knowledge base's passages name the files they come from).
        metadata["sources"] = [
            {
                "source": file_item(**file),
                "document": [file["content"]],
                "metadata": [
                    {
                        "file_id": f"{file['id']}-file" if file.get("type") == "collection" else file["id"],
                        "name": file["name"],
                        "source": file["name"],
                    }
                ],
            }
            for file in chat_files
            if file.get("content")
        ]
    if ui:
        user_message_id, message_id = message_ids or (_new_id("user-message"), _new_id("message"))
        metadata["message_id"] = message_id
        metadata["user_message_id"] = user_message_id
    return {"model": model, "stream": stream, "messages": chat_messages}, metadata


def file_item(id: str, name: str, content: str | None, type: str = "file") -> dict:
    """An attached file as a pipe gets it in `__files__`: the browser's chat file item, whose
    record's `data` the frontend replaced with the processing status (0.11 apis/files: no text);
    a knowledge base picked with # (`type="collection"`) is the knowledge object itself."""
    if type == "collection":
        return {"type": "collection", "id": id, "name": name, "status": "processed"}
    record = {
        "id": id,
        "filename": name,
        "meta": {"name": name, "content_type": "text/plain", "size": len(content or "")},
        "data": {"status": "completed"},
    }
    return {
        "type": "file",
        "id": id,
        "name": name,
        "url": id,
        "status": "uploaded",
        "size": len(content or ""),
        "collection_name": "",
        "error": "",
        "content_type": "text/plain",
        "file": record,
    }


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
    ui: bool = True,
    stop_after_chunks: int | None = None,
    observe: Callable[[Seen], None] | None = None,
    dialog_answers: list | None = None,
    history: list | None = None,
    message_ids: tuple[str, str] | None = None,
    images: list | None = None,
    files: list | None = None,
    chat_files: list | None = None,
) -> Seen:
    """One request as OpenWebUI sends it; `stop_after_chunks` presses the stop button.

    `ui=False` is a plain API call (/api/chat/completions with a key): no socket session, so no
    event emitter. `task` is a background task (title, tags…), which OpenWebUI sends without
    streaming. Closing the browser tab does not stop a streamed answer in OpenWebUI (it runs
    on as a server task and is saved), so only the stop button is modelled: `aclose()`.
    `observe(seen)` runs after each chunk and status: a test's fake server can wait for it.
    `dialog_answers` scripts the browser tab's answers to `__event_call__` dialogs, in order: a
    string (OK with that text), CANCEL, TAB_CLOSED or NEVER_ANSWERS; each dialog shown is
    recorded in `seen.dialogs`; OK or CANCEL answer a confirmation, STOP presses the stop
    button while the dialog is open. `images` are data URLs attached to the message, `files`
    ({id, name, content}) the chat's attached files. Without a script, any dialog fails the test; a dialog the
    script did not expect, or one OpenWebUI could not show, fails it even if the pipe caught
    the error.
    """
    seen = Seen()
    pipe.valves = pipe.Valves(**valves)
    user = dict(user or {"id": "user-1", "name": "Ada", "email": "ada@example.org", "role": "user"})
    if hasattr(pipe, "UserValves"):
        user["valves"] = pipe.UserValves(**(user_valves or {}))

    async def emitter(event: dict) -> None:
        if event.get("type") == "status":
            seen.statuses.append(event["data"])
            if observe:
                observe(seen)
        elif event.get("type") in ("source", "citation"):
            problem = _source_problem(event)
            if problem:
                violations.append(problem)
                raise ContractViolation(problem)
            seen.sources.append(event["data"])
        elif event.get("type") == "notification":
            data = event.get("data")
            if not isinstance(data, dict) or not isinstance(data.get("content"), str):
                problem = f"OpenWebUI shows a notification's data.content: {event!r}"
                violations.append(problem)
                raise ContractViolation(problem)
            seen.notifications.append(data["content"])

    answers = None if dialog_answers is None else list(dialog_answers)
    violations: list[str] = []

    async def event_call(event: dict) -> Any:
        problem = _dialog_problem(event)
        if problem is None and answers is None:
            problem = f"the pipe asked the browser a question: {event!r}"
        if problem is None and not answers:
            problem = f"the pipe asked more questions than the test answers: {event!r}"
        if problem is not None:
            violations.append(problem)
            raise ContractViolation(problem)
        data = event["data"]
        seen.dialogs.append({"type": event["type"], **{key: data.get(key) for key in DIALOG_FIELDS}})
        answer = answers.pop(0)
        if answer is NEVER_ANSWERS:
            await asyncio.Event().wait()
        if answer is STOP:
            seen.stopped = True
            raise asyncio.CancelledError
        return answer

    body, metadata = _request(
        text,
        model=model,
        stream=stream,
        task=task,
        chat_id=chat_id,
        ui=ui,
        history=history,
        message_ids=message_ids,
        images=images,
        files=files,
        chat_files=files if chat_files is None else chat_files,
    )
    # functions.py generate_function_chat_completion passes an emitter and an event caller when
    # the metadata has the keys session_id, chat_id and message_id, whatever their values: an API
    # call gets them too, an emitter that reaches no chat and a caller that answers "disconnected"
    # at once (socket/main.py get_event_call: no such session).
    has_socket = all(metadata.get(key) for key in ("session_id", "chat_id", "message_id"))

    async def nowhere(event: dict) -> None:
        return None

    async def disconnected(event: dict) -> Any:
        return TAB_CLOSED

    available = {
        "__user__": user,
        "__metadata__": metadata,
        "__event_emitter__": emitter if has_socket else nowhere,
        "__event_call__": event_call if has_socket else disconnected,
        "__task__": metadata.get("task"),
        "__task_body__": metadata.get("task_body"),
        "__chat_id__": metadata.get("chat_id"),
        "__message_id__": metadata.get("message_id"),
        "__session_id__": metadata.get("session_id"),
        "__files__": metadata.get("files"),
        "__request__": None,
        "__tools__": {},
    }
    parameters = inspect.signature(pipe.pipe).parameters
    kwargs = {name: available[name] for name in RESERVED if name in parameters}
    result = await pipe.pipe(body, **kwargs)
    if isinstance(result, str):
        seen.returned = result
        _check_dialogs(violations)
        return seen
    if not inspect.isasyncgen(result):
        raise TypeError(f"pipe returned {type(result).__name__}")
    stopped = False
    try:
        async for item in result:
            _consume(seen, item)
            if observe:
                observe(seen)
            if stop_after_chunks is not None and seen.chunks >= stop_after_chunks:
                await result.aclose()
                stopped = True
                break
    except ContractViolation:
        raise
    except asyncio.CancelledError:
        if not seen.stopped:
            raise
        stopped = True
    except Exception as error:  # noqa: BLE001 - OpenWebUI shows an error box
        seen.error_box = str(error)
        _check_dialogs(violations)
        return seen
    _check_dialogs(violations)
    if not stopped:
        _check_finished(seen)
    return seen


DIALOG_FIELDS = ("title", "message", "placeholder", "value")


def _source_problem(event: dict) -> str | None:
    """Why OpenWebUI could not show or keep this source group, or None (events docs, socket/main.py)."""
    data = event.get("data")
    if not isinstance(data, dict) or "type" in data:
        return f"a source event's data must be a dict without `type` (else it is not saved): {event!r}"
    name = (data.get("source") or {}).get("name") if isinstance(data.get("source"), dict) else None
    documents, metadata = data.get("document"), data.get("metadata")
    if not isinstance(name, str) or not isinstance(documents, list) or not isinstance(metadata, list):
        return f"a source event needs source.name, document[] and metadata[]: {event!r}"
    if len(documents) != len(metadata) or not all(isinstance(m, dict) and m.get("source") for m in metadata):
        return f"document and metadata must be parallel, each metadata with a source: {event!r}"
    return None


def _dialog_problem(event: Any) -> str | None:
    """Why OpenWebUI could not show this dialog, or None.

    Chat.svelte reads `type` and `data`: `data.title` and `data.message` (rendered with marked),
    for `input` also `data.placeholder` and `data.value` (the textarea's starting text).
    """
    if not isinstance(event, dict) or event.get("type") not in ("input", "confirmation"):
        return f"not a dialog OpenWebUI shows: {event!r}"
    data = event.get("data")
    if not isinstance(data, dict):
        return f"a dialog without data: {event!r}"
    for key in DIALOG_FIELDS:
        if key in data and not isinstance(data[key], str):
            return f"dialog {key} is not a string: {event!r}"
    if not data.get("title") or not data.get("message"):
        return f"a dialog without a title or message: {event!r}"
    return None


def _check_dialogs(violations: list[str]) -> None:
    """A dialog the pipe should not have asked fails the test, even when the pipe caught it."""
    if violations:
        raise ContractViolation(violations[0])


def _check_chunk(item: Any) -> dict:
    """Every yielded item must be a full OpenAI chunk: API clients receive it unchanged."""
    if not isinstance(item, dict):
        raise ContractViolation(f"the pipe yielded a {type(item).__name__}, not a chunk dict: {item!r}")
    problems = [
        key for key, kind in (("id", str), ("created", int), ("model", str)) if not isinstance(item.get(key), kind)
    ]
    if item.get("object") != "chat.completion.chunk":
        problems.append("object")
    choices = item.get("choices")
    if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
        problems.append("choices")
    else:
        choice = choices[0]
        if choice.get("index") != 0:
            problems.append("choices[0].index")
        if not isinstance(choice.get("delta"), dict):
            problems.append("choices[0].delta")
        if "finish_reason" not in choice:
            problems.append("choices[0].finish_reason")
    if problems:
        raise ContractViolation(f"chunk lacks {', '.join(problems)}: {json.dumps(item)[:200]}")
    return item


def _check_finished(seen: Seen) -> None:
    """A complete response: one id throughout, and a last chunk with finish_reason "stop"."""
    ids = {item["id"] for item in seen.items}
    if len(ids) > 1:
        raise ContractViolation(f"one response carried several ids: {sorted(ids)}")
    if not seen.items or seen.items[-1]["choices"][0]["finish_reason"] != "stop":
        raise ContractViolation('the stream did not end with finish_reason "stop"')


def _consume(seen: Seen, item: Any) -> None:
    """One yielded item = one SSE line, parsed back the way the frontend does."""
    chunk = json.loads(json.dumps(_check_chunk(item)))
    seen.items.append(chunk)
    delta = chunk["choices"][0]["delta"]
    if "tool_calls" in delta:
        raise ContractViolation("the pipe yielded delta.tool_calls: OpenWebUI would execute them")
    seen.chunks += 1
    if delta.get("reasoning_content"):
        seen.reasoning_content += delta["reasoning_content"]
    if delta.get("content"):
        seen.content += delta["content"]


class Chat:
    """One persisted OpenWebUI chat: its message tree, the branch on screen, and the turns that change it.

    OpenWebUI keeps every message with its parent (history.messages, history.currentId); the branch
    from the first message to the current one is what the chat shows and what the next request
    sends. A regenerate adds a sibling answer to the last user message; an edit adds a sibling user
    message (everything after the edited one leaves the branch); the arrows under a message show
    one of its siblings, and the branch then runs on to that sibling's newest descendant.
    """

    def __init__(self, pipe: Any, chat_id: str, **options: Any) -> None:
        self.pipe = pipe
        self.chat_id = chat_id
        self.options = options
        # id -> {"id", "parentId", "childrenIds", "role", "content"}, as OpenWebUI stores them.
        self.messages: dict = {}
        self.current_id: str | None = None
        # OpenWebUI runs every request on its one event loop.
        self.loop = asyncio.new_event_loop()

    def branch(self, last_id: str | None) -> list:
        """The messages from the first one to `last_id`, oldest first; none when `last_id` is None
        (the parent of a chat's first message: an edit of it has no history)."""
        path = []
        message_id = last_id
        while message_id is not None:
            message = self.messages[message_id]
            path.append(message)
            message_id = message["parentId"]
        return path[::-1]

    @property
    def visible(self) -> list:
        """The branch on screen: {"role", "content"} per message, oldest first."""
        return [{"role": m["role"], "content": m["content"]} for m in self.branch(self.current_id)]

    def _add(self, parent_id: str | None, role: str, content: str) -> str:
        message_id = _new_id("user-message" if role == "user" else "message")
        self.messages[message_id] = {
            "id": message_id,
            "parentId": parent_id,
            "childrenIds": [],
            "role": role,
            "content": content,
        }
        if parent_id is not None:
            self.messages[parent_id]["childrenIds"].append(message_id)
        return message_id

    def _answer(self, user_id: str) -> Seen:
        """A new answer to the user message `user_id`, which becomes the chat's current branch."""
        user_message = self.messages[user_id]
        earlier = self.branch(user_message["parentId"])
        history = [
            {"role": m["role"], "content": m["content"], "images": m.get("images"), "attached": m.get("files")}
            for m in earlier
        ]
        # The frontend's chatFiles: the files of every message of this branch, sent each time.
        chat_files = [file for m in [*earlier, user_message] for file in m.get("files") or []]
        answer_id = _new_id("message")
        seen = self.loop.run_until_complete(
            chat(
                self.pipe,
                user_message["content"],
                chat_id=self.chat_id,
                history=history,
                message_ids=(user_id, answer_id),
                images=user_message.get("images"),
                files=user_message.get("files"),
                chat_files=chat_files or None,
                **self.options,
            )
        )
        content = seen.returned if seen.returned is not None else seen.content
        self.messages[answer_id] = {
            "id": answer_id,
            "parentId": user_id,
            "childrenIds": [],
            "role": "assistant",
            "content": content,
        }
        user_message["childrenIds"].append(answer_id)
        self.current_id = answer_id
        return seen

    def _shown(self, index: int, role: str) -> dict:
        shown = self.branch(self.current_id)
        if not 0 <= index < len(shown) or shown[index]["role"] != role:
            raise ContractViolation(f"message {index} of the chat on screen is not a {role} message")
        return shown[index]

    def send(self, text: str, images: list | None = None, files: list | None = None) -> Seen:
        """A new message with its `images` (data URLs) and `files` ({id, name, content})."""
        message_id = self._add(self.current_id, "user", text)
        self.messages[message_id] |= {"images": images, "files": files}
        return self._answer(message_id)

    def regenerate(self) -> Seen:
        """A new answer to the last user message (OpenWebUI's regenerate button)."""
        return self._answer(self._shown(len(self.branch(self.current_id)) - 1, "assistant")["parentId"])

    def edit(self, index: int, text: str) -> Seen:
        """The user message at `index` of the branch on screen, edited and sent again."""
        return self._answer(self._add(self._shown(index, "user")["parentId"], "user", text))

    def show_sibling(self, index: int, sibling: int) -> None:
        """The arrows under message `index`: show its parent's child number `sibling` instead."""
        parent_id = self.branch(self.current_id)[index]["parentId"]
        siblings = self.messages[parent_id]["childrenIds"] if parent_id else self._roots()
        message_id = siblings[sibling]
        while self.messages[message_id]["childrenIds"]:
            message_id = self.messages[message_id]["childrenIds"][-1]
        self.current_id = message_id

    def _roots(self) -> list:
        return [m["id"] for m in self.messages.values() if m["parentId"] is None]
