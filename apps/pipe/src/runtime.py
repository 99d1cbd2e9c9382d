import asyncio
import codecs
import hashlib
import inspect
import json
import re
import time
import unicodedata
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Literal

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
# A bridge that accepts no connection within this is down; waiting longer only delays the news.
CONNECT_TIMEOUT_SECONDS = 10
# The stop button's message to the bridge waits no longer than this.
STOP_TIMEOUT_SECONDS = 5
# Answers from no bridge at all (a proxy with none behind it, one shutting down): worth another try.
UNAVAILABLE_STATUSES = (502, 503, 504)
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
    "fetch_webpage": "Reading a web page",
}

HIDDEN_THINKING = "(The model keeps this thinking private.)"
CUT_SHORT = "The connection to the Letta bridge server ended before the answer finished."
TURN_TOO_LONG = (
    "The agent took longer than {seconds} seconds, so the answer was stopped here. Please try again."
)
REDIRECTED = (
    "The Letta bridge server at {url} answered with a redirect (HTTP {status} to {location}). "
    "The pipe does not follow redirects, so your message was not sent: "
    "an admin should check the SERVER_URL valve."
)

# `/memory` (show the blocks) and `/memory <label>` (edit one): answered by the pipe from the
# bridge's memory routes, without a Letta run and without touching the thread.
MEMORY_COMMAND = re.compile(r"/memory(?:\s+(.*))?", re.DOTALL)
# A label the person typed, echoed in a sentence, is cut here (Letta's labels are ≤ 64).
MEMORY_LABEL_ECHO_CHARS = 64
MEMORY_EDIT_HINT = "Send `/memory <label>` to edit a block."
MEMORY_EMPTY = "Your agent has no memory blocks."
MEMORY_NEEDS_UI = (
    "Editing a memory block needs the chat window: send `/memory {label}` there. "
    "`/memory` shows the blocks here too."
)
MEMORY_NO_BLOCK = 'Your agent has no memory block called "{label}". Send /memory to see its blocks.'
MEMORY_READ_ONLY = 'The "{label}" memory block is read-only: it cannot be changed.'
MEMORY_UNCHANGED = "Nothing changed."
MEMORY_DIALOG_CLOSED = "Nothing changed: the edit dialog was closed."
MEMORY_SAVED = "Saved your {label} memory ({count} characters)."
# What a dialog returns when the tab is gone or the socket call failed, and when nobody answered
# within the pipe's own bound.
DIALOG_CLOSED = object()
DIALOG_TIMED_OUT = object()

# Tags OpenWebUI lifts out of streamed answer text into a Thinking, solution or code block
# (0.11 utils/middleware.py: DEFAULT_REASONING_TAGS, DEFAULT_SOLUTION_TAGS,
# DEFAULT_CODE_INTERPRETER_TAGS). An answer that only mentions them must show them as text.
CONTENT_TAGS = (
    "<think>",
    "</think>",
    "<thinking>",
    "</thinking>",
    "<reason>",
    "</reason>",
    "<reasoning>",
    "</reasoning>",
    "<thought>",
    "</thought>",
    "<Thought>",
    "</Thought>",
    "<|begin_of_thought|>",
    "<|end_of_thought|>",
    "\u25c1think\u25b7",  # ◁think▷
    "\u25c1/think\u25b7",
    "<|begin_of_solution|>",
    "<|end_of_solution|>",
    "<code_interpreter>",
    "</code_interpreter>",
)
# Written after a tag's first character, it leaves the tag readable but unparseable:
# middleware.py matches `<name` directly followed by whitespace or `>` (_start_tag_pattern), the
# other tags literally, and Markdown only sees an HTML tag when a letter follows `<` directly.
# An HTML entity (&lt;) would also escape the middleware but shows as "&lt;" inside code spans.
ZERO_WIDTH_SPACE = "\u200b"


def _tag_pattern(tag: str) -> str:
    """A tag as OpenWebUI recognises it: `<think` before whitespace or `>`, others literally."""
    if tag.startswith("<") and tag.endswith(">"):
        return re.escape(tag[:-1]) + r"(?=[\s>])"
    return re.escape(tag[:-1]) + "(?=" + re.escape(tag[-1]) + ")"


_TAG_OPENINGS = re.compile("|".join(_tag_pattern(tag) for tag in CONTENT_TAGS))
# A tag without its last character: text ending in a prefix of one may still become a tag.
_TAG_STEMS = tuple(tag[:-1] for tag in CONTENT_TAGS)
_LONGEST_STEM = max(len(stem) for stem in _TAG_STEMS)
# A piece that could still become a tag starts with one of these (`<` or `◁`).
_STEM_FIRSTS = frozenset(stem[0] for stem in _TAG_STEMS)


def _break_tag(text: str) -> str:
    return text[:1] + ZERO_WIDTH_SPACE + text[1:]


class ProtocolError(Exception):
    """The bridge sent something this pipe does not understand."""


class Refused(Exception):
    """The bridge answered with a sentence for the person instead of an answer."""

    def __init__(self, sentence: str, status: int | None = None) -> None:
        super().__init__(sentence)
        self.status = status


class TurnTooLong(Exception):
    """The turn ran past MAX_TURN_SECONDS."""

    def __init__(self, seconds: int) -> None:
        super().__init__(TURN_TOO_LONG.format(seconds=seconds))


class SseParser:
    """Incremental server-sent-events parser: feed text, get (event, data, last event id) triples.

    `\\r\\n`, `\\r` and `\\n` all end a line, also when a `\\r\\n` pair is split across two reads.
    The last event id is the newest `id:` read so far, as an EventSource keeps it.
    """

    def __init__(self) -> None:
        self.buffer = ""
        self.event = ""
        self.data: list[str] = []
        self.after_cr = False
        self.last_id: str | None = None

    def push(self, text: str) -> list[tuple[str, str, str | None]]:
        if text:
            if self.after_cr and text.startswith("\n"):
                text = text[1:]
            self.after_cr = text.endswith("\r")
        # All complete lines at once: splitting one line off per step copied the rest of the
        # buffer every time, quadratic in a read that brings hundreds of events.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        *lines, self.buffer = (self.buffer + text).split("\n")
        frames = []
        for line in lines:
            if line == "":
                if self.data:
                    frames.append((self.event or "message", "\n".join(self.data), self.last_id))
                self.event, self.data = "", []
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    self.data.append(value)
                elif field == "event":
                    self.event = value
                elif field == "id" and "\0" not in value:
                    self.last_id = value
        return frames


class ContentTagGuard:
    """Keeps answer text from opening OpenWebUI's Thinking, solution or code blocks.

    Each tag in CONTENT_TAGS gets a zero-width space after its first character. A tag split
    across deltas ("<thi" + "nk>") is caught by holding back only a trailing piece that could
    still become one; all other text passes at once.
    """

    def __init__(self) -> None:
        self.held = ""

    def push(self, text: str) -> str:
        """The part of the answer so far that can be shown now, made safe."""
        text = self.held + text
        cut = self._hold_from(text)
        self.held = text[cut:]
        return _TAG_OPENINGS.sub(lambda match: _break_tag(match.group(0)), text[:cut])

    @classmethod
    def whole(cls, text: str) -> str:
        """A complete text (a non-streamed answer), made safe."""
        guard = cls()
        return guard.push(text) + guard.flush()

    def flush(self) -> str:
        """The held-back end of the answer; a complete tag stem is broken as if a `>` followed."""
        held, self.held = self.held, ""
        return _break_tag(held) if held in _TAG_STEMS else held

    @staticmethod
    def _hold_from(text: str) -> int:
        # Only where a stem's first character stands: comparing every stem at every position
        # of each delta's tail was most of the pipe's CPU per token (bench case 5's profile).
        for start in range(max(0, len(text) - _LONGEST_STEM), len(text)):
            if text[start] in _STEM_FIRSTS and any(
                stem.startswith(text[start:]) for stem in _TAG_STEMS
            ):
                return start
        return len(text)


