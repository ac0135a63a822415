"""Shared fixtures: a real, throwaway PostgreSQL server (runtime SQL tests and end-to-end runs)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests check behaviour, not speed: on a loaded 2-core CI machine one example can take longer than
# hypothesis's default 200 ms deadline, which would fail a correct test. Example counts stay per test.
settings.register_profile("aispec", deadline=None)
settings.load_profile("aispec")

PG_USER = "aispec"
PG_PASSWORD = "pg-Secret-4711"


def _pg_bindir() -> Path | None:
    candidates = [os.environ.get("AISPEC_PG_BIN", ""), *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 with password auth and a ``measurements`` table (and one
    named ``order``, a reserved word). Yields ``postgresql+psycopg://aispec:<password>@127.0.0.1:<port>/postgres``.

    initdb and pg_ctl refuse to run as root: as root they run as the ``postgres`` user.
    Skipped only when the PostgreSQL server binaries are not installed.
    """
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="aispec-pg-"))
    data, log, pwfile = base / "data", base / "server.log", base / "pwfile"
    pwfile.write_text(PG_PASSWORD + "\n")
    if as_root:
        shutil.chown(base, user="postgres", group="postgres")
        shutil.chown(pwfile, user="postgres", group="postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=60)

    port = _free_port()
    started = False
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start")
        started = True
        url = f"postgresql+psycopg://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{port}/postgres"
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        for attempt in range(50):
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(
                        "CREATE TABLE measurements (id integer PRIMARY KEY, species text, mass double precision, "
                        "note text)")
                    conn.exec_driver_sql(
                        "INSERT INTO measurements VALUES (1, 'Adelie', 3750.5, '100%% sure'), "
                        "(2, 'Gentoo', 5000, NULL), (3, 'Adelie', NULL, 'ok'), (4, 'Chinstrap', 3500, 'x')")
                    conn.exec_driver_sql('CREATE TABLE "order" (item text, qty integer)')
                    conn.exec_driver_sql("""INSERT INTO "order" VALUES ('pen', 2), ('ink', 5)""")
                    conn.exec_driver_sql("CREATE TABLE empty_table (a integer)")
                break
            except sa.exc.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        engine.dispose()
        yield url
    except subprocess.CalledProcessError as exc:
        details = log.read_text() if log.exists() else ""
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr}\n{details}") from exc
    finally:
        if started:
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60, check=False)
        shutil.rmtree(base, ignore_errors=True)
