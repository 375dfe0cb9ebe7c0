"""`storyloom merge`: the shard run directories of one logical run, as one run directory.

Workers of one run (`generate --shard K/N`) each own a run directory. Merging takes every
finished item (a whole line in `corpus.jsonl` or `rejected.jsonl`) exactly once, the
kind's own files (`pairs.jsonl`, ...) for those items, every usage-ledger line, and the
checkpoints of those items, so `stats`, `export` and `inspect` work on the result as on
any run. Shards still running are read as they stand: a torn last line is left out and
taken by the next merge. Nothing is ever written into a shard.

Shards must come from one run: the same kind and recipe, settings (apart from how a
worker runs: its shard and concurrency) and input contents. Two shards holding the same
item index is an error, never a silent choice between them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyloom.core import layout
from storyloom.core.files import atomic_writer, write_atomically
from storyloom.core.jsonl import JsonlError, JsonlReader
from storyloom.core.records import (
    CorpusRecord,
    RejectedRecord,
    SideRecord,
    UsageEntry,
    parse_record,
)
from storyloom.dataset.checkpoints import readonly_uri
from storyloom.dataset.outdir import (
    OutputDirError,
    OutputOwner,
    build_and_swap,
    check_output_dir,
)
from storyloom.dataset.runfiles import DatasetError, read_run_config

#: Settings that say how one worker runs, not what the run makes: they may differ.
WORKER_SETTINGS = frozenset({"shard", "shards", "concurrency", "max_cost", "redis"})
#: The note in a merged run.json naming its shards (and marking it rebuildable).
MERGED_FROM = "merged_from"
#: Checkpoint tables copied for each merged item (LangGraph's and the text store).
THREAD_TABLES = ("checkpoints", "writes")
TEXT_TABLE = "storyloom_texts"


class MergeError(DatasetError):
    """The shards cannot be merged as asked; the message names the file and the problem."""


@dataclass(frozen=True)
class ShardDirectory:
    """One shard's run directory and its run.json (a worker is `graph.shared.Shard`)."""

    path: Path
    config: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.path.resolve().name)


@dataclass
class MergeReport:
    shards: int = 0
    emitted: int = 0
    rejected: int = 0
    usage_lines: int = 0
    side_records: dict[str, int] = field(default_factory=dict)
    threads: int = 0
    #: Bytes of torn last lines left out (shards still being written).
    torn_bytes: int = 0

    @property
    def items(self) -> int:
        return self.emitted + self.rejected


def load_shard(path: Path) -> ShardDirectory:
    return ShardDirectory(path, read_run_config(path))


def run_identity(config: dict[str, Any]) -> dict[str, Any]:
    """What must be equal for two directories to be shards of one run."""
    settings = config.get("settings") or {}
    inputs = config.get("inputs") or {}
    return {
        "kind": config.get("kind"),
        "kind_version": config.get("kind_version"),
        "recipe": config.get("recipe"),
        "settings": {k: v for k, v in settings.items() if k not in WORKER_SETTINGS},
        "inputs": {
            name: (entry.get("fingerprint") if isinstance(entry, dict) else entry)
            for name, entry in inputs.items()
        },
    }


def differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Every path at which `a` and `b` differ, as `settings.seed: 0 -> 9`: the top level
    in `run_identity`'s order (the kind first: when it differs, that is what matters),
    below it by name."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = [*a, *(key for key in b if key not in a)] if not prefix else sorted({*a, *b})
        return [
            found
            for key in keys
            for found in differences(a.get(key), b.get(key), f"{prefix}.{key}" if prefix else key)
        ]
    if a == b:
        return []
    if prefix.startswith("inputs."):
        return [f"{prefix.removeprefix('inputs.')} file content differs"]
    if prefix == "recipe":
        return ["the kind's recipe (prompts, rubric or gate thresholds) differs"]
    return [f"{prefix}: {a!r} -> {b!r}"]


def _differences_said(a: Any, b: Any) -> str | None:
    """`differences` as one clause, or None when the identities agree."""
    return "; ".join(differences(a, b)) or None


def output_owner(command: str, *configs: dict[str, Any]) -> OutputOwner:
    """`command`'s output of the run the `configs` (one, or each shard's) describe: a
    rebuild must be of the same run (one of the same shards, when they are named apart)."""
    names = frozenset(str(config.get("name") or "unnamed") for config in configs)
    return OutputOwner(command, names, run_identity(configs[0]), _differences_said)


