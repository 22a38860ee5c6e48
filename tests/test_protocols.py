"""The generic wire layer, through the test-only echo services (JSON 1.0, JSON 1.1 + CBOR, query)."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import xml.etree.ElementTree as ET
import zlib
from typing import Any
from urllib.parse import urlencode

import boto3
import cbor2
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.server import ServerProcess

NO_VALIDATION = Config(parameter_validation=False, retries={"total_max_attempts": 1})
FULL = {
    "Name": "abc",
    "Count": 3,
    "Flag": True,
    "Ratio": 1.5,
    "Big": 2**40,
    "Data": b"\x00\x01hi\xff",
    "When": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    "Choice": "ALPHA",
    "Tags": ["a", "b"],
    "Attrs": {"k": "v", "k2": "v2"},
    "Nested": {"Id": "xyz", "Depth": 2},
    "Items": [{"Id": "aaa"}, {"Id": "bbb", "Depth": 1}],
}


@pytest.fixture(params=["echo", "echo11", "echoq"])
def echo(request: pytest.FixtureRequest, server: ServerProcess, echo_session: boto3.Session) -> Any:
    return echo_session.client(
        request.param, endpoint_url=server.url, region_name="us-east-1", config=NO_VALIDATION
    )


def raw(
    server: ServerProcess, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def json_call(
    server: ServerProcess, target: str, body: bytes, content_type: str = "application/x-amz-json-1.0"
) -> tuple[int, dict[str, str], Any]:
    status, headers, data = raw(
        server, "POST", "/", body, {"X-Amz-Target": target, "Content-Type": content_type}
    )
    return status, headers, json.loads(data) if data.startswith(b"{") else data


def test_round_trip_of_every_type(echo: Any) -> None:
    result = echo.echo(**FULL)
    result.pop("ResponseMetadata")
    assert result == {**FULL, "When": FULL["When"]}


def test_validation_errors_are_collected_in_coral_wording(echo: Any) -> None:
    with pytest.raises(ClientError) as caught:
        echo.echo(Name="AB", Count=11, Choice="GAMMA", Tags=["a", "b", "c", "d"])
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Message"] == (
        "5 validation errors detected: "
        "Value 'AB' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 3; "
        "Value 'AB' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+; "
        "Value '11' at 'count' failed to satisfy constraint: Member must have value less than or equal to 10; "
        "Value 'GAMMA' at 'choice' failed to satisfy constraint: Member must satisfy enum value set: [ALPHA, BETA]; "
        "Value '[a, b, c, d]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 3"
    )


def test_missing_required_members_nested_paths(server: ServerProcess) -> None:
    status, _, body = json_call(
        server, "GondwanaEcho_20261127.Echo", json.dumps({"Items": [{"Id": "abc"}, {"Depth": 0}]}).encode()
    )
    assert status == 400
    assert body["__type"] == "com.amazon.coral.validate#ValidationException"
    assert body["message"] == (
        "3 validation errors detected: "
        "Value '0' at 'items.2.member.depth' failed to satisfy constraint: Member must have value greater than or equal to 1; "
        "Value null at 'items.2.member.id' failed to satisfy constraint: Member must not be null; "
        "Value null at 'name' failed to satisfy constraint: Member must not be null"
    )


def test_null_list_members_and_map_values_are_missing_members(server: ServerProcess) -> None:
    """Found by the wire fuzzer: nulls inside lists and maps reached the services (a 500 in
    SQS SendMessageBatch, `Entries: [null]`); no model here has sparse collections, so a null
    member is a missing one, in Coral's wording."""
    body = {"Name": "abc", "Tags": ["a", None], "Attrs": {"k": None}, "Items": [None]}
    status, _, answer = json_call(server, "GondwanaEcho_20261127.Echo", json.dumps(body).encode())
    assert status == 400
    assert answer["message"] == (
        "3 validation errors detected: "
        "Value null at 'tags.2.member' failed to satisfy constraint: Member must not be null; "
        "Value null at 'attrs.k.member' failed to satisfy constraint: Member must not be null; "
        "Value null at 'items.1.member' failed to satisfy constraint: Member must not be null"
    )


