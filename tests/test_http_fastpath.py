"""The C fast path of the HTTP layer (server/_fastpath.c) against httptools and the Python path.

`parse_request` may decline any request (httptools then parses it), but a request it takes must
be exactly the one httptools parses from the same bytes: same method, target, headers, body,
keep-alive and end. `response` must write the same bytes as the Python path. Generated requests
mix what clients send with the bytes parsers disagree on (case, whitespace, control bytes,
duplicates, framing headers, versions, pipelined tails)."""

from __future__ import annotations

import random

import httptools
from hypothesis import example, given
from hypothesis import strategies as st

from gondwana.server import _fastpath, http
from gondwana.server.messages import Response
from tests.support.campaign import campaign_settings

MAX_BODY = 1 << 20


class Parsed:
    """What httptools makes of a buffer, as HttpConnection reads it."""

    def __init__(self) -> None:
        self.url, self.headers, self.body = b"", [], b""
        self.parser = httptools.HttpRequestParser(self)
        self.complete: list[tuple[str, bool]] = []  # method and keep-alive, read when complete

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower().decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete.append((self.parser.get_method().decode("ascii"), self.parser.should_keep_alive()))


def httptools_parse(data: bytes) -> tuple | None:
    """The one request httptools completes at exactly len(data), or None (an error, none, two)."""
    parsed = Parsed()
    try:
        parsed.parser.feed_data(data)
    except httptools.HttpParserError:
        return None
    if len(parsed.complete) != 1:
        return None
    path, _, query = parsed.url.decode("latin-1").partition("?")
    headers: dict[str, str] = {}
    for name, value in parsed.headers:
        headers[name] = value if name not in headers else f"{headers[name]},{value}"
    method, keep_alive = parsed.complete[0]
    return method, path, query, headers, parsed.body, keep_alive


# Each part of a request is drawn from what clients send, and now and then (1 in 12) from the
# bytes parsers disagree on, so that most requests have a single oddity or none.
METHODS = (["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"], ["FOO", "get", "", "PRI", "POST "])
TARGETS = (["/"], ["*", "", "http://h/x", " /", "//"])
VERSIONS = (["HTTP/1.1", "HTTP/1.0"], ["HTTP/1.2", "HTTP/2.0", "http/1.1", "HTTP/1.1 ", "HTTP/1"])
NAMES = (
    ["Host", "X-Amz-Target", "Content-Type", "Authorization", "x-amz-date", "X_Under", "A"],
    [
        "Connection",
        "Transfer-Encoding",
        "Expect",
        "Upgrade",
        "Content-Length",
        "Bad Name",
        "Ümlaut",
        "",
        "a\x00",
    ],
)
SEPARATORS = ([": ", ":"], [":  ", ":\t", " : ", ": \t", ""])
TRAILS = ([""], [" ", "\t", " \t"])
ENDINGS = (["\r\n"], ["\n", "\r", "\r\r\n", "\n\r"])
CLEAN_TEXT = list("abcXYZ019-_.~/=&%+;,:@!$'()*")
ODD_TEXT = [*'?#" <>\\^`{|}', "\t", "\x00", "\x01", "\x7f", "\x80", "\xe9", "\xff", "\r", "\n"]
CONNECTION_VALUES = (["keep-alive", "close"], ["Keep-Alive", "CLOSE", "upgrade", "keep-alive, close", ""])


def pick(draw: st.DrawFn, choices: tuple[list[str], list[str]]) -> str:
    clean, odd = choices
    return draw(st.sampled_from(odd if draw(st.integers(0, 11)) == 0 else clean))


def text(draw: st.DrawFn) -> str:
    odd = draw(st.integers(0, 5)) == 0
    return draw(st.text(st.sampled_from(CLEAN_TEXT + ODD_TEXT if odd else CLEAN_TEXT), max_size=24))


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    body = draw(st.binary(max_size=40))
    lines = [f"{pick(draw, METHODS)} {pick(draw, TARGETS)}{text(draw)} {pick(draw, VERSIONS)}"]
    for _ in range(draw(st.integers(0, 6))):
        name = pick(draw, NAMES)
        if name.lower() == "connection":
            value = pick(draw, CONNECTION_VALUES)
        elif name.lower() == "content-length":
            value = draw(st.sampled_from([str(len(body)), str(len(body) + 1), "0", "+1", " 1", "abc"]))
        else:
            value = text(draw)
        lines.append(name + pick(draw, SEPARATORS) + value + pick(draw, TRAILS))
    if draw(st.integers(0, 3)):
        lines.append(f"Content-Length: {len(body)}")
    ending = pick(draw, ENDINGS)
    head = ending.join(lines) + ending + pick(draw, ENDINGS)
    tail = draw(st.sampled_from([b"", b"", b"GET / HTTP/1.1\r\n\r\n", b"x"]))
    return head.encode("latin-1") + body + tail


