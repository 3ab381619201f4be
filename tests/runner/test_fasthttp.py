"""The small keep-alive HTTP client: chunked and gzip bodies, stale keep-alive connections, bad answers."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from seval.models.fasthttp import FastHTTPClient, HTTPError


async def serve(handler: object) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    n = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1])
    return await reader.readexactly(n)


async def test_chunked_gzip_body_and_headers() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = await read_request(reader)
        data = gzip.compress(b'{"echo": ' + body + b"}")
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (data[:7], data[7:]))
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
                     b"X-Test: yes\r\n\r\n" + chunks + b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server, url = await serve(handler)
    client = FastHTTPClient(url, {"Authorization": "Bearer k"})
    try:
        resp = await client.post("/chat/completions", b'{"a": 1}')
    finally:
        await client.aclose()
        server.close()
    assert resp.status_code == 200 and resp.headers["x-test"] == "yes"
    assert resp.content == b'{"echo": {"a": 1}}'


async def test_stale_keepalive_connection_is_retried_once_transparently() -> None:
    served = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await read_request(reader)
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        # the server then drops the connection after a keep-alive answer: the next request must reconnect
        writer.close()

    server, url = await serve(handler)
    client = FastHTTPClient(url)
    try:
        assert (await client.post("/x", b"{}")).content == b"ok"
        await asyncio.sleep(0.05)
        assert (await client.post("/x", b"{}")).content == b"ok"
    finally:
        await client.aclose()
        server.close()
    assert served == 2


async def test_garbage_and_refused_connections_raise_http_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-nope\r\n\r\n")
        await writer.drain()
        writer.close()

    server, url = await serve(handler)
    client = FastHTTPClient(url)
    try:
        with pytest.raises(HTTPError, match="not an HTTP response"):
            await client.post("/x", b"{}")
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
    client = FastHTTPClient(url)  # nothing listens there any more
    with pytest.raises(HTTPError, match="cannot connect"):
        await client.post("/x", b"{}")


async def test_timeout_covers_a_server_that_never_answers() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    server, url = await serve(handler)
    client = FastHTTPClient(url, timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await client.post("/x", b"{}")
    finally:
        await client.aclose()
        server.close()