def test_modelled_error_status_code_and_fields(echo: Any) -> None:
    with pytest.raises(ClientError) as caught:
        echo.fail(Code="ThingNotFound")
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["Error"]["Message"] == "failed with ThingNotFound"
    # Query and query-compatible JSON carry the legacy code; plain JSON the shape name.
    expected = "ThingNotFound" if echo.meta.service_model.service_name == "echo11" else "Echo.ThingNotFound"
    assert response["Error"]["Code"] == expected
    with pytest.raises(ClientError) as caught:
        echo.fail(Code="Throttled")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert caught.value.response["Error"].get("Type", "Receiver") == "Receiver"


def test_json_error_body_and_query_error_header(server: ServerProcess) -> None:
    status, headers, body = json_call(server, "GondwanaEcho_20261127.Fail", b'{"Code": "ThingNotFound"}')
    assert status == 404
    assert body == {"__type": "com.gondwana.echo#ThingNotFound", "message": "failed with ThingNotFound"}
    assert headers["x-amzn-query-error"] == "Echo.ThingNotFound;Sender"
    assert len(headers["x-amzn-requestid"]) == 36
    status, headers, body = json_call(
        server, "GondwanaEcho11_20261127.Fail", b'{"Code": "Throttled"}', "application/x-amz-json-1.1"
    )
    assert status == 503
    assert body == {"__type": "Throttled", "Message": "Slow down", "RetryAfter": 3}
    assert "x-amzn-query-error" not in headers  # echo11 is not query-compatible


def test_unexpected_exception_is_internal_failure_and_server_survives(echo: Any) -> None:
    with pytest.raises(ClientError) as caught:
        echo.boom()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert echo.echo(Name="still")["Name"] == "still"


def test_operation_in_model_without_handler_is_not_implemented(echo: Any) -> None:
    with pytest.raises(ClientError) as caught:
        echo.missing()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", None),
        (b"[1, 2]", "Start of structure or map expected"),
        (b'{"Name": 5}', "NUMBER_VALUE cannot be converted to String"),
        (b'{"Name": "abc", "Count": "3"}', "STRING_VALUE can not be converted to an Integer"),
        (b'{"Name": "abc", "Flag": "yes"}', "STRING_VALUE can not be converted to a Boolean"),
        (b'{"Name": "abc", "Tags": {"a": 1}}', "START_OBJECT can not be converted to a list"),
        (b'{"Name": "abc", "Data": "!!!not base64"}', "Base64 encoded value expected for a blob"),
        (b'{"Name": "abc", "When": "yesterday"}', "STRING_VALUE can not be converted to a Date"),
    ],
)
def test_malformed_or_mistyped_json_is_a_serialization_exception(
    server: ServerProcess, body: bytes, message: str | None
) -> None:
    status, _, answer = json_call(server, "GondwanaEcho_20261127.Echo", body)
    assert status == 400
    assert answer["__type"] == "com.amazon.coral.service#SerializationException"
    assert answer.get("message") == message


@pytest.mark.parametrize("opening, closing", [(b"[", b"]"), (b'{"a":', b"}")])
def test_json_nested_too_deeply_is_a_serialization_exception(
    server: ServerProcess, opening: bytes, closing: bytes
) -> None:
    """Found by the wire fuzzer: past orjson's 1,024 levels the standard-library fallback
    overflowed the stack, and the request was answered 500 InternalFailure."""
    body = b'{"Name": "abc", "Tags": ' + opening * 5000 + b"1" + closing * 5000 + b"}"
    status, _, answer = json_call(server, "GondwanaEcho_20261127.Echo", body)
    assert status == 400
    assert answer["__type"] == "com.amazon.coral.service#SerializationException"


@pytest.mark.parametrize("when", [b"NaN", b"1e400", b"-1e400", b"1" + b"0" * 400, b'"Infinity"'])
def test_timestamps_that_are_no_instant_are_serialization_exceptions(
    server: ServerProcess, when: bytes
) -> None:
    """Found by fuzzing: NaN, the infinities and integers beyond a double reached the services as
    timestamps (Kinesis GetShardIterator AT_TIMESTAMP answered 500)."""
    body = b'{"Name": "abc", "When": ' + when + b"}"
    status, _, answer = json_call(server, "GondwanaEcho_20261127.Echo", body)
    assert status == 400
    assert answer["__type"] == "com.amazon.coral.service#SerializationException"
    assert answer["message"].endswith("can not be converted to a Date")


