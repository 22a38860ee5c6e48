"""A test-only service, "echo", in three wire flavours, to exercise the generic protocol layer.

Loaded into the real server with `--plugin tests.plugins.echo`. Its model is an ordinary botocore
service model, so boto3 talks to it through a data path the tests write out (`write_models`).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.base import Service

API_VERSION = "2026-11-27"

_SHAPES: dict[str, Any] = {
    "Name": {"type": "string", "min": 3, "max": 10, "pattern": "[a-z]+"},
    "String": {"type": "string"},
    "Count": {"type": "integer", "min": 1, "max": 10},
    "Boolean": {"type": "boolean"},
    "Double": {"type": "double"},
    "Long": {"type": "long"},
    "Blob": {"type": "blob"},
    "Timestamp": {"type": "timestamp"},
    "Choice": {"type": "string", "enum": ["ALPHA", "BETA"]},
    "TagList": {"type": "list", "member": {"shape": "String", "locationName": "Tag"}, "max": 3},
    "AttrMap": {
        "type": "map",
        "key": {"shape": "String", "locationName": "Name"},
        "value": {"shape": "String", "locationName": "Value"},
        "flattened": True,
    },
    "Nested": {
        "type": "structure",
        "required": ["Id"],
        "members": {"Id": {"shape": "Name"}, "Depth": {"shape": "Count"}},
    },
    "NestedList": {"type": "list", "member": {"shape": "Nested"}},
    "EchoRequest": {
        "type": "structure",
        "required": ["Name"],
        "members": {
            "Name": {"shape": "Name"},
            "Count": {"shape": "Count"},
            "Flag": {"shape": "Boolean"},
            "Ratio": {"shape": "Double"},
            "Big": {"shape": "Long"},
            "Data": {"shape": "Blob"},
            "When": {"shape": "Timestamp"},
            "Choice": {"shape": "Choice"},
            "Tags": {"shape": "TagList"},
            "Attrs": {"shape": "AttrMap", "locationName": "Attr"},
            "Nested": {"shape": "Nested"},
            "Items": {"shape": "NestedList"},
        },
    },
    "EchoResult": {"type": "structure", "members": {}},
    "FailRequest": {"type": "structure", "required": ["Code"], "members": {"Code": {"shape": "String"}}},
    "Empty": {"type": "structure", "members": {}},
    "PutRequest": {
        "type": "structure",
        "required": ["Key", "Value"],
        "members": {"Key": {"shape": "String"}, "Value": {"shape": "String"}},
    },
    "GetRequest": {"type": "structure", "required": ["Key"], "members": {"Key": {"shape": "String"}}},
    "GetResult": {"type": "structure", "members": {"Value": {"shape": "String"}}},
    "CountResult": {"type": "structure", "members": {"Count": {"shape": "Long"}}},
    "SleepRequest": {
        "type": "structure",
        "required": ["Seconds"],
        "members": {"Seconds": {"shape": "Double"}},
    },
    "SleepResult": {"type": "structure", "members": {"Slept": {"shape": "Boolean"}}},
    "WatchRequest": {
        "type": "structure",
        "required": ["Count"],
        "members": {"Count": {"shape": "Long"}, "FailAfter": {"shape": "Long"}},
    },
    "WatchResult": {
        "type": "structure",
        "required": ["Events"],
        "members": {"Events": {"shape": "WatchEvents"}, "Started": {"shape": "Timestamp"}},
    },
    "WatchEvents": {
        "type": "structure",
        "members": {"Tick": {"shape": "TickEvent"}, "ThingNotFound": {"shape": "ThingNotFound"}},
        "eventstream": True,
    },
    "TickEvent": {
        "type": "structure",
        "members": {"Number": {"shape": "Long"}, "Data": {"shape": "Blob"}, "At": {"shape": "Timestamp"}},
        "event": True,
    },
    "ThingNotFound": {
        "type": "structure",
        "members": {"message": {"shape": "String"}},
        "exception": True,
        "error": {"code": "Echo.ThingNotFound", "httpStatusCode": 404, "senderFault": True},
    },
    "Throttled": {
        "type": "structure",
        "members": {"Message": {"shape": "String"}, "RetryAfter": {"shape": "Count"}},
        "exception": True,
        "error": {"code": "Throttled", "httpStatusCode": 503, "senderFault": False},
    },
}
_SHAPES["EchoResult"] = copy.deepcopy(_SHAPES["EchoRequest"])
_SHAPES["EchoResult"].pop("required")


def _operation(
    name: str, input_shape: str | None, output_shape: str | None, errors: list[str] = ()
) -> dict[str, Any]:
    op: dict[str, Any] = {"name": name, "http": {"method": "POST", "requestUri": "/"}}
    if input_shape:
        op["input"] = {"shape": input_shape}
    if output_shape:
        op["output"] = {"shape": output_shape}
    op["errors"] = [{"shape": e} for e in errors]
    return op


def build_model(
    protocol: str, json_version: str, target_prefix: str, endpoint_prefix: str, query_compatible: bool = False
) -> dict[str, Any]:
    operations = {
        "Echo": _operation("Echo", "EchoRequest", "EchoResult"),
        "Fail": _operation("Fail", "FailRequest", None, ["ThingNotFound", "Throttled"]),
        "Boom": _operation("Boom", "Empty", None),
        "Put": _operation("Put", "PutRequest", None),
        "Get": _operation("Get", "GetRequest", "GetResult", ["ThingNotFound"]),
        "CountItems": _operation("CountItems", "Empty", "CountResult"),
        "Sleep": _operation("Sleep", "SleepRequest", "SleepResult"),
        "Missing": _operation("Missing", "Empty", None),
    }
    if protocol == "json":
        operations["Watch"] = _operation("Watch", "WatchRequest", "WatchResult", ["ThingNotFound"])
    metadata: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "endpointPrefix": endpoint_prefix,
        "protocol": protocol,
        "protocols": [protocol],
        "serviceFullName": f"Gondwana Echo ({endpoint_prefix})",
        "serviceId": endpoint_prefix.capitalize(),
        "signatureVersion": "v4",
        "signingName": endpoint_prefix,
        "uid": f"{endpoint_prefix}-{API_VERSION}",
    }
    if protocol == "json":
        metadata["jsonVersion"] = json_version
        metadata["targetPrefix"] = target_prefix
        if query_compatible:
            metadata["awsQueryCompatible"] = {}
    else:
        metadata["xmlNamespace"] = "http://echo.gondwana.dev/doc/2026-11-27/"
    return {
        "version": "2.0",
        "metadata": metadata,
        "operations": operations,
        "shapes": copy.deepcopy(_SHAPES),
    }


class _Echo(Service):
    model: ClassVar[dict[str, Any]]
    table: ClassVar[str]

    def load_model(self) -> dict[str, Any]:
        return copy.deepcopy(self.model)

    def start(self) -> None:
        self.runtime.store.register(
            self.name,
            [
                f"CREATE TABLE {self.table} (account TEXT, region TEXT, key TEXT, value TEXT, PRIMARY KEY (account, region, key))"
            ],
        )

    def echo(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return params

    def fail(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        code = params["Code"]
        if code == "Throttled":
            raise ServiceError("Throttled", "Slow down", fields={"RetryAfter": 3})
        raise ServiceError(code, f"failed with {code}")

    def boom(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        raise RuntimeError("an unexpected bug")

    def put(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        store = self.runtime.store
        with store.transaction():
            store.execute(
                f"INSERT INTO {self.table} (account, region, key, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account, region, key) DO UPDATE SET value = excluded.value",
                (ctx.account, ctx.region, params["Key"], params["Value"]),
            )
            if params["Value"] == "explode-after-write":
                raise RuntimeError("fails after writing: the write must roll back")
            if params["Value"] == "fail-at-commit":
                store._conn = _FailCommitOnce(store)  # type: ignore[attr-defined]

    def get(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self.runtime.store.query_one(
            f"SELECT value FROM {self.table} WHERE account = ? AND region = ? AND key = ?",
            (ctx.account, ctx.region, params["Key"]),
        )
        if row is None:
            raise ServiceError("ThingNotFound", f"no item {params['Key']}")
        return {"Value": row[0]}

    def count_items(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self.runtime.store.query_one(
            f"SELECT COUNT(*) FROM {self.table} WHERE account = ? AND region = ?", (ctx.account, ctx.region)
        )
        return {"Count": row[0] if row else 0}

    def watch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        async def ticks() -> Any:
            for number in range(params["Count"]):
                if number == params.get("FailAfter"):
                    raise ServiceError("ThingNotFound", f"tick {number} is missing")
                await asyncio.sleep(0.01)
                yield "Tick", {"Number": number, "Data": bytes([number % 256]) * 3, "At": 1767225600 + number}

        return {"Events": ticks(), "Started": 1767225600}

    async def sleep(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(params["Seconds"])
        return {"Slept": True}


class EchoJson(_Echo):
    """JSON 1.0, query-compatible (like SQS): also accepts form-encoded query requests."""

    name = "echo"
    model_name = "echo"
    signing_name = "echo"
    endpoint_prefix = "echo"
    target_prefix = "GondwanaEcho_20261127"
    error_namespace = "com.gondwana.echo#"
    xml_namespace = "http://echo.gondwana.dev/doc/2026-11-27/"
    speaks_query = True
    table = "echo_items"
    model = build_model("json", "1.0", "GondwanaEcho_20261127", "echo", query_compatible=True)


class EchoJson11(_Echo):
    """JSON 1.1 with the CBOR twin and bare error names (like Kinesis), with x-amz-crc32 (like DynamoDB)."""

    name = "echo11"
    model_name = "echo11"
    signing_name = "echo11"
    endpoint_prefix = "echo11"
    target_prefix = "GondwanaEcho11_20261127"
    crc32 = True
    bare_error_types = True
    table = "echo11_items"
    model = build_model("json", "1.1", "GondwanaEcho11_20261127", "echo11")


class EchoQuery(_Echo):
    """The query protocol proper (like STS): XML out, `error` traits in the model."""

    name = "echoq"
    model_name = "echoq"
    signing_name = "echoq"
    endpoint_prefix = "echoq"
    speaks_query = True
    table = "echoq_items"
    model = build_model("query", "", "", "echoq")


SERVICES = [EchoJson, EchoJson11, EchoQuery]


class _FailCommitOnce:
    """Stands in for the store's SQLite connection until the next COMMIT, which it fails as a full
    disk would: the group's requests must be answered with errors, and nothing of it kept."""

    def __init__(self, store: Any) -> None:
        self.store, self.conn = store, store._conn

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            self.store._conn = self.conn
            raise sqlite3.OperationalError("database or disk is full (injected by the echo plugin)")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def write_models(directory: Path) -> Path:
    """Write the models where a botocore loader finds them; returns the directory to add."""
    for cls in SERVICES:
        target = directory / cls.model_name / API_VERSION
        target.mkdir(parents=True, exist_ok=True)
        (target / "service-2.json").write_text(json.dumps(cls.model))
    return directory


