"""A platform process started by a test (`manage.py mqtt_bridge`, a Celery worker): its output
collected line by line, ready once a line says so, killed (SIGKILL) or stopped (SIGTERM)."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path


class LoggedProcess:
    #: a line containing this means the process is ready
    ready_marker = ""
    #: how long SIGTERM may take before SIGKILL
    stop_timeout = 15.0
    name = "process"

    def __init__(self, args: list[str], *, cwd: Path, env: dict, ready_timeout: float = 90.0):
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(ready_timeout):  # a loaded CI machine starts Django slowly
            output = self.stop()
            raise RuntimeError(f"{self.name} did not start:\n" + output[-3000:])

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if self.ready_marker in line:
                self.ready.set()
            self.on_line(line)

    def on_line(self, line: str) -> None:
        """A subclass's hook for each line of output."""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, nothing flushed, acknowledged or committed on the way out."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return "\n".join(self.lines)
