"""serve.py gives the socket uvicorn's supervisor binds (WORKERS > 1) its TCP protocol number, so
asyncio turns TCP_NODELAY on for every accepted connection, as it does for a single worker and as
uvloop does (serve.keep_tcp_nodelay). Checked with uvicorn's own Config.bind_socket and asyncio's
own server, under CPython and PyPy (the PyPy variants serve on asyncio); without the fix the same
check finds Nagle's algorithm on."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from uvicorn.config import Config

import serve
from processes import LOOPBACK


@pytest.fixture
def uvicorn_bind_socket() -> Iterator[None]:
    """Config.bind_socket as uvicorn has it, put back after the test (the fix replaces it)."""
    original = Config.bind_socket
    yield
    Config.bind_socket = original  # type: ignore[method-assign]


def bound_socket() -> socket.socket:
    return Config(app="baseline.baseline_app:app", host=LOOPBACK, port=0).bind_socket()


def accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection asyncio's own server accepted on `listener`."""

    async def accept_one() -> int:
        made: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Report(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                made.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Report, sock=listener)
        try:
            port = listener.getsockname()[1]
            _, writer = await asyncio.open_connection(LOOPBACK, port)
            value = await asyncio.wait_for(made, 10)
            writer.close()
            return value
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(accept_one())


def test_uvicorn_alone_binds_a_socket_whose_connections_keep_nagle(uvicorn_bind_socket):
    """What the fix is for: uvicorn's bound socket has protocol number 0, and asyncio leaves
    TCP_NODELAY off on what it accepts (uvicorn issue #3149)."""
    listener = bound_socket()
    assert listener.proto == 0
    assert accepted_nodelay(listener) == 0


def test_serve_binds_a_tcp_socket_whose_connections_get_tcp_nodelay(uvicorn_bind_socket):
    serve.keep_tcp_nodelay()
    listener = bound_socket()
    assert listener.family == socket.AF_INET
    assert listener.proto == socket.IPPROTO_TCP
    assert listener.getsockname()[0] == LOOPBACK
    assert accepted_nodelay(listener) != 0
