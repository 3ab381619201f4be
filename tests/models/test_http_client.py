"""The raw-asyncio HTTP client: a correct Host header for IPv6 literals, and a POST that reached the server is
never sent again by the client itself (a billed request must not go twice)."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from seval.models.fasthttp import FastHTTPClient, HTTPError

OK = json.dumps({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}).encode()


def _answer() -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(OK)).encode()
            + b"\r\nConnection: keep-alive\r\n\r\n" + OK)


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    n = next(int(ln.split(b":", 1)[1]) for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length"))
    await reader.readexactly(n)
    return head


def _ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_available(), reason="no IPv6 loopback here")
async def test_ipv6_host_header_is_bracketed() -> None:
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await _read_request(reader))
        writer.write(_answer())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "::1", 0)
    port = server.sockets[0].getsockname()[1]
    client = FastHTTPClient(f"http://[::1]:{port}/v1")
    try:
        resp = await client.post("/chat/completions", b"{}")
    finally:
        await client.aclose()
        server.close()
    assert resp.status_code == 200
    host = next(ln for ln in heads[0].split(b"\r\n") if ln.lower().startswith(b"host:"))
    assert host == f"Host: [::1]:{port}".encode()  # was "Host: ::1:PORT"


async def test_a_post_the_server_received_is_not_sent_again() -> None:
    """The server reads the second request on a kept-alive connection, then drops it without an answer."""
    received = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal received
        served = 0
        try:
            while True:
                await _read_request(reader)
                received += 1
                served += 1
                if received == 2:
                    writer.close()  # got it (and could have billed it), answers nothing
                    return
                writer.write(_answer())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = FastHTTPClient(f"http://127.0.0.1:{port}/v1")
    try:
        assert (await client.post("/chat/completions", b"{}")).status_code == 200
        with pytest.raises(HTTPError):
            await client.post("/chat/completions", b"{}")
        await asyncio.sleep(0.05)
        assert received == 2  # was 3: the client re-sent it on a new connection
    finally:
        await client.aclose()
        server.close()


async def test_connection_refused_is_an_http_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = FastHTTPClient(f"http://127.0.0.1:{port}/v1", connect_timeout=2.0)
    with pytest.raises(HTTPError, match="cannot connect"):
        await client.post("/chat/completions", b"{}")
    await client.aclose()
