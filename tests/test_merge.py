"""`storyloom merge`: shards of one run become one run directory, every item once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from shard_runs import item_index, keep_shard, lines, make_run_dir, make_shards

from storyloom.cli.main import cli
from storyloom.core import layout
from storyloom.dataset.checkpoints import CheckpointReader
from storyloom.dataset.journey import load_journey
from storyloom.dataset.merge import MergeError, merge_runs
from storyloom.dataset.outdir import OutputDirError
from storyloom.report.compute import StatsOptions, compute_stats
from storyloom.report.source import open_input


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_merge_takes_every_item_of_every_shard_once(make_run, tmp_path: Path) -> None:
    shards = make_shards(make_run, shards=2, count=6)
    before = {run.path: snapshot(run.path) for run in shards}
    out = tmp_path / "merged"

    report = merge_runs([run.path for run in shards], out)

    corpus, rejected = lines(out / layout.CORPUS_FILE), lines(out / layout.REJECTED_FILE)
    assert sorted(item_index(r) for r in corpus + rejected) == [0, 1, 2, 3, 4, 5]
    assert sorted(item_index(r) for r in rejected) == [1, 3, 5]  # the judge failed them
    assert (report.emitted, report.rejected) == (3, 3)
    usage = lines(out / layout.USAGE_FILE)
    assert len(usage) == sum(len(lines(run.usage_path)) for run in shards) == report.usage_lines
    config = json.loads((out / layout.CONFIG_FILE).read_text())
    assert config["count"] == 6 and config["kind"] == "story"
    assert str(shards[1].path.resolve()) in config["notes"]["merged_from"]
    with CheckpointReader(out / layout.CHECKPOINTS_FILE) as reader:
        for record in corpus + rejected:
            state = reader.latest(record["id"])
            assert state is not None and state.values["outcome"] is not None
            assert reader.text(state.values["drafts"][0]["text"])  # texts came along
    assert report.threads == 6
    assert load_journey(out, "3").item_id == "w1/3"  # inspect finds an item by its index
    stats = compute_stats(open_input(out), StatsOptions(workers=1))
    assert (stats.counts.planned, stats.counts.emitted, stats.counts.rejected) == (6, 3, 3)
    assert {run.path: snapshot(run.path) for run in shards} == before  # shards only read


def test_shards_holding_the_same_item_are_refused(make_run, tmp_path: Path) -> None:
    [shard] = make_shards(make_run, shards=1, count=2)
    twin = tmp_path / "twin"
    shutil.copytree(shard.path, twin)

    with pytest.raises(MergeError, match=r"item index 0 .* is also in .*: the shards overlap"):
        merge_runs([shard.path, twin], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_shards_of_different_runs_are_refused(make_run, tmp_path: Path) -> None:
    first = make_run_dir(make_run, "a", 1)
    other = make_run_dir(make_run, "b", 1, seed=9)

    with pytest.raises(MergeError, match=r"not a shard of the same run .*settings\.seed: 0 -> 9"):
        merge_runs([first.path, other.path], tmp_path / "merged")


def test_worker_fields_may_differ_and_leave_the_merged_config(make_run, tmp_path: Path) -> None:
    shards = make_shards(make_run, shards=2, count=2)
    for number, run in enumerate(shards):
        config = json.loads(run.config_path.read_text())
        config["settings"]["shard"] = f"{number}/2"
        config["settings"]["concurrency"] = 4 + number
        run.config_path.write_text(json.dumps(config))

    merge_runs([run.path for run in shards], tmp_path / "merged")

    merged = json.loads((tmp_path / "merged" / layout.CONFIG_FILE).read_text())
    assert "shard" not in merged["settings"]


def test_a_shard_still_being_written_gives_what_is_finished(make_run, tmp_path: Path) -> None:
    shards = make_shards(make_run, shards=2, count=4)
    live = shards[1]
    whole = lines(live.corpus_path)
    with live.corpus_path.open("ab") as handle:  # a worker caught mid-append
        handle.write(b'{"id": "w1/7", "text": "half a sto')
    torn = live.corpus_path.read_bytes()

    report = merge_runs([run.path for run in shards], tmp_path / "merged")

    merged_ids = [r["id"] for r in lines(tmp_path / "merged" / layout.CORPUS_FILE)]
    assert "w1/7" not in merged_ids
    assert {r["id"] for r in whole} <= set(merged_ids)
    assert report.torn_bytes == len(b'{"id": "w1/7", "text": "half a sto')
    assert live.corpus_path.read_bytes() == torn  # never cut: the shard is not ours


def test_merging_again_rebuilds_a_previous_merge_only(make_run, tmp_path: Path) -> None:
    shards = make_shards(make_run, shards=2, count=4)
    out = tmp_path / "merged"
    merge_runs([shards[0].path], out)
    assert json.loads((out / layout.CONFIG_FILE).read_text())["count"] == 2

    merge_runs([run.path for run in shards], out)  # later, with every shard
    assert json.loads((out / layout.CONFIG_FILE).read_text())["count"] == 4

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(OutputDirError, match="not empty"):
        merge_runs([shards[0].path], mine)
    with pytest.raises(OutputDirError, match="inside the input"):
        merge_runs([shards[0].path], shards[0].path / "merged")
    assert (mine / "notes.txt").read_text() == "keep me"


def test_cli_merge_errors_are_one_line(make_run, tmp_path: Path) -> None:
    [shard] = make_shards(make_run, shards=1, count=1)
    argv = ["merge", str(shard.path), str(tmp_path), "--out", str(tmp_path / "x")]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "not a run directory" in result.output


def test_a_kinds_own_file_is_merged_by_id_for_finished_items(make_run, tmp_path: Path) -> None:
    shards = make_shards(make_run, shards=2, count=4)
    for run in shards:
        finished = [r["id"] for r in lines(run.corpus_path) + lines(run.rejected_path)]
        pairs = [
            {"id": item_id, "chosen": [{"role": "assistant", "content": "a"}]}
            for item_id in finished
        ]
        pairs.append({"id": "w9/99", "chosen": []})  # written just before a kill: not finished
        (run.path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))

    report = merge_runs([run.path for run in shards], tmp_path / "merged")

    merged = lines(tmp_path / "merged" / "pairs.jsonl")
    assert sorted(item_index(p) for p in merged) == [0, 1, 2, 3]
    assert report.side_records == {"pairs.jsonl": 4}


def add_users_files(folder: Path) -> dict[str, bytes]:
    """Files a user keeps beside an output (notes, analysis, a git repository)."""
    files = {
        "REVIEW-NOTES.md": b"item 3 reads oddly\n",
        "analysis/plot.csv": b"x,y\n1,2\n",
        ".git/config": b"[core]\n\tbare = false\n",
        ".git/objects/ab/cdef": b"\x00blob",
    }
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    (folder / "empty-folder").mkdir()
    return files


def test_merging_again_replaces_only_what_the_merge_wrote(make_run, tmp_path: Path) -> None:
    shards = make_shards(make_run, shards=2, count=4)
    out = tmp_path / "merged"
    merge_runs([shards[0].path], out)
    users = add_users_files(out)

    merge_runs([run.path for run in shards], out, checkpoints=False)  # later, every shard

    assert {name: (out / name).read_bytes() for name in users} == users
    assert (out / "empty-folder").is_dir()
    assert len(lines(out / layout.CORPUS_FILE)) + len(lines(out / layout.REJECTED_FILE)) == 4
    assert not (out / layout.CHECKPOINTS_FILE).exists()  # ours, not written this time: gone
    manifest = json.loads((out / ".storyloom-output.json").read_text())
    assert layout.CORPUS_FILE in manifest["files"] and "REVIEW-NOTES.md" not in manifest["files"]


def test_a_rebuild_refuses_to_write_over_a_file_it_did_not_write(make_run, tmp_path: Path) -> None:
    shards = make_shards(make_run, shards=2, count=4)
    out = tmp_path / "merged"
    merge_runs([shards[0].path], out, checkpoints=False)
    (out / layout.CHECKPOINTS_FILE).write_bytes(b"the user's own database")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    with pytest.raises(OutputDirError, match=f"would write over {layout.CHECKPOINTS_FILE}"):
        merge_runs([run.path for run in shards], out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".merged.")] == []


def test_a_merge_of_another_run_is_never_written_over(make_run, tmp_path: Path) -> None:
    ours = make_shards(make_run, shards=2, count=4)
    theirs = [make_run_dir(make_run, f"other{k}", 4) for k in range(2)]
    for k, run in enumerate(theirs):
        keep_shard(run.path, k, 2)
    out = tmp_path / "merged"
    merge_runs([run.path for run in theirs], out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    argv = ["merge", *(str(run.path) for run in ours), "--out", str(out)]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {out}: holds the merge of another run, 'other0', 'other1'; a rebuild "
        "replaces only the same run's own output: choose a new folder\n"
    )
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

    seeded = make_run_dir(make_run, "w0-seed9", 4, seed=9)
    with pytest.raises(OutputDirError, match=r"another run, 'other0', 'other1' \(settings.seed"):
        merge_runs([seeded.path], out)
