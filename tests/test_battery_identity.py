"""A contributor's-eye battery against the harness's identity and hygiene: models that change
between runs or share a name, plugins with helper modules, concurrent API calls, damaged
caches, bad names and paths, API keyword misuse, markup in messages and the leftovers of the
earlier battery. Each case asserts what the harness does; none asserts a model's score.

Run: python -m pytest tests/test_battery_identity.py -q (K of N hold = passed of collected).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moviebench import api, plugins
from moviebench.cli import cli
from moviebench.errors import BadRequest, BenchError, DataError
from moviebench.models import MODELS, Model, register_model
from moviebench.options import RunOptions
from moviebench.registry import RegistrationError, Registry
from tests.fixtures import write_ggplot2_csv

PLUGIN = """
from sklearn.linear_model import LogisticRegression

from moviebench.models import register_model
from moviebench.models.classical.tabular import SklearnTabular
from moviebench.targets import CLASSIFICATION
{imports}


@register_model
class UserRung(SklearnTabular):
    name = "{name}"
    summary = "a user's logistic regression"
    targets = CLASSIFICATION
    defaults = {{"C": {C}}}

    def classifier(self):
        return LogisticRegression(C=self.params["C"], max_iter=500, random_state=self.context.seed)
"""


def write_plugin(folder: Path, name: str, C: str = "1.0", imports: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name.replace('-', '_')}.py"
    path.write_text(textwrap.dedent(PLUGIN.format(name=name, C=C, imports=imports)))
    return path


@pytest.fixture(autouse=True)
def _clean_plugin_modules() -> Iterator[None]:
    """Each case's plugin modules leave with it (conftest restores the registries, the active
    plugins, usercode's record and sys.path), so the next case imports its own afresh."""
    modules = set(sys.modules)
    yield
    for name in set(sys.modules) - modules:
        if name.startswith(("moviebench_plugin_", "bat_")):
            del sys.modules[name]


@pytest.fixture(scope="module")
def movies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ggplot2_csv(tmp_path_factory.mktemp("data") / "movies.csv", n=300)


def run(movies: Path, out: Path, models: list[str], **kwargs: object) -> dict:
    records = api.run(
        "tmdb-quality", models=models, out=out, options=RunOptions(data=movies), **kwargs
    )
    return {r.model: r for r in records}


