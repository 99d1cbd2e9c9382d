"""The real Letta tier: bridge + real Letta 0.16.8 + scripted fake model, started by src/run.ts."""

import json
import os
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(os.environ.get("LETTA_TIER_REPO") or Path(__file__).resolve().parents[3])
sys.path.insert(0, str(REPO / "apps" / "pipe" / "test"))
PIPE_FILE = str(REPO / "apps" / "pipe" / "dist" / "letta_pipe.py")

if "LETTA_TIER_BRIDGE_URL" not in os.environ:
    pytest.exit("run these tests with `bun run test:letta` (it starts Letta, the bridge and the fake model)", 2)


def http(method: str, url: str, body: object = None, timeout: float = 30) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_for(condition, what: str, timeout: float = 30.0, every: float = 0.25):
    """Polls `condition` until it returns something truthy; fails with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Tier:
    """URLs of the running stack and the calls tests make to inspect and steer it."""

    def __init__(self) -> None:
        self.bridge_url = os.environ["LETTA_TIER_BRIDGE_URL"]
        self.api_key = os.environ["LETTA_TIER_API_KEY"]
        self.letta_url = os.environ["LETTA_TIER_LETTA_URL"]
        self.fake_url = os.environ["LETTA_TIER_FAKE_URL"]
        self.control_url = os.environ["LETTA_TIER_CONTROL_URL"]
        self.can_kill = os.environ.get("LETTA_TIER_CAN_KILL") == "1"
        # The bridge of a second Letta, one with Redis (it keeps runs); empty when there is none.
        self.redis_bridge_url = os.environ.get("LETTA_TIER_REDIS_BRIDGE_URL", "")
        self.redis_letta_url = os.environ.get("LETTA_TIER_REDIS_LETTA_URL", "")

    @property
    def valves(self) -> dict:
        return {"SERVER_URL": self.bridge_url, "API_KEY": self.api_key}

    @staticmethod
    def marker() -> str:
        """A word unique to one test: the fake model answers the conversation carrying it."""
        return "MK" + uuid.uuid4().hex[:10]

    def script(self, match: str, replies: list) -> None:
        http("POST", self.fake_url + "/_fake/scripts", {"match": match, "replies": replies})

    def model_calls(self, match: str) -> list:
        return http("GET", self.fake_url + "/_fake/calls?" + urllib.parse.urlencode({"match": match}))

    def letta(self, path: str, base: str = "", **query) -> object:
        url = (base or self.letta_url) + path
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        return http("GET", url)

    def agents_of(self, user_id: str) -> list:
        return self.letta(
            "/v1/agents/", tags=[f"owui-user:{user_id}", "template:tutor"], match_all_tags="true", limit=50
        )

    def runs_of(self, agent_id: str) -> list:
        return self.letta("/v1/runs/", agent_id=agent_id, limit=50)

    def restart_bridge(self, bridge: str = "", how: str = "stop") -> None:
        """Stops (SIGTERM, or SIGKILL with how="kill") a bridge and starts it again on its port."""
        query = urllib.parse.urlencode({"bridge": bridge, "how": how})
        http("POST", self.control_url + "/restart-bridge?" + query, {}, timeout=60)

    def kill_letta(self) -> None:
        http("POST", self.control_url + "/kill-letta", {}, timeout=30)


@pytest.fixture(scope="session")
def tier() -> Tier:
    return Tier()


@pytest.fixture
def pipe():
    from harness.openwebui import load_pipe

    instance, _ = load_pipe(PIPE_FILE)
    return instance


def readable_sentence(text: str) -> str:
    """The last line of an answer, checked to be a sentence a student can read."""
    assert text.strip(), "the answer is empty"
    last = text.strip().splitlines()[-1]
    assert last[0].isupper() and last.endswith((".", "!")), last
    assert "Traceback" not in text and "Error:" not in text and "{" not in last, text
    return last