# ---- REST flavours --------------------------------------------------------------------------------

_REST_SHAPES: dict[str, Any] = {
    "MetaMap": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "String"}},
    "RestEchoRequest": {
        "type": "structure",
        "required": ["Name"],
        "members": {
            "Name": {"shape": "Name", "location": "uri", "locationName": "Name"},
            "Count": {"shape": "Count", "location": "querystring", "locationName": "count"},
            "Tags": {"shape": "TagList", "location": "querystring", "locationName": "tag"},
            "Flag": {"shape": "Boolean", "location": "header", "locationName": "x-echo-flag"},
            "When": {"shape": "Timestamp", "location": "header", "locationName": "x-echo-when"},
            "Meta": {"shape": "MetaMap", "location": "headers", "locationName": "x-echo-meta-"},
            "Ratio": {"shape": "Double"},
            "Data": {"shape": "Blob"},
            "Choice": {"shape": "Choice"},
            "Nested": {"shape": "Nested"},
            "Items": {"shape": "NestedList"},
        },
    },
    "RestEchoResult": {
        "type": "structure",
        "members": {
            "Name": {"shape": "Name", "location": "header", "locationName": "x-echo-name"},
            "Count": {"shape": "Count"},
            "Tags": {"shape": "TagList"},
            "Flag": {"shape": "Boolean"},
            "When": {"shape": "Timestamp"},
            "Meta": {"shape": "MetaMap"},
            "Ratio": {"shape": "Double"},
            "Data": {"shape": "Blob"},
            "Choice": {"shape": "Choice"},
            "Nested": {"shape": "Nested"},
            "Items": {"shape": "NestedList"},
        },
    },
    "RawRequest": {
        "type": "structure",
        "required": ["Key"],
        "members": {
            "Key": {"shape": "String", "location": "uri", "locationName": "Key"},
            "Body": {"shape": "Blob"},
            "ContentType": {"shape": "String", "location": "header", "locationName": "Content-Type"},
        },
        "payload": "Body",
    },
    "RawResult": {
        "type": "structure",
        "members": {
            "Body": {"shape": "Blob"},
            "ContentType": {"shape": "String", "location": "header", "locationName": "Content-Type"},
        },
        "payload": "Body",
    },
    "RestFailRequest": {
        "type": "structure",
        "required": ["Code"],
        "members": {"Code": {"shape": "String", "location": "uri", "locationName": "Code"}},
    },
    "ListThingsResult": {"type": "structure", "members": {"Names": {"shape": "TagList"}}},
}


