"""Serving :class:`StandInApp` over HTTP with uvicorn: in a background thread or the foreground.

The background server owns its thread and event loop, so it works the same from plain
sync code, from inside a running asyncio loop (a notebook, an async test) and from a
pytest fixture. The socket is bound here, before uvicorn starts, so the port is known
(and already accepting) the moment :meth:`StandIn.start` returns.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from ._app import StandInApp
from ._scripting import Scripting
from ._steps import STANDIN_API_KEY
from ._wire import DeliberateDropError

if TYPE_CHECKING:
    import uvicorn

_THREAD_NAME = "aisa-standin"
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class _Quiet(logging.Filter):
    """Keeps uvicorn from reporting what the stand-in does on purpose.

    A fault that cuts a connection shows up as "Exception in ASGI application" with a
    traceback; and the background server's start/stop chatter is noise in a test log.
    Real errors (warning and above, any other exception) still get through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], DeliberateDropError):
            return False
        background = threading.current_thread().name.startswith(_THREAD_NAME)
        return not (background and record.levelno < logging.WARNING)


def _quiet_uvicorn() -> None:
    # uvicorn's httptools protocol logs access lines whenever "uvicorn.access" has a
    # handler (pytest attaches some), whatever access_log says; the filter covers that too.
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Quiet) for f in logger.filters):
            logger.addFilter(_Quiet())


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only disables Nagle on accepted sockets whose proto is
    # IPPROTO_TCP, and with Nagle on, a response written as headers + body waits ~40 ms
    # for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def _origin(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _http_protocol() -> str:
    """httptools parses faster than h11: use it when it is installed (and imports)."""
    try:
        importlib.import_module("httptools")
    except ImportError:
        return "h11"
    return "httptools"


def _config(app: StandInApp, *, access_log: bool) -> uvicorn.Config:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    return uvicorn.Config(
        app,
        interface="asgi3",
        http=_http_protocol(),
        lifespan="off",
        log_config=LOGGING_CONFIG if access_log else None,
        access_log=access_log,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=1,
    )


class StandIn(Scripting):
    """The stand-in AIsa gateway, served on loopback HTTP from a background thread.

    Use it as a context manager (sync or async) or call :meth:`start`/:meth:`stop`.
    Point a client at :attr:`base_url` with :attr:`api_key`. The scripting methods
    (``enqueue_*``, ``fail_model``, ``requests``...) are documented on the package.
    Constructor options other than ``host``/``port`` are those of :class:`StandInApp`.
    """

    api_key: str = STANDIN_API_KEY

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        unknown_models: Collection[str] | Callable[[str], bool] | None = None,
        reasoning_models: Iterable[str] = (),
        models: Iterable[str] | None = None,
        record_limit: int | None = 1000,
        created: int | None = None,
        app: StandInApp | None = None,
    ) -> None:
        if app is None:
            app = StandInApp(
                unknown_models=unknown_models,
                reasoning_models=reasoning_models,
                models=models,
                record_limit=record_limit,
                created=created,
            )
        self.app = app
        self._state = app.state
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._failure: BaseException | None = None
        self._lifecycle = threading.Lock()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "stopped"
        return f"<StandIn {where}>"

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the stand-in is not running: call start() or use `with StandIn()`")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without ``/v1``."""
        return _origin(self.host, self.port)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: what an OpenAI-compatible client wants."""
        return self.url + "/v1"

    def start(self) -> StandIn:
        """Bind a port and serve in a background thread; returns once the server is up."""
        import uvicorn

        with self._lifecycle:
            if self._server is not None:
                return self
            _quiet_uvicorn()
            sock = _bind(self.host, self._requested_port)
            port = sock.getsockname()[1]
            server = uvicorn.Server(_config(self.app, access_log=False))
            self._failure = None
            thread = threading.Thread(
                target=self._serve, args=(server, sock), name=f"{_THREAD_NAME}-{port}", daemon=True
            )
            thread.start()
            deadline = time.monotonic() + _START_TIMEOUT
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    server.should_exit = server.force_exit = True
                    thread.join(_STOP_TIMEOUT)
                    sock.close()
                    raise RuntimeError("the stand-in server did not start") from self._failure
                time.sleep(0.001)
            self._server, self._thread, self._sock, self._port = server, thread, sock, port
        return self

    def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by start(); a thread cannot raise to it
            self._failure = exc

    def stop(self) -> None:
        """Stop serving and release the port. Open connections are cut. Idempotent."""
        with self._lifecycle:
            server, thread, sock = self._server, self._thread, self._sock
            if server is None:
                return
            server.should_exit = True
            server.force_exit = True  # do not wait for keep-alive connections to idle out
            if thread is not None:
                thread.join(_STOP_TIMEOUT)
            if sock is not None:
                sock.close()
            self._server = self._thread = self._sock = self._port = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> StandIn:
        # start() blocks for a few milliseconds; keep the caller's loop responsive.
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    @staticmethod
    def serve_forever(
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        app: StandInApp | None = None,
        ready: Callable[[str], None] | None = None,
        access_log: bool = False,
    ) -> None:
        """Serve in the foreground until interrupted (Ctrl-C); ``ready`` gets the base URL."""
        import uvicorn

        _quiet_uvicorn()
        sock = _bind(host, port)
        try:
            server = uvicorn.Server(_config(app or StandInApp(), access_log=access_log))
            if ready is not None:
                ready(_origin(host, sock.getsockname()[1]) + "/v1")
            server.run(sockets=[sock])
        finally:
            sock.close()
