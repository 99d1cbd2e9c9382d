import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
PIPE_FILE = str(HERE.parent / "dist" / "letta_pipe.py")


class Stack:
    """The real bridge + letta-sim, started by test/stack.ts on free loopback ports."""

    def __init__(self, info: dict) -> None:
        self.server_url = info["serverUrl"]
        self.restarted_server_url = info["restartedServerUrl"]
        self.patient_server_url = info["patientServerUrl"]
        self.letta_down_url = info["lettaDownUrl"]
        self.sim_url = info["simUrl"]
        self.api_key = info["apiKey"]
        self.fixtures = info["fixtures"]
        self.fixture_dir = info["fixtureDir"]
        self.scenarios = info["scenarios"]

    @property
    def valves(self) -> dict:
        return {"SERVER_URL": self.server_url, "API_KEY": self.api_key}

    def _sim(self, method: str, path: str, body: dict | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.sim_url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def enqueue(self, steps: list) -> None:
        self._sim("POST", "/_sim/enqueue", {"scenario": steps})

    def requests(self) -> list:
        return self._sim("GET", "/_sim/requests")

    def runs(self) -> list:
        """Each kept Letta run, oldest first: its conversation and the thread it was given (RunView)."""
        return self._sim("GET", "/_sim/runs")

    def state(self) -> dict:
        return self._sim("GET", "/_sim/state")

    def wait_for_cancels(self, count: int, within: float = 5.0) -> int:
        """The number of Letta runs cancelled so far, once it reaches `count` or `within` passes."""
        started = time.monotonic()
        while len(self.state()["cancels"]) < count and time.monotonic() - started < within:
            time.sleep(0.02)
        return len(self.state()["cancels"])


@pytest.fixture(scope="session")
def stack():
    process, info = _start("stack.ts")
    yield Stack(info)
    _stop(process)


def _start(script: str) -> tuple[subprocess.Popen, dict]:
    """Starts a TypeScript stack script; its first stdout line describes what it started."""
    process = subprocess.Popen(
        ["bun", str(HERE / script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=HERE, env=os.environ.copy()
    )
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError(f"test/{script} did not start")
    return process, json.loads(line)


def _stop(process: subprocess.Popen) -> None:
    process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


class ReplicaStack(Stack):
    """Two bridge processes on one Redis behind a round-robin proxy (test/replica_stack.ts)."""

    def __init__(self, info: dict) -> None:
        self.proxy_url = info["proxyUrl"]
        self.sim_url = info["simUrl"]
        self.api_key = info["apiKey"]
        self.replicas = info["replicas"]
        self.slow_answer = info["slowAnswer"]

    @property
    def valves(self) -> dict:
        return {"SERVER_URL": self.proxy_url, "API_KEY": self.api_key}

    def streaming_replica(self) -> dict | None:
        """The replica an answer is streaming from now, as the proxy sees it."""
        with urllib.request.urlopen(self.proxy_url + "/_proxy/open", timeout=10) as response:
            open_streams = json.loads(response.read())
        return next((r for r in self.replicas if open_streams.get(r["url"], 0) > 0), None)


@pytest.fixture(scope="session")
def replica_stack():
    process, info = _start("replica_stack.ts")
    yield ReplicaStack(info)
    _stop(process)


@pytest.fixture
def pipe():
    from harness.openwebui import load_pipe

    instance, _ = load_pipe(PIPE_FILE)
    return instance
