"""examples/quickstart.ipynb runs top to bottom in a fresh kernel (its last cell asserts the
board it made), so the notebook a newcomer opens first never goes stale."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def test_the_quickstart_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbclient = pytest.importorskip("nbclient", reason="nbclient not installed (the dev extra)")
    nbformat = pytest.importorskip("nbformat", reason="nbformat not installed (the dev extra)")
    pytest.importorskip("ipykernel", reason="ipykernel not installed (the dev extra)")
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    # A kernel spec of this interpreter, in a temporary folder: the kernel imports the
    # moviebench under test (the checkout on its path) with this test's private cache,
    # whatever kernels the machine has registered.
    write_kernel_spec(tmp_path / "kernels" / "moviebench-test")
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    assert specs.get_kernel_spec("moviebench-test").argv[0] == sys.executable
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    )
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        km=KernelManager(kernel_name="moviebench-test", kernel_spec_manager=specs),
        timeout=600,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("tmdb-quality on ggplot2movies" in page for page in html)