def cli_main(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, str]:
    """`bench ARGS` as the console script runs it: (exit code, stderr)."""
    from moviebench.cli import main

    monkeypatch.setattr(sys, "argv", ["bench", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


# ---- models that change between runs: the code identity ------------------------------------


def plugin_with_helper(tmp_path: Path, tag: str, C: str = "0.5") -> tuple[Path, Path]:
    helper = tmp_path / "proj" / f"bat_helper_{tag}.py"
    helper.parent.mkdir(parents=True, exist_ok=True)
    helper.write_text(f"C = {C}\n")
    plugin = write_plugin(
        tmp_path / "proj", f"bat-{tag}", C="C", imports=f"from bat_helper_{tag} import C"
    )
    return plugin, helper


def test_a_helper_module_is_part_of_the_plugins_code_identity(movies: Path, tmp_path: Path) -> None:
    plugin, helper = plugin_with_helper(tmp_path, "a")
    closure = plugins.import_closure(plugin, plugins._file_module_name(plugin))
    assert helper.resolve() in closure and plugin.resolve() in closure
    record = run(movies, tmp_path / "out", ["bat-a"], plugins=[str(plugin)])["bat-a"]
    assert record.status == "ok", record.error
    assert list(record.identity["model_code"]["imports"]) == ["bat_helper_a.py"]


def test_a_plugin_with_a_helper_under_two_jobs_matches_a_serial_run(
    movies: Path, tmp_path: Path
) -> None:
    """Workers import the plugin (and its helper, from the plugin's folder) themselves: the
    same code identity and metrics as in this process."""
    plugin, _ = plugin_with_helper(tmp_path, "j")
    serial = run(movies, tmp_path / "serial", ["bat-j"], plugins=[str(plugin)])["bat-j"]
    pooled = run(movies, tmp_path / "pool", ["bat-j"], plugins=[str(plugin)], jobs=2)["bat-j"]
    assert pooled.status == "ok", pooled.error
    assert pooled.identity == serial.identity and pooled.metrics == serial.metrics


def test_editing_a_helper_module_makes_the_plugins_record_stale(
    movies: Path, tmp_path: Path
) -> None:
    plugin, helper = plugin_with_helper(tmp_path, "b")
    out = tmp_path / "out"
    first = run(movies, out, ["bat-b"], plugins=[str(plugin)])["bat-b"]
    again = run(movies, out, ["bat-b"], plugins=[str(plugin)])["bat-b"]
    assert again.identity == first.identity and again.created == first.created  # untouched
    helper.write_text("C = 0.125\n# edited\n")
    edited = run(movies, out, ["bat-b"], plugins=[str(plugin)])["bat-b"]
    assert edited.created != first.created  # retrained
    assert edited.params["C"] == 0.125  # with the edited helper's value, imported again
    assert edited.identity["model_code"]["imports"] != first.identity["model_code"]["imports"]


def test_an_edited_plugin_file_is_reimported_before_the_next_run_in_one_process(
    movies: Path, tmp_path: Path
) -> None:
    """A notebook calling api.run twice: the second run runs the edited code and files its
    record under that code's hash."""
    plugin = write_plugin(tmp_path / "nb", "bat-nb", C="1.0")
    out = tmp_path / "out"
    first = run(movies, out, ["bat-nb"], plugins=[str(plugin)])["bat-nb"]
    plugin.write_text(plugin.read_text().replace('"C": 1.0', '"C": 0.25'))
    second = run(movies, out, ["bat-nb"], plugins=[str(plugin)])["bat-nb"]
    import hashlib

    assert second.params["C"] == 0.25  # the edited class ran, not the one imported first
    assert second.identity["model_code"]["source_hash"] == (
        hashlib.sha256(plugin.read_bytes()).hexdigest()
    )
    assert (
        second.identity["model_code"]["source_hash"]
        != (first.identity["model_code"]["source_hash"])
    )


def test_an_edited_helper_is_reimported_before_the_next_run_in_one_process(
    movies: Path, tmp_path: Path
) -> None:
    plugin, helper = plugin_with_helper(tmp_path, "c", C="1.0")
    run(movies, tmp_path / "out", ["bat-c"], plugins=[str(plugin)])
    helper.write_text("C = 0.0625\n")
    record = run(movies, tmp_path / "out", ["bat-c"])["bat-c"]  # no plugins= this time
    assert record.params["C"] == 0.0625


def test_a_plugin_edited_into_a_syntax_error_refuses_the_next_run(
    movies: Path, tmp_path: Path
) -> None:
    plugin = write_plugin(tmp_path / "nb", "bat-broken")
    run(movies, tmp_path / "out", ["bat-broken"], plugins=[str(plugin)])
    plugin.write_text(plugin.read_text() + "\ndef oops(:\n")
    with pytest.raises(plugins.PluginError, match="changed since it was imported") as err:
        run(movies, tmp_path / "out", ["bat-broken"])
    assert "\n" not in str(err.value)


def test_the_manifest_stamp_sees_an_edited_helper(tmp_path: Path) -> None:
    from moviebench import manifest

    plugin, helper = plugin_with_helper(tmp_path, "d")
    plugins.load([str(plugin)])
    before = manifest.plugin_code_stamp(["bat-d"])
    helper.write_text("C = 0.75\n# edited\n")
    assert manifest.plugin_code_stamp(["bat-d"]) != before


def test_site_packages_and_moviebench_are_not_in_a_plugins_closure(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "p", "bat-e", imports="import numpy\nimport json")
    closure = plugins.import_closure(plugin, plugins._file_module_name(plugin))
    assert closure == [plugin.resolve()]


# ---- models that share a name ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["logreg", "ridge"])
def test_a_plugin_named_like_a_builtin_is_refused_in_one_line(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    plugin = write_plugin(tmp_path / "p", name)
    code, err = cli_main(["--plugins", str(plugin), "ls"], monkeypatch, capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"model '{name}'" in err and "already registered" in err
    assert MODELS.get(name).__module__.startswith("moviebench.")  # the built-in is kept


def test_a_plugin_named_like_a_builtin_is_refused_before_the_builtins_load(
    tmp_path: Path,
) -> None:
    """In a fresh process the plugin is imported before anything loads the built-ins."""
    plugin = write_plugin(tmp_path / "p", "ridge")
    done = subprocess.run(
        [sys.executable, "-m", "moviebench", "--plugins", str(plugin), "ls"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "already registered" in done.stderr


def test_registering_the_same_class_twice_is_a_no_op() -> None:
    class Twice(Model):
        name = "bat-twice"
        family = "trivial"

    assert register_model(Twice) is Twice
    assert register_model(Twice) is Twice
    assert MODELS.get("bat-twice") is Twice


def test_a_notebook_cell_run_twice_takes_the_newer_class() -> None:
    def cell(C: float) -> type:
        class CellRung(Model):
            name = "bat-cell"
            family = "trivial"
            defaults = {"C": C}

        return register_model(CellRung)

    cell(1.0)
    newer = cell(2.0)  # same module and qualified name: a redefinition
    assert MODELS.get("bat-cell") is newer


def test_a_different_class_under_a_taken_name_is_refused_in_one_line() -> None:
    class First(Model):
        name = "bat-taken"
        family = "trivial"

    class Second(Model):
        name = "bat-taken"
        family = "trivial"

    register_model(First)
    with pytest.raises(RegistrationError, match="already registered") as err:
        register_model(Second)
    assert isinstance(err.value, BenchError) and "\n" not in str(err.value)
    assert MODELS.get("bat-taken") is First


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".hidden", "x" * 101])
def test_a_model_class_with_an_unsafe_name_is_refused(name: str) -> None:
    cls = type("Unsafe", (Model,), {"name": name, "family": "trivial"})
    with pytest.raises(RegistrationError, match="rung name"):
        register_model(cls)


# ---- concurrent API calls -------------------------------------------------------------------


def test_a_registry_read_by_two_threads_while_it_loads_serves_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry is loaded once, and a thread that comes while another imports its modules
    waits for the whole registry (it was told 'no such task' before)."""
    package = tmp_path / "bat_slowpkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from moviebench.registry import Registry\nITEMS = Registry('thing', __name__)\n"
    )
    (package / "slow.py").write_text(
        "import time\nfrom bat_slowpkg import ITEMS\ntime.sleep(0.5)\nITEMS.add('late', 42)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import bat_slowpkg

    registry: Registry = bat_slowpkg.ITEMS
    results: list[object] = []

    def read() -> None:
        try:
            results.append(registry.get("late"))
        except BenchError as exc:
            results.append(exc)

    threads = [threading.Thread(target=read) for _ in range(2)]
    threads[0].start()
    time.sleep(0.1)
    threads[1].start()
    for t in threads:
        t.join()
    assert results == [42, 42]


def test_two_threads_calling_api_run_at_once_both_finish(movies: Path, tmp_path: Path) -> None:
    out: dict[str, object] = {}

    def one(name: str) -> None:
        try:
            out[name] = run(movies, tmp_path / name, ["majority", "logreg"])
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            out[name] = exc

    threads = [threading.Thread(target=one, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in ("a", "b"):
        assert isinstance(out[name], dict), out[name]
        assert {r.status for r in out[name].values()} == {"ok"}
    assert out["a"]["logreg"].metrics == out["b"]["logreg"].metrics


# ---- damaged caches -------------------------------------------------------------------------


def test_a_corrupted_remembered_fingerprint_keeps_the_records_current(
    movies: Path, tmp_path: Path
) -> None:
    from moviebench.features.cache import cache_root

    out = tmp_path / "out"
    first = run(movies, out, ["majority"])["majority"]
    (remembered,) = (cache_root() / "tables").glob("*.fingerprint")
    rows, fingerprint, seal = remembered.read_text().split()
    remembered.write_text(f"{rows} {'0' if fingerprint[0] != '0' else '1'}{fingerprint[1:]} {seal}")
    again = run(movies, out, ["majority"], force=False)["majority"]
    assert again.data_fingerprint == first.data_fingerprint
    assert again.created == first.created  # not retrained under a foreign fingerprint


def test_a_damaged_frame_folder_is_rebuilt_without_moving_the_data(tmp_path: Path) -> None:
    pytest.importorskip("av")
    from moviebench.datasets import load_source
    from moviebench.datasets.video_folder import write_synthetic_video

    root = tmp_path / "videos"
    for i in range(2):
        write_synthetic_video(root / f"film_{i}.mp4", seed=i, seconds=2.0, fps=10)
    first = load_source("video-folder", root, {"frames_per_film": "3"})
    frames = sorted(Path(p) for p in first.table["image"])
    frames[0].unlink()
    frames[-1].write_bytes(b"not a png")
    again = load_source("video-folder", root, {"frames_per_film": "3"})
    assert again.fingerprint == first.fingerprint and len(again.table) == len(first.table)
    assert sum("damaged" in note for note in again.report.notes) == 2


# ---- bad names and paths --------------------------------------------------------------------


@pytest.fixture
def submission(movies: Path, tmp_path: Path) -> Path:
    import pandas as pd

    split = api.export_split("tmdb-quality", tmp_path / "split.csv", data=movies)
    frame = pd.read_csv(split, dtype={"movie_id": str, "split_hash": str})
    scored = frame[frame["part"] != "train"]
    labels = [c for c in frame.columns if c.startswith("label:")]
    preds = pd.DataFrame({"movie_id": scored["movie_id"], "split_hash": scored["split_hash"]})
    for c in labels:
        preds[f"score:{c[6:]}"] = 1 / len(labels)
    path = tmp_path / "preds.csv"
    preds.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", ["../..", "", "a/b", "..", "x y"])
def test_bench_score_name_is_checked_like_a_rung_name(
    name: str, movies: Path, submission: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(RegistrationError, match="--name"):
        api.score("tmdb-quality", submission, name, out=out, data=movies)
    assert not out.exists()
    assert sorted(p.name for p in movies.parent.iterdir()) == ["movies.csv"]


def test_a_folder_given_as_predictions_is_one_line(
    movies: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    with pytest.raises(DataError, match="a folder, not a CSV"):
        api.score("tmdb-quality", tmp_path, "mine", out=tmp_path / "out", data=movies)
    code, err = cli_main(
        ["score", "--task", "tmdb-quality", "--predictions", str(tmp_path), "--name", "mine"]
        + ["--data", str(movies), "--out", str(tmp_path / "out")],
        monkeypatch,
        capsys,
    )
    assert code == 2 and "a folder, not a CSV" in err and err.count("\n") == 1


# ---- API keyword misuse ---------------------------------------------------------------------


def test_a_misspelt_keyword_is_refused_with_the_right_one(movies: Path, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"no keyword seed=; did you mean seeds="):
        api.run("tmdb-quality", seed=[7], out=tmp_path, data=movies)
    assert not any(tmp_path.iterdir())  # refused before anything trained


def test_a_string_where_a_list_is_expected_is_refused_with_the_list_spelled_out(
    tmp_path: Path,
) -> None:
    with pytest.raises(BadRequest, match=r"models=\['majority', 'logreg'\]"):
        api.run("tmdb-quality", models="majority,logreg", out=tmp_path)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: api.board(taks="tmdb-quality"), "did you mean task="),
        (lambda: api.scale("tmdb-quality", fractions="0.5"), "fractions= takes a list"),
        (lambda: api.run("tmdb-quality", plugins="x.py"), "plugins= takes a list"),
        (lambda: api.load_plugins("x.py"), "specs= takes a list"),
        (lambda: api.check("b", tolerence=0.1), "did you mean tolerance="),
    ],
)
def test_api_keyword_misuse_is_a_bench_error(call, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        call()


# ---- messages printed as typed --------------------------------------------------------------


def test_an_error_message_is_printed_without_emoji_or_markup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.py").write_text("")
    code, err = cli_main(
        ["run", "--task", "tmdb-quality", "--models", "file.py:x:[bold]y[/bold]"],
        monkeypatch,
        capsys,
    )
    assert code == 2
    assert "file.py:x:" in err and "[bold]y[/bold]" in err and "\u274c" not in err


# ---- leftovers of the earlier battery -------------------------------------------------------


def test_a_ten_megabyte_overview_cell_is_read(tmp_path: Path) -> None:
    from moviebench.datasets import load_source

    csv = tmp_path / "big.csv"
    header = "id,title,overview,vote_average,vote_count,genres,release_date\n"
    genres = '"[{""id"": 18, ""name"": ""Drama""}]"'
    lines = [
        f'{i},t{i},"{"x" * (10_000_000 if i == 2 else 10)}",6,100,{genres},2000-01-01\n'
        for i in range(4)
    ]
    csv.write_text(header + "".join(lines))
    table = load_source("tmdb", csv).table
    assert len(table) == 4 and table["overview"].str.len().max() == 10_000_000


@pytest.mark.parametrize("kind", ["gzip", "garbage"])
def test_a_compressed_or_binary_csv_is_one_line_without_a_traceback(
    kind: str, tmp_path: Path
) -> None:
    """In a process of its own: pyarrow's traceback went to stderr through
    sys.unraisablehook, which pytest would otherwise catch."""
    csv = tmp_path / "movies.csv"
    if kind == "gzip":
        rows = "".join(f"{i},t{i},{'word ' * (i % 50)}\n" for i in range(2000))
        csv.write_bytes(gzip.compress(("id,title,overview\n" + rows).encode()))
    else:
        csv.write_bytes(np.random.default_rng(0).integers(1, 256, 4000, dtype=np.uint8).tobytes())
    done = subprocess.run(
        [sys.executable, "-m", "moviebench", "data", "inspect", "--source", "tmdb"]
        + ["--data", str(csv)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MOVIEBENCH_TABLE_CACHE": "0"},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr


def test_a_poster_linked_to_itself_is_counted_unreadable(tmp_path: Path) -> None:
    from tests.datasets_fixtures import write_images

    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "movies.dat").write_text("1::Toy Story (1995)::Animation\n2::Heat (1995)::Action\n")
    write_images(folder / "posters", good=["1.jpg"])
    (folder / "posters" / "2.jpg").symlink_to("2.jpg")
    result = CliRunner().invoke(
        cli, ["data", "inspect", "--source", "movielens-1m", "--data", str(folder)]
    )
    assert result.exit_code == 0, result.output
    assert "1 unreadable" in result.output


def test_features_naming_a_column_the_file_lacks_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import pandas as pd

    from tests.test_datasets_tmdb import tmdb_5000

    csv = tmdb_5000(tmp_path / "tmdb_5000_movies.csv")
    frame = pd.read_csv(csv, on_bad_lines="skip")
    frame.drop(columns=["runtime"]).to_csv(tmp_path / "no_runtime.csv", index=False)
    code, err = cli_main(
        ["run", "--task", "tmdb-quality", "--source", "tmdb", "--models", "majority"]
        + ["--data", str(tmp_path / "no_runtime.csv"), "--features", "runtime"]
        + ["--out", str(tmp_path / "out"), "--min-votes", "0"],
        monkeypatch,
        capsys,
    )
    assert code == 2 and "--features runtime" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_model_name_is_escaped_in_the_markdown_report(movies: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(movies, out, ["majority", "logreg"])
    for path in out.rglob("logreg/*.json"):
        record = json.loads(path.read_text())
        record["model"] = "<svg onload=alert(1)>"
        path.write_text(json.dumps(record))
    page = api.report(out, to=tmp_path / "page").markdown
    text = page.read_text()
    assert re.search(r"(?<!\\)<svg", text) is None  # never as HTML
    assert text.count("\\<svg onload=alert(1)\\>") >= 3  # headline, summary, board


def test_ctrl_c_inside_a_native_fit_is_an_abort_not_a_failed_record(
    movies: Path, tmp_path: Path
) -> None:
    """A library that catches the interrupt in native code and raises its own error (as
    XGBoost does: XGBoostError) must not leave a failed record: the run is aborted."""

    class NativeError(Exception):
        pass

    class Interrupted(Model):
        name = "bat-interrupted"
        family = "classical"
        inputs = frozenset({"tabular"})
        from moviebench.targets import CLASSIFICATION as targets  # noqa: N811

        def fit(self, train, val):
            try:
                signal.raise_signal(signal.SIGINT)  # Ctrl-C while in "native code"
            except KeyboardInterrupt:
                raise NativeError("[xgboost] training interrupted") from None

        def predict_scores(self, data):
            raise AssertionError("never reached")

    register_model(Interrupted)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(movies, out, ["bat-interrupted"])
    assert not list(out.rglob("bat-interrupted/*.json"))  # no failed record