class ChunkFactory:
    """OpenAI `chat.completion.chunk` dicts for one response: one id and one creation time.

    OpenWebUI passes yielded dicts unchanged to API clients, so each one is a complete chunk.
    """

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def content(self, text: str) -> dict:
        return self.chunk({"content": text})

    def reasoning(self, text: str) -> dict:
        """Rendered by OpenWebUI as its native Thinking block."""
        return self.chunk({"reasoning_content": text})

    def stop(self) -> dict:
        return self.chunk({}, "stop")


class Deadline:
    """One time bound for a whole turn, applied to every wait in it."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.at = asyncio.get_running_loop().time() + seconds

    async def run(self, awaitable: Awaitable) -> Any:
        """Awaits `awaitable`; raises TurnTooLong when the turn's time runs out meanwhile."""
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(awaitable, max(self.at - loop.time(), 0))
        except asyncio.TimeoutError:
            if loop.time() >= self.at:
                raise TurnTooLong(self.seconds) from None
            raise


def _check_value(event: str, field: str, value: Any, kind: str, allowed: tuple) -> None:
    types = {"str": str, "int": int, "bool": bool, "dict": dict, "list": list}
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


# OpenWebUI 0.11 puts the list of a user message's attached files in front of its text, in each
# request (utils/middleware.py add_file_context; in a part of its own when the message has images).
ATTACHED_FILES = re.compile(r"\A\s*<attached_files>.*?</attached_files>\s*", re.DOTALL)


def _own_words(text: str) -> str:
    """A user message's text without OpenWebUI's list of its attached files."""
    return ATTACHED_FILES.sub("", text, count=1)


def _message_text(message: Any) -> str:
    """A chat message's text; OpenAI-style content lists keep only their text parts, and a user
    message's list of attached files is not part of it."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        content = "".join(_text_parts(message))
    if not isinstance(content, str):
        return ""
    return _own_words(content) if message.get("role") == "user" else content


def _last_user_message(messages: Any) -> dict:
    """The newest user message of a request ({} when there is none)."""
    listed = messages if isinstance(messages, list) else []
    return next((m for m in reversed(listed) if isinstance(m, dict) and m.get("role") == "user"), {})


def _last_user_text(messages: Any) -> str:
    return _message_text(_last_user_message(messages))


def _text_parts(message: dict) -> list[str]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]


def _words_beside_files(messages: Any) -> str:
    """The words of the newest user message whose text parts are the file list and the words,
    each behind the same retrieval context (OpenWebUI prepends it to every text part)."""
    last = _last_user_message(messages)
    texts = _text_parts(last)
    listing = next((text for text in texts if "<attached_files>" in text), None)
    if listing is None:
        return _message_text(last)
    context = listing[: listing.index("<attached_files>")]
    return "".join(text.removeprefix(context) for text in texts if text is not listing)


def _user_text(body: dict, metadata: dict | None) -> str:
    """The user's own words: before OpenWebUI's RAG wrapping, without its list of attached files.

    0.11 takes `user_prompt` after listing the files (middleware.py process_chat_payload): with
    documents it is the list and the words; with images it is only the list (the first text
    part), and the words are in the message's next part.
    """
    prompt = (metadata or {}).get("user_prompt")
    if isinstance(prompt, str) and prompt.strip():
        words = _own_words(prompt)
        if words.strip():
            return words
        return _words_beside_files(body.get("messages"))
    return _last_user_text(body.get("messages"))


def _without_blocks(text: str) -> str:
    """An answer as the agent wrote it: the pipe's zero-width spaces and OpenWebUI's blocks gone."""
    text = FINGERPRINT_INERT.sub("", text)
    for block in FINGERPRINT_REMOVE:
        text = block.sub("", text)
    return text


def fingerprint_text(text: str) -> str:
    """What a fingerprint is taken of: packages/events history.ts `fingerprintText`, rule for rule."""
    return FINGERPRINT_IGNORED.sub("", unicodedata.normalize("NFC", _without_blocks(text)))


def _well_formed(text: str) -> str:
    """`text` with each lone surrogate as U+FFFD, as JavaScript's UTF-8 encoding writes it.

    JSON may carry half an emoji ("\\ud83d"); Python's strict UTF-8 refuses it, and one such
    message would otherwise fail every later turn of its chat.
    """
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def fingerprint(text: str) -> str:
    """The same 16 hex digits as the bridge's `fingerprint()` for the same message."""
    kept = _well_formed(fingerprint_text(text))
    return hashlib.sha256(kept.encode("utf-8")).hexdigest()[:FINGERPRINT_DIGITS]


