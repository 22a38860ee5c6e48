"""The handler chain: one request from bytes-in to bytes-out.

    internal API?  ->  context (region, account)  ->  route (service, operation, protocol)
      ->  authenticate (strict mode)  ->  parse + validate  ->  invoke the provider
      ->  serialize  ->  wait for the group commit  ->  response

Every step either fills the context or raises `ServiceError`; whatever escapes as another
exception is logged and answered as the service's internal error (500: InternalFailure, or
DynamoDB's InternalServerError), and the server keeps running.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
from collections.abc import Awaitable
from typing import Any

from gondwana.auth import account_for
from gondwana.auth.sigv4 import parse_sigv4
from gondwana.protocols.errors import ServiceError, internal_failure
from gondwana.protocols.routing import NotFound, Router, protocol_for
from gondwana.runtime import Runtime
from gondwana.server.context import RequestContext, region_from_host
from gondwana.server.internal import InternalApi
from gondwana.server.messages import ABORT, Pending, Request, Response

log = logging.getLogger("gondwana.request")

NOT_FOUND = Response(404, [("Content-Type", "text/xml")], b"<UnknownOperationException/>\n")
AVAILABILITY = "com.amazon.coral.availability#"


class Abort(Exception):
    """Answer nothing: reset the connection."""


_RANDOM = os.urandom(10).hex()
_ID_HEAD = f"{_RANDOM[:8]}-{_RANDOM[8:12]}-4{_RANDOM[13:16]}-a{_RANDOM[17:20]}-"
_id_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))


def _request_id() -> str:
    """A UUID-shaped request id, unique per process: a random head drawn once at start-up and a
    counter (reading the OS random source per request costs more than the rest of this)."""
    return f"{_ID_HEAD}{next(_id_counter) & 0xFFFFFFFFFFFF:012x}"


class Chain:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.router = Router(runtime.services.values())
        self.internal = InternalApi(runtime)
        self._verify: Any = None
        if self.settings.auth == "strict":
            from gondwana.auth.verify import verify_request

            self._verify = verify_request

    def handle(self, request: Request) -> Response | Pending | Awaitable[Response]:
        """The response, computed synchronously when nothing needs to wait (the common case: no
        task, no coroutine); a `Pending` for a write waiting for its group commit; or an
        awaitable (long polls, hanging faults)."""
        if request.path.startswith("/_gondwana/"):
            return self.internal.handle(request)
        ctx = RequestContext(
            request, _request_id(), self.settings.default_account, self.settings.default_region
        )
        try:
            response = self._serve(ctx)
            if type(response) is not Response:
                return self._finish(ctx, response)  # type: ignore[arg-type]
        except Exception as error:
            response = self._error_response(ctx, error)
        return self._complete(ctx, response)

    def _complete(self, ctx: RequestContext, response: Response) -> Response | Pending:
        """The response, or, when this loop iteration wrote, the response after the commit."""
        if self.runtime.store.pending:
            return self._when_committed(ctx, response)
        if log.isEnabledFor(logging.DEBUG):
            self._log(ctx, response)
        return response

    def _when_committed(self, ctx: RequestContext, response: Response) -> Pending:
        """A response that wrote is answered once its group commit is done, so what we acknowledge
        is durable (resolved from the commit's callback: no future, no task per write)."""
        answered = Pending()

        def committed(error: BaseException | None) -> None:
            final = response if error is None else self._error_response(ctx, None)
            if log.isEnabledFor(logging.DEBUG):
                self._log(ctx, final)
            answered.resolve(final)

        self.runtime.store.after_commit(committed)
        return answered

    async def _finish(self, ctx: RequestContext, pending: Awaitable[Response]) -> Response:
        try:
            response = await pending
        except Exception as error:
            response = self._error_response(ctx, error)
        done = self._complete(ctx, response)
        return done if type(done) is Response else await done

    def _error_response(self, ctx: RequestContext, error: BaseException | None) -> Response:
        if isinstance(error, ServiceError):
            return (ctx.protocol or protocol_for(ctx.service)).serialize_error(ctx, error)
        if isinstance(error, NotFound):
            return NOT_FOUND
        if isinstance(error, Abort):
            return ABORT
        if error is not None:
            log.exception(
                "unexpected failure in %s", ctx.operation.name if ctx.operation else ctx.request.path
            )
        failure = ctx.service.internal_error() if ctx.service is not None else internal_failure()
        return (ctx.protocol or protocol_for(ctx.service)).serialize_error(ctx, failure)

    @staticmethod
    def _log(ctx: RequestContext, response: Response) -> None:
        log.debug(
            "%s %s %s/%s -> %d",
            ctx.request_id,
            ctx.service.name if ctx.service else "-",
            ctx.region,
            ctx.operation.name if ctx.operation else ctx.request.path,
            response.status,
        )

    async def _hang(self, ctx: RequestContext) -> Response:
        """A region down in "hang" mode holds the request until the fault changes or the client
        goes away; then it is served (or faulted) as usual."""
        faults = self.runtime.faults
        while faults.down_mode(ctx.region) == "hang":
            disconnected = ctx.request.disconnected
            waiters = [asyncio.ensure_future(faults.changed())]
            if disconnected is not None:
                waiters.append(disconnected)  # type: ignore[arg-type]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            waiters[0].cancel()
            if disconnected is not None and disconnected.done():
                raise Abort()
        self._apply_faults(ctx)
        response = self._invoke(ctx)
        return response if type(response) is Response else await response  # type: ignore[misc]

    def _apply_faults(self, ctx: RequestContext) -> None:
        """A region that is down answers 503 or drops the connection; a throttled one rejects a
        fraction of requests."""
        faults = self.runtime.faults
        mode = faults.down_mode(ctx.region)
        if mode == "error":
            raise ServiceError(
                "ServiceUnavailable",
                "Service Unavailable",
                status=503,
                sender_fault=False,
                type_name=AVAILABILITY + "ServiceUnavailableException",
                query_code="ServiceUnavailable",
            )
        if mode == "refuse":
            raise Abort()
        if faults.throttled(ctx.region):
            raise ServiceError(
                "ThrottlingException",
                "Rate exceeded",
                status=400,
                type_name=AVAILABILITY + "ThrottlingException",
                query_code="Throttling",
            )

    def _serve(self, ctx: RequestContext) -> Response | Awaitable[Response]:
        request = ctx.request
        credential = parse_sigv4(request)
        if credential is not None:
            ctx.credential = credential
            if credential.region:
                ctx.region = credential.region
            ctx.account = account_for(self.settings, credential.access_key)
        if request.listener_region is not None:
            ctx.region = request.listener_region
        elif credential is None or not credential.region:
            ctx.region = region_from_host(request.host) or self.settings.default_region
        self.router.route(request, ctx)
        if self.runtime.faults.active:
            if self.runtime.faults.down_mode(ctx.region) == "hang":
                return self._hang(ctx)
            self._apply_faults(ctx)
        return self._invoke(ctx)

    def _invoke(self, ctx: RequestContext) -> Response | Awaitable[Response]:
        service, op, protocol = ctx.service, ctx.operation, ctx.protocol
        assert service is not None and op is not None and protocol is not None
        if self._verify is not None:
            self._verify(ctx, self.settings, self.runtime.now())
        handler = service.handler(op.name)
        if handler is None:
            raise ServiceError(
                "NotImplemented",
                f"{op.name} is not implemented by Gondwana yet.",
                status=501,
                sender_fault=False,
                type_name="NotImplemented",
            )
        result = handler(ctx, protocol.parse(service, op, ctx.request))
        if type(result) is not dict and result is not None and inspect.isawaitable(result):
            return self._serialize_later(ctx, result)
        return protocol.serialize(ctx, op, result)

    @staticmethod
    async def _serialize_later(ctx: RequestContext, result: Awaitable[Any]) -> Response:
        value = await result
        return ctx.protocol.serialize(ctx, ctx.operation, value)  # type: ignore[union-attr,arg-type]
