"""The request context: who is asking (account), where (region), and what (service, operation)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gondwana.server.messages import Request

if TYPE_CHECKING:
    from gondwana.auth.sigv4 import SigV4Credential
    from gondwana.protocols.base import WireProtocol
    from gondwana.protocols.spec import OperationSpec
    from gondwana.services.base import Service

REGION_LABEL = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$")


@dataclass(slots=True)
class RequestContext:
    request: Request
    request_id: str
    account: str
    region: str
    credential: SigV4Credential | None = None
    service: Service | None = None
    operation: OperationSpec | None = None
    protocol: WireProtocol | None = None

    @property
    def host(self) -> str:
        """The host:port the client used, for URLs that must lead back here (SQS queue URLs)."""
        return self.request.host

    @property
    def base_url(self) -> str:
        return f"{self.request.scheme}://{self.request.host}"


def region_from_host(host: str) -> str | None:
    """`sqs.eu-west-1.amazonaws.com`, `sqs.eu-west-1.localhost:4566` -> eu-west-1."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    for label in name.split("."):
        if REGION_LABEL.match(label):
            return label
    return None
