"""A real `tidepool serve` process on a free port, for end-to-end and crash tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

# The two process layouts: everything in one process, and two gateway worker processes (HTTP,
# signatures) in front of the engine process (`--workers`).
LAYOUTS: dict[str, tuple[str, ...]] = {"one_process": (), "workers": ("--workers", "2")}

_LISTENING = re.compile(r"Tidepool listening on (http://\S+)")
_BANNER_LAST_LINE = "These keys are derived from a public seed"


class ServerProcess:
    def __init__(
        self,
        state_dir: Path,
        *extra_args: str,
        env: dict[str, str] | None = None,
        command: Sequence[str] = (sys.executable, "-m", "tidepool"),
    ) -> None:
        self.state_dir = state_dir
        self.command = command
        self.extra_args = extra_args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> ServerProcess:
        cmd = [
            *self.command,
            "serve",
            "--port",
            "0",
            "--state-dir",
            str(self.state_dir),
            "--log-level",
            "warning",
            *self.extra_args,
        ]
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        # stderr goes to a file so a chatty server can never block on a full pipe.
        self.log_path = self.state_dir.parent / f"{self.state_dir.name}-server.log"
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=self.env
            )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()
        match = _LISTENING.search(line)
        if match is None:
            self.proc.wait(timeout=10)
            self._close_pipe()
            raise RuntimeError(f"server did not start: {line!r}\n{self.log_path.read_text()}")
        self.url = match.group(1)
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.02)
        raise RuntimeError(f"server never became healthy:\n{self.log_path.read_text()}")

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def banner(self) -> list[str]:
        """The lines the server printed after its listening line, through the warning that
        ends its start-up banner (call once, right after start)."""
        assert self.proc is not None and self.proc.stdout is not None
        lines: list[str] = []
        while not (lines and lines[-1].startswith(_BANNER_LAST_LINE)):
            line = self.proc.stdout.readline()
            assert line, f"stdout ended before the banner did: {lines}"
            lines.append(line.rstrip("\n"))
        return lines

    def stop(self, timeout: float = 15.0, sig: int = signal.SIGTERM) -> int:
        """SIGTERM (or Ctrl-C's SIGINT) and wait: a clean shutdown (final snapshot)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._close_pipe()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
