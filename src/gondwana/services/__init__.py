"""The services Gondwana implements, one package each, imported only when enabled."""

from __future__ import annotations

import importlib

from gondwana.services.base import Service

# name -> "module:Class"; a service appears here once its package lands.
AVAILABLE: dict[str, str] = {
    "sqs": "gondwana.services.sqs.provider:SqsService",
    "sts": "gondwana.services.sts.provider:StsService",
    "kinesis": "gondwana.services.kinesis.provider:KinesisService",
    "dynamodb": "gondwana.services.dynamodb.provider:DynamoDBService",
    "dynamodbstreams": "gondwana.services.dynamodb.streams:DynamoDBStreamsService",
}


def load_service_classes(enabled: list[str], plugins: list[str]) -> list[type[Service]]:
    """The provider classes for the enabled services (all when `enabled` is empty), plus any
    classes that plugin modules list in their `SERVICES` attribute."""
    names = enabled or list(AVAILABLE)
    unknown = [n for n in names if n not in AVAILABLE]
    if unknown:
        raise ValueError(f"unknown service(s): {', '.join(unknown)}; available: {', '.join(AVAILABLE)}")
    classes: list[type[Service]] = []
    for name in names:
        module_name, _, class_name = AVAILABLE[name].partition(":")
        classes.append(getattr(importlib.import_module(module_name), class_name))
    for plugin in plugins:
        classes.extend(importlib.import_module(plugin).SERVICES)
    return classes
