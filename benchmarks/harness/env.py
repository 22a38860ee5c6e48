"""Set up what the benchmark needs and the project does not: wrk, and a venv for the peers.

Peers (uvicorn, granian, moto) live in `benchmarks/.env` (git-ignored), never in the project's
dependencies. Only what the selected benchmarks need is installed, once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from harness.paths import PEER_BIN, PEER_ENV


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it (Debian: apt-get install -y wrk) and run again")
    print("installing wrk (apt-get) ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("apt-get installed no wrk")
    return found


def _module_of(requirement: str) -> str:
    """The import name of a pip requirement: 'moto[server]' -> 'moto'."""
    return requirement.split("[", 1)[0].split("=", 1)[0].split(">", 1)[0].replace("-", "_")


def peer_installed(requirement: str) -> bool:
    python = PEER_BIN / "python"
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", f"import {_module_of(requirement)}"], capture_output=True)
    return probe.returncode == 0


def ensure_peers(requirements: set[str]) -> set[str]:
    """Install missing requirements into benchmarks/.env; return those that are usable."""
    missing = sorted(r for r in requirements if not peer_installed(r))
    if missing:
        if not (PEER_BIN / "python").exists():
            print(f"creating {PEER_ENV} ...", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(PEER_ENV)], check=True)
        print(f"installing {' '.join(missing)} into {PEER_ENV} ...", flush=True)
        for requirement in missing:  # one at a time: a peer that fails to install is only skipped
            done = subprocess.run(
                [str(PEER_BIN / "pip"), "install", "-q", requirement], capture_output=True, text=True
            )
            if done.returncode != 0:
                print(f"  could not install {requirement}: {done.stderr.strip().splitlines()[-1:]}")
    return {r for r in requirements if peer_installed(r)}