def test_cbor_timestamps_that_are_no_instant_are_serialization_exceptions(server: ServerProcess) -> None:
    headers = {"X-Amz-Target": "GondwanaEcho11_20261127.Echo", "Content-Type": "application/x-amz-cbor-1.1"}
    for when in (float("nan"), float("inf"), 2**70 * 10**300):
        for value in (when, cbor2.CBORTag(1, when)):
            status, _, data = raw(server, "POST", "/", cbor2.dumps({"Name": "abc", "When": value}), headers)
            assert status == 400, value
            answer = cbor2.loads(data)
            assert answer["__type"] == "SerializationException"
            assert answer["message"].endswith("can not be converted to a Date")


def test_unknown_operation_and_unknown_target(server: ServerProcess) -> None:
    for target in ("GondwanaEcho_20261127.NoSuchThing", "NoSuchService_20200101.Echo", "garbage"):
        status, _, body = json_call(server, target, b"{}")
        assert status == 400
        assert body["__type"] == "com.amazon.coral.service#UnknownOperationException"


def test_wrong_content_type_or_method_is_not_found(server: ServerProcess) -> None:
    status, _, body = raw(
        server,
        "POST",
        "/",
        b'{"Name":"abc"}',
        {"X-Amz-Target": "GondwanaEcho_20261127.Echo", "Content-Type": "text/plain"},
    )
    assert (status, body) == (404, b"<UnknownOperationException/>\n")
    status, _, _ = raw(server, "GET", "/", b"", {"X-Amz-Target": "GondwanaEcho_20261127.Echo"})
    assert status == 404
    status, _, _ = raw(server, "GET", "/nothing/here", b"", {})
    assert status == 404


def test_empty_json_body_means_no_members(server: ServerProcess) -> None:
    status, _, body = json_call(server, "GondwanaEcho_20261127.CountItems", b"")
    assert status == 200 and "Count" in body


