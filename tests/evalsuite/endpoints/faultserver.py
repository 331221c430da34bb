"""A fault-injecting HTTP/1.1 server on 127.0.0.1 for endpoint tests.

Raw asyncio streams rather than an ASGI app, so a test can send exactly the broken
responses real providers send: a body cut short of its Content-Length, a wrong content
type, a body with no length, a request that never gets an answer. Each (method, path) has
a script of behaviours consumed in order; the last one repeats. Every request received is
kept (headers included) so tests can check where the key went.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import hang_guard

HANG_LIMIT_S = 120.0  # a "hang" ends at the latest when the server stops, or after this


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0  # added latency before answering
    truncate_to: int | None = None  # send only this many body bytes, then close
    hang: bool = False  # never answer
    no_length: bool = False  # no Content-Length: the body ends when the connection closes
    trickle_s: float = 0.0  # send the body one byte at a time, this long apart (a trickling server)


def json_reply(obj: Any, status: int = 200, **kw: Any) -> Reply:
    """A JSON answer."""
    return Reply(status, json.dumps(obj).encode(), **kw)


@dataclass
class Received:
    """A request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class FaultServer:
    """Start with ``with FaultServer() as srv:``; ``srv.url`` is its base URL."""

    scripts: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Answer ``method path`` with ``replies`` in order, the last one repeating."""
        self.scripts[(method, path)] = list(replies)

    def __enter__(self) -> FaultServer:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(hang_guard()):
            raise RuntimeError("fault server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in
                       (line.split(":", 1) for line in lines[1:] if ":" in line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            path = target.split("?", 1)[0]
            self.received.append(Received(method, path, headers, body))
            script = self.scripts.get((method, path))
            reply = (script.pop(0) if len(script) > 1 else script[0]) if script else Reply(404, b"{}")
            await self._answer(writer, reply)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.hang:
            await asyncio.sleep(HANG_LIMIT_S)
            return
        head = [f"HTTP/1.1 {reply.status} X", "Connection: close"]
        if reply.content_type:
            head.append(f"Content-Type: {reply.content_type}")
        if not reply.no_length:
            head.append(f"Content-Length: {len(reply.body)}")
        head += [f"{k}: {v}" for k, v in reply.headers]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        body = reply.body[: reply.truncate_to] if reply.truncate_to is not None else reply.body
        if reply.trickle_s:
            await self._trickle(writer, body, reply.trickle_s)
            return
        writer.write(body)
        await writer.drain()

    async def _trickle(self, writer: asyncio.StreamWriter, body: bytes, every_s: float) -> None:
        """One byte per ``every_s``; ends with the body, when the client goes, or at the hang limit."""
        loop = asyncio.get_running_loop()
        end = loop.time() + HANG_LIMIT_S
        for i in range(len(body)):
            if loop.time() > end or writer.is_closing():
                return
            writer.write(body[i:i + 1])
            await writer.drain()
            await asyncio.sleep(every_s)
