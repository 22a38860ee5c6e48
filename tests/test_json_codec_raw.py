"""json_codec.RawJson: JSON text a service already holds goes out unchanged, through orjson and
through the standard-library fallback alike."""

from __future__ import annotations

import json

from gondwana.protocols import json_codec
from gondwana.protocols.json_codec import RawJson

ITEM = '{"s":{"S":"h\\u00e9llo \\u2603"},"n":{"N":"-12.5"},"b":{"B":"AAEC/w=="},"m":{"M":{"l":{"L":[]}}}}'


def test_raw_json_is_written_as_it_is_by_orjson() -> None:
    out = json_codec.dumps({"Item": RawJson(ITEM.encode()), "Items": [RawJson(ITEM), RawJson(b"[1,2]")]})
    assert out == b'{"Item":' + ITEM.encode() + b',"Items":[' + ITEM.encode() + b",[1,2]]}"


def test_fallback_parses_raw_json_back() -> None:
    # A lone surrogate elsewhere in the result makes orjson refuse it: the standard library writes it.
    value = {"Odd": "\ud800", "Item": RawJson(ITEM.encode()), "Blob": b"\x00\x01"}
    out = json_codec.dumps(value)
    assert json.loads(out) == {"Odd": "\ud800", "Item": json.loads(ITEM), "Blob": "AAE="}


def test_both_paths_agree() -> None:
    value = {"Items": [RawJson(ITEM), RawJson('{"x":{"S":"\\ud800"}}')], "Count": 2}
    fast = json_codec.dumps(value)
    slow = json_codec._std_dumps(value).encode("utf-8", "surrogatepass")
    assert (
        json.loads(fast)
        == json.loads(slow)
        == {
            "Items": [json.loads(ITEM), {"x": {"S": "\ud800"}}],
            "Count": 2,
        }
    )


def test_lone_surrogates_go_out_as_escapes_in_valid_utf8() -> None:
    """orjson refuses them; the fallback must not write them raw (no client decodes that)."""
    out = json_codec.dumps({"Odd": "h\u00e9 \ud800", "n": 2**70})
    assert out.decode("utf-8") == '{"Odd":"h\\u00e9 \\ud800","n":1180591620717411303424}'
    assert (
        json_codec.dumps({"Big": 2**70, "s": "h\u00e9"}) == '{"Big":1180591620717411303424,"s":"hé"}'.encode()
    )
