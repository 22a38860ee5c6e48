"""The rest of the control plane: tags (both API families), resource policies, enhanced
monitoring, encryption, capacity mode (and an on-demand stream's warm throughput and record
distribution), record size, limits and account settings."""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

from gondwana.server.context import RequestContext
from gondwana.services.kinesis import errors
from gondwana.services.kinesis.streams import (
    ALL_METRICS,
    DAY,
    ON_DEMAND_STREAM_LIMIT,
    Stream,
    parse_arn,
    shard_limit,
)

if TYPE_CHECKING:
    from gondwana.services.kinesis.provider import KinesisService

MAX_TAGS = 50


@functools.cache
def _bad_tag_character() -> re.Pattern[str]:
    """Compiled on first use: a class over much of Unicode takes milliseconds of start-up."""
    return re.compile(r"[^\u00C0-\u1FFF\u2C00-\uD7FF\w./=+\-_ @%:]")


MODE_SWITCHES_PER_DAY = 2
MAX_WARM_MIBPS = 10_240  # "Scale to more than 10 GiBps for an on-demand stream" is refused


class Control:
    # ---- tags ----------------------------------------------------------------------------------

    def check_tags(self: KinesisService, existing: set[str], tags: dict[str, str], name: str = "") -> None:
        """Tag characters, then the 50-tag limit over the existing and the new keys."""
        texts = [*tags.keys(), *tags.values()]
        if any(_bad_tag_character().search(t) for t in texts):
            raise errors.invalid(
                "Some tags contain invalid characters. Valid characters: "
                "Unicode letters, digits, white space, _ . / = + - % @ :."
            )
        if len(existing | tags.keys()) > MAX_TAGS:
            raise errors.invalid(
                f"Failed to add tags to stream {name} because a given stream cannot have more than "
                f"{MAX_TAGS} tags associated with it."
            )

    def put_tags(self: KinesisService, arn: str, tags: dict[str, str]) -> None:
        self.store.executemany(
            "INSERT INTO kinesis_tags (arn, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
            [(arn, k, v) for k, v in tags.items()],
        )

    def _tags(self: KinesisService, arn: str) -> dict[str, str]:
        rows = self.store.query("SELECT key, value FROM kinesis_tags WHERE arn = ? ORDER BY key", (arn,))
        return dict(rows)

    def _add_tags(self: KinesisService, arn: str, label: str, tags: dict[str, str]) -> None:
        self.check_tags(set(self._tags(arn)), tags, label)
        with self.store.transaction():
            self.put_tags(arn, tags)

    def _remove_tags(self: KinesisService, arn: str, keys: list[str]) -> None:
        with self.store.transaction():
            self.store.executemany(
                "DELETE FROM kinesis_tags WHERE arn = ? AND key = ?", [(arn, k) for k in keys]
            )

    def add_tags_to_stream(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream = self.streams.find(ctx, params)
        self._add_tags(stream.arn, f"{stream.name} under account {stream.account}", params["Tags"])

    def remove_tags_from_stream(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream = self.streams.find(ctx, params)
        self._remove_tags(stream.arn, params["TagKeys"])

    def list_tags_for_stream(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        stream = self.streams.find(ctx, params)
        start = params.get("ExclusiveStartTagKey")
        tags = [(k, v) for k, v in self._tags(stream.arn).items() if start is None or k > start]
        limit = params.get("Limit") or MAX_TAGS
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags[:limit]], "HasMoreTags": len(tags) > limit}

    def _resource(self: KinesisService, ctx: RequestContext, arn: str) -> str:
        """Check that a stream or consumer ARN names something that exists; returns a label for messages."""
        consumer_at = arn.find("/consumer/")
        stream_part = arn if consumer_at < 0 else arn[:consumer_at]
        parsed = parse_arn(stream_part)
        if parsed is None:
            raise errors.invalid(f"Invalid ResourceARN {arn}.")
        region, account, name = parsed
        stream = (
            self.streams.load(account, region, name)
            if (account, region) == (ctx.account, ctx.region)
            else None
        )
        if stream is None:
            raise errors.stream_not_found(name, account)
        if consumer_at >= 0:
            self.consumer_by_arn(ctx, arn)
            return f"consumer {arn}"
        return f"{name} under account {account}"

    def tag_resource(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        label = self._resource(ctx, params["ResourceARN"])
        self._add_tags(params["ResourceARN"], label, params["Tags"])

    def untag_resource(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._resource(ctx, params["ResourceARN"])
        self._remove_tags(params["ResourceARN"], params["TagKeys"])

    def list_tags_for_resource(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self._resource(ctx, params["ResourceARN"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in self._tags(params["ResourceARN"]).items()]}

    # ---- resource policies ---------------------------------------------------------------------

    def put_resource_policy(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._resource(ctx, params["ResourceARN"])
        try:
            document = json.loads(params["Policy"])
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise errors.invalid("The policy is not a valid JSON document.")
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO kinesis_policies (arn, policy) VALUES (?, ?) "
                "ON CONFLICT (arn) DO UPDATE SET policy = excluded.policy",
                (params["ResourceARN"], params["Policy"]),
            )

    def get_resource_policy(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self._resource(ctx, params["ResourceARN"])
        row = self.store.query_one(
            "SELECT policy FROM kinesis_policies WHERE arn = ?", (params["ResourceARN"],)
        )
        return {"Policy": "{}" if row is None else row[0]}

    def delete_resource_policy(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._resource(ctx, params["ResourceARN"])
        with self.store.transaction():
            self.store.execute("DELETE FROM kinesis_policies WHERE arn = ?", (params["ResourceARN"],))

    # ---- monitoring and encryption -------------------------------------------------------------

    def _metrics(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any], enable: bool
    ) -> dict[str, Any]:
        stream = self.streams.find_active(ctx, params)
        asked = params["ShardLevelMetrics"]
        chosen = set(ALL_METRICS) if "ALL" in asked else set(asked)
        before = list(stream.metrics)
        current = set(before)
        after = current | chosen if enable else current - chosen
        stream.metrics = [m for m in ALL_METRICS if m in after]
        with self.store.transaction():
            self.streams.save(stream, "metrics")
        return {
            "StreamName": stream.name,
            "CurrentShardLevelMetrics": before,
            "DesiredShardLevelMetrics": stream.metrics,
            "StreamARN": stream.arn,
        }

    def enable_enhanced_monitoring(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._metrics(ctx, params, True)

    def disable_enhanced_monitoring(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._metrics(ctx, params, False)

    def start_stream_encryption(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream = self.streams.find_active(ctx, params)
        if params["EncryptionType"] != "KMS":
            raise errors.invalid(
                "Invalid EncryptionType NONE for StartStreamEncryption: only KMS is supported."
            )
        self._set_encryption(stream, "KMS", params["KeyId"])

    def stop_stream_encryption(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream = self.streams.find_active(ctx, params)
        if params["EncryptionType"] != "KMS":
            raise errors.invalid(
                "Invalid EncryptionType NONE for StopStreamEncryption: only KMS is supported."
            )
        self._set_encryption(stream, "NONE", None)

    def _set_encryption(self: KinesisService, stream: Stream, kind: str, key_id: str | None) -> None:
        stream.encryption, stream.key_id = kind, key_id
        with self.store.transaction():
            self.streams.save(stream, "encryption", "key_id")
            self.streams.transition(stream, "UPDATING")

    # ---- capacity and record size --------------------------------------------------------------

    def update_stream_mode(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream = self.streams.find_active(ctx, {"StreamARN": params["StreamARN"]})
        mode = params["StreamModeDetails"]["StreamMode"]
        if mode == stream.mode:
            raise errors.invalid(
                f"Stream {stream.name} under account {stream.account} is already in {mode} mode."
            )
        warm = params.get("WarmThroughputMiBps")
        if warm is not None:
            self.check_warm(ctx, stream.name, mode, warm)
        now = self.runtime.now()
        if not self.streams.record_event(stream, "mode", now, MODE_SWITCHES_PER_DAY):
            raise errors.limit(
                f"Stream {stream.name} under account {stream.account} has already switched capacity mode "
                f"{MODE_SWITCHES_PER_DAY} times in the last 24 hours."
            )
        if warm is not None:
            stream.warm = warm
        stream.mode = mode
        if mode == "PROVISIONED":  # neither setting applies to provisioned streams
            stream.warm = stream.distribution = None
        with self.store.transaction():
            self.streams.save(stream, "mode", "warm", "distribution", "history")
            self.streams.transition(stream, "UPDATING")

    def check_warm(self: KinesisService, ctx: RequestContext, name: str, mode: str, mibps: int) -> None:
        """Warm throughput: on-demand streams only, in accounts with the minimum throughput billing
        commitment, up to 10 GiB/s."""
        if mode != "ON_DEMAND":
            raise errors.invalid(
                f"Warm throughput is not supported for stream {name} under account {ctx.account}: "
                "it applies to on-demand streams only."
            )
        if self._commitment(ctx)["Status"] == "DISABLED":
            raise errors.invalid(
                f"Warm throughput requires the account {ctx.account} to have "
                "MinimumThroughputBillingCommitment enabled."
            )
        if mibps > MAX_WARM_MIBPS:
            raise errors.limit(
                f"Warm throughput {mibps} MiBps for stream {name} under account {ctx.account} exceeds "
                f"the limit of {MAX_WARM_MIBPS} MiBps."
            )

    def update_stream_warm_throughput(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        stream = self.streams.find_active(ctx, params)
        warm = params["WarmThroughputMiBps"]
        self.check_warm(ctx, stream.name, stream.mode, warm)
        stream.warm = warm
        with self.store.transaction():
            self.streams.save(stream, "warm")
            self.streams.transition(stream, "UPDATING")
        return {
            "StreamARN": stream.arn,
            "StreamName": stream.name,
            "WarmThroughput": {"TargetMiBps": warm, "CurrentMiBps": warm},
        }

    def update_stream_record_distribution_strategy(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        stream = self.streams.find_active(ctx, {"StreamARN": params["StreamARN"]})
        strategy = params["RecordDistributionStrategy"]
        self.check_distribution(ctx, stream.name, stream.mode, strategy)
        stream.distribution = "AUTO" if strategy == "AUTO" else None
        with self.store.transaction():  # at once: no UPDATING, records in flight keep their shards
            self.streams.save(stream, "distribution")

    def check_distribution(
        self: KinesisService, ctx: RequestContext, name: str, mode: str, strategy: str
    ) -> None:
        if mode != "ON_DEMAND":
            raise errors.invalid(
                f"RecordDistributionStrategy {strategy} is not supported for stream {name} under account "
                f"{ctx.account}: it applies to on-demand streams only."
            )

    def update_max_record_size(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream = self.streams.find_active(ctx, params)
        stream.max_record_kib = params["MaxRecordSizeInKiB"]
        with self.store.transaction():
            self.streams.save(stream, "max_record_kib")

    # ---- account -------------------------------------------------------------------------------

    def describe_limits(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.streams.settle_due()
        return {
            "ShardLimit": shard_limit(ctx.region),
            "OpenShardCount": self.streams.open_shard_total(ctx.account, ctx.region),
            "OnDemandStreamCount": self.streams.count(ctx.account, ctx.region, "mode = 'ON_DEMAND'"),
            "OnDemandStreamCountLimit": ON_DEMAND_STREAM_LIMIT,
        }

    def _commitment(self: KinesisService, ctx: RequestContext) -> dict[str, Any]:
        row = self.store.query_one(
            "SELECT status, started, ended FROM kinesis_accounts WHERE account = ? AND region = ?",
            (ctx.account, ctx.region),
        )
        if row is None:
            return {"Status": "DISABLED"}
        status, started, ended = row
        now = self.runtime.now()
        if status == "ENABLED_UNTIL_EARLIEST_ALLOWED_END" and ended is not None and ended <= now:
            status = "DISABLED"
        out: dict[str, Any] = {"Status": status}
        if started is not None:
            out["StartedAt"] = started
            out["EarliestAllowedEndAt"] = started + DAY
        if ended is not None:
            out["EndedAt"] = ended
        return out

    def describe_account_settings(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"MinimumThroughputBillingCommitment": self._commitment(ctx)}

    def update_account_settings(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        wanted = params["MinimumThroughputBillingCommitment"]["Status"]
        current = self._commitment(ctx)
        now = self.runtime.now()
        if wanted == "ENABLED":
            row = ("ENABLED", current.get("StartedAt") if current["Status"] == "ENABLED" else now, None)
        elif current["Status"] != "ENABLED":
            row = ("DISABLED", current.get("StartedAt"), current.get("EndedAt"))
        elif now < current["EarliestAllowedEndAt"]:
            row = (
                "ENABLED_UNTIL_EARLIEST_ALLOWED_END",
                current["StartedAt"],
                current["EarliestAllowedEndAt"],
            )
        else:
            row = ("DISABLED", current["StartedAt"], now)
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO kinesis_accounts (account, region, status, started, ended) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, region) DO UPDATE SET "
                "status = excluded.status, started = excluded.started, "
                "ended = excluded.ended",
                (ctx.account, ctx.region, *row),
            )
        return {"MinimumThroughputBillingCommitment": self._commitment(ctx)}
