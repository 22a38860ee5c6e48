"""A client for the control API (/_gondwana/...), used by `gondwana fault` and the DR drill."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

DEFAULT_ENDPOINT = "http://localhost:4566"


class ControlError(RuntimeError):
    pass


class Control:
    def __init__(self, endpoint: str | None = None) -> None:
        self.endpoint = (endpoint or os.environ.get("GONDWANA_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint}/_gondwana/{path}", data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ControlError(json.loads(exc.read() or b"{}").get("error", str(exc))) from None
        except urllib.error.URLError as exc:
            raise ControlError(f"cannot reach {self.endpoint}: {exc.reason}") from None

    def faults(self) -> list[dict[str, Any]]:
        return self.call("GET", "faults")["faults"]

    def add_fault(self, **spec: Any) -> dict[str, Any]:
        return self.call("POST", "faults", spec)["fault"]

    def remove_fault(self, fault_id: str) -> None:
        self.call("DELETE", f"faults/{urllib.request.quote(fault_id, safe='')}")

    def clear_faults(self) -> None:
        self.call("DELETE", "faults")

    def health(self) -> dict[str, Any]:
        return self.call("GET", "health")

    def reset(self) -> None:
        self.call("POST", "reset")

    def advance_clock(self, seconds: float) -> None:
        self.call("POST", "clock", {"advance": seconds})
