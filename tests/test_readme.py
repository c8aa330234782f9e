"""Every code block of the README runs as written, or says why it does not.

Each fenced `bash`/`sh`/`python` block of README.md is a test case, run in a fresh temporary
folder (its working directory, so `results/`, `report.html` and `mlflow.db` land there) with a
temporary `MOVIEBENCH_CACHE` shared by the blocks, this checkout first on `PYTHONPATH`, and
the bundled data. Shell blocks run under `bash -euo pipefail`, Python blocks as a script.

A block that must not run (it installs packages, starts a server, needs a cluster, names
placeholder files, or costs minutes) has on the line just before it:

    <!-- readme-test: skip: REASON -->

and is reported as skipped with that reason. Blocks that read the development data
(`../shared/data`) are skipped with the marker too rather than run when it is present: the
poster ladders they start cost minutes on a CPU, which CI does not have (the shared-data
tests elsewhere cover those sources). A block that names `../shared/data` without the marker
runs only where the data is present, through a `../shared` link beside its folder.

Two blocks get more than running: the "Adding a model" class is saved as a plugin file and
run through `check_model` and `bench --plugins FILE run` on the default task, and the sample
board's table must equal what its command renders from the committed `results/sample`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip:\s*(.+?)\s*-->")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
RUNNABLE = {"bash": "bash", "sh": "bash", "python": "python"}
TIMEOUT = 600  # seconds per block; the slowest runs a two-rung ladder on the bundled data


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None  # the marker's reason

    @property
    def id(self) -> str:
        return f"line{self.line}-{self.lang}"


def readme_blocks(text: str) -> list[Block]:
    """The README's fenced code blocks, indentation removed, each with its skip marker."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, lang = len(match[1]), match[2]
        j = i + 1
        while not FENCE.match(lines[j]):
            j += 1
        before = lines[i - 1].strip() if i else ""
        marker = SKIP.fullmatch(before)
        code = "\n".join(line[indent:] for line in lines[i + 1 : j]) + "\n"
        blocks.append(Block(i + 1, lang, code, marker[1] if marker else None))
        i = j + 1
    return blocks


BLOCKS = [b for b in readme_blocks(README.read_text()) if b.lang in RUNNABLE]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One feature and table cache for every block: the bundled table is parsed once."""
    return tmp_path_factory.mktemp("readme-cache")


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["MOVIEBENCH_CACHE"] = str(cache)
    env["COLUMNS"] = "100"
    env.pop("MOVIEBENCH_PLUGINS", None)
    return env


def _workdir(tmp_path: Path) -> Path:
    """A fresh folder laid out like a checkout's: the committed results/baseline and
    results/sample, and ../shared when the development data is here."""
    work = tmp_path / "work"
    for folder in ("baseline", "sample"):
        shutil.copytree(ROOT / "results" / folder, work / "results" / folder)
    if SHARED_DATA.exists():
        (tmp_path / "shared").symlink_to(SHARED_DATA.parent)
    return work


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    if RUNNABLE[block.lang] == "bash":
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    else:
        command = [sys.executable, "-c", block.code]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )


def test_readme_has_blocks_and_markers() -> None:
    """The parser finds the README's blocks, and every skip gives a reason."""
    assert len(BLOCKS) >= 10
    assert any(b.skip is None for b in BLOCKS)
    assert all(b.skip is None or b.skip.strip() for b in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_runs(block: Block, tmp_path: Path, shared_cache: Path) -> None:
    if block.skip:
        pytest.skip(f"README line {block.line}: {block.skip}")
    if "../shared/data" in block.code and not SHARED_DATA.exists():
        pytest.skip(f"development data not found at {SHARED_DATA}")
    if "@register_model" in block.code:
        pytest.skip("the model example runs as a plugin in test_readme_model_example")
    done = run_block(block, _workdir(tmp_path), _env(shared_cache))
    assert done.returncode == 0, (
        f"README block at line {block.line} failed ({done.returncode}):\n{block.code}\n"
        f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )


def test_readme_model_example(tmp_path: Path, shared_cache: Path) -> None:
    """The "Adding a model" block, saved as it stands, passes check_model and runs on the
    default task as a plugin: its record finishes (the bundled table holds NaN budgets)."""
    (example,) = [b for b in BLOCKS if "@register_model" in b.code]
    work = _workdir(tmp_path)
    (work / "my_rungs.py").write_text(example.code)
    env = _env(shared_cache)
    checked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import my_rungs; from moviebench.testing import check_model; "
            "print(check_model(my_rungs.RidgeClassifierRung))",
        ],
        cwd=work,
        env={**env, "PYTHONPATH": f"{work}{os.pathsep}{env['PYTHONPATH']}"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert "tmdb-quality" in checked.stdout
    command = "bench --plugins my_rungs.py run --task tmdb-quality --models ridge-classifier"
    done = subprocess.run(
        command.split(), cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ridge-classifier" in done.stdout and "FAILED" not in done.stdout


def test_readme_sample_board_is_rendered() -> None:
    """The sample board's table is exactly what its command prints from results/sample."""
    text = README.read_text()
    table = re.search(r"<!-- readme-board: begin -->\n(.*?)<!-- readme-board: end -->", text, re.S)
    assert table, "README lost its readme-board markers"
    (command,) = [b.code.strip() for b in BLOCKS if "--out results/sample" in b.code]
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=_env(Path(os.environ["MOVIEBENCH_CACHE"])),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    rendered = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert table[1].strip().splitlines() == rendered, (
        "README sample board differs from `" + command + "`; paste its table rows"
    )
