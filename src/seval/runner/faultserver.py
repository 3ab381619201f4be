"""A fault-injection test double for OpenAI chat completions, on 127.0.0.1 (tests and bench/).

A raw asyncio HTTP/1.1 server with keep-alive: cheap enough to hold hundreds of concurrent requests with
fixed latency while using little CPU. Faults are drawn per request from a seeded RNG: 429 with Retry-After,
500, hangs, malformed JSON, dropped connections, provider content-filter refusals, and the hostile-but-valid
bodies seen in the wild: a choice without a message, null content, non-text content (a number), content as a
list of text parts, an HTML page with status 200, a plain 400. Answers are canned and
chosen by a hash of the prompt (some refusals, some fake compliance), so the rule critic gives both verdicts
and a re-run gets the same answer for the same prompt.

    python -m seval.runner.faultserver --port 0 --latency 0.2 --p429 0.1 --p500 0.05
    # prints "READY http://127.0.0.1:PORT/v1" on stdout once it listens

Control endpoints: GET /stats (request counts by outcome, in-flight peak), POST /reset, POST /config (a JSON
object of `FaultConfig` fields, applied at once: e.g. {"down": true} to drop every connection).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: canned answers; a prompt's hash picks one. Refusals first, then clearly fake compliance (never real harm).
REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "I cannot assist with this. It could cause harm.",
    "抱歉，我无法提供这方面的帮助。",
)
COMPLIANCE = (
    "Sure, here is how to do it: [FAKE HARMFUL STEPS: step 1 ... redacted]",
    "Of course. First, [FAKE DETAILS redacted]. Then [FAKE STEP redacted].",
    "当然可以：[虚构的有害步骤：第一步……已删除]",
)


@dataclass
class FaultConfig:
    """What the server does; rates are probabilities per chat request (drawn in this order)."""

    latency: float = 0.0  # seconds before answering (also before 429/500 answers)
    jitter: float = 0.0  # uniform extra latency in [0, jitter]
    p429: float = 0.0
    retry_after: float = 1.0  # Retry-After header on 429s (seconds); < 0: no header
    p500: float = 0.0
    p503: float = 0.0
    p_hang: float = 0.0  # never answer (the client must time out)
    p_malformed: float = 0.0  # 200 with a body that is not JSON
    p_drop: float = 0.0  # close the connection without answering
    p_filter: float = 0.0  # 400 with a provider content-filter error
    p_no_message: float = 0.0  # 200 whose choice has no `message`
    p_null_content: float = 0.0  # 200 with `message.content: null`
    p_int_content: float = 0.0  # 200 with `message.content: 42` (not text)
    p_parts_content: float = 0.0  # 200 with content as a list of text parts (valid: the parts are joined)
    p_html: float = 0.0  # 200 with an HTML page (a proxy's error or login page)
    p_400: float = 0.0  # a plain 400 Bad Request
    refusal_share: float = 0.5  # share of prompts answered with a refusal
    down: bool = False  # drop every chat request (the endpoint is "down")
    seed: int = 0

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        for k, v in values.items():
            if k not in names:
                raise ValueError(f"unknown fault setting {k!r}")
            setattr(self, k, type(getattr(self, k))(v))


def canned_answer(prompt: str, refusal_share: float = 0.5) -> str:
    """The same prompt always gets the same answer."""
    h = int.from_bytes(hashlib.blake2b(prompt.encode("utf-8"), digest_size=8).digest(), "big")
    pool = REFUSALS if (h % 1000) < refusal_share * 1000 else COMPLIANCE
    return pool[(h >> 16) % len(pool)]


@dataclass
class ServerStats:
    requests: int = 0  # chat requests received
    outcomes: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    connections: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "outcomes": dict(self.outcomes), "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight, "connections": self.connections}


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _response(status: int, body: bytes, extra: dict[str, str] | None = None,
              content_type: str = "application/json") -> bytes:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}", "Connection: keep-alive"]
    for k, v in (extra or {}).items():
        head.append(f"{k}: {v}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class FaultServer:
    """Serve on 127.0.0.1 in the current event loop: `await start()`, `url`, `await stop()`."""

    def __init__(self, config: FaultConfig | None = None, port: int = 0) -> None:
        self.config = config or FaultConfig()
        self.port = port
        self.stats = ServerStats()
        self.rng = random.Random(self.config.seed)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> FaultServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def __aenter__(self) -> FaultServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- HTTP ------------------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    if line[:15].lower() == "content-length:":
                        length = int(line[15:].strip())
                body = await reader.readexactly(length) if length else b""
                out = await self._route(method, path, body)
                if out is None:  # drop the connection
                    break
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _route(self, method: str, path: str, body: bytes) -> bytes | None:
        path = path.split("?", 1)[0]
        if path.endswith("/chat/completions") and method == "POST":
            return await self._chat(body)
        if path == "/stats":
            return _response(200, json.dumps(self.stats.to_dict()).encode())
        if path == "/reset" and method == "POST":
            self.stats = ServerStats()
            return _response(200, b"{}")
        if path == "/config" and method == "POST":
            try:
                self.config.update(json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                return _response(400, json.dumps({"error": {"message": str(exc)}}).encode())
            if "seed" in json.loads(body or b"{}"):
                self.rng = random.Random(self.config.seed)
            return _response(200, json.dumps(dataclasses.asdict(self.config)).encode())
        if path.endswith("/models"):
            return _response(200, b'{"object":"list","data":[{"id":"fault","object":"model"}]}')
        return _response(404, b'{"error":{"message":"not found"}}')

    def _draw(self) -> str:
        c = self.config
        if c.down:
            return "drop"
        x = self.rng.random()
        for name, p in (("429", c.p429), ("500", c.p500), ("503", c.p503), ("hang", c.p_hang),
                        ("malformed", c.p_malformed), ("drop", c.p_drop), ("filter", c.p_filter),
                        ("no_message", c.p_no_message), ("null_content", c.p_null_content),
                        ("int_content", c.p_int_content), ("parts_content", c.p_parts_content),
                        ("html", c.p_html), ("400", c.p_400)):
            if x < p:
                return name
            x -= p
        return "ok"

    async def _chat(self, body: bytes) -> bytes | None:
        st = self.stats
        st.requests += 1
        outcome = self._draw()
        st.outcomes[outcome] += 1
        if outcome == "drop":
            return None
        st.in_flight += 1
        st.max_in_flight = max(st.max_in_flight, st.in_flight)
        try:
            c = self.config
            delay = c.latency + (self.rng.uniform(0, c.jitter) if c.jitter else 0.0)
            if outcome == "hang":
                await asyncio.sleep(3600)
            if delay:
                await asyncio.sleep(delay)
        finally:
            st.in_flight -= 1
        if outcome == "429":
            extra = {"Retry-After": f"{c.retry_after:g}"} if c.retry_after >= 0 else {}
            return _response(429, b'{"error":{"message":"rate limit exceeded","type":"rate_limit"}}', extra)
        if outcome in ("500", "503"):
            return _response(int(outcome), b'{"error":{"message":"internal error","type":"server_error"}}')
        if outcome == "malformed":
            return _response(200, b'{"choices": [{"message": {"content": "trunc')
        if outcome == "filter":
            return _response(400, b'{"error":{"message":"The response was filtered due to the prompt triggering '
                                  b'content management policy.","code":"content_filter"}}')
        if outcome == "html":
            return _response(200, b"<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>",
                             content_type="text/html")
        if outcome == "400":
            return _response(400, b'{"error":{"message":"invalid request","type":"invalid_request_error"}}')
        try:
            req = json.loads(body)
            messages = req.get("messages") or []
            prompt = str(messages[-1].get("content", "")) if messages else ""
            model = str(req.get("model", "fault"))
        except (ValueError, AttributeError, TypeError):
            return _response(400, b'{"error":{"message":"bad JSON body"}}')
        text = canned_answer(prompt, c.refusal_share)
        usage = {"prompt_tokens": 8 + len(prompt) // 4, "completion_tokens": 4 + len(text) // 4}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        content: Any = text
        if outcome == "null_content":
            content = None
        elif outcome == "int_content":
            content = 42
        elif outcome == "parts_content":
            content = [{"type": "text", "text": part} for part in text.partition(" ")[::2]]
            content.insert(1, {"type": "text", "text": " "})
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content},
                                  "finish_reason": "stop"}
        if outcome == "no_message":
            del choice["message"]
        out = {"id": f"chatcmpl-{st.requests}", "object": "chat.completion", "model": model,
               "choices": [choice], "usage": usage}
        return _response(200, json.dumps(out, ensure_ascii=False).encode("utf-8"))


class SpawnedServer:
    """A fault server in a child process (so its CPU is not the harness's): `url`, `stats()`, `configure()`."""

    def __init__(self, **config: Any) -> None:
        import subprocess

        args = [sys.executable, "-m", "seval.runner.faultserver"]
        for k, v in config.items():
            flag = "--" + k.replace("_", "-")
            if isinstance(v, bool):
                args += [flag] if v else []
            else:
                args += [flag, str(v)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("READY "):
            self.proc.kill()
            raise RuntimeError(f"fault server did not start: {line!r}")
        self.url = line.split()[1]
        self.root = self.url.rsplit("/v1", 1)[0]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        import httpx

        r = httpx.request(method, self.root + path, json=body, timeout=10)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def reset(self) -> None:
        self._call("POST", "/reset")

    def configure(self, **values: Any) -> dict[str, Any]:
        return self._call("POST", "/config", values)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except Exception:
            self.proc.kill()

    def __enter__(self) -> SpawnedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="OpenAI chat-completions fault-injection server (tests, bench)")
    ap.add_argument("--port", type=int, default=0)
    for f in dataclasses.fields(FaultConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            ap.add_argument(flag, action="store_true")
        else:
            ap.add_argument(flag, type=float if f.type in ("float", float) else int, default=f.default)
    ns = vars(ap.parse_args(argv))
    port = ns.pop("port")
    cfg = FaultConfig(**ns)

    async def serve() -> None:
        srv = await FaultServer(cfg, port).start()
        print(f"READY {srv.url}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
