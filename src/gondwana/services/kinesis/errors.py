"""Kinesis errors, worded as AWS words them (messages learnt from recorded AWS responses)."""

from __future__ import annotations

from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.base import null_member_message


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidArgumentException", message)


def in_use(message: str) -> ServiceError:
    return ServiceError("ResourceInUseException", message)


def limit(message: str) -> ServiceError:
    return ServiceError("LimitExceededException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def stream_not_found(name: str, account: str) -> ServiceError:
    return not_found(f"Stream {name} under account {account} not found.")


def stream_exists(name: str, account: str) -> ServiceError:
    return in_use(f"Stream {name} under account {account} already exists.")


def not_active(name: str, account: str, status: str) -> ServiceError:
    return in_use(f"Stream {name} under account {account} not ACTIVE, instead in state {status}")


def shard_not_found(shard_id: str, name: str, account: str) -> ServiceError:
    return not_found(f"Shard {shard_id} in stream {name} under account {account} does not exist")


def could_not_find_shard(shard_id: str, name: str, account: str) -> ServiceError:
    return not_found(f"Could not find shard {shard_id} in stream {name} under account {account}.")


def missing_field(field: str) -> ServiceError:
    """A member the current model marks optional but streams still need (PutRecord's PartitionKey)."""
    return validation(null_member_message(field))


def invalid_iterator() -> ServiceError:
    return invalid("Invalid ShardIterator.")


def dry_run_check(params: dict[str, Any]) -> None:
    """A DryRun request that passed every check stops here, as AWS's does."""
    if params.get("DryRun"):
        raise ServiceError(
            "DryRunOperationException", "The request would have succeeded, but DryRun was set."
        )
