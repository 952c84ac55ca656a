"""A throwaway PostgreSQL cluster for the tests and benchmarks: initdb in a temporary folder, 127.0.0.1, a free port.

Run as root (as CI is), the server runs as the `postgres` system user, which initdb insists on.
Nothing here touches a server of the machine's own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

OWNER = "sessionstats_owner"  # runs the migrations, as a team's owner role would (no CREATEROLE)
SUPERUSER = "postgres"
PASSWORD_ROLE, PASSWORD = "carol", "s3cret-Pa55"  # the one role that must give a password


def find_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/N/bin (newest)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    """A running server; `stop()` ends it and removes its files."""

    bin_dir: Path
    folder: Path
    port: int
    run_as: str | None
    roles: set[str] = field(default_factory=set)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def url(self, user: str, dbname: str) -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", user: str = SUPERUSER):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=user, dbname=dbname, autocommit=True)

    def ensure_role(self, name: str) -> None:
        """A login role that is a member of sessionstats_member (made once per cluster)."""
        if name in self.roles:
            return
        from psycopg import sql

        with self.connect() as con:
            exists = con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
            if not exists:
                con.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE sessionstats_member").format(sql.Identifier(name)))
        self.roles.add(name)

    def create_database(self, name: str, template: str = "template0") -> None:
        from psycopg import sql

        with self.connect() as con:
            con.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(template), sql.Identifier(OWNER)))

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with self.connect() as con:
            con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def pg_ctl(self, *args: str) -> None:
        _run(self.run_as, [str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), *args])

    def stop(self) -> None:
        self.pg_ctl("stop", "-m", "immediate", "-w")

    def start(self) -> None:
        # fsync=off makes each commit a plain write(); synchronous_commit stays on, because a commit
        # the WAL writer had not written yet is lost when a test stops the server with `-m immediate`
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=400")
        self.pg_ctl("start", "-w", "-t", "60", "-l", str(self.folder / "server.log"), "-o", options)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb, start, and make the owner and member roles; raises RuntimeError when PostgreSQL is missing."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql)")
    run_as = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="sessionstats-pg-"))
    if run_as:
        account = pwd.getpwnam(run_as)
        os.chown(folder, account.pw_uid, account.pw_gid)
    _run(run_as, [str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", SUPERUSER, "--auth=trust",
                  "-E", "UTF8", "--no-instructions"])
    hba = folder / "data" / "pg_hba.conf"  # one role signs in with a password; the rest are trusted
    _run(run_as, ["sh", "-c", f"{{ echo 'host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256'; cat {hba}; }} "
                              f"> {hba}.new && mv {hba}.new {hba}"])
    cluster = Cluster(bin_dir, folder, _free_port(), run_as)
    cluster.start()
    with cluster.connect() as con:
        con.execute(f"CREATE ROLE {OWNER} LOGIN")  # as the README recommends: roles are the superuser's to make
        con.execute("CREATE ROLE sessionstats_member NOLOGIN")
        con.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}' IN ROLE sessionstats_member")
    cluster.roles.add(PASSWORD_ROLE)
    return cluster


def _run(run_as: str | None, command: list[str]) -> None:
    if run_as:
        command = ["runuser", "-u", run_as, "--", *command]
    subprocess.run(command, check=True, capture_output=True, cwd="/")
