"""``evalsuite serve``'s app on loopback inside the test process: a real server (uvicorn on
127.0.0.1) around a real :class:`~evalsuite.run.serve.PipelineRunner`, without a fresh
interpreter's torch + diffusers import. ``python -m evalsuite serve`` itself is started as a
user would in tests/evalsuite/endpoints/test_serve.py and test_serve_families.py."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

from evalsuite.run.serve import PipelineRunner, ServeConfig, build_app
from tests.conftest import hang_guard


@contextlib.contextmanager
def serving(config: ServeConfig) -> Iterator[str]:
    """Serve ``config`` on 127.0.0.1 for the block; yield its base URL (``http://.../v1``)."""
    import uvicorn

    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(build_app(PipelineRunner(config)), log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + hang_guard()
    while not server.started:  # bound, not a race: the socket already accepts connections
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(hang_guard())
        sock.close()
