"""The disaster-recovery drill for a DynamoDB global table (active/passive, article 3).

A writer writes at a steady rate to the primary; a reader watches the secondary and records when
each acknowledged write becomes visible there (replication lag). The primary is taken down with a
`region-down` fault; the writer notices its first failed write and fails over to the secondary. At
that moment the drill counts the writes the primary acknowledged that the secondary lacks (RPO), and
RTO runs from the fault to the first write the secondary acknowledges. The primary is then healed
and both replicas are scanned until they hold identical items.

Every item carries its sequence number, the region that took it and its write time (epoch ms); a
`heartbeat` item is rewritten on every tick in whichever region is active, so writes stranded in the
primary collide with newer ones in the secondary and last-writer-wins has conflicts to resolve.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from gondwana.control import Control, ControlError
from gondwana.drill.client import CallFailed, DynamoDB
from gondwana.drill.report import DrillReport, percentiles

HEARTBEAT = "heartbeat"


def _now_ms() -> float:
    return time.time() * 1000


class _Writer(threading.Thread):
    """Writes `w-<seq>` items at `rate` per second to the active region; fails over on first error."""

    def __init__(self, drill: _Drill) -> None:
        super().__init__(daemon=True, name="drill-writer")
        self.d = drill
        self.lock = threading.Lock()
        self.acked: dict[str, tuple[str, float]] = {}  # id -> (region, ack time ms)
        self.log: list[tuple[str, str, float]] = []  # the same, in order, for the reader
        self.active = drill.primary
        self.failed_at: float | None = None  # first failed write in the primary (ms)
        self.failover_at: float | None = None  # first write acknowledged by the secondary (ms)
        self.failed_writes = 0
        self.stop = threading.Event()
        self.failed_over = threading.Event()

    def run(self) -> None:
        interval, seq, tick = 1 / self.d.rate, 0, time.monotonic()
        while not self.stop.is_set():
            seq += 1
            self._write(seq)
            tick += interval
            delay = tick - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            else:
                tick = time.monotonic()  # fell behind: keep the rate, do not burst

    def _write(self, seq: int) -> None:
        region = self.active
        key = f"w-{seq:07d}"
        item = {
            "id": {"S": key},
            "seq": {"N": str(seq)},
            "region": {"S": region},
            "written_at": {"N": f"{_now_ms():.3f}"},
        }
        client = self.d.clients[region]
        acked = None
        try:
            client.call("PutItem", {"TableName": self.d.table, "Item": item})
            acked = _now_ms()
            with self.lock:
                self.acked[key] = (region, acked)
                self.log.append((key, region, acked))
            beat = dict(item, id={"S": HEARTBEAT})
            client.call("PutItem", {"TableName": self.d.table, "Item": beat})
        except CallFailed:
            if region != self.d.primary:
                return  # the secondary failing too: keep trying there
            self.failed_writes += 1
            if self.failed_at is None:
                self.failed_at = _now_ms()
            self.active = self.d.secondary  # fail over
            if acked is None:
                self._write(seq)  # the item was not acknowledged: retry it in the secondary at once
            return
        if region == self.d.secondary and self.failover_at is None:
            self.failover_at = acked
            self.failed_over.set()


class _Reader(threading.Thread):
    """Watches the secondary for the primary's acknowledged writes and records when each appears.

    It asks only for what it has not seen yet (BatchGetItem of the pending keys), so a poll costs the
    same however long the drill runs."""

    def __init__(self, drill: _Drill, writer: _Writer) -> None:
        super().__init__(daemon=True, name="drill-reader")
        self.d, self.writer = drill, writer
        self.client = drill.client(drill.secondary, timeout=5)
        self.unseen: dict[str, float] = {}  # primary write -> its acknowledgement (ms)
        self.cursor = 0  # how much of the writer's log has been read
        self.samples: list[tuple[float, float]] = []  # (acknowledged at ms, lag ms)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with self.writer.lock:
                fresh = self.writer.log[self.cursor :]
            self.cursor += len(fresh)
            self.unseen.update((key, at) for key, region, at in fresh if region == self.d.primary)
            try:
                self._poll()
            except CallFailed:
                pass  # the secondary hiccuped: try again next time
            self.stop.wait(self.d.poll)

    def _poll(self) -> None:
        keys = sorted(self.unseen)
        for i in range(0, len(keys), 100):
            chunk = [{"id": {"S": k}} for k in keys[i : i + 100]]
            out = self.client.call(
                "BatchGetItem",
                {"RequestItems": {self.d.table: {"Keys": chunk, "ProjectionExpression": "id"}}},
            )
            now = _now_ms()
            for item in out.get("Responses", {}).get(self.d.table, []):
                at = self.unseen.pop(item["id"]["S"])
                self.samples.append((at, max(0.0, now - at)))


class _Drill:
    def __init__(
        self, endpoint: str, primary: str, secondary: str, rate: float, poll: float, timeout: float
    ) -> None:
        self.endpoint, self.primary, self.secondary = endpoint, primary, secondary
        self.rate, self.poll = rate, poll
        self.table = f"gondwana-drill-{uuid.uuid4().hex[:8]}"
        self.control = Control(endpoint)
        # A server with a listener per region (`serve --region-ports`) is called on the region's own
        # port, so that the `refuse` outage mode really refuses connections.
        self.ports: dict[str, int] = self.control.health().get("region_ports") or {}
        self.clients = {r: self.client(r, timeout) for r in (primary, secondary)}

    def client(self, region: str, timeout: float) -> DynamoDB:
        endpoint = self.endpoint
        if region in self.ports:
            parts = urlsplit(endpoint)
            endpoint = f"{parts.scheme}://{parts.hostname}:{self.ports[region]}"
        return DynamoDB(endpoint, region, timeout)

    def create_global_table(self, timeout: float) -> None:
        primary = self.clients[self.primary]
        primary.call(
            "CreateTable",
            {
                "TableName": self.table,
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            },
        )
        self._wait(
            lambda: (
                primary.call("DescribeTable", {"TableName": self.table})["Table"]["TableStatus"] == "ACTIVE"
            ),
            timeout,
            "the primary table to become ACTIVE",
        )
        primary.call(
            "UpdateTable",
            {"TableName": self.table, "ReplicaUpdates": [{"Create": {"RegionName": self.secondary}}]},
        )
        self._wait(self._replica_active, timeout, f"the replica in {self.secondary} to become ACTIVE")

    def delete_global_table(self, timeout: float) -> None:
        """Remove the replica (DeleteTable in its region), then the table itself."""
        secondary, primary = self.client(self.secondary, 5), self.client(self.primary, 5)
        secondary.call("DeleteTable", {"TableName": self.table})

        def replica_gone() -> bool:
            table = primary.call("DescribeTable", {"TableName": self.table})["Table"]
            return all(r["RegionName"] != self.secondary for r in table.get("Replicas", []))

        self._wait(replica_gone, timeout, f"the replica in {self.secondary} to be deleted")
        primary.call("DeleteTable", {"TableName": self.table})

    def _replica_active(self) -> bool:
        table = self.clients[self.primary].call("DescribeTable", {"TableName": self.table})["Table"]
        replicas = {r["RegionName"]: r.get("ReplicaStatus") for r in table.get("Replicas", [])}
        if replicas.get(self.secondary) != "ACTIVE":
            return False
        try:
            other = self.clients[self.secondary].call("DescribeTable", {"TableName": self.table})
        except CallFailed:
            return False
        return other["Table"]["TableStatus"] == "ACTIVE"

    @staticmethod
    def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def conflicts(self) -> int:
        pairs = self.control.call("GET", "replication").get("pairs", [])
        regions = {self.primary, self.secondary}
        return sum(
            int(p.get("conflicts_dropped", 0)) for p in pairs if {p.get("source"), p.get("target")} == regions
        )

    def converge(self, timeout: float) -> tuple[bool, float, dict[str, Any], dict[str, Any]]:
        start, deadline = time.monotonic(), time.monotonic() + timeout
        scans = [self.client(r, timeout=5) for r in (self.primary, self.secondary)]
        while True:
            try:
                a, b = (c.scan_all(self.table) for c in scans)
                if a == b:
                    return True, (time.monotonic() - start) * 1000, a, b
            except CallFailed:
                a, b = {}, {}
            if time.monotonic() > deadline:
                return False, (time.monotonic() - start) * 1000, a, b
            time.sleep(0.1)


def run_drill(
    endpoint: str | None = None,
    primary: str = "us-east-1",
    secondary: str = "us-west-2",
    *,
    rate: float = 50,
    before: float = 5,
    after: float = 5,
    outage_mode: str = "error",
    delay_ms: int | None = None,
    converge_timeout: float = 30,
    poll: float = 0.02,
    timeout: float = 2.0,
    on_failover: Callable[[DrillReport], None] | None = None,
    log: Callable[[str], None] = lambda _: None,
    keep_table: bool = False,
) -> DrillReport:
    """Run the drill end to end against a running server and return its report.

    `timeout` is the writer's per-request timeout: how long a hung primary takes to be noticed.

    `delay_ms` sets the server's replication delay first (None keeps the server's). `on_failover` is
    called once the writer has failed over, while the primary is still down, with the partial report
    (what was acknowledged and missing at failover): tests use it to check against their own scans.
    The drill's table and its replica are deleted at the end unless `keep_table`.
    """
    if primary == secondary:
        raise ValueError("the primary and the secondary must be different regions")
    drill = _Drill(Control(endpoint).endpoint, primary, secondary, rate, poll, timeout)
    previous = drill.control.call("GET", "replication").get("delay_ms")
    if delay_ms is not None:
        drill.control.call("POST", "replication", {"delay_ms": delay_ms})
    try:
        report = _run(drill, before, after, outage_mode, converge_timeout, on_failover, log)
    finally:
        if delay_ms is not None and previous is not None:  # leave the server as it was
            drill.control.call("POST", "replication", {"delay_ms": previous})
    if not keep_table:
        log(f"deleting {drill.table} and its replica (--keep-table keeps them)")
        drill.delete_global_table(timeout=30)
    return report


def _run(
    drill: _Drill,
    before: float,
    after: float,
    outage_mode: str,
    converge_timeout: float,
    on_failover: Callable[[DrillReport], None] | None,
    log: Callable[[str], None],
) -> DrillReport:
    primary, secondary, rate = drill.primary, drill.secondary, drill.rate
    configured = drill.control.call("GET", "replication").get("delay_ms")
    report = DrillReport(
        table=drill.table,
        primary=primary,
        secondary=secondary,
        rate=rate,
        outage_mode=outage_mode,
        replication_delay_ms=configured,
    )
    log(f"creating global table {drill.table} in {primary} with a replica in {secondary}")
    drill.create_global_table(timeout=30)
    conflicts_before = drill.conflicts()
    writer = _Writer(drill)
    reader = _Reader(drill, writer)
    t0 = _now_ms()
    writer.start()
    reader.start()
    try:
        log(f"writing {rate:g}/s to {primary} for {before:g} s")
        time.sleep(before)
        fault_at = _now_ms()
        drill.control.add_fault(type="region-down", region=primary, mode=outage_mode)
        log(f"{primary} is down ({outage_mode}); waiting for the writer to fail over")
        if not writer.failed_over.wait(timeout=max(30.0, 10 / rate)):
            raise TimeoutError("the writer never managed to write to the secondary")
        with writer.lock:
            acked = {k: at for k, (r, at) in writer.acked.items() if r == primary}
        in_secondary = drill.client(secondary, timeout=5).scan_all(drill.table)  # its own connection
        missing = sorted(k for k in acked if k not in in_secondary)
        report.acked_before_outage = len(acked)
        report.missing_at_failover = missing
        report.rpo_items = len(missing)
        report.fault_at_ms = fault_at
        report.rpo_ms = max((fault_at - acked[k] for k in missing), default=0.0)
        report.rto_ms = writer.failover_at - fault_at  # type: ignore[operator]
        report.detect_ms = (writer.failed_at or fault_at) - fault_at
        report.failed_writes = writer.failed_writes
        log(f"failed over to {secondary} after {report.rto_ms:.0f} ms; {len(missing)} writes stranded")
        if on_failover is not None:
            on_failover(report)
        time.sleep(after)
        heal_at = _now_ms()
        drill.control.remove_fault(f"region-down:{primary}")
        log(f"{primary} healed; stopping the writer and waiting for convergence")
        writer.stop.set()
        writer.join()
        converged, took, items_a, items_b = drill.converge(converge_timeout)
    finally:
        writer.stop.set()
        reader.stop.set()
        try:
            drill.control.remove_fault(f"region-down:{primary}")
        except ControlError:
            pass  # already healed
    reader.join()
    with writer.lock:
        report.writes_after_failover = sum(1 for r, _ in writer.acked.values() if r == secondary)
    report.converged, report.convergence_ms = converged, took
    report.items = {primary: len(items_a), secondary: len(items_b)}
    report.conflicts = drill.conflicts() - conflicts_before
    steady = [lag for at, lag in reader.samples if at + lag < fault_at]
    report.lag_ms = percentiles(steady)
    report.stranded_lag_ms = percentiles([lag for at, lag in reader.samples if at + lag >= fault_at])
    report.lag_samples = [((at - t0) / 1000, lag) for at, lag in reader.samples]
    report.timeline = {
        "fault_s": (fault_at - t0) / 1000,
        "failover_s": (writer.failover_at - t0) / 1000,  # type: ignore[operator]
        "heal_s": (heal_at - t0) / 1000,
    }
    return report
