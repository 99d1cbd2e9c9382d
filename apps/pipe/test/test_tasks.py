"""OpenWebUI's background tasks are answered by the pipe itself, from the chat, never by the agent."""

import asyncio
import json

import pytest
from harness.openwebui import chat

# Nothing listens here: a task that tried to reach the bridge would fail loudly.
OFFLINE = {"SERVER_URL": "http://127.0.0.1:9", "API_KEY": "k"}


def task(pipe, name: str, text: str) -> dict:
    seen = asyncio.run(chat(pipe, text, valves=OFFLINE, task=name))
    return json.loads(seen.returned)


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("Explain derivatives to me please", "Derivatives"),
        ("Can you help me understand photosynthesis in plants?", "Photosynthesis in plants"),
        ("what's the capital of France?", "What's the capital of France"),
        ("Please write a haiku about autumn leaves falling slowly in the cold wind", "Write a haiku about autumn leaves"),
        ("hi! could you tell me about the French Revolution. I have an exam.", "The French Revolution"),
        ("¿Qué es una derivada? 🤔", "¿Qué es una derivada"),
        ("Hello!", "Hello"),
        ("Summarise https://example.org/a-very-long-path/that-goes-on-and-on/and-on-and-on-forever", "Summarise"),
    ],
)
def test_the_title_is_the_persons_own_words_without_boilerplate(pipe, message, title):
    assert task(pipe, "title_generation", message) == {"title": title}


def test_the_title_is_never_the_task_prompt_and_stays_short(pipe):
    long_question = "Why do " + "very " * 40 + "big stars collapse into black holes?"
    title = task(pipe, "title_generation", long_question)["title"]
    assert "Task" not in title
    assert len(title) <= 50
    assert title == "Why do very very very very"


def test_tags_and_follow_ups_are_honestly_empty(pipe):
    assert task(pipe, "tags_generation", "Explain derivatives") == {"tags": []}
    assert task(pipe, "follow_up_generation", "Explain derivatives") == {"follow_ups": []}
