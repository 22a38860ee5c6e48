"""A test-only JSON service signed as "dynamodb", to exercise DynamoDB's own auth answers.

Loaded with `--plugin tests.plugins.authprobe`; it reuses the echo operations under its own target.
"""

from __future__ import annotations

from tests.plugins.echo import EchoJson, build_model


class DynamoSignedProbe(EchoJson):
    name = "authprobe"
    model_name = "authprobe"
    signing_name = "dynamodb"
    endpoint_prefix = "authprobe"
    target_prefix = "AuthProbe_20261127"
    speaks_query = False
    table = "authprobe_items"
    model = build_model("json", "1.0", "AuthProbe_20261127", "authprobe")


SERVICES = [DynamoSignedProbe]
