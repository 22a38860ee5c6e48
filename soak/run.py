"""The durability soak: `python soak/run.py --minutes 5 --kills-per-minute 4`.

Starts the real server on a fresh data directory, runs concurrent boto3 workers (SQS standard and
FIFO, Kinesis, DynamoDB; no retries, so every call is acknowledged, rejected or unknown), kill -9s
the server at random moments, restarts it on the same directory, and after every restart (with the
workers parked) and at the end checks every acknowledged operation. Exits 1 on any violation."""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: `soak` and `tests.support` live at the root
    sys.path.insert(0, str(ROOT))

from tests.support.server import ServerProcess  # noqa: E402

from soak.dynamodb_load import DynamoLoad  # noqa: E402
from soak.harness import Gate, Stats, make_client  # noqa: E402
from soak.kinesis_load import KinesisLoad  # noqa: E402
from soak.report import data_dir_problems, integrity_problems, log_problems, summary  # noqa: E402
from soak.sqs_load import SqsLoad  # noqa: E402


class Soak:
    def __init__(self, args: argparse.Namespace, data_dir: Path) -> None:
        self.args, self.data_dir = args, data_dir
        self.rng = random.Random(args.seed)
        self.stats = Stats()
        self.gate = Gate(args.workers)
        self.server = ServerProcess(data_dir, "--log-level", "warning", *args.server_args.split())
        self.sqs, self.kinesis, self.dynamodb = (
            SqsLoad(self.stats, args.visibility),
            KinesisLoad(self.stats),
            DynamoLoad(self.stats),
        )
        self.kills = 0
        self.max_bytes = 0
        self.log_seen = 0  # server output lines already looked at
        self.slowest_start = 0.0

    def clients(self) -> dict[str, object]:
        return {name: make_client(name, self.server.url) for name in ("sqs", "kinesis", "dynamodb")}

    def worker(self, number: int) -> None:
        rng = random.Random(f"{self.args.seed}-{number}")
        clients = self.clients()
        loads = [(self.sqs, "sqs", 4), (self.kinesis, "kinesis", 2), (self.dynamodb, "dynamodb", 3)]
        serial = 0
        while self.gate.enter():
            load, name, _ = rng.choices(loads, weights=[w for *_, w in loads])[0]
            serial += 1
            try:
                load.step(number, serial, clients[name], rng)
            except Exception as error:  # a bug in the soak itself must not look like a pass
                self.stats.violation(f"worker {number} crashed in {name}: {error!r}")
                self.gate.leave()
                raise

    def check(self, when: str) -> None:
        clients = self.clients()
        problems: list[str] = []
        for name, load in (("sqs", self.sqs), ("kinesis", self.kinesis), ("dynamodb", self.dynamodb)):
            try:
                problems += load.check(clients[name])
            except Exception as error:
                problems.append(f"{name} check failed: {error!r}")
        size, more = data_dir_problems(self.data_dir)
        more += log_problems(self.server.output[self.log_seen :])
        self.log_seen = len(self.server.output)
        self.max_bytes = max(self.max_bytes, size)
        self.stats.check([f"{when}: {p}" for p in problems + more])

    def kill_and_restart(self) -> bool:
        self.gate.set_open(False)
        self.server.kill()
        self.kills += 1
        if not self.gate.wait_parked():
            self.stats.violation(f"kill {self.kills}: workers did not park within 60 s")
        try:
            began = time.monotonic()
            self.server.restart()
            self.slowest_start = max(self.slowest_start, time.monotonic() - began)
            if self.rng.random() < 0.15:  # again while it is still warming up, before any check
                time.sleep(self.rng.uniform(0, 0.3))
                self.server.kill()
                self.kills += 1
                self.server.restart()
        except RuntimeError as error:
            self.stats.violation(f"kill {self.kills}: the server did not start again: {error}")
            return False
        self.check(f"after kill {self.kills}")
        return True

    def run(self) -> int:
        self.server.start()
        admin = self.clients()
        self.sqs.setup(admin["sqs"])
        self.kinesis.setup(admin["kinesis"])
        self.dynamodb.setup(admin["dynamodb"])
        threads = [
            threading.Thread(target=self.worker, args=(n,), daemon=True) for n in range(self.args.workers)
        ]
        for thread in threads:
            thread.start()
        self.gate.wait_parked()  # every worker has its clients: the clock starts now
        self.gate.set_open(True)
        started = time.monotonic()
        end = started + self.args.minutes * 60
        rate = self.args.kills_per_minute / 60
        alive, last_report = True, started
        while alive and time.monotonic() < end:
            pause = max(2.0, self.rng.expovariate(rate)) if rate > 0 else end
            time.sleep(max(0.0, min(pause, end - time.monotonic())))
            if time.monotonic() >= end:
                break
            alive = self.kill_and_restart()
            if alive:
                self.gate.set_open(True)
            if time.monotonic() - last_report > 15:
                last_report = time.monotonic()
                print(summary(self.stats, self.kills, time.monotonic() - started, brief=True), flush=True)
        if alive:
            alive = self.kill_and_restart()  # the last kill lands on full load too
        self.gate.stop()
        for thread in threads:
            thread.join(30)
        if alive:
            sqs = make_client("sqs", self.server.url)
            try:
                self.stats.check(self.sqs.drain(sqs, time.monotonic() + 3 * self.args.visibility + 30))
            except Exception as error:
                self.stats.violation(f"final: sqs drain failed: {error!r}")
            self.check("final")
            self.server.stop()
            self.stats.check(integrity_problems(self.data_dir))
        took = time.monotonic() - started
        print(
            summary(self.stats, self.kills, took, max_bytes=self.max_bytes, slowest=self.slowest_start),
            flush=True,
        )
        return 1 if self.stats.violations else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--kills-per-minute", type=float, default=4)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument(
        "--data-dir", type=Path, help="default: a fresh temporary directory, removed at the end"
    )
    parser.add_argument(
        "--visibility",
        type=int,
        default=8,
        help="the queues' VisibilityTimeout: abandoned messages come back then",
    )
    parser.add_argument("--server-args", default="", help='more server flags, e.g. "--durability strict"')
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args(argv)
    rate = f"{args.minutes} min, {args.kills_per_minute} kills/min"
    print(f"soak: seed {args.seed}, {args.workers} workers, {rate}", flush=True)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="gondwana-soak-"))
    soak = Soak(args, data_dir)
    try:
        return soak.run()
    finally:
        if soak.server.proc and soak.server.proc.poll() is None:
            soak.server.kill()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
