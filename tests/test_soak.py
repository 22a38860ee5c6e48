"""The durability soak (soak/run.py) for a few seconds: the real server under mixed load, killed
twice (seed 11 draws one kill after 2.4 s of load, then comes the final kill), every acknowledged operation
checked after each restart and at the end. Long soaks stay out of the suite (`make soak`)."""

from __future__ import annotations

import re

import pytest
from soak.run import main


def test_a_short_soak_with_two_kills_finds_no_violation(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--minutes", "0.05", "--kills-per-minute", "15", "--seed", "11", "--workers", "3",
                 "--visibility", "2"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS" in out
    summary = re.search(r"ops (\d+) \(ack (\d+).*kills (\d+), checks (\d+), violations 0", out)
    assert summary, out
    _, acked, kills, checks = map(int, summary.groups())
    assert kills == 2 and checks >= 3 and acked > 20, out