def test_crc32_header_matches_body(server: ServerProcess) -> None:
    status, headers, data = raw(
        server,
        "POST",
        "/",
        b'{"Name": "crc"}',
        {"X-Amz-Target": "GondwanaEcho11_20261127.Echo", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert status == 200
    assert int(headers["x-amz-crc32"]) == zlib.crc32(data)


def test_cbor_round_trip_and_errors(server: ServerProcess) -> None:
    headers = {"X-Amz-Target": "GondwanaEcho11_20261127.Echo", "Content-Type": "application/x-amz-cbor-1.1"}
    body = cbor2.dumps({"Name": "abc", "Data": b"\x00\xff", "When": cbor2.CBORTag(1, 1767225600), "Count": 2})
    status, answer_headers, data = raw(server, "POST", "/", body, headers)
    assert status == 200
    assert answer_headers["content-type"] == "application/x-amz-cbor-1.1"
    answer = cbor2.loads(data)
    assert answer["Data"] == b"\x00\xff"
    assert answer["When"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # tag 1 decodes to a datetime
    status, _, data = raw(server, "POST", "/", b"\xff\x00garbage", headers)
    assert status == 400
    assert cbor2.loads(data)["__type"] == "SerializationException"  # bare, as Kinesis names it
    status, _, data = raw(server, "POST", "/", cbor2.dumps({"Name": "AB"}), headers)
    assert status == 400
    assert cbor2.loads(data)["__type"] == "ValidationException"


def test_query_protocol_on_a_query_compatible_json_service(server: ServerProcess) -> None:
    """The legacy query protocol (SQS's) on a JSON service: form in, XML out, flattened names."""
    form = urlencode(
        {
            "Action": "Echo",
            "Version": "2026-11-27",
            "Name": "abc",
            "Tags.Tag.1": "x",
            "Attr.1.Name": "k",
            "Attr.1.Value": "v",
        }
    )
    status, headers, data = raw(
        server,
        "POST",
        "/",
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Host": "echo.us-east-1.localhost"},
    )
    assert status == 200, data
    text = data.decode()
    assert text.startswith(
        '<?xml version="1.0"?><EchoResponse xmlns="http://echo.gondwana.dev/doc/2026-11-27/">'
    )
    assert (
        "<EchoResult><Name>abc</Name><Tags><Tag>x</Tag></Tags><Attr><Name>k</Name><Value>v</Value></Attr></EchoResult>"
        in text
    )
    assert f"<RequestId>{headers['x-amzn-requestid']}</RequestId>" in text
    status, _, data = raw(
        server,
        "POST",
        "/",
        urlencode({"Action": "Fail", "Code": "ThingNotFound"}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Host": "echo.us-east-1.localhost"},
    )
    assert status == 404
    assert b"<Code>Echo.ThingNotFound</Code><Message>failed with ThingNotFound</Message>" in data
    assert b"<Type>Sender</Type>" in data


def test_query_unknown_action_and_bad_number(server: ServerProcess) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": "echoq.us-east-1.localhost"}
    status, _, data = raw(server, "POST", "/", b"Action=Nope&Version=2026-11-27", headers)
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in data
    status, _, data = raw(server, "POST", "/", b"Action=Echo&Name=abc&Count=many", headers)
    assert status == 400
    assert b"ValidationException" in data and b"count" in data


def test_query_error_echoing_characters_xml_cannot_carry_stays_parsable(server: ServerProcess) -> None:
    """Found by the wire fuzzer: `Action=%00` was echoed raw into the error message, and a NUL
    makes the whole XML answer unparsable; U+FFFD stands in for such characters."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": "echoq.us-east-1.localhost"}
    status, _, data = raw(server, "POST", "/", b"Action=No%00pe%01%EF%BF%BF&Version=2026-11-27", headers)
    assert status == 400
    root = ET.fromstring(data)
    message = root.find("{*}Error/{*}Message")
    assert message is not None
    assert message.text == "The action No\ufffdpe\ufffd\ufffd is not valid for this web service."


def test_query_get_request_with_parameters_in_the_url(server: ServerProcess) -> None:
    status, _, data = raw(
        server, "GET", "/?Action=CountItems&Version=2026-11-27", b"", {"Host": "echoq.us-east-1.localhost"}
    )
    assert status == 200
    assert b"<CountItemsResponse" in data and b"<Count>" in data


def test_sts_get_caller_identity_over_query(client: Any) -> None:
    identity = client("sts").get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert identity["Arn"] == "arn:aws:iam::000000000000:user/test"


def test_blob_base64_in_json_body(server: ServerProcess) -> None:
    payload = {"Name": "abc", "Data": base64.b64encode(b"\x01\x02").decode()}
    status, _, body = json_call(server, "GondwanaEcho_20261127.Echo", json.dumps(payload).encode())
    assert status == 200 and body["Data"] == "AQI="


# ---- REST (rest-json, rest-xml): routed by method + path ------------------------------------------


@pytest.fixture(params=["echorest", "echoxml"])
def rest(request: pytest.FixtureRequest, server: ServerProcess, echo_session: boto3.Session) -> Any:
    return echo_session.client(
        request.param, endpoint_url=server.url, region_name="us-east-1", config=NO_VALIDATION
    )


def test_rest_round_trip_through_uri_query_headers_and_body(rest: Any) -> None:
    sent = {
        "Name": "abc",
        "Count": 3,
        "Tags": ["a", "b"],
        "Flag": True,
        "When": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "Meta": {"color": "red"},
        "Ratio": 1.5,
        "Data": b"\x00\xff",
        "Choice": "BETA",
        "Nested": {"Id": "xyz", "Depth": 2},
        "Items": [{"Id": "aaa"}, {"Id": "bbb"}],
    }
    result = rest.echo(**sent)
    result.pop("ResponseMetadata")
    assert result == sent


def test_rest_validation_and_modelled_errors(rest: Any) -> None:
    with pytest.raises(ClientError) as caught:
        rest.echo(Name="AB", Count=11)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"].startswith(
        "3 validation errors detected: Value 'AB' at 'name'"
    )
    with pytest.raises(ClientError) as caught:
        rest.fail(Code="Throttled")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert caught.value.response["Error"]["Message"] == "Slow down"


def test_rest_greedy_label_raw_payload_status_code_and_static_query(rest: Any) -> None:
    key = f"dir/sub dir/{rest.meta.service_model.service_name}.bin"
    assert rest.put_raw(Key=key, Body=b"\x00payload")["ResponseMetadata"]["HTTPStatusCode"] == 201
    got = rest.get_raw(Key=key)
    assert got["Body"].read() == b"\x00payload"
    assert got["ContentType"] == "application/octet-stream"
    assert key in rest.list_things()["Names"]


def test_rest_unmatched_path_is_not_found(server: ServerProcess) -> None:
    status, _, _ = raw(server, "PATCH", "/v1/things/abc", b"", {"Host": "echorest.us-east-1.localhost"})
    assert status == 404


def test_rest_json_error_type_header(server: ServerProcess) -> None:
    status, headers, data = raw(
        server, "DELETE", "/v1/fail/ThingNotFound", b"", {"Host": "echorest.us-east-1.localhost"}
    )
    assert status == 404
    assert headers["x-amzn-errortype"] == "ThingNotFound"
    assert json.loads(data) == {"message": "failed with ThingNotFound"}


def test_rest_malformed_bodies(server: ServerProcess) -> None:
    status, _, data = raw(server, "POST", "/v1/things/abc", b"<not", {"Host": "echoxml.us-east-1.localhost"})
    assert status == 400 and b"<Code>MalformedXML</Code>" in data
    status, headers, data = raw(
        server, "POST", "/v1/things/abc", b"{nope", {"Host": "echorest.us-east-1.localhost"}
    )
    assert status == 400 and headers["x-amzn-errortype"] == "SerializationException"
    status, headers, _ = raw(
        server, "POST", "/v1/things/abc?count=lots", b"{}", {"Host": "echorest.us-east-1.localhost"}
    )
    assert status == 400 and headers["x-amzn-errortype"] == "SerializationException"


# ---- event streams ---------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["echo", "echo11"])
def test_event_stream_over_http_1_1(server: ServerProcess, echo_session: boto3.Session, service: str) -> None:
    c = echo_session.client(service, endpoint_url=server.url, region_name="us-east-1", config=NO_VALIDATION)
    response = c.watch(Count=5)
    assert response["Started"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC).astimezone(
        response["Started"].tzinfo
    )
    ticks = [event["Tick"] for event in response["Events"]]
    assert [t["Number"] for t in ticks] == [0, 1, 2, 3, 4]
    assert ticks[2]["Data"] == b"\x02\x02\x02"
    assert ticks[1]["At"].timestamp() == 1767225601


def test_event_stream_ends_with_a_modelled_exception(
    server: ServerProcess, echo_session: boto3.Session
) -> None:
    from botocore.exceptions import EventStreamError

    c = echo_session.client("echo11", endpoint_url=server.url, region_name="us-east-1", config=NO_VALIDATION)
    seen = []
    with pytest.raises(EventStreamError) as caught:
        for event in c.watch(Count=5, FailAfter=2)["Events"]:
            seen.append(event["Tick"]["Number"])
    assert seen == [0, 1]
    assert caught.value.response["Error"] == {"Code": "ThingNotFound", "Message": "tick 2 is missing"}


def test_event_stream_framing_and_crcs(server: ServerProcess) -> None:
    from botocore.eventstream import EventStreamBuffer

    status, headers, data = raw(
        server,
        "POST",
        "/",
        b'{"Count": 2}',
        {"X-Amz-Target": "GondwanaEcho11_20261127.Watch", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert status == 200
    assert headers["content-type"] == "application/vnd.amazon.eventstream"
    buffer = EventStreamBuffer()
    buffer.add_data(data)  # botocore's parser checks both CRCs of every message
    messages = list(buffer)
    assert [m.headers[":event-type"] for m in messages] == ["initial-response", "Tick", "Tick"]
    assert json.loads(messages[0].payload) == {"Started": 1767225600}
    assert json.loads(messages[2].payload) == {"Number": 1, "Data": "AQEB", "At": 1767225601}