def build_rest_model(protocol: str, endpoint_prefix: str) -> dict[str, Any]:
    def op(
        name: str, method: str, uri: str, inp: str | None, out: str | None, code: int = 200
    ) -> dict[str, Any]:
        spec = _operation(name, inp, out, ["ThingNotFound", "Throttled"])
        spec["http"] = {"method": method, "requestUri": uri, "responseCode": code}
        if protocol == "rest-xml" and inp:
            spec["input"]["locationName"] = inp
            spec["input"]["xmlNamespace"] = {"uri": "http://echo.gondwana.dev/doc/2026-11-27/"}
        return spec

    model = build_model(protocol, "", "", endpoint_prefix)
    model["metadata"].pop("xmlNamespace", None)
    model["shapes"].update(copy.deepcopy(_REST_SHAPES))
    model["operations"] = {
        "Echo": op("Echo", "POST", "/v1/things/{Name}", "RestEchoRequest", "RestEchoResult"),
        "ListThings": op("ListThings", "GET", "/v1/things?list", None, "ListThingsResult"),
        "PutRaw": op("PutRaw", "PUT", "/v1/raw/{Key+}", "RawRequest", None, 201),
        "GetRaw": op("GetRaw", "GET", "/v1/raw/{Key+}", "RawRequest", "RawResult"),
        "Fail": op("Fail", "DELETE", "/v1/fail/{Code}", "RestFailRequest", None),
    }
    return model