def _utf16_length(text: str) -> int:
    """Length as the bridge's schema counts it (JavaScript strings: UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_cut(text: str, limit: int) -> str:
    """At most `limit` UTF-16 code units of `text`, never half a character."""
    if _utf16_length(text) <= limit:
        return text
    cut = text.encode("utf-16-le")[: 2 * limit].decode("utf-16-le", errors="ignore")
    return cut


def _shown_text(role: str, text: str) -> str:
    """A message's text as the agent should read it: an answer without OpenWebUI's blocks."""
    return (_without_blocks(text) if role == "assistant" else text).strip()


# OpenWebUI's context compaction (ENABLE_CONTEXT_COMPACTION, off by default) drops a long chat's
# earlier turns from the request and puts this, then their summary, in the system message
# (utils/middleware.py process_chat_payload, utils/context_compaction.py).
COMPACTED_CHAT_MARKER = "[CONVERSATION SUMMARY]\n"


def _compacted(messages: list) -> bool:
    return any(
        isinstance(message, dict) and message.get("role") == "system" and COMPACTED_CHAT_MARKER in _message_text(message)
        for message in messages
    )


# OpenWebUI 0.11 names every temporary chat of a browser tab `temporary:<socket id>` (`local:` in
# older versions; src/lib/utils/chatId.ts, Chat.svelte initNewChat), so a new temporary chat would
# read as an edit of the previous one's first message (a new thread, with the memory notice if
# its answers wrote memory). Its first message tells them apart.
TEMPORARY_CHAT_PREFIXES = ("temporary:", "local:")


def _chat_key(chat_id: str, messages: Any, text: str) -> str:
    """The chat id the bridge keeps a thread for: OpenWebUI's, or for a temporary chat that and
    the fingerprint of its first message (the person's own words, as for `text` when it is this one)."""
    if not chat_id.startswith(TEMPORARY_CHAT_PREFIXES):
        return chat_id
    listed = messages if isinstance(messages, list) else []
    users = [message for message in listed if isinstance(message, dict) and message.get("role") == "user"]
    first = _message_text(users[0]) if len(users) > 1 else text
    return f"{chat_id}#{fingerprint(first)}"


def _history(messages: Any) -> list[dict] | None:
    """The chat's visible messages before the current one, as the bridge compares them.

    OpenWebUI sends a persisted chat's branch from its database, the current user message last.
    Each earlier user/assistant message becomes a fingerprint; the newest ones also carry their
    text while MAX_CARRIED_CHARS lasts (a regenerate or an edit may move the chat to a new Letta
    thread that needs it). A chat longer than MAX_HISTORY_MESSAGES is sent without history: the
    bridge then simply continues its thread (fingerprinting only the newest messages would make
    every message look like an edit). So is a chat OpenWebUI has compacted: its request holds
    only the newest turns, which are not what the chat shows.
    """
    listed = messages if isinstance(messages, list) else []
    current = max(
        (index for index, message in enumerate(listed) if isinstance(message, dict) and message.get("role") == "user"),
        default=len(listed),
    )
    earlier = [
        (message["role"], _well_formed(_message_text(message)))
        for message in listed[:current]
        if isinstance(message, dict) and message.get("role") in ("user", "assistant")
    ]
    if len(earlier) > MAX_HISTORY_MESSAGES or _compacted(listed):
        return None
    history = [{FIELD_ROLE: role, FIELD_FP: fingerprint(text)} for role, text in earlier]
    budget = MAX_CARRIED_CHARS
    for item, (role, text) in reversed(list(zip(history, earlier))):
        shown = _utf16_cut(_shown_text(role, text), MAX_CARRIED_MESSAGE_CHARS)
        size = _utf16_length(shown)
        if size > budget:
            break
        if shown:
            item[FIELD_TEXT] = shown
            budget -= size
    return history


# --- images and files --------------------------------------------------------------------------

# A data URL as OpenWebUI passes an image: `data:image/png;base64,iVBOR…`.
DATA_URL = re.compile(r"data:([^;,]*)((?:;[^;,]*)*),", re.ASCII)
IMAGE_FORMATS = "PNG, JPEG, GIF and WebP"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _decoded_bytes(data: str) -> int:
    """The size of what base64 `data` encodes."""
    return len(data) * 3 // 4 - (2 if data.endswith("==") else 1 if data.endswith("=") else 0)


def _image_part(url: Any) -> dict:
    """One OpenWebUI image (a data URL) as the bridge takes it; Refused with a sentence otherwise."""
    match = DATA_URL.match(url) if isinstance(url, str) else None
    if match is None or ";base64" not in match.group(2):
        raise Refused("An image in your message could not be read, so it was not sent. Please attach it again.")
    media_type = match.group(1).lower().replace("image/jpg", "image/jpeg")
    if media_type not in IMAGE_MEDIA_TYPES:
        raise Refused(
            f"The agent reads {IMAGE_FORMATS} images; one in your message is "
            f"{media_type or 'of an unknown kind'}, so it was not sent."
        )
    data = "".join(url[match.end() :].split())
    size = _decoded_bytes(data)
    if size > MAX_IMAGE_BYTES:
        raise Refused(
            f"An image in your message is {_megabytes(size)}; the agent takes images up to "
            f"{_megabytes(MAX_IMAGE_BYTES)}. Please send a smaller one."
        )
    return {FIELD_MEDIA_TYPE: media_type, FIELD_DATA: data}


def _images(messages: Any) -> list[dict]:
    """The images of the person's newest message (OpenAI `image_url` parts), checked against the
    bridge's limits; a sentence (Refused) says what is wrong instead of dropping one silently."""
    content = _last_user_message(messages).get("content")
    parts = [p for p in content if isinstance(p, dict) and p.get("type") == "image_url"] if isinstance(content, list) else []
    if len(parts) > MAX_IMAGES:
        raise Refused(f"The agent takes up to {MAX_IMAGES} images with one message; yours has {len(parts)}.")
    images = []
    for part in parts:
        image_url = part.get("image_url")
        images.append(_image_part(image_url.get("url") if isinstance(image_url, dict) else image_url))
    total = sum(_decoded_bytes(image[FIELD_DATA]) for image in images)
    if total > MAX_IMAGES_BYTES:
        raise Refused(
            f"The images in your message add up to {_megabytes(total)}; the agent takes up to "
            f"{_megabytes(MAX_IMAGES_BYTES)} with one message. Please send fewer or smaller ones."
        )
    return images


def _file_items(files: Any) -> list[dict]:
    """OpenWebUI's attached files (`__files__`, else the metadata's or the body's `files`)."""
    return [item for item in files if isinstance(item, dict)] if isinstance(files, list) else []


async def _stored_file_text(file_id: str, user: dict) -> str | None:
    """A file's extracted text from OpenWebUI's own file table: the pipe runs in its process, and
    the browser's file items carry only the upload status (0.11 frontend apis/files, `data`
    replaced by the processing status). Only the person's own files (or any, for an admin)."""
    try:
        from open_webui.models.files import Files
    except ImportError:  # not inside OpenWebUI (tests, other hosts)
        return None
    try:
        record = Files.get_file_by_id(file_id)
        if inspect.isawaitable(record):  # async since OpenWebUI 0.10
            record = await record
    except Exception:  # noqa: BLE001 - a file we cannot read is a file without text
        return None
    if record is None or (getattr(record, "user_id", None) != user.get("id") and user.get("role") != "admin"):
        return None
    data = getattr(record, "data", None)
    content = data.get("content") if isinstance(data, dict) else None
    return content if isinstance(content, str) else None


def _retrieved_text(item_id: str, sources: Any) -> str | None:
    """What OpenWebUI's retrieval took from an attached item for this message (`metadata["sources"]`:
    one group per item, each passage naming its file): a file's whole text with
    BYPASS_EMBEDDING_AND_RETRIEVAL or `context: full`, else its best passages; a knowledge base's
    best passages."""
    passages = []
    for source in sources if isinstance(sources, list) else []:
        if not isinstance(source, dict):
            continue
        group = source.get("source") if isinstance(source.get("source"), dict) else {}
        documents, metadata = source.get("document") or [], source.get("metadata") or []
        for document, meta in zip(documents, metadata):
            ours = group.get("id") == item_id or (isinstance(meta, dict) and meta.get("file_id") == item_id)
            if ours and isinstance(document, str):
                passages.append(document)
    return "\n\n".join(passages) or None


async def _attachments(files: list[dict], user: dict, sources: Any) -> tuple[list[dict], list[str]]:
    """The chat's files (and knowledge bases picked with #) with their text, and the names of
    those without any. The text is the file item's own (API callers may send it), else
    OpenWebUI's stored extract, else what its retrieval found (all a knowledge base gives). Each text is cut so all of them stay within what one message may carry;
    the bridge cuts further to the inline budget, and skips files its thread already has."""
    attachments: list[dict] = []
    unreadable: list[str] = []
    budget = MAX_FOLDER_FILE_CHARS
    for item in files:
        if item.get("type") not in (None, "file", "text", "collection"):
            continue
        file = item.get("file") if isinstance(item.get("file"), dict) else {}
        meta = file.get("meta") if isinstance(file.get("meta"), dict) else {}
        data = file.get("data") if isinstance(file.get("data"), dict) else {}
        file_id = str(item.get("id") or file.get("id") or "")
        name = str(item.get("name") or meta.get("name") or file.get("filename") or "file")[:255]
        if not file_id or str(item.get("content_type") or meta.get("content_type") or "").startswith("image/"):
            continue
        text = item.get("content") if item.get("type") == "text" else data.get("content")
        if not isinstance(text, str) or not text.strip():
            text = await _stored_file_text(file_id, user) or _retrieved_text(file_id, sources)
        if not isinstance(text, str) or not text.strip() or len(attachments) == MAX_ATTACHMENTS:
            unreadable.append(name)
            continue
        text = _well_formed(text)
        kept = _utf16_cut(text, budget)
        if item.get("type") == "collection":
            # A knowledge base's passages depend on the message: each new set is new to the thread.
            file_id = f"{file_id[:150]}:{fingerprint(text)}"
        attachment = {FIELD_ID: file_id[:200], FIELD_NAME: name, FIELD_TEXT: kept}
        if len(kept) < len(text):
            attachment[FIELD_FULL_CHARS] = _utf16_length(text)
        budget -= _utf16_length(kept)
        attachments.append(attachment)
    return attachments, unreadable


# --- approvals -----------------------------------------------------------------------------------

# Told to the agent with a refusal the person did not type (Letta passes it on with the tool's error).
APPROVAL_DECLINED = "The person declined this tool call."
APPROVAL_TIMED_OUT = "The person did not answer the approval request within {seconds} seconds."
APPROVAL_TAB_GONE = "The person's chat window closed before they answered the approval request."
APPROVAL_NO_WINDOW = "Nobody could be asked: this request came without a chat window (API use)."
APPROVAL_TOO_MANY = "Too many approval requests in one answer; this one was not shown to the person."
APPROVAL_KEPT_ASKING = "The agent kept asking for approvals, so the answer stops here."
# Approval rounds of one answer the person is asked in; a further request is refused unasked.
MAX_APPROVAL_ROUNDS = 5
# A value of an argument shown in the dialog at most.
APPROVAL_VALUE_CHARS = 300
APPROVAL_ARGUMENTS_SHOWN = 12


def _argument_lines(arguments: str) -> str:
    """A tool call's arguments as the person reads them: one line per argument, values cut."""
    try:
        values = json.loads(arguments)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        return _fenced(arguments[:2000]) if arguments.strip() else "(no arguments)"
    lines = []
    for key, value in list(values.items())[:APPROVAL_ARGUMENTS_SHOWN]:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(shown) > APPROVAL_VALUE_CHARS:
            shown = shown[: APPROVAL_VALUE_CHARS - 1] + "\u2026"
        lines.append(f"- **{_plain(str(key))}**: {_plain(shown)}")
    if len(values) > APPROVAL_ARGUMENTS_SHOWN:
        lines.append(f"- \u2026 and {len(values) - APPROVAL_ARGUMENTS_SHOWN} more")
    return "\n".join(lines) or "(no arguments)"


def _approval_dialog(request: dict) -> dict:
    """OpenWebUI's confirmation dialog for one tool call (OK → True, Cancel → False)."""
    name = request[FIELD_NAME]
    return {
        "type": "confirmation",
        "data": {
            "title": f"Allow your agent to use {name}?",
            "message": (
                f"Your agent wants to use the tool **{_plain(name)}** with:\n\n"
                f"{_argument_lines(request[FIELD_ARGUMENTS])}\n\nOK allows it once; Cancel refuses it."
            ),
        },
    }


def _going_on(request: dict, decisions: list[dict]) -> dict:
    """The request that continues a turn with the person's decisions: without the turn's images
    and files, which the agent has already."""
    kept = {key: value for key, value in request.items() if key not in (FIELD_IMAGES, FIELD_ATTACHMENTS)}
    return {**kept, FIELD_APPROVALS: decisions}


def _resumable(event_id: str | None) -> bool:
    """Whether an event id names a run the bridge can pick up again."""
    return event_id is not None and RESUMABLE_EVENT_ID.fullmatch(event_id) is not None


def _worth_retrying(error: BaseException) -> bool:
    """A broken connection, or no bridge to answer right now; not a sentence meant for the person."""
    if isinstance(error, Refused):
        return error.status in UNAVAILABLE_STATUSES
    return isinstance(error, aiohttp.ClientError)


def _resume_delay(attempt: int) -> float:
    """Seconds before reconnect `attempt` (from 0), doubling up to RESUME_MAX_DELAY_SECONDS."""
    return min(RESUME_FIRST_DELAY_SECONDS * 2**attempt, RESUME_MAX_DELAY_SECONDS)


def _decision(request: dict, approve: bool, reason: str | None = None) -> dict:
    decision = {FIELD_ID: request[FIELD_ID], FIELD_NAME: request[FIELD_NAME], FIELD_APPROVE: approve}
    if reason:
        decision[FIELD_REASON] = reason[:MAX_APPROVAL_REASON_CHARS]
    return decision


TITLE_MAX_WORDS = 6
# OpenWebUI shows titles in a narrow sidebar.
TITLE_MAX_CHARS = 50
# How people open a request, not what it is about: "Can you explain …" is titled by the "…".
TITLE_OPENERS = re.compile(
    r"^(?:(?:hi|hello|hey)\b[\s,!.]*|please\b[\s,]*|(?:can|could|would|will) (?:you|u)\b\s*"
    r"|(?:explain|describe)(?: to me)?\b\s*|tell me(?: about)?\b\s*"
    r"|help me(?: to)?(?: understand| with)?\b\s*|show me\b\s*|give me\b\s*"
    r"|i(?: want| would like|'d like| need) to know(?: about)?\b\s*)",
    re.IGNORECASE,
)
TITLE_CLOSERS = re.compile(r"(?:[\s,]+(?:please|to me|for me))+\s*$", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?\u2026](?:\s|$)")
TITLE_TRIM = " .,;:!?\u2026-\u2013\u2014\"'\u00ab\u00bb\u201c\u201d()[]"


def _title_words(text: str, drop_openers: bool) -> str:
    """The first sentence of the first line, a few words long, optionally without openers."""
    line = (text.strip().splitlines() or [""])[0]
    while drop_openers and (opener := TITLE_OPENERS.match(line)):
        line = line[opener.end() :]
    end = SENTENCE_END.search(line)
    line = line[: end.start()] if end else line
    if drop_openers:
        line = TITLE_CLOSERS.sub("", line)
    title = ""
    for word in line.split()[:TITLE_MAX_WORDS]:
        if len(title) + 1 + len(word) > TITLE_MAX_CHARS:
            break
        title = f"{title} {word}".strip()
    return (title or line.strip()[:TITLE_MAX_CHARS]).strip(TITLE_TRIM)


def _title(text: str) -> str:
    """A chat title from the person's own words: "Can you explain derivatives?" → "Derivatives"."""
    for drop_openers in (True, False):
        title = _title_words(text, drop_openers)
        if title:
            return title[0].upper() + title[1:]
    return "New chat"


def _task_answer(task: str, task_body: Any) -> str:
    """Background tasks (title, tags, follow-ups…) are answered here, never by the agent.

    OpenWebUI puts its own task prompt in body["messages"]; the chat is `__task_body__`.
    Tags and follow-ups stay empty: words picked from one message would be labels and questions
    nobody chose, and OpenWebUI simply shows none.
    """
    messages = task_body.get("messages") if isinstance(task_body, dict) else None
    if "title" in task:
        return json.dumps({"title": _title(_last_user_text(messages))})
    if "tags" in task:
        return json.dumps({"tags": []})
    if "follow" in task:
        return json.dumps({"follow_ups": []})
    if "query" in task:
        return json.dumps({"queries": []})
    return ""


def _memory_label(text: str) -> str | None:
    """None for an ordinary message; "" for `/memory`; the label for `/memory <label>`."""
    match = MEMORY_COMMAND.fullmatch(text.strip())
    if match is None:
        return None
    return (match.group(1) or "").strip()


# Markdown a one-line text could start or contain (marked, as OpenWebUI renders it, and KaTeX's $).
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]<>|~$])")
_LINE_START_MARKUP = re.compile(r"^(?:([#>+=-])|(\d+)([.)]))")


