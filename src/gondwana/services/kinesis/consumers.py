"""Enhanced fan-out consumers: registration lifecycle (CREATING -> ACTIVE, DELETING -> gone) and
the per-stream limits (20 registered, 5 creating at once)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.server.context import RequestContext
from gondwana.services.kinesis import errors
from gondwana.services.kinesis.streams import Stream
from gondwana.services.kinesis.tokens import make_token, read_token

if TYPE_CHECKING:
    from gondwana.services.kinesis.provider import KinesisService

MAX_CONSUMERS = 20
MAX_CREATING = 5
_COLUMNS = "stream_id, name, arn, status, settle_at, created"


class Consumers:
    def _settle_consumers(self: KinesisService, stream_id: int | None = None) -> None:
        """Finish due consumer transitions: CREATING becomes ACTIVE, DELETING disappears."""
        now = self.runtime.now()
        where = "settle_at IS NOT NULL AND settle_at <= ?" + (
            "" if stream_id is None else " AND stream_id = ?"
        )
        args: tuple[Any, ...] = (now,) if stream_id is None else (now, stream_id)
        if self.store.query_one(f"SELECT 1 FROM kinesis_consumers WHERE {where} LIMIT 1", args) is None:
            return
        with self.store.transaction():
            for arn in self.store.query(
                f"SELECT arn FROM kinesis_consumers WHERE {where} AND status = 'DELETING'", args
            ):
                self.store.execute("DELETE FROM kinesis_tags WHERE arn = ?", arn)
                self.store.execute("DELETE FROM kinesis_policies WHERE arn = ?", arn)
            self.store.execute(f"DELETE FROM kinesis_consumers WHERE {where} AND status = 'DELETING'", args)
            self.store.execute(
                f"UPDATE kinesis_consumers SET status = 'ACTIVE', settle_at = NULL WHERE {where}", args
            )

    def _consumer_view(self, row: tuple[Any, ...], stream_arn: str | None = None) -> dict[str, Any]:
        _, name, arn, status, _, created = row
        out = {
            "ConsumerName": name,
            "ConsumerARN": arn,
            "ConsumerStatus": status,
            "ConsumerCreationTimestamp": created,
        }
        if stream_arn is not None:
            out["StreamARN"] = stream_arn
        return out

    def consumer_count(self: KinesisService, stream: Stream) -> int:
        self._settle_consumers(stream.id)
        row = self.store.query_one("SELECT COUNT(*) FROM kinesis_consumers WHERE stream_id = ?", (stream.id,))
        return row[0] if row else 0

    def _stream_by_arn(self: KinesisService, ctx: RequestContext, arn: str) -> Stream:
        return self.streams.find(ctx, {"StreamARN": arn}, deleting_ok=False)

    def consumer_by_arn(
        self: KinesisService, ctx: RequestContext, arn: str
    ) -> tuple[Stream, tuple[Any, ...]]:
        stream_arn = arn.split("/consumer/", 1)[0]
        stream = self._stream_by_arn(ctx, stream_arn)
        self._settle_consumers(stream.id)
        row = self.store.query_one(f"SELECT {_COLUMNS} FROM kinesis_consumers WHERE arn = ?", (arn,))
        if row is None or row[0] != stream.id:
            raise errors.not_found(f"Consumer {arn} under account {ctx.account} not found.")
        return stream, row

    def _find_consumer(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> tuple[Stream, tuple[Any, ...]]:
        if params.get("ConsumerARN") is not None:
            return self.consumer_by_arn(ctx, params["ConsumerARN"])
        if params.get("StreamARN") is None or params.get("ConsumerName") is None:
            raise errors.invalid("Either ConsumerARN or both ConsumerName and StreamARN must be provided.")
        stream = self._stream_by_arn(ctx, params["StreamARN"])
        self._settle_consumers(stream.id)
        row = self.store.query_one(
            f"SELECT {_COLUMNS} FROM kinesis_consumers WHERE stream_id = ? AND name = ?",
            (stream.id, params["ConsumerName"]),
        )
        if row is None:
            raise errors.not_found(
                f"Consumer {params['ConsumerName']} under stream {stream.arn} not found "
                f"for account {ctx.account}."
            )
        return stream, row

    def register_stream_consumer(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        stream = self._stream_by_arn(ctx, params["StreamARN"])
        name = params["ConsumerName"]
        self._settle_consumers(stream.id)
        rows = self.store.query(
            "SELECT name, status FROM kinesis_consumers WHERE stream_id = ?", (stream.id,)
        )
        if any(n == name for n, _ in rows):
            raise errors.in_use(
                f"Consumer {name} under stream {stream.arn} already exists for account {ctx.account}."
            )
        if len(rows) >= MAX_CONSUMERS:
            raise errors.limit(
                f"Consumer limit of {MAX_CONSUMERS} reached for stream {stream.arn} "
                f"under account {ctx.account}."
            )
        if sum(1 for _, s in rows if s == "CREATING") >= MAX_CREATING:
            raise errors.limit(
                f"Stream {stream.arn} under account {ctx.account} already has {MAX_CREATING} consumers in "
                "CREATING state."
            )
        tags = params.get("Tags") or {}
        self.check_tags(set(), tags, name)
        now = self.runtime.now()
        arn = f"{stream.arn}/consumer/{name}:{int(now)}"
        row = (stream.id, name, arn, "CREATING", now + self.runtime.state_delay, now)
        with self.store.transaction():
            self.store.execute(f"INSERT INTO kinesis_consumers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", row)
            self.put_tags(arn, tags)
        self.runtime.later(self.runtime.state_delay, lambda: self._settle_consumers(stream.id))
        return {"Consumer": self._consumer_view(row)}

    def describe_stream_consumer(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        stream, row = self._find_consumer(ctx, params)
        return {"ConsumerDescription": self._consumer_view(row, stream.arn)}

    def list_stream_consumers(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        stream = self._stream_by_arn(ctx, params["StreamARN"])
        self._settle_consumers(stream.id)
        now = self.runtime.now()
        after = ""
        if params.get("NextToken") is not None:
            state = read_token(self.secret, params["NextToken"], "consumers", now)
            if state["stream"] != stream.id:
                raise errors.invalid(f"Invalid NextToken: {params['NextToken']}")
            after = state["after"]
        limit = params.get("MaxResults") or 100
        rows = self.store.query(
            f"SELECT {_COLUMNS} FROM kinesis_consumers WHERE stream_id = ? AND name > ? "
            "ORDER BY name LIMIT ?",
            (stream.id, after, limit + 1),
        )
        result: dict[str, Any] = {"Consumers": [self._consumer_view(r) for r in rows[:limit]]}
        if len(rows) > limit:
            result["NextToken"] = make_token(
                self.secret, "consumers", now, stream=stream.id, after=rows[limit - 1][1]
            )
        return result

    def deregister_stream_consumer(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream, row = self._find_consumer(ctx, params)
        if row[3] == "DELETING":
            raise errors.not_found(f"Consumer {row[2]} under account {ctx.account} not found.")
        with self.store.transaction():
            self.store.execute(
                "UPDATE kinesis_consumers SET status = 'DELETING', settle_at = ? WHERE arn = ?",
                (self.runtime.now() + self.runtime.state_delay, row[2]),
            )
        self.runtime.later(self.runtime.state_delay, lambda: self._settle_consumers(stream.id))
