"""A few lines of raw AMI for the end-to-end tests of the configuration and the phones.

Deliberately not the project's AMI adapter (recobro.telephony.ami, tested on its own): these
tests check the dialplan and the phones, and must not depend on the code they will later carry.
A reader thread collects every message; tests wait for the one they expect.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Message = dict[str, str]


@dataclass
class AmiProbe:
    host: str
    port: int
    user: str
    secret: str
    messages: list[Message] = field(default_factory=list)
    _sock: socket.socket | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __enter__(self) -> AmiProbe:
        self._sock = socket.create_connection((self.host, self.port), timeout=10)
        self._sock.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()
        reply = self.action({"Action": "Login", "Username": self.user, "Secret": self.secret})
        assert reply.get("Response") == "Success", reply
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._sock is not None:
            try:
                self.send({"Action": "Logoff"})
            except OSError:
                pass
            self._sock.close()

    def send(self, action: Mapping[str, str | list[str]]) -> str:
        action_id = str(action.get("ActionID") or f"probe-{next(self._ids)}")
        lines = []
        for key, value in {**action, "ActionID": action_id}.items():
            for one in value if isinstance(value, list) else [value]:
                assert "\r" not in one and "\n" not in one, (key, one)
                lines.append(f"{key}: {one}")
        assert self._sock is not None
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        return action_id

    def action(self, action: Mapping[str, str | list[str]], timeout: float = 10.0) -> Message:
        action_id = self.send(action)
        return self.wait(lambda m: m.get("ActionID") == action_id and "Response" in m, timeout)

    def wait(self, predicate: Callable[[Message], bool], timeout: float = 10.0, start: int = 0) -> Message:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages[start:]:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching AMI message in {timeout} s; last: {self.messages[-5:]}")
                self._cond.wait(left)

    def user_event(self, name: str, call_id: str, timeout: float = 10.0) -> Message:
        return self.wait(lambda m: m.get("UserEvent") == name and m.get("CallId") == call_id, timeout)

    def of_call(self, call_id: str) -> list[Message]:
        """Every message whose channel carries RECOBRO_CALL_ID = call_id (manager.conf channelvars)."""
        with self._cond:
            return [m for m in self.messages if m.get("var.RECOBRO_CALL_ID") == call_id]

    def _read(self) -> None:
        assert self._sock is not None
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                block, buffer = buffer.split(b"\r\n\r\n", 1)
                message: Message = {"_received": f"{time.monotonic():.6f}"}
                for line in block.decode("utf-8", errors="replace").split("\r\n"):
                    key, sep, value = line.partition(": ")
                    if not sep:
                        continue
                    if key == "ChanVariable":
                        name, _, var = value.partition("=")
                        message[f"var.{name}"] = var
                    else:
                        message.setdefault(key, value)
                with self._cond:
                    self.messages.append(message)
                    self._cond.notify_all()
