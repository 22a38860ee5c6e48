"""Test-only JSON services signed as "dynamodb" and "kinesis", to exercise those front ends' own
auth answers.

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


class KinesisSignedProbe(EchoJson):
    name = "authprobek"
    model_name = "authprobek"
    signing_name = "kinesis"
    bare_error_types = True
    endpoint_prefix = "authprobek"
    target_prefix = "AuthProbeK_20261127"
    speaks_query = False
    table = "authprobek_items"
    model = build_model("json", "1.1", "AuthProbeK_20261127", "authprobek")


SERVICES = [DynamoSignedProbe, KinesisSignedProbe]
