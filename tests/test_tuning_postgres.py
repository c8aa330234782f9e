"""A study shared through a real PostgreSQL server on loopback, started by the test itself.

The server runs from a temporary data directory (initdb + pg_ctl) and is stopped afterwards.
PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user. The
test is skipped, saying why, when the server binaries or that user are missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from moviebench.options import RunOptions
from moviebench.tuning import TuneRequest, open_storage, tune
from tests.fixtures import write_ggplot2_csv as write_movies_csv

ROOT = Path(__file__).resolve().parents[1]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install the `postgresql` package"
        )
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.skip("psycopg2 is not installed (pip install psycopg2-binary)")
    prefix: list[str] = []
    datadir = Path(tempfile.mkdtemp(prefix="moviebench-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(datadir)
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        if not shutil.which("runuser"):
            shutil.rmtree(datadir)
            pytest.skip("running as root and `runuser` is missing")
        os.chown(datadir, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    pgdata = datadir / "data"

    def pg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)

    made = pg(initdb, "-D", str(pgdata), "-U", "bench", "--auth=trust", "--no-sync")
    if made.returncode != 0:
        shutil.rmtree(datadir, ignore_errors=True)
        pytest.fail(f"initdb failed: {made.stderr[-2000:]}")
    options = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = pg(
        pg_ctl, "-D", str(pgdata), "-o", options, "-l", str(datadir / "server.log"), "-w", "start"
    )
    if started.returncode != 0:
        log = (datadir / "server.log").read_text() if (datadir / "server.log").exists() else ""
        shutil.rmtree(datadir, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed: {started.stderr[-1000:]} {log[-1000:]}")
    try:
        yield f"postgresql://bench@127.0.0.1:{port}/postgres"
    finally:
        pg(pg_ctl, "-D", str(pgdata), "-m", "immediate", "-w", "stop")
        shutil.rmtree(datadir, ignore_errors=True)


def test_shared_study_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    movies = write_movies_csv(tmp_path / "movies.csv", n=300)
    # Created once here; the two workers below only load it and add trials.
    first = tune(
        TuneRequest(
            task="tmdb-quality",
            model="logreg",
            options=RunOptions(data=movies),
            trials=1,
            storage=postgres_url,
        )
    )
    assert first.storage.startswith("postgresql://bench@127.0.0.1")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "moviebench",
        "tune",
        "--task",
        "tmdb-quality",
        "--model",
        "logreg",
        "--data",
        str(movies),
        "--trials",
        "2",
        "--storage",
        postgres_url,
    ]
    workers = [
        subprocess.Popen(
            [*cmd, "--sampler-seed", str(i)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in (1, 2)
    ]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = optuna.load_study(study_name=first.study, storage=open_storage(postgres_url))
    assert len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]) == 5
    assert study.user_attrs["model"] == "logreg"
    assert optuna.study.get_all_study_names(open_storage(postgres_url)) == [first.study]