@given(requests())
@campaign_settings(400)
@example(b"POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
@example(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n\r\n")
def test_a_request_the_fast_path_takes_is_the_one_httptools_parses(data: bytes) -> None:
    parsed = _fastpath.parse_request(data, 0, MAX_BODY)
    if parsed is None:
        return
    *request, end = parsed
    assert 0 < end <= len(data)
    assert tuple(request) == httptools_parse(data[:end])
    if end < len(data):  # the rest is parsed from `end` on, as a pipelined request would be
        again = _fastpath.parse_request(data, end, MAX_BODY)
        assert again is None or tuple(again[:-1]) == httptools_parse(data[end : again[-1]])


def test_the_fast_path_takes_what_clients_send_and_declines_the_rest() -> None:
    botocore = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:4566\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n{}"
    )
    method, path, query, headers, body, keep_alive, end = _fastpath.parse_request(botocore, 0, MAX_BODY)
    assert (method, path, query, body, keep_alive, end) == ("POST", "/", "", b"{}", True, len(botocore))
    assert headers["x-amz-target"] == "DynamoDB_20120810.GetItem"
    declined = [
        botocore[:-1],  # the body is not all there yet
        botocore[:40],  # nor the head
        botocore.replace(b"Content-Length: 2", b"Transfer-Encoding: chunked"),
        botocore.replace(b"Host:", b"Expect: 100-continue\r\nHost:"),
        botocore.replace(b"Host:", b"Upgrade: h2c\r\nHost:"),
        botocore.replace(b"Host: 127.0.0.1:4566", b"Host: a\r\nhost: b"),  # joined by the slow path
        botocore.replace(b"POST", b"BREW"),
        botocore.replace(b"Host: 127", b"Host: \xe9"),
    ]
    for data in declined:
        assert _fastpath.parse_request(data, 0, MAX_BODY) is None, data
    assert _fastpath.parse_request(botocore, 0, 1) is None  # over the body limit: the slow path says 413


@given(
    st.integers(100, 599),
    st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30)), max_size=5),
    st.binary(max_size=64),
    st.booleans(),
)
@campaign_settings(200)
def test_a_response_is_written_as_the_python_path_writes_it(
    status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool
) -> None:
    response = Response(status, headers, body)
    status_line, date = http._status_line(status), http._date_header()
    fast = _fastpath.response(status_line, date, headers, body, keep_alive)
    try:
        lines = http.HttpConnection._head(response, keep_alive)
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        slow = "".join(lines).encode("latin-1") + body
    except UnicodeEncodeError:  # not latin-1: the fast path declines it too
        assert fast is None
        return
    if date != http._date_header():  # the second turned in between
        return
    assert fast == slow


def test_mutated_requests_are_taken_as_httptools_reads_them_or_declined() -> None:
    """Byte flips, insertions, deletions and truncations of real requests, from any offset: no
    crash, and what is taken is what httptools reads (a fixed seed; the C code also passed
    millions of these under AddressSanitizer)."""
    bases = [
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:4566\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
        b"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/dynamodb/aws4_request, "
        b"SignedHeaders=host, Signature=abc\r\nContent-Length: 2\r\n\r\n{}",
        b"GET /x?a=b&c=%20 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"PUT /b/k HTTP/1.1\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
    ]
    special = b"\r\n :\t\x00\x7f\x80\xff/?#0123456789"
    rng = random.Random(20261127)
    taken = 0
    for _ in range(30_000):
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 4)):
            at, op = rng.randrange(len(data) + 1), rng.randrange(5)
            if op == 0 and at < len(data):
                data[at] = rng.randrange(256)
            elif op == 1:
                data[at:at] = bytes([rng.choice(special)])
            elif op == 2 and at < len(data):
                del data[at]
            elif op == 3:
                del data[at:]
            else:
                data[at:at] = rng.choice(bases)[: rng.randrange(40)]
        raw = bytes(data)
        start = rng.choice([0, 0, 0, rng.randrange(len(raw) + 1)])
        parsed = _fastpath.parse_request(raw, start, rng.choice([MAX_BODY, 3, 0]))
        if parsed is not None:
            taken += 1
            *request, end = parsed
            assert start < end <= len(raw)
            assert tuple(request) == httptools_parse(raw[start:end]), raw
    assert taken > 1_000  # the mutations leave many requests plain enough to take
