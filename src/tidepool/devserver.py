"""A `tidepool serve` child process for a test session: started on a free port, stopped at the
end. The pytest plugin runs one (pytest_plugin.py); it needs nothing but the standard library, so
other test runners can use it too.

    server = DevServer(tmp / "state", ["--speedbump-ms", "0"]).start()
    ...  # server.url, server.api_url, server.ws_url
    server.stop()

It runs `serve --port 0` and reads the port from the first line the server prints ("Tidepool
listening on http://HOST:PORT ..."), which comes once a client can connect: requests sent from
then on wait in the listen backlog while the state loads, so there is nothing to poll. The rest
of stdout (the banner) is read on a thread until the process ends, so a full pipe can never
block the server; stderr (its log) goes to `log_path`. A server that exits before it listens,
or stays silent past `timeout`, is a ServerStartError quoting the end of its log: what the
operator error said (a bad flag, an unwritable state dir), not a timeout.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Final

__all__ = ["DevServer", "ServerStartError"]

_LISTENING: Final = re.compile(r"Tidepool listening on (http://\S+)")
_LOG_TAIL_LINES: Final = 20


class ServerStartError(RuntimeError):
    """`tidepool serve` did not come up: the message says why, from its own output."""


class DevServer:
    def __init__(
        self,
        state_dir: Path,
        args: Sequence[str] = (),
        *,
        command: Sequence[str] = (sys.executable, "-m", "tidepool"),
        timeout: float = 60.0,
    ) -> None:
        """`args`: more `serve` flags (they come last, so they win over the defaults here);
        `timeout`: seconds to wait for the listening line."""
        self.state_dir = state_dir
        self.command = [*command, "serve", "--port", "0", "--state-dir", str(state_dir), *args]
        self.timeout = timeout
        self.log_path = state_dir.parent / f"{state_dir.name}-server.log"
        self.url = ""  # http://HOST:PORT, once started
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._banner: list[str] = []

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def ws_url(self) -> str:
        return "ws://" + self.url.removeprefix("http://") + "/ws"

    @property
    def banner(self) -> str:
        """What the server printed after its listening line (URLs, markets, dev accounts)."""
        return "".join(self._banner)

    def start(self) -> DevServer:
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.command, stdout=subprocess.PIPE, stderr=log, text=True
            )
        found: list[str] = []
        done = threading.Event()  # the listening line was read, or stdout ended
        self._reader = threading.Thread(
            target=self._read, args=(found, done), name="tidepool-serve-stdout", daemon=True
        )
        self._reader.start()
        if not done.wait(self.timeout):
            self.stop()
            raise ServerStartError(
                f"`tidepool serve` printed no listening line within {self.timeout:g} s"
                + self._log_tail()
            )
        if not found:
            code = self._proc.wait()
            raise ServerStartError(
                f"`tidepool serve` exited with code {code} before it listened" + self._log_tail()
            )
        self.url = found[0]
        return self

    def _read(self, found: list[str], done: threading.Event) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            match = _LISTENING.search(line) if not found else None
            if match is not None:
                found.append(match.group(1))
                done.set()
            elif found:
                self._banner.append(line)
        done.set()

    def _log_tail(self) -> str:
        """The command and the last lines of its log, for an error message."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        except OSError:
            lines = []
        said = "".join(f"\n  {line}" for line in lines) or " (it wrote nothing)"
        return f":{said}\ncommand: {subprocess.list2cmdline(self.command)}\nlog: {self.log_path}"

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, a clean shutdown; SIGKILL if it is still running after `timeout` s. The
        exit code, or None if it was never started."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join()
        if proc.stdout is not None:
            proc.stdout.close()
        return proc.returncode
