"""A real ``redis-server`` on a free loopback port with a throwaway directory, for the tests and
the benchmark (``bench/fleet.py``). No persistence (``--save ""``, ``--appendonly no``).

``scripts/ensure_redis.sh`` (run by ``make``'s install step) installs Debian's package when the
machine has none; without it, starting a server fails loudly rather than skipping tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

__all__ = ["RedisServer"]

_START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    """Whether a server on ``port`` answers ``PING`` (raw RESP: no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``start()`` / ``stop()``; ``pause()`` / ``resume()`` freeze and thaw it (SIGSTOP /
    SIGCONT: it accepts connections but never answers, as a hung server would)."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: str | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed; run scripts/ensure_redis.sh (make does, when it "
                "sets up the virtualenv) or install Debian's redis-server package"
            )
        self._directory = tempfile.mkdtemp(prefix="aisa-redis-")
        self.port = self.port or _free_port()
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", self._directory, "--daemonize", "no"]
        command += ["--loglevel", "warning"]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                self.stop()
                raise RuntimeError(f"redis-server did not start: {error[-500:]}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop it (the port stays this server's: ``start()`` again serves on it)."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)  # a paused server cannot exit
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if process.stderr is not None:
                process.stderr.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def pause(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