def is_merge_output(path: Path) -> bool:
    try:
        config = json.loads((path / layout.CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and MERGED_FROM in (config.get("notes") or {})


def merge_runs(paths: Sequence[Path], out: Path, *, checkpoints: bool = True) -> MergeReport:
    """Merge the shard directories `paths` into `out` (new, or a previous merge output,
    which is rebuilt beside itself and swapped in)."""
    if not paths:
        raise MergeError("merge needs at least one shard directory")
    seen: dict[Path, Path] = {}
    for path in paths:
        if path.resolve() in seen:
            raise MergeError(f"{path}: given twice (as {seen[path.resolve()]})")
        seen[path.resolve()] = path
    shards = [load_shard(path) for path in paths]
    first = shards[0]
    for shard in shards[1:]:
        if found := differences(run_identity(first.config), run_identity(shard.config)):
            raise MergeError(
                f"{shard.path / layout.CONFIG_FILE}: not a shard of the same run as "
                f"{first.path} ({'; '.join(found)})"
            )
    owner = output_owner("merge", *(shard.config for shard in shards))
    if problem := check_output_dir(out, paths, owner, is_previous=is_merge_output):
        raise OutputDirError(problem)
    report = MergeReport(shards=len(shards))
    build_and_swap(out, owner, lambda staging: _build(shards, staging, out, report, checkpoints))
    return report


def _build(
    shards: list[ShardDirectory], staging: Path, out: Path, report: MergeReport, checkpoints: bool
) -> None:
    owners: dict[int, tuple[ShardDirectory, str]] = {}
    finished: dict[str, ShardDirectory] = {}
    for file_name, record_type in (
        (layout.CORPUS_FILE, CorpusRecord),
        (layout.REJECTED_FILE, RejectedRecord),
    ):
        with atomic_writer(staging / file_name) as handle:
            for shard in shards:
                for record in _records(shard.path / file_name, record_type, report):
                    _claim(shard, record, owners, finished)
                    handle.write(record.to_line())
                    if record_type is CorpusRecord:
                        report.emitted += 1
                    else:
                        report.rejected += 1
    _merge_sides(shards, staging, finished, report)
    with atomic_writer(staging / layout.USAGE_FILE) as handle:
        for shard in shards:
            for entry in _records(shard.path / layout.USAGE_FILE, UsageEntry, report):
                handle.write(entry.to_line())
                report.usage_lines += 1
    if checkpoints:
        report.threads = _merge_checkpoints(shards, staging / layout.CHECKPOINTS_FILE, finished)
    config = _merged_config(shards, out, report)
    write_atomically(staging / layout.CONFIG_FILE, json.dumps(config, indent=2) + "\n")


def _records(path: Path, record_type: type[Any], report: MergeReport) -> Iterator[Any]:
    """The whole lines of `path` as records; a damaged line (not a torn tail) is an error."""
    if not path.exists():
        return
    reader = JsonlReader(path)
    try:
        for number, value in reader.numbered():
            yield parse_record(record_type, value, path, number)
    except JsonlError as error:
        raise MergeError(
            f"{error}; fix or remove that line in the shard, then merge again"
        ) from None
    report.torn_bytes += reader.torn_bytes


def _item_index(shard: ShardDirectory, record: Any) -> int:
    index = record.metadata.get("index")
    if isinstance(index, int) and not isinstance(index, bool):
        return index
    number = record.id.rpartition("/")[2]
    if number.isdigit():
        return int(number)
    raise MergeError(f"{shard.path}: item {record.id!r} carries no item index")


def _claim(
    shard: ShardDirectory,
    record: Any,
    owners: dict[int, tuple[ShardDirectory, str]],
    finished: dict[str, ShardDirectory],
) -> None:
    index = _item_index(shard, record)
    if index in owners:
        other, other_id = owners[index]
        if other is shard:
            raise MergeError(
                f"{shard.path}: item {record.id!r} is finished twice in this shard "
                f"(also as {other_id!r}); the shard is damaged"
            )
        raise MergeError(
            f"{shard.path}: item index {index} ({record.id!r}) is also in {other.path} "
            f"({other_id!r}): the shards overlap"
        )
    owners[index] = (shard, record.id)
    finished[record.id] = shard


def _merge_sides(
    shards: list[ShardDirectory],
    staging: Path,
    finished: dict[str, ShardDirectory],
    report: MergeReport,
) -> None:
    """A kind's own files, each record of a finished item once (a side line written just
    before a kill, for an item not finished yet, waits for the item)."""
    names = sorted(
        {p.name for s in shards for p in s.path.glob("*.jsonl") if layout.is_side_output(p.name)}
    )
    for name in names:
        written: set[str] = set()
        with atomic_writer(staging / name) as handle:
            for shard in shards:
                for record in _records(shard.path / name, SideRecord, report):
                    if finished.get(record.item_id) is shard and record.id not in written:
                        handle.write(record.to_line())
                        written.add(record.id)
        report.side_records[name] = len(written)


def _merge_checkpoints(
    shards: list[ShardDirectory], target: Path, finished: dict[str, ShardDirectory]
) -> int:
    """Copy the checkpoint threads of the merged items and every stored text (texts are
    content-addressed, so copies from two shards are the same row)."""
    sources = [s for s in shards if (s.path / layout.CHECKPOINTS_FILE).is_file()]
    if not sources:
        return 0
    with closing(sqlite3.connect(target.resolve().as_uri(), uri=True)) as conn:
        _create_schema(conn, sources[0].path / layout.CHECKPOINTS_FILE)
        conn.execute("CREATE TEMP TABLE wanted (thread_id TEXT PRIMARY KEY)")
        for shard in sources:
            source = shard.path / layout.CHECKPOINTS_FILE
            ids = [(item_id,) for item_id, owner in finished.items() if owner is shard]
            conn.execute("DELETE FROM wanted")
            conn.executemany("INSERT INTO wanted VALUES (?)", ids)
            try:
                conn.execute("ATTACH DATABASE ? AS shard", (readonly_uri(source),))
            except sqlite3.Error as exc:
                raise MergeError(f"{source}: cannot read checkpoint database ({exc})") from exc
            try:
                for table in THREAD_TABLES:
                    columns = _columns(conn, table)
                    conn.execute(
                        f"INSERT OR IGNORE INTO main.{table} ({columns}) SELECT {columns} "
                        f"FROM shard.{table} WHERE thread_id IN (SELECT thread_id FROM wanted)"
                    )
                if _has_table(conn, "shard", TEXT_TABLE):
                    conn.execute(
                        f"INSERT OR IGNORE INTO main.{TEXT_TABLE} (ref, body) "
                        f"SELECT ref, body FROM shard.{TEXT_TABLE}"
                    )
                conn.commit()
            except sqlite3.Error as exc:
                raise MergeError(f"{source}: cannot copy checkpoints ({exc})") from exc
            finally:
                conn.execute("DETACH DATABASE shard")
        (threads,) = conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()
    return int(threads)


def _create_schema(conn: sqlite3.Connection, source: Path) -> None:
    """The tables as the shard's LangGraph version made them, so rows copy column for
    column."""
    with closing(sqlite3.connect(readonly_uri(source), uri=True)) as shard:
        statements = [
            sql
            for (name, sql) in shard.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"
            )
            if name in (*THREAD_TABLES, TEXT_TABLE)
        ]
    for sql in statements:
        conn.execute(sql)
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {TEXT_TABLE} (ref TEXT PRIMARY KEY, body BLOB NOT NULL)"
    )
    conn.commit()


def _columns(conn: sqlite3.Connection, table: str) -> str:
    return ", ".join(row[1] for row in conn.execute(f"PRAGMA main.table_info({table})"))


def _has_table(conn: sqlite3.Connection, schema: str, table: str) -> bool:
    row = conn.execute(
        f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return row is not None


def _merged_config(shards: list[ShardDirectory], out: Path, report: MergeReport) -> dict[str, Any]:
    """The first shard's config as the run's, without any worker's shard, with the merged
    count and the shards it came from."""
    config = json.loads(json.dumps(shards[0].config))
    config.pop("shard", None)
    settings = config.get("settings")
    if isinstance(settings, dict):
        settings.pop("shard", None)
    names = {shard.name for shard in shards}
    config["name"] = names.pop() if len(names) == 1 else out.resolve().name
    config["count"] = report.items
    notes = config.get("notes") if isinstance(config.get("notes"), dict) else {}
    models = sorted({str(s.config.get("model")) for s in shards if s.config.get("model")})
    config["notes"] = {
        **notes,
        MERGED_FROM: ", ".join(str(s.path.resolve()) for s in shards),
        "merged_models": ", ".join(models),
    }
    return config
