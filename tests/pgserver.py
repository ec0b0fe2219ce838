"""A throw-away PostgreSQL server on loopback for the tests (and `.ci/run`).

Uses the Debian packages' binaries (/usr/lib/postgresql/<v>/bin). When running as root, the server
runs as the `postgres` system user, which the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def find_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


class PgServer:
    def __init__(self, bindir: Path, base: Path | None = None, port: int | None = None) -> None:
        self.bindir = bindir
        self.base = base or Path(tempfile.mkdtemp(prefix="helpdesk-pg-"))
        self.data = self.base / "data"
        self.port = port or free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PgServer:
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        subprocess.run(
            _as_postgres([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.base} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(
            _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                          str(self.base / "server.log"), "-w", "-t", "60", "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("PostgreSQL did not start; see " + str(self.base / "server.log"))

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(self.base, ignore_errors=True)


if __name__ == "__main__":
    # python tests/pgserver.py start DIR  -> prints the URL; python tests/pgserver.py stop DIR
    action, base = sys.argv[1], Path(sys.argv[2])
    bindir = find_bindir()
    if bindir is None:
        sys.exit("no PostgreSQL server binaries found (apt-get install postgresql)")
    if action == "start":
        base.mkdir(parents=True, exist_ok=True)
        server = PgServer(bindir, base=base, port=int(sys.argv[3]) if len(sys.argv) > 3 else None).start()
        print(server.url)
    else:
        PgServer(bindir, base=base).stop()
