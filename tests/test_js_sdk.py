"""The AWS SDK for JavaScript v3 against the core (STS speaks the query protocol)."""

from __future__ import annotations

from tests.support.node import run_js
from tests.support.server import ServerProcess


def test_js_sdk_sts_get_caller_identity(server: ServerProcess) -> None:
    identity = run_js(
        """
        import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
        const client = new STSClient({ endpoint: process.env.ENDPOINT, region: process.env.REGION });
        const out = await client.send(new GetCallerIdentityCommand({}));
        console.log(JSON.stringify({ account: out.Account, arn: out.Arn }));
        """,
        server.url,
        AWS_ACCESS_KEY_ID="210987654321",
    )
    assert identity == {"account": "210987654321", "arn": "arn:aws:iam::210987654321:user/210987654321"}
