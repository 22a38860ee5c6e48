"""STS GetCallerIdentity: the account Gondwana resolved for the caller's access key."""

from __future__ import annotations

from typing import Any, ClassVar

from gondwana.server.context import RequestContext
from gondwana.services.base import Service


class StsService(Service):
    name = "sts"
    model_name = "sts"
    signing_name = "sts"
    endpoint_prefix = "sts"
    speaks_query = True
    error_overrides: ClassVar[dict[str, tuple[int, str]]] = {}

    def get_caller_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = ctx.credential.access_key if ctx.credential and ctx.credential.access_key else "root"
        return {
            "UserId": user,
            "Account": ctx.account,
            "Arn": f"arn:aws:iam::{ctx.account}:root"
            if user == "root"
            else f"arn:aws:iam::{ctx.account}:user/{user}",
        }