def _escape_line_start(match: re.Match) -> str:
    """`# x` → `\\# x`, `1. x` → `1\\. x`: a heading, quote, list or rule marker shown as text."""
    if match.group(1):
        return "\\" + match.group(1)
    return match.group(2) + "\\" + match.group(3)


def _plain(text: str) -> str:
    """A free text (a block's description) as one Markdown line that renders as itself."""
    line = _INLINE_MARKUP.sub(r"\\\1", " ".join(text.split()))
    return _LINE_START_MARKUP.sub(_escape_line_start, line)


def _fenced(text: str) -> str:
    """A value shown exactly, in full: a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _memory_block(block: Any) -> dict:
    """One MemoryBlock from the bridge, checked."""
    ok = (
        isinstance(block, dict)
        and all(isinstance(block.get(key), str) for key in (FIELD_LABEL, FIELD_DESCRIPTION, FIELD_VALUE))
        and isinstance(block.get(FIELD_LIMIT), int)
        and not isinstance(block.get(FIELD_LIMIT), bool)
        and isinstance(block.get(FIELD_READ_ONLY), bool)
    )
    if not ok:
        raise ProtocolError("a memory block is malformed")
    return block


def _memory_blocks(view: Any) -> list[dict]:
    """The blocks of a MemoryView from the bridge, checked."""
    blocks = view.get(FIELD_BLOCKS) if isinstance(view, dict) else None
    if not isinstance(blocks, list):
        raise ProtocolError("the memory view has no block list")
    return [_memory_block(block) for block in blocks]


def _memory_markdown(blocks: list[dict]) -> str:
    """The blocks as the answer: heading, description, size against limit, the value in full."""
    if not blocks:
        return MEMORY_EMPTY
    sections = []
    for block in blocks:
        size = f"{len(block[FIELD_VALUE]):,} of {block[FIELD_LIMIT]:,} characters"
        if block[FIELD_READ_ONLY]:
            size += " (read-only)"
        lines = [f"### {block[FIELD_LABEL]}"]
        if block[FIELD_DESCRIPTION].strip():
            lines.append(_plain(block[FIELD_DESCRIPTION]))
            lines.append("")
        lines.append(size)
        value = _fenced(block[FIELD_VALUE]) if block[FIELD_VALUE] else "*(empty)*"
        sections.append("\n".join(lines) + "\n\n" + value)
    return "\n\n".join([*sections, MEMORY_EDIT_HINT])


def _edit_dialog(block: dict) -> dict:
    """OpenWebUI's input dialog (a textarea) pre-filled with the block's text.

    Its message is rendered as Markdown; Enter confirms the dialog and Escape cancels it
    (src/lib/components/common/ConfirmDialog.svelte handleKeyDown), so the message says so.
    """
    label, value = block[FIELD_LABEL], block[FIELD_VALUE]
    about = _plain(block[FIELD_DESCRIPTION]) + "\n\n" if block[FIELD_DESCRIPTION].strip() else ""
    return {
        "type": "input",
        "data": {
            "title": f"Edit your {label} memory",
            "message": (
                f"{about}Up to {block[FIELD_LIMIT]:,} characters (now {len(value):,}). "
                "Enter saves, Escape cancels."
            ),
            "placeholder": f"What your agent keeps in {label}",
            "value": value,
        },
    }


def _status(description: str, done: bool, hidden: bool = False) -> dict:
    return {
        "type": "status",
        "data": {"description": description, "done": done, "hidden": hidden},
    }


def _source_event(tool: str, items: list) -> dict:
    """OpenWebUI's citation group for one search (events docs: `source`): one passage per item.

    Without `data.type`, so OpenWebUI keeps it with the message (socket/main.py persists only
    untyped sources).
    """
    entries = [item for item in items if isinstance(item, dict)]
    return {
        "type": "source",
        "data": {
            "source": {"name": FRIENDLY_TOOL_NAMES.get(tool, tool).removesuffix("…")},
            "document": [str(item.get(FIELD_TEXT) or item.get(FIELD_TITLE) or "") for item in entries],
            "metadata": [
                {
                    "source": str(item.get(FIELD_URL) or item.get(FIELD_TITLE) or tool),
                    "name": str(item.get(FIELD_TITLE) or tool),
                    **({"url": str(item[FIELD_URL])} if item.get(FIELD_URL) else {}),
                }
                for item in entries
            ],
        },
    }


async def _notify(emitter: Emitter, text: str) -> None:
    """A note about the chat itself, as OpenWebUI's toast (Chat.svelte: `notification` events).

    Shown once: OpenWebUI 0.11 relays a notification live and never stores it (socket/main.py
    get_event_emitter stores `status` events in the message's statusHistory, shown again with
    every load, and the pipe's own status lines would replace it at once). Not in the answer:
    the answer's text is what the chat's next message fingerprints. Without a browser (API use)
    nobody sees it.
    """
    await _emit(emitter, {"type": "notification", "data": {"type": "info", "content": text}})


def _tool_label(name: str, running: bool) -> str:
    """"Searching the web" for known tools; "Using x" while running and "Used x" otherwise."""
    return FRIENDLY_TOOL_NAMES.get(name) or (f"Using {name}" if running else f"Used {name}")


async def _emit(emitter: Emitter, event: dict) -> None:
    if emitter is not None:
        try:
            await emitter(event)
        except Exception:  # noqa: BLE001 - a closed UI must not break the answer
            pass


class StatusLine:
    """One status line that moves through steps; `close()` leaves the last one finished, visibly."""

    def __init__(self, emitter: Emitter) -> None:
        self.emitter = emitter
        self.step: str | None = None

    async def show(self, step: str) -> None:
        self.step = step
        await _emit(self.emitter, _status(f"{step}…", False))

    async def close(self) -> None:
        if self.step is not None:
            await _emit(self.emitter, _status(self.step, True))
            self.step = None


class StreamedTurn:
    """One streamed answer: bridge events in, chunks and status lines out.

    Remembers what the person has seen so far (thinking, answer text, tool lines still open),
    so that whatever ends the turn leaves a readable answer and no spinning status.
    """

    def __init__(
        self, model: str, emitter: Emitter, show_thinking: bool, show_tools: bool, show_sources: bool = True
    ) -> None:
        self.chunks = ChunkFactory(model)
        self.show_sources = show_sources
        self.tags = ContentTagGuard()
        self.emitter = emitter
        self.show_thinking = show_thinking
        self.show_tools = show_tools
        self.segment: int | None = None
        self.answered = False
        self.open_tools: dict[str, str] = {}
        # The answer goes on after an approval: its next words start a new paragraph.
        self.new_paragraph = False
        # Tool calls the person (or the pipe for them) refused: their error is that refusal.
        self.refused: set[str] = set()
        # A bridge step (e.g. storing files) whose status line is still spinning.
        self.progress: str | None = None
        # The tool whose approval dialog is open.
        self.asking: str | None = None

    async def handle(self, name: str, data: dict) -> list[dict]:
        """The chunks to yield for one bridge event; status lines are emitted here."""
        if name == EVENT_REASONING_DELTA:
            return self._thinking(data[FIELD_SEGMENT], data[FIELD_TEXT])
        if name == EVENT_REASONING_HIDDEN:
            return self._thinking(data[FIELD_SEGMENT], HIDDEN_THINKING, new_paragraph=True)
        if name == EVENT_ANSWER_DELTA:
            return self._answer(data[FIELD_TEXT])
        if name == EVENT_ERROR:
            return self._sentence(data[FIELD_MESSAGE])
        if name == EVENT_NOTICE:
            await _notify(self.emitter, data[FIELD_TEXT])
        elif name == EVENT_PROGRESS:
            done = data[FIELD_DONE]
            self.progress = None if done else data[FIELD_TEXT]
            await _emit(self.emitter, _status(data[FIELD_TEXT] + ("" if done else "…"), done))
        elif name == EVENT_SOURCES:
            if self.show_sources:
                await _emit(self.emitter, _source_event(data[FIELD_TOOL], data[FIELD_ITEMS]))
        elif name == EVENT_TOOL_STARTED:
            await self._tool_started(data[FIELD_ID], data[FIELD_NAME])
        elif name == EVENT_TOOL_FINISHED:
            await self._tool_finished(data[FIELD_ID], data[FIELD_NAME], data[FIELD_STATUS] == "error")
        return []

    def finish(self, sentence: str | None) -> list[dict]:
        """The last chunks: held-back answer text, the sentence when the turn failed, stop."""
        chunks = self._sentence(sentence) if sentence else []
        rest = self.tags.flush()
        if rest:
            chunks.append(self.chunks.content(rest))
        return [*chunks, self.chunks.stop()]

    def continue_answer(self) -> None:
        """The next round's answer (after an approval) goes on in a new paragraph of this one."""
        self.new_paragraph = self.answered

    async def approval_asked(self, name: str) -> None:
        self.asking = name
        await _emit(self.emitter, _status(f"Waiting for your approval to use {name}…", False))

    async def approval_decided(self, decision: dict, why: str = "") -> None:
        """The person's (or the pipe's) decision, as a finished status line."""
        name = decision[FIELD_NAME]
        self.asking = None
        if not decision[FIELD_APPROVE]:
            self.refused.add(decision[FIELD_ID])
        label = f"Allowed {name}" if decision[FIELD_APPROVE] else f"Not allowed: {name}"
        await _emit(self.emitter, _status(f"{label} ({why})" if why else label, True))

    async def close_statuses(self) -> None:
        """Finishes every status line still open, also when the turn failed or was stopped."""
        if self.progress is not None:
            await _emit(self.emitter, _status(f"{self.progress} (interrupted)", True))
            self.progress = None
        if self.asking is not None:
            await _emit(self.emitter, _status(f"Not answered: {self.asking} (stopped)", True))
            self.asking = None
        for name in self.open_tools.values():
            await _emit(self.emitter, _status(f"{_tool_label(name, True)} (interrupted)", True))
        self.open_tools.clear()
        await _emit(self.emitter, _status("", True, hidden=True))

    def _thinking(self, segment: int, text: str, new_paragraph: bool = False) -> list[dict]:
        """Thinking goes to the Thinking block; each new segment is a new paragraph in it."""
        if not self.show_thinking:
            return []
        prefix = "\n\n" if self.segment is not None and (new_paragraph or segment != self.segment) else ""
        self.segment = segment
        return [self.chunks.reasoning(prefix + text)]

    def _answer(self, text: str) -> list[dict]:
        if not text:
            return []
        if self.new_paragraph:
            text = "\n\n" + text.lstrip()
            self.new_paragraph = False
        self.answered = True
        shown = self.tags.push(text)
        return [self.chunks.content(shown)] if shown else []

    def _sentence(self, message: str) -> list[dict]:
        """A readable sentence after whatever the answer showed so far, as its own paragraph."""
        text = self.tags.push(("\n\n" if self.answered else "") + message) + self.tags.flush()
        self.answered = True
        return [self.chunks.content(text)]

    async def _tool_started(self, tool_id: str, name: str) -> None:
        if self.show_tools:
            self.open_tools[tool_id] = name
            await _emit(self.emitter, _status(f"{_tool_label(name, True)}…", False))

    async def _tool_finished(self, tool_id: str, name: str, failed: bool) -> None:
        if self.show_tools:
            self.open_tools.pop(tool_id, None)
            if tool_id in self.refused:
                label = f"{_tool_label(name, True)} (not allowed)"
            else:
                label = f"{_tool_label(name, True)} (failed)" if failed else _tool_label(name, False)
            await _emit(self.emitter, _status(label, True))


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
        SHOW_SOURCES: bool = Field(
            default=True,
            description="Show what the agent's search tools found as sources under the answer.",
        )
        REQUEST_TIMEOUT: int = Field(
            default=300,
            description="Seconds without any data from the bridge before giving up (it sends keepalives every 15 s).",
        )
        MAX_TURN_SECONDS: int = Field(
            # A minute past the bridge's own MAX_TURN_MS default (900 s), so that the bridge,
            # which knows why, normally ends an overlong turn first; this is the backstop.
            default=960,
            ge=1,
            description="Longest one answer may take, streamed or not; then the pipe says so and stops, and the bridge cancels the agent's run.",
        )
        FILE_MODE: Literal["template", "inline", "folder"] = Field(
            default="template",
            description="Where attached files go: inline (their text with the message, cut), folder (the agent's Letta folder, searched with its file tools), or as the agent template says.",
        )
        APPROVAL_TIMEOUT_SECONDS: int = Field(
            # OpenWebUI waits for a dialog forever unless WEBSOCKET_EVENT_CALLER_TIMEOUT is set.
            default=300,
            ge=1,
            description="Longest the approval dialog for a tool stays open; unanswered, the tool is refused and the agent goes on.",
        )
        MEMORY_DIALOG_SECONDS: int = Field(
            # OpenWebUI waits for a dialog forever unless WEBSOCKET_EVENT_CALLER_TIMEOUT is set.
            default=300,
            ge=1,
            description="Longest the /memory edit dialog stays open before the pipe answers that nothing changed.",
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
                async with session.get(
                    self._url(ROUTE_TEMPLATES), headers=self._headers(), allow_redirects=False
                ) as response:
                    if 300 <= response.status < 400:
                        location = response.headers.get("Location", "?")[:80]
                        raise Refused(f"redirected to {location}: check the SERVER_URL valve")
                    payload = await response.json(content_type=None)
                    if response.status != 200:
                        raise Refused(str(payload.get(FIELD_MESSAGE, response.status)))
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
        __task_body__: dict | None = None,
        __chat_id__: str | None = None,
        __event_call__: Callable[[dict], Awaitable[Any]] | None = None,
        __files__: list | None = None,
    ) -> str | AsyncGenerator:
        if __task__:
            return _task_answer(str(__task__), __task_body__)
        user = __user__ or {}
        model = str(body.get("model") or "")
        template = model.split(".", 1)[1] if "." in model else ""
        template = template or self.valves.DEFAULT_TEMPLATE
        # Who asks, for which agent: the same in a chat message and in a /memory request.
        identity: dict = {
            FIELD_PROTOCOL_VERSION: PROTOCOL_VERSION,
            FIELD_USER: {
                key: str(user[key])
                for key in (FIELD_ID, FIELD_NAME, FIELD_EMAIL, FIELD_ROLE)
                if user.get(key) is not None
            },
        }
        if template and template != "unavailable":
            identity[FIELD_TEMPLATE] = template
        # OpenWebUI 0.11 passes an event caller to API calls too (functions.py checks the keys,
        # not their values); without a browser session it answers "disconnected" at once.
        if not (__metadata__ or {}).get("session_id"):
            __event_call__ = None
        text = _user_text(body, __metadata__)
        label = _memory_label(text)
        if label is not None:

            async def memory() -> str:
                return await self._memory(identity, label, __event_emitter__, __event_call__)

            if not body.get("stream", False):
                return await memory()
            return self._one_chunk_stream(model, memory)
        request = {**identity, FIELD_MESSAGE: text}
        try:
            images = _images(body.get("messages"))
        except Refused as refusal:
            return await self._say(body, model, str(refusal))
        if images:
            request[FIELD_IMAGES] = images
        metadata = __metadata__ or {}
        files = _file_items(__files__ if __files__ is not None else metadata.get("files", body.get("files")))
        attachments, unreadable = await _attachments(files, user, metadata.get("sources"))
        if attachments:
            request[FIELD_ATTACHMENTS] = attachments
        if self.valves.FILE_MODE in FILE_MODES:
            request[FIELD_FILE_MODE] = self.valves.FILE_MODE
        if unreadable:
            await _notify(
                __event_emitter__,
                f"No text could be read from {', '.join(unreadable[:5])}, so the agent does not get it.",
            )
        chat_id = __chat_id__ or metadata.get("chat_id")
        if chat_id:
            # Each chat is its own Letta thread; its history tells a next message from a
            # regenerate or an edit.
            request[FIELD_CHAT_ID] = _chat_key(str(chat_id), body.get("messages"), text)
            history = _history(body.get("messages"))
            if history is not None:
                request[FIELD_HISTORY] = history
        if not body.get("stream", False):
            return await self._complete(request, __event_emitter__)
        user_valves = user.get("valves")
        show_thinking = self.valves.SHOW_THINKING and getattr(user_valves, "SHOW_THINKING", True)
        turn = StreamedTurn(
            model,
            __event_emitter__,
            show_thinking,
            self.valves.SHOW_TOOL_ACTIVITY,
            self.valves.SHOW_SOURCES,
        )
        return self._stream(request, turn, __event_call__)

    async def _say(self, body: dict, model: str, sentence: str) -> str | AsyncGenerator:
        """The pipe's own answer (nothing sent to the bridge), streamed when the request streams."""
        answer = ContentTagGuard.whole(sentence)
        if not body.get("stream", False):
            return answer

        async def said() -> str:
            return answer

        return self._one_chunk_stream(model, said)

    async def _one_chunk_stream(self, model: str, answer: Callable[[], Awaitable[str]]) -> AsyncGenerator:
        """An answer the pipe gives itself, streamed like any other: one content chunk, then stop."""
        chunks = ChunkFactory(model)
        yield chunks.content(await answer())
        yield chunks.stop()

    async def _memory(self, identity: dict, label: str, emitter: Emitter, event_call: Any) -> str:
        """`/memory` shows the agent's memory blocks; `/memory <label>` edits one in a dialog.

        Answered from the bridge's memory routes: no Letta run, nothing added to the thread.
        Every outcome is a sentence, and the status line is finished whatever happens.
        """
        if label and event_call is None:
            return MEMORY_NEEDS_UI.format(label=label[:MEMORY_LABEL_ECHO_CHARS])
        status = StatusLine(emitter)
        try:
            await status.show("Reading your agent's memory")
            blocks = _memory_blocks(await self._post_json(ROUTE_MEMORY, identity))
            if not label:
                answer = _memory_markdown(blocks)
            else:
                answer = await self._edit_block(identity, label, blocks, status, event_call)
        except Exception as error:  # noqa: BLE001 - becomes a sentence in the chat
            answer = self._failure(error)
        finally:
            await status.close()
        return ContentTagGuard.whole(answer)

    async def _edit_block(
        self, identity: dict, label: str, blocks: list[dict], status: StatusLine, event_call: Any
    ) -> str:
        """The input dialog pre-filled with the block; on OK the bridge saves the new text."""
        block = next((block for block in blocks if block[FIELD_LABEL] == label), None)
        if block is None:
            return MEMORY_NO_BLOCK.format(label=label[:MEMORY_LABEL_ECHO_CHARS])
        if block[FIELD_READ_ONLY]:
            return MEMORY_READ_ONLY.format(label=label)
        await status.show(f"Editing your {label} memory")
        value = await self._ask(event_call, _edit_dialog(block), self.valves.MEMORY_DIALOG_SECONDS)
        if value is DIALOG_CLOSED or value is DIALOG_TIMED_OUT:
            return MEMORY_DIALOG_CLOSED
        # Cancel answers False; an unchanged text needs no write (and no prompt rebuild in Letta).
        if not isinstance(value, str) or value == block[FIELD_VALUE]:
            return MEMORY_UNCHANGED
        await status.show(f"Saving your {label} memory")
        update = {**identity, FIELD_LABEL: label, FIELD_VALUE: value}
        saved = _memory_block(await self._post_json(ROUTE_MEMORY_UPDATE, update))
        return MEMORY_SAVED.format(label=label, count=f"{len(saved[FIELD_VALUE]):,}")

    @staticmethod
    async def _ask(event_call: Callable[[dict], Awaitable[Any]], dialog: dict, seconds: int) -> Any:
        """The person's answer to a dialog; DIALOG_TIMED_OUT after `seconds`; DIALOG_CLOSED.

        OpenWebUI's event call (socket/main.py get_event_call) returns `{"error": …}` when the
        tab is gone or its own timeout passed; that timeout (WEBSOCKET_EVENT_CALLER_TIMEOUT) is
        unset by default, so it waits forever: `seconds` bounds it.
        """
        try:
            answer = await asyncio.wait_for(event_call(dialog), seconds)
        except asyncio.TimeoutError:
            return DIALOG_TIMED_OUT
        except Exception:  # noqa: BLE001 - a failed socket call: nobody answered
            return DIALOG_CLOSED
        if isinstance(answer, dict) and "error" in answer:
            return DIALOG_CLOSED
        return answer

    async def _post_json(self, route: str, request: dict) -> Any:
        """One JSON request to the bridge, bounded by REQUEST_TIMEOUT; a refusal raises Refused."""
        timeout = aiohttp.ClientTimeout(
            total=self.valves.REQUEST_TIMEOUT, sock_connect=CONNECT_TIMEOUT_SECONDS
        )
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(
                self._url(route), json=request, headers=self._headers(), allow_redirects=False
            ) as response:
                if response.status != 200:
                    raise Refused(await self._refusal(response))
                try:
                    return await response.json(content_type=None)
                except ValueError as error:
                    raise ProtocolError("the answer is not JSON") from error

    async def _complete(self, request: dict, emitter: Emitter = None) -> str:
        """Non-streaming callers get the whole answer, or a sentence, as one string."""
        seconds = self.valves.MAX_TURN_SECONDS
        try:
            # Cancelling the request closes the connection: the bridge then cancels the run.
            return await asyncio.wait_for(self._fetch_answer(request, emitter), seconds)
        except asyncio.TimeoutError:
            return TURN_TOO_LONG.format(seconds=seconds)

    async def _fetch_answer(self, request: dict, emitter: Emitter = None) -> str:
        """The whole answer; approvals the agent asks for are refused (nobody can be asked here)
        and the answer goes on, so the agent is never left waiting."""
        parts: list[str] = []
        for round_ in range(MAX_APPROVAL_ROUNDS):
            payload = await self._post_turn(request)
            if isinstance(payload, str):
                parts.append(payload)
                break
            notice = payload.get(FIELD_NOTICE)
            if isinstance(notice, str) and notice:
                await _notify(emitter, notice)
            answer = payload.get(FIELD_ANSWER)
            parts.append(answer if isinstance(answer, str) else "")
            error = payload.get(FIELD_ERROR)
            if isinstance(error, dict) and isinstance(error.get(FIELD_MESSAGE), str):
                parts.append(error[FIELD_MESSAGE])
                break
            asked = [item for item in payload.get(FIELD_APPROVALS) or [] if isinstance(item, dict)]
            if payload.get(FIELD_STOP_REASON) != "requires_approval" or not asked:
                break
            if round_ == MAX_APPROVAL_ROUNDS - 1:
                parts.append(APPROVAL_KEPT_ASKING)
                break
            request = _going_on(request, [_decision(item, False, APPROVAL_NO_WINDOW) for item in asked])
        return ContentTagGuard.whole("\n\n".join(part.strip() for part in parts if part.strip()))

    async def _post_turn(self, request: dict) -> dict | str:
        """One non-streamed turn from the bridge: its ChatResult, or the sentence for a failure."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_SECONDS)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(
                    self._url(ROUTE_CHAT), json=request, headers=self._headers(), allow_redirects=False
                ) as response:
                    if response.status != 200:
                        return await self._refusal(response)
                    payload = await response.json(content_type=None)
            if not isinstance(payload, dict):
                raise ProtocolError("the answer is not a JSON object")
        except Exception as error:  # noqa: BLE001 - becomes a sentence in the chat
            return self._failure(error)
        return payload

    async def _refusal(self, response: aiohttp.ClientResponse) -> str:
        """The sentence for a bridge answer other than 200; redirects are never followed."""
        if 300 <= response.status < 400:
            return REDIRECTED.format(
                url=self.valves.SERVER_URL,
                status=response.status,
                location=response.headers.get("Location", "nowhere")[:200],
            )
        try:
            payload = await response.json(content_type=None)
        except (ValueError, aiohttp.ClientError):
            payload = None
        return self._http_error(response.status, payload)

    def _http_error(self, status: int, payload: Any) -> str:
        if isinstance(payload, dict) and isinstance(payload.get(FIELD_MESSAGE), str):
            return payload[FIELD_MESSAGE]
        if status == 401:
            return "The bridge server refused the pipe's API key: check the API_KEY valve."
        return f"The bridge server answered with HTTP {status}. Please try again later."

    def _failure(self, error: BaseException) -> str:
        """The sentence the person reads for anything that ended a turn early."""
        if isinstance(error, (Refused, TurnTooLong)):
            return str(error)
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

    async def _stream(self, request: dict, turn: StreamedTurn, event_call: Any = None) -> AsyncGenerator:
        """Bridge events → OpenWebUI chunks: thinking, status lines, answer, readable errors.

        A turn that stops for the person's approval of a tool asks them in OpenWebUI's dialog and
        goes on, in the same answer, with a request carrying their decisions. The stop button
        closes this generator: leaving it closes the bridge connection and the bridge cancels
        the Letta run. Stopped with a dialog open, the request stays open until the chat's next
        message, which the bridge sends with its refusal first: the agent never replies to it
        unseen, and never waits on it.
        """
        sentence: str | None = CUT_SHORT
        try:
            for round_ in range(MAX_APPROVAL_ROUNDS + 1):
                events = self._bridge_events(request)
                sentence, stop_reason, asked = CUT_SHORT, None, []
                try:
                    async for name, data in events:
                        if name == EVENT_DONE:
                            sentence, stop_reason = None, data[FIELD_STOP_REASON]
                            break
                        if name == EVENT_APPROVAL_REQUESTED:
                            asked.append(data)
                            continue
                        for chunk in await turn.handle(name, data):
                            yield chunk
                except Exception as error:  # noqa: BLE001 - every failure becomes a sentence
                    sentence = self._failure(error)
                finally:
                    # Closed before the last words, so a turn that ran too long stops at once.
                    await events.aclose()
                if sentence is not None or stop_reason != "requires_approval" or not asked:
                    break
                if round_ == MAX_APPROVAL_ROUNDS:
                    sentence = APPROVAL_KEPT_ASKING
                    break
                decisions = await self._decide(asked, turn, event_call, last=round_ == MAX_APPROVAL_ROUNDS - 1)
                request = _going_on(request, decisions)
                turn.continue_answer()
            for chunk in turn.finish(sentence):
                yield chunk
        finally:
            await turn.close_statuses()

    async def _decide(self, asked: list[dict], turn: StreamedTurn, event_call: Any, last: bool) -> list[dict]:
        """The person's decision on each tool call, asked one dialog at a time (OpenWebUI keeps
        one pending answer per tab). Refused with a reason for the agent when nobody can answer:
        no window, no answer in time, the tab gone, or (`last`) too many requests in one answer."""
        decisions: list[dict] = []
        for item in asked[:MAX_APPROVALS]:
            if last:
                decision, why = _decision(item, False, APPROVAL_TOO_MANY), "too many requests"
            elif event_call is None:
                decision, why = _decision(item, False, APPROVAL_NO_WINDOW), "no chat window to ask in"
            else:
                await turn.approval_asked(item[FIELD_NAME])
                decision, why = await self._ask_approval(event_call, item)
            decisions.append(decision)
            await turn.approval_decided(decision, why)
        return decisions

    async def _ask_approval(self, event_call: Callable[[dict], Awaitable[Any]], item: dict) -> tuple[dict, str]:
        """One confirmation dialog, bounded by APPROVAL_TIMEOUT_SECONDS; (decision, why for the status)."""
        seconds = self.valves.APPROVAL_TIMEOUT_SECONDS
        answer = await self._ask(event_call, _approval_dialog(item), seconds)
        if answer is DIALOG_TIMED_OUT:
            return _decision(item, False, APPROVAL_TIMED_OUT.format(seconds=seconds)), "no answer in time"
        if answer is DIALOG_CLOSED:
            return _decision(item, False, APPROVAL_TAB_GONE), "the chat window was closed"
        if answer is True or (isinstance(answer, str) and answer != ""):
            return _decision(item, True), ""
        return _decision(item, False, APPROVAL_DECLINED), ""

    async def _bridge_events(self, request: dict) -> AsyncGenerator:
        """The bridge's checked (name, data) events for one message, within MAX_TURN_SECONDS.

        A connection that breaks (or ends without `done`) during an answer the bridge can pick
        up again (its events' ids name a Letta run) is made again with `Last-Event-ID`, up to
        RESUME_ATTEMPTS times, waiting longer each time: the person sees one answer. Whatever
        ends the reading before `done` (the stop button, the time limit, giving up) stops that
        run too, since it goes on without a reader for a while, waiting for one to come back.
        """
        deadline = Deadline(self.valves.MAX_TURN_SECONDS)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=CONNECT_TIMEOUT_SECONDS, sock_read=self.valves.REQUEST_TIMEOUT
        )
        last_id: str | None = None
        finished = False
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                # Only a resumable last id ever leads to a second connection (see below).
                for attempt in range(RESUME_ATTEMPTS + 1):
                    try:
                        async for name, data, event_id in self._one_connection(session, request, deadline, last_id):
                            last_id = event_id or last_id
                            if name == EVENT_DONE:
                                finished = True
                            yield name, data
                            if finished:
                                return
                    except (Refused, aiohttp.ClientError) as error:
                        if not _resumable(last_id) or attempt == RESUME_ATTEMPTS or not _worth_retrying(error):
                            raise
                    else:
                        # Ended without `done`: a bridge shutting down hands its answers over.
                        if not _resumable(last_id) or attempt == RESUME_ATTEMPTS:
                            return
                    await deadline.run(asyncio.sleep(_resume_delay(attempt)))
            finally:
                if not finished and _resumable(last_id):
                    await self._stop_run(session, request, last_id)

    async def _one_connection(
        self, session: aiohttp.ClientSession, request: dict, deadline: "Deadline", last_id: str | None
    ) -> AsyncGenerator:
        """One connection's (name, data, event id) events; with `last_id`, those after it."""
        headers = self._headers()
        if last_id:
            headers["Last-Event-ID"] = last_id
        response = await deadline.run(
            session.post(self._url(ROUTE_CHAT_STREAM), json=request, headers=headers, allow_redirects=False)
        )
        async with response:
            if response.status != 200:
                raise Refused(await self._refusal(response), response.status)
            parser = SseParser()
            decoder = codecs.getincrementaldecoder("utf-8")()
            while chunk := await deadline.run(response.content.readany()):
                for name, raw, event_id in parser.push(decoder.decode(chunk)):
                    yield name, decode_event(name, raw), event_id

    async def _stop_run(self, session: aiohttp.ClientSession, request: dict, last_id: str | None) -> None:
        """Tells the bridge to cancel the run behind an answer left unfinished; best effort, bounded."""
        stop = {
            FIELD_PROTOCOL_VERSION: request[FIELD_PROTOCOL_VERSION],
            FIELD_USER: request[FIELD_USER],
            FIELD_EVENT_ID: last_id,
        }
        for field in (FIELD_TEMPLATE, FIELD_CHAT_ID):
            if field in request:
                stop[field] = request[field]

        async def post() -> None:
            async with session.post(self._url(ROUTE_CHAT_STOP), json=stop, headers=self._headers()) as response:
                await response.read()

        try:
            await asyncio.wait_for(post(), STOP_TIMEOUT_SECONDS)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
