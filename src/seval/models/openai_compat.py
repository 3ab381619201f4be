"""OpenAI-compatible chat completions over HTTP: vLLM, Ollama, llama.cpp server, hosted APIs.

`openai-compatible:<base url>#<model>`, `openai:<model>` and `ollama:<model>`. The API key is read from the
environment at call time (never stored in configs, run stores or reports); userinfo in the URL
(`http://user:KEY@host/v1`) is sent as HTTP Basic auth when no key is set, and never written anywhere.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from seval.errors import SevalError
from seval.models.base import MODELS, ModelBackend
from seval.records import Completion, ErrorKind, GenParams, Message, ModelCallError, Usage
from seval.spec import check_url, redact_url, spec_error

_FILTER_MARKERS = ("content_filter", "content_policy", "content management policy", "safety system",
                   "responsibleaipolicyviolation", "data_inspection_failed")


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def classify_http_error(status: int, body: str, headers: Any = None) -> ModelCallError:
    """Map an HTTP failure to a typed error (429 -> rate_limited with Retry-After, 5xx -> server_error...)."""
    snippet = body[:300].replace("\n", " ")
    low = body.lower()
    if status == 429:
        return ModelCallError(ErrorKind.RATE_LIMITED, f"HTTP 429 {snippet}", _retry_after(headers), status)
    if status in (401, 403) and not any(m in low for m in _FILTER_MARKERS):
        return ModelCallError(ErrorKind.AUTH, f"HTTP {status} {snippet}", status=status)
    if status in (408, 504):
        return ModelCallError(ErrorKind.TIMEOUT, f"HTTP {status} {snippet}", status=status)
    if status >= 500:
        return ModelCallError(ErrorKind.SERVER_ERROR, f"HTTP {status} {snippet}", _retry_after(headers), status)
    if any(m in low for m in _FILTER_MARKERS):
        return ModelCallError(ErrorKind.CONTENT_FILTER, f"HTTP {status} {snippet}", status=status)
    return ModelCallError(ErrorKind.BAD_REQUEST, f"HTTP {status} {snippet}", status=status)


class OpenAICompatible(ModelBackend):
    """Chat completions against any server that speaks the OpenAI API."""

    default_concurrency = 16

    def __init__(self, spec: str, base_url: str, model: str, api_key_env: str | None = None,
                 timeout: float = 120.0, extra_body: dict[str, Any] | None = None,
                 max_connections: int = 256) -> None:
        super().__init__(spec)
        base_url, self._userinfo = check_url(base_url, "model", spec)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.extra_body = extra_body or {}
        self.max_connections = max_connections
        self._client: Any = None
        self._client_loop: Any = None

    def config(self) -> dict[str, Any]:
        return {"spec": self.spec, "base_url": self.base_url, "model": self.model, "extra_body": self.extra_body}

    def _api_key(self) -> str | None:
        names = [self.api_key_env] if self.api_key_env else ["SEVAL_API_KEY", "OPENAI_API_KEY"]
        for name in names:
            if name and os.environ.get(name):
                return os.environ[name]
        return None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = self._api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        elif self._userinfo is not None:
            import base64

            basic = base64.b64encode(":".join(self._userinfo).encode("utf-8")).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
        return headers

    def _client_kind(self) -> str:
        """`fast` (raw asyncio, the default: bench/bench_runner.py measured 1.13x ideal against httpx's 5.3x and
        aiohttp's 1.43x) or `httpx` (proxies, or SEVAL_HTTP_CLIENT=httpx)."""
        if os.environ.get("SEVAL_HTTP_CLIENT", "").lower() == "httpx":
            return "httpx"
        return "fast" if self._use_fast_client() else "httpx"

    def _use_fast_client(self) -> bool:
        """Raw-asyncio keep-alive client unless a proxy is configured or SEVAL_HTTP_CLIENT=httpx."""
        if os.environ.get("SEVAL_HTTP_CLIENT", "").lower() == "httpx":
            return False
        from seval.models.fasthttp import proxy_configured

        return not proxy_configured(self.base_url)

    def _get_client(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._client is not None and self._client_loop is not loop:
            # connections belong to the loop that opened them: a new asyncio.run() needs a new client
            self._client = None
        self._client_loop = loop
        if self._client is None:
            if self._client_kind() == "fast":
                from seval.models.fasthttp import FastHTTPClient

                self._client = FastHTTPClient(self.base_url, self._headers(), max_connections=self.max_connections,
                                              timeout=self.timeout, connect_timeout=min(10.0, self.timeout))
                return self._client
            import httpx

            headers = self._headers()
            limits = httpx.Limits(max_connections=self.max_connections,
                                  max_keepalive_connections=self.max_connections)
            self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers, limits=limits,
                                             timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)))
        return self._client

    def request_body(self, messages: list[Message], params: GenParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = params.stop
        if params.logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = 5
        body.update(self.extra_body)
        return body

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        client = self._get_client()
        if not hasattr(client, "request"):  # the fast client
            return await self._generate_fast(client, messages, params)
        import httpx

        t0 = time.perf_counter()
        try:
            resp = await client.post("/chat/completions", json=self.request_body(messages, params))
        except httpx.TimeoutException as exc:
            raise ModelCallError(ErrorKind.TIMEOUT, f"no answer within {self.timeout:g}s ({type(exc).__name__})") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise ModelCallError(ErrorKind.CONNECTION, f"{type(exc).__name__}: {exc}") from None
        latency = time.perf_counter() - t0
        if resp.status_code >= 400:
            raise classify_http_error(resp.status_code, resp.text, resp.headers)
        return parse_chat_response(resp.content, latency, self.model)

    async def _generate_fast(self, client: Any, messages: list[Message], params: GenParams) -> Completion:
        from seval.models.fasthttp import HTTPError

        body = json.dumps(self.request_body(messages, params), ensure_ascii=False).encode("utf-8")
        t0 = time.perf_counter()
        try:
            resp = await client.post("/chat/completions", body, timeout=self.timeout)
        except TimeoutError:
            raise ModelCallError(ErrorKind.TIMEOUT, f"no answer within {self.timeout:g}s") from None
        except (HTTPError, OSError) as exc:
            raise ModelCallError(ErrorKind.CONNECTION, str(exc)[:300]) from None
        latency = time.perf_counter() - t0
        if resp.status_code >= 400:
            raise classify_http_error(resp.status_code, resp.text, resp.headers)
        return parse_chat_response(resp.content, latency, self.model)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def parse_chat_response(content: bytes, latency: float, model: str) -> Completion:
    """Parse a chat-completions body; garbage, an empty choice list or a choice without text (no message, null
    or non-text content) is a typed `malformed_response`: never an ok answer, so never judged safe."""
    try:
        data = json.loads(content)
        choice = data["choices"][0]
        message = choice.get("message")
        finish = choice.get("finish_reason")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ModelCallError(ErrorKind.MALFORMED, f"unparsable completion: {content[:200]!r}") from None
    if finish == "content_filter":
        raise ModelCallError(ErrorKind.CONTENT_FILTER, "the provider's content filter stopped the answer")
    if not isinstance(message, dict):
        raise ModelCallError(ErrorKind.MALFORMED, f"completion without a message (no text): {content[:200]!r}")
    text = message.get("content")
    if text is None and message.get("refusal"):
        raise ModelCallError(ErrorKind.CONTENT_FILTER, f"provider refusal: {str(message['refusal'])[:200]}")
    text = _content_text(text)
    if text is None:
        raise ModelCallError(ErrorKind.MALFORMED, f"completion without text content: {content[:200]!r}")
    usage_d = data.get("usage") or {}
    usage = Usage(int(usage_d.get("prompt_tokens") or 0), int(usage_d.get("completion_tokens") or 0))
    first: dict[str, float] | None = None
    lp = choice.get("logprobs")
    if isinstance(lp, dict) and lp.get("content"):
        tok0 = lp["content"][0]
        first = {alt["token"]: float(alt["logprob"]) for alt in tok0.get("top_logprobs") or []}
        first.setdefault(tok0.get("token", ""), float(tok0.get("logprob", 0.0)))
    return Completion(text=text, model=str(data.get("model") or model), finish_reason=finish, usage=usage,
                      latency_s=latency, first_token_logprobs=first)


def _content_text(content: Any) -> str | None:
    """`content` as text: a string, or a list of text parts joined; None for anything else (null, a number,
    only non-text parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") if isinstance(p, dict) else p for p in content]
        texts = [p for p in parts if isinstance(p, str)]
        return "".join(texts) if texts else None
    return None


#: the options an HTTP backend takes (model options / `-o key=value`)
OPTIONS = ("api_key_env", "timeout", "extra_body", "max_connections")


def check_options(spec: str, options: dict[str, Any]) -> None:
    """Unknown options are a clear error naming the valid ones (not a TypeError from the constructor)."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise SevalError(f"model {redact_url(spec)!r}: unknown option(s) {', '.join(unknown)}; valid: {', '.join(OPTIONS)}")
    timeout = options.get("timeout")
    if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
        raise SevalError(f"model {redact_url(spec)!r}: timeout must be a number of seconds > 0, got {timeout!r}")


@MODELS.register("openai-compatible")
def _openai_compatible(spec: str, rest: str, **options: Any) -> OpenAICompatible:
    check_options(spec, options)
    if "#" not in rest:
        raise spec_error("model", spec, "expected openai-compatible:<base url>#<model name>")
    base_url, model = rest.rsplit("#", 1)
    if not model:
        raise spec_error("model", spec, "the model name after '#' is empty")
    return OpenAICompatible(spec, base_url, model, **options)


@MODELS.register("openai")
def _openai(spec: str, rest: str, **options: Any) -> OpenAICompatible:
    check_options(spec, options)
    if not rest.strip():
        raise spec_error("model", spec, "expected openai:<model name>, e.g. openai:gpt-4o-mini")
    options.setdefault("api_key_env", "OPENAI_API_KEY")
    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
    return OpenAICompatible(spec, base, rest, **options)


@MODELS.register("ollama")
def _ollama(spec: str, rest: str, **options: Any) -> OpenAICompatible:
    check_options(spec, options)
    if not rest.strip():
        raise spec_error("model", spec, "expected ollama:<model name>, e.g. ollama:llama3.2")
    base = os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434").rstrip("/")
    if not base.startswith("http"):
        base = "http://" + base
    return OpenAICompatible(spec, base + "/v1", rest, **options)
