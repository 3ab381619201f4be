"""A small HTTP/1.1 keep-alive client on raw asyncio streams, for JSON POSTs to one base URL.

Why: httpx's connection pool costs O(connections) per request (8 ms CPU per request at 64 in flight on
this project's 2-core machine, against 0.06 ms for raw streams), which caps how fast a benchmark can drive
an endpoint. This client does only what the OpenAI-compatible backend needs: POST a body, read a status,
headers and a body (Content-Length, chunked, or until close; gzip/deflate decoded), over http or https,
with a per-request timeout. Proxies are not supported: the backend falls back to httpx when one is set.
A request is sent again on a new connection only when it could not be written at all (the reused connection
was already closed): once written, the server may have received (and billed) it, so a failure is reported.
bench/bench_runner.py measured it against httpx and aiohttp (SEVAL_HTTP_CLIENT=httpx; aiohttp in git history).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import zlib
from collections import deque
from urllib.parse import urlsplit


class HTTPError(ConnectionError):
    """The connection failed or the answer was not valid HTTP/1.1."""


class Response:
    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers  # lower-case names
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class _NotSent(ConnectionError):
    """Writing the request failed: the server cannot have received it, so it may be sent again."""


class _Conn:
    __slots__ = ("reader", "used", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = False  # has answered at least one request (a stale keep-alive may fail silently)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class FastHTTPClient:
    """POSTs to `base_url` with a pool of at most `max_connections` keep-alive connections."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, max_connections: int = 256,
                 timeout: float = 120.0, connect_timeout: float = 10.0) -> None:
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"bad base URL {base_url!r}")
        self.host = u.hostname
        self.tls = u.scheme == "https"
        self.port = u.port or (443 if self.tls else 80)
        self.prefix = u.path.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal keeps its brackets
        host_header = host if u.port is None else f"{host}:{self.port}"
        base = {"Host": host_header, "User-Agent": "seval", "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive", **(headers or {})}
        self._head_tail = "".join(f"{k}: {v}\r\n" for k, v in base.items()
                                  if k.lower() not in ("content-length", "content-type")).encode("latin-1")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._idle: deque[_Conn] = deque()
        self._sem = asyncio.Semaphore(max_connections)
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if self.tls else None
        self._closed = False

    async def _open(self) -> _Conn:
        async with asyncio.timeout(self.connect_timeout):
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self._ssl, server_hostname=self.host if self.tls else None,
                limit=1 << 20)
        return _Conn(reader, writer)

    def _take_idle(self) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()  # most recently used first: least likely to have been closed
            if conn.reader.at_eof() or conn.writer.is_closing():
                conn.close()
                continue
            return conn
        return None

    async def post(self, path: str, body: bytes, content_type: str = "application/json",
                   timeout: float | None = None) -> Response:
        """One POST; raises TimeoutError or HTTPError (a ConnectionError)."""
        if self._closed:
            raise HTTPError("client is closed")
        request = (f"POST {self.prefix}{path} HTTP/1.1\r\nContent-Type: {content_type}\r\n"
                   f"Content-Length: {len(body)}\r\n").encode("latin-1") + self._head_tail + b"\r\n" + body
        async with self._sem:
            async with asyncio.timeout(timeout or self.timeout):
                for _ in range(2):
                    conn = self._take_idle()
                    fresh = conn is None
                    if conn is None:
                        try:
                            conn = await self._open()
                        except OSError as exc:
                            raise HTTPError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
                    try:
                        resp, keep = await self._exchange(conn, request)
                    except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
                        conn.close()
                        if not fresh and isinstance(exc, _NotSent):
                            continue  # a stale keep-alive connection refused the write: nothing was sent
                        if isinstance(exc, HTTPError):
                            raise
                        raise HTTPError(f"connection to {self.host}:{self.port} failed: "
                                        f"{type(exc).__name__}: {exc or 'closed without an answer'}") from None
                    except BaseException:  # timeout or cancellation mid-request: the connection is unusable
                        conn.close()
                        raise
                    if keep:
                        conn.used = True
                        self._idle.append(conn)
                    else:
                        conn.close()
                    return resp
                raise HTTPError(f"connection to {self.host}:{self.port} could not take the request twice")

    async def _exchange(self, conn: _Conn, request: bytes) -> tuple[Response, bool]:
        try:
            conn.writer.write(request)
            await conn.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise _NotSent(f"connection to {self.host}:{self.port} closed before the request was written: "
                           f"{type(exc).__name__}") from None
        r = conn.reader
        try:
            head = await r.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise HTTPError("response headers too large") from None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise HTTPError(f"not an HTTP response: {lines[0][:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        keep = parts[0] != "HTTP/1.0" and headers.get("connection", "").lower() != "close"
        if status in (204, 304) or 100 <= status < 200:
            content = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            content = await self._read_chunked(r)
        elif "content-length" in headers:
            try:
                n = int(headers["content-length"])
            except ValueError:
                raise HTTPError("bad Content-Length") from None
            content = await r.readexactly(n)
        else:
            content = await r.read()
            keep = False
        enc = headers.get("content-encoding", "").lower()
        if enc in ("gzip", "deflate") and content:
            try:
                content = zlib.decompress(content, 47 if enc == "gzip" else 15)
            except zlib.error:
                try:
                    content = zlib.decompress(content, -15)
                except zlib.error as exc:
                    raise HTTPError(f"bad {enc} body: {exc}") from None
        return Response(status, headers, content), keep

    @staticmethod
    async def _read_chunked(r: asyncio.StreamReader) -> bytes:
        out = bytearray()
        while True:
            size_line = await r.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HTTPError("bad chunk size") from None
            if size == 0:
                while (await r.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return bytes(out)
            out += await r.readexactly(size)
            await r.readexactly(2)

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()


def proxy_configured(url: str) -> bool:
    """True when the environment routes `url` through a proxy (then httpx, which supports proxies, is used)."""
    from urllib.request import getproxies, proxy_bypass

    u = urlsplit(url)
    proxies = getproxies()
    if not (proxies.get(u.scheme) or proxies.get("all")):
        return False
    return not proxy_bypass(u.hostname or "")