class _RestEcho(_Echo):
    speaks_rest = True
    xml_namespace = "http://echo.gondwana.dev/doc/2026-11-27/"

    def list_things(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        rows = self.runtime.store.query(
            f"SELECT key FROM {self.table} WHERE account = ? AND region = ? ORDER BY key",
            (ctx.account, ctx.region),
        )
        return {"Names": [r[0] for r in rows]}

    def put_raw(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        body = params.get("Body", b"")
        self.put(ctx, {"Key": params["Key"], "Value": base64.b64encode(body).decode()})

    def get_raw(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        value = self.get(ctx, {"Key": params["Key"]})["Value"]
        return {"Body": base64.b64decode(value), "ContentType": "application/octet-stream"}


class EchoRestJson(_RestEcho):
    name = "echorest"
    model_name = "echorest"
    signing_name = "echorest"
    endpoint_prefix = "echorest"
    table = "echorest_items"
    model = build_rest_model("rest-json", "echorest")


class EchoRestXml(_RestEcho):
    name = "echoxml"
    model_name = "echoxml"
    signing_name = "echoxml"
    endpoint_prefix = "echoxml"
    table = "echoxml_items"
    model = build_rest_model("rest-xml", "echoxml")


SERVICES += [EchoRestJson, EchoRestXml]
