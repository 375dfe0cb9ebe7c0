"""The kind contract: what every kind in the registry (the built-in ones and the toy
plug-in of test_toy_kind.py) must do for the shared workflow to serve it, checked the
same way for each one. A new kind is covered by registering it; nothing here names a
kind except the facts a kind cannot tell a test about itself (`NEEDS`, `DEPENDENT`).

- inputs load from the shipped samples and every input is fingerprinted by its bytes;
- draws are deterministic, JSON-plain, and balanced over every prefix of a run;
- every task asks for one output format for the whole run, whatever the item;
- a scripted run emits, resumes after an interruption (in process, every kind) and after
  a SIGKILL (a subprocess, one kind), writes every output line once, and shows in
  `storyloom stats`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from augment_source import write_source
from cli_process import generate_argv, scripted_env
from click.testing import CliRunner
from fast_retry import FAST_RETRY

from storyloom.backends.base import Completion, CompletionRequest, Message
from storyloom.backends.registry import backend_spec
from storyloom.backends.scripted import ScriptedBackend
from storyloom.cli.main import cli
from storyloom.core import layout
from storyloom.graph.runner import RunOptions, RunReport
from storyloom.graph.service import OpenRun, RunRequest, execute, open_run
from storyloom.graph.settings import GenerationSettings
from storyloom.stories import registry
from storyloom.stories.kind import CorpusKind, Draft, ItemView, LoadedInputs
from storyloom.stories.registry import ENTRY_POINT_GROUP, get_kind, kind_names

BUILT_IN = ("advice", "augment", "documents", "story")
SEED = 11
#: Draws checked for balance (every prefix 1..N) and items checked for one output format.
DRAWS = 60
SCHEMA_ITEMS = 50
#: Items of each scripted run, and the ones finished before it is interrupted.
RUN_ITEMS = 10
INTERRUPT_AFTER = 2
#: The kind killed with SIGKILL mid-run (story and toy have kill tests of their own);
#: advice also writes a side file (pairs.jsonl) that must not repeat either.
KILLED_KIND = "advice"
KILLED_ITEMS = 24
#: Chats in the augment kind's source file: more than any run or draw prefix here, so
#: every example is a first use of its chat (see DEPENDENT).
SOURCE_CHATS = DRAWS


def _toy_kind_and_kind_names() -> tuple[type[CorpusKind], tuple[str, ...]]:
    """The toy kind's class from test_toy_kind.py (which registers it on import, as a
    plug-in's entry point would list it) and the registry's names with it there; the
    registry is left as it was (`toy_registered` registers the toy kind per test)."""
    saved = dict(registry._REGISTERED)
    try:
        path = Path(__file__).with_name("test_toy_kind.py")
        spec = importlib.util.spec_from_file_location("toy_kind_for_contract", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # pydantic resolves the module's annotations there
        spec.loader.exec_module(module)
        return module.ToyKind, kind_names()
    finally:
        registry._REGISTERED.clear()
        registry._REGISTERED.update(saved)


TOY, KINDS = _toy_kind_and_kind_names()


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy kind in the registry for this test only."""
    monkeypatch.setattr(registry, "_REGISTERED", dict(registry._REGISTERED))
    registry.register_kind(TOY.name, TOY)


# --- what a kind cannot tell a test about itself ---------------------------------------

#: Inputs without a shipped sample, made for the test (the augment kind's `--source`).
NEEDS: dict[str, Callable[[Path], dict[str, Path]]] = {
    "augment": lambda folder: {
        "source": write_source(folder / "chats.jsonl", SOURCE_CHATS, pairs_every=4)
    },
}

#: A dimension a kind draws *within* other ones' drawn values: {dimension: (the
#: dimensions it is drawn within, the values allowed given theirs)}. Balance is asserted
#: within each combination of those values; every other dimension must be balanced on
#: its own.
Dependent = dict[str, tuple[tuple[str, ...], Callable[[dict[str, str]], tuple[str, ...]]]]


def _story_dependent(inputs: Any) -> Dependent:
    """The story's `never_together` axes (point of view and tone given the framing; the
    act given the dilemma; who faces it and the outcome given both) are drawn among
    what the values of their chain allow, from a stream per combination of them."""
    from storyloom.stories.story.draws import allowed_values

    return {
        axis: (chain, lambda drawn, axis=axis: allowed_values(inputs, axis, drawn))
        for axis, chain in inputs.axes.chains.items()
    }


def _documents_dependent(inputs: Any) -> Dependent:
    """The document type is drawn within the claim (no type for children with an
    adults-only claim)."""
    from storyloom.stories.documents.draws import types_for

    return {"document_type": (("claim",), lambda drawn: types_for(inputs, drawn["claim"]))}


def _advice_dependent(inputs: Any) -> Dependent:
    """The person is drawn within the dilemma, among the people it does not contradict."""
    from storyloom.stories.advice.draws import people_for

    return {"person": (("dilemma",), lambda drawn: people_for(inputs.taxonomy, drawn["dilemma"]))}


#: Per kind, what the balance test asserts:
#: - story: setting, dilemma, theme, framing, length, each on its own; point_of_view and
#:   tone within each framing, act within each dilemma, facing and outcome within each
#:   (dilemma, act) (DEPENDENT);
#: - documents: claim, audience, stance, length, each on its own; document_type within
#:   each claim;
#: - advice: dilemma, inclination, ask, turns, followup, each on its own; person within
#:   each dilemma;
#: - augment: operator, tools, prompt_length, prompt_style, strictness, each on its own
#:   (the operator is balanced over source records and shifted per later use of a
#:   record, so it is within +-1 only while every example is a first use: SOURCE_CHATS);
#: - toy: place and mood, each on its own.
DEPENDENT: dict[str, Callable[[Any], Dependent]] = {
    "story": _story_dependent,
    "documents": _documents_dependent,
    "advice": _advice_dependent,
}


# --- helpers ----------------------------------------------------------------------------


def _paths(kind: CorpusKind, folder: Path) -> dict[str, Path | None]:
    """Every input of the kind: the shipped sample (None), or a file made for the test."""
    made = NEEDS.get(kind.name, lambda _: {})(folder)
    missing = [s.name for s in kind.input_specs if s.sample is None and s.name not in made]
    assert not missing, f"{kind.name}: no sample for {missing}; add them to NEEDS"
    return {spec.name: made.get(spec.name) for spec in kind.input_specs}


def _load(kind: CorpusKind, folder: Path) -> LoadedInputs:
    folder.mkdir(parents=True, exist_ok=True)
    return kind.load_inputs(_paths(kind, folder))


def _settings(kind: CorpusKind) -> GenerationSettings:
    return GenerationSettings(seed=SEED, rewrite=kind.default_rewrite)


def _same_content_other_bytes(path: Path) -> bytes:
    """The file with its bytes changed and its meaning kept: a space inside the first
    JSON object, a trailing newline elsewhere."""
    data = path.read_bytes()
    if path.suffix in (".json", ".jsonl"):
        return data.replace(b"{", b"{ ", 1)
    return data + b"\n"


def _draws(kind: CorpusKind, inputs: Any, order: range) -> dict[int, Any]:
    settings = _settings(kind)
    return {index: kind.draw(inputs, SEED, index, settings) for index in order}


def _assert_fair(counts: Counter[str], values: tuple[str, ...], total: int, what: str) -> None:
    assert set(counts) <= set(values), f"{what}: drew {set(counts) - set(values)}"
    share = total / len(values)
    unfair = {v: counts[v] for v in values if abs(counts[v] - share) > 1}
    assert not unfair, f"{what}: over {total} draws the fair share is {share:.2f}, got {unfair}"


def _schema(task: Any, item: ItemView) -> Any:
    """The reply model a task asks for this item (`schema_for` while a schema may still
    be a function of the item; a plain class once every format is fixed)."""
    schema_for = getattr(task, "schema_for", None)
    return schema_for(item) if schema_for else task.schema


def _parse(task: Any, completion: Completion, item: ItemView) -> Any:
    """`parse(completion)`, or `parse(completion, item)` where the parser reads the item."""
    if len(inspect.signature(task.parse).parameters) >= 2:
        return task.parse(completion, item)
    return task.parse(completion)


def _ask(kind: CorpusKind, name: str, item: ItemView, asked: dict[str, list[Any]]) -> Any:
    """One task round-tripped through the scripted backend with the kind's fake replies,
    as the workflow sends it; the reply model asked for is noted in `asked`."""
    task = kind.tasks[name]
    instructions, user = task.build(item)
    schema = _schema(task, item)
    asked.setdefault(name, []).append(schema)
    context = getattr(task, "context_for", None)
    request = CompletionRequest(
        messages=(Message("user", user),),
        max_tokens=4000,
        instructions=instructions,
        output_schema=schema,
        output_context=context(item) if context else {},
        purpose=name,  # type: ignore[arg-type]
        metadata={"kind": kind.name, **kind.request_hints(item, name)},
    )
    backend = ScriptedBackend(responder=kind.fake_reply)
    return _parse(task, asyncio.run(backend.complete(request)), item)


def _one_item(kind: CorpusKind, inputs: Any, index: int, asked: dict[str, list[Any]]) -> None:
    """Item `index` through every task of the kind, each seeing what the workflow shows
    it (graph/nodes.py): plan, write, gates, [judge], [review], revise, gates, judge."""
    settings = _settings(kind)
    draw = kind.draw(inputs, SEED, index, settings)
    options = kind.options_model()
    item = ItemView(f"contract/{index}", index, draw, inputs, settings, options=options)
    if "plan" in kind.tasks:
        item = replace(item, plan=_ask(kind, "plan", item, asked))
    text = _ask(kind, "write", item, asked)
    first = Draft(text=text, findings=tuple(kind.check(text, item)))
    if "judge" in kind.tasks and kind.judge_first_draft:
        judged = replace(item, draft=first)
        critique = _ask(kind, "judge", judged, asked)
        first = replace(first, critique=critique, passed=kind.passes(critique, judged))
    item = replace(item, draft=first, drafts=(first,))
    if "review" in kind.tasks:
        item = replace(item, draft=replace(first, review=_ask(kind, "review", item, asked)))
    if "revise" not in kind.tasks:
        return
    text = _ask(kind, "revise", item, asked)
    item = replace(item, round=1)
    revision = Draft(text=text, findings=tuple(kind.check(text, item)), round=1)
    if "judge" in kind.tasks:
        _ask(kind, "judge", replace(item, draft=revision), asked)


def _whole_ids(path: Path) -> list[str]:
    """Ids of the whole lines of `path` (a kill may tear the last one)."""
    if not path.exists():
        return []
    found = []
    for line in path.read_bytes().split(b"\n"):
        try:
            found.append(json.loads(line)["id"])
        except (ValueError, KeyError):
            continue
    return found


def _ids(path: Path) -> list[str]:
    """Every id of `path`; fails on a torn or unreadable line."""
    if not path.exists():
        return []
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"{path.name} ends in a torn line"
    return [json.loads(line)["id"] for line in data.decode("utf-8").splitlines()]


def _assert_every_item_once(run_dir: Path, count: int) -> None:
    """Each of the run's items finished once (corpus or rejected), and each line of a
    side file (the kind's own outputs) is there once, for a finished item."""
    name = json.loads((run_dir / layout.CONFIG_FILE).read_text())["name"]
    finished = _ids(run_dir / layout.CORPUS_FILE) + _ids(run_dir / layout.REJECTED_FILE)
    assert sorted(finished) == sorted(f"{name}/{i}" for i in range(count))
    for side in (p for p in run_dir.iterdir() if layout.is_side_output(p.name)):
        written = _ids(side)
        assert len(written) == len(set(written)), f"{side.name} repeats a line"
        items = {r.get("item") or r["id"] for r in map(json.loads, side.read_text().splitlines())}
        assert items <= set(finished), f"{side.name} has an item that did not finish"


def _request(kind: CorpusKind, run_dir: Path, paths: Mapping[str, Path | None]) -> RunRequest:
    return RunRequest(
        run_dir=run_dir,
        kind=kind.name,
        input_paths=paths,
        settings={"seed": SEED},  # the rest (the kind's rewrite mode) settles as the run opens
        backend=backend_spec("scripted"),
        options=RunOptions(count=RUN_ITEMS, concurrency=4, retry=FAST_RETRY),
    )


def _run(request: RunRequest, stop_after: int | None = None) -> RunReport:
    """The run in process; with `stop_after`, stopped (as Ctrl-C does) once that many
    items have finished, leaving the ones in flight checkpointed."""
    finished = 0

    async def go(opened: OpenRun) -> RunReport:
        stop = asyncio.Event()

        def progress(event: str, item_id: str) -> None:
            nonlocal finished
            if event in ("emitted", "rejected"):
                finished += 1
                if stop_after is not None and finished >= stop_after:
                    stop.set()

        return await execute(opened, request.options, on_progress=progress, stop=stop)

    with open_run(request) as opened:
        return asyncio.run(go(opened))


# --- the contract -----------------------------------------------------------------------


def test_the_contract_covers_every_kind_built_in_or_plugged_in() -> None:
    declared = {point.name for point in entry_points(group=ENTRY_POINT_GROUP)}
    assert set(BUILT_IN) <= declared
    assert {*declared, TOY.name} <= set(KINDS)


@pytest.mark.parametrize("kind_name", KINDS)
def test_inputs_load_from_samples_and_each_file_is_fingerprinted(
    kind_name: str, tmp_path: Path
) -> None:
    kind = get_kind(kind_name)
    names = {spec.name for spec in kind.input_specs}
    loaded = _load(kind, tmp_path / "given")
    assert set(loaded.fingerprints) == names
    assert set(loaded.paths) == names
    assert _load(kind, tmp_path / "again").fingerprints == loaded.fingerprints
    for name in sorted(names):
        edited = tmp_path / "edited" / name / Path(loaded.paths[name]).name
        edited.parent.mkdir(parents=True)
        edited.write_bytes(_same_content_other_bytes(Path(loaded.paths[name])))
        paths = {**_paths(kind, tmp_path / "given"), name: edited}
        changed = kind.load_inputs(paths).fingerprints
        assert changed[name] != loaded.fingerprints[name], f"{name}: new bytes, same print"
        assert {k: v for k, v in changed.items() if k != name} == {
            k: v for k, v in loaded.fingerprints.items() if k != name
        }


@pytest.mark.parametrize("kind_name", KINDS)
def test_draws_are_deterministic_and_balanced_over_every_prefix(
    kind_name: str, tmp_path: Path
) -> None:
    kind = get_kind(kind_name)
    inputs = _load(kind, tmp_path / "one").value
    draws = _draws(kind, inputs, range(DRAWS))
    # A fresh kind and freshly read inputs, items drawn in reverse: the same draws.
    again = get_kind(kind_name)
    assert _draws(again, _load(again, tmp_path / "two").value, range(DRAWS - 1, -1, -1)) == draws
    assert json.loads(json.dumps(draws[DRAWS - 1])) == draws[DRAWS - 1], "not JSON-plain"

    dimensions = kind.dimensions(inputs, _settings(kind))
    assert dimensions, f"{kind_name} draws no balanced dimension"
    for draw in draws.values():
        assert set(draw["axes"]) == set(dimensions)
    dependent = DEPENDENT.get(kind_name, lambda _: {})(inputs)
    assert set(dependent) <= set(dimensions)
    for n in range(1, DRAWS + 1):
        prefix = [draws[i]["axes"] for i in range(n)]
        for dimension, values in dimensions.items():
            if dimension not in dependent:
                counts = Counter(axes[dimension] for axes in prefix)
                _assert_fair(counts, values, n, f"{kind_name} {dimension}, first {n}")
                continue
            chain, allowed = dependent[dimension]
            groups: dict[tuple[str, ...], list[str]] = {}
            for axes in prefix:
                groups.setdefault(tuple(axes[p] for p in chain), []).append(axes[dimension])
            for values_of_chain, within in groups.items():
                given = dict(zip(chain, values_of_chain, strict=True))
                what = f"{kind_name} {dimension} given {given}, first {n}"
                _assert_fair(Counter(within), allowed(given), len(within), what)


@pytest.mark.parametrize("kind_name", KINDS)
def test_every_task_asks_for_one_output_format_across_items(kind_name: str, tmp_path: Path) -> None:
    kind = get_kind(kind_name)
    inputs = _load(kind, tmp_path).value
    asked: dict[str, list[Any]] = {}
    for index in range(SCHEMA_ITEMS):
        _one_item(kind, inputs, index, asked)
    assert set(asked) == set(kind.tasks), "the walk reached every task"
    varying = {}
    for task, schemas in asked.items():
        assert len(schemas) >= SCHEMA_ITEMS
        formats = {
            (s.__name__, json.dumps(s.model_json_schema(), sort_keys=True)) if s else None
            for s in schemas
        }
        if len(formats) > 1:
            varying[task] = len(formats)
    assert not varying, f"{kind_name}: output formats per task across items: {varying}"


@pytest.mark.parametrize("kind_name", KINDS)
def test_a_scripted_run_resumes_after_an_interruption_and_shows_in_stats(
    kind_name: str, tmp_path: Path
) -> None:
    kind = get_kind(kind_name)
    tmp_path.joinpath("inputs").mkdir()
    request = _request(kind, tmp_path / "run", _paths(kind, tmp_path / "inputs"))

    stopped = _run(request, stop_after=INTERRUPT_AFTER)
    assert stopped.stop_reason == "stopped"
    done = stopped.emitted + stopped.rejected
    assert INTERRUPT_AFTER <= done < RUN_ITEMS
    resumed = _run(request)
    assert resumed.already_done == done  # finished items are not made again
    assert resumed.resumed == stopped.paused  # items in flight go on from their checkpoints
    assert resumed.emitted + resumed.rejected == RUN_ITEMS - done
    assert stopped.emitted + resumed.emitted >= 1
    _assert_every_item_once(request.run_dir, RUN_ITEMS)

    out = tmp_path / "stats.json"
    result = CliRunner().invoke(cli, ["stats", str(request.run_dir), "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["kind"] == kind_name
    counts = report["counts"]
    assert counts["emitted"] == len(_ids(request.run_dir / layout.CORPUS_FILE))
    assert counts["emitted"] == stopped.emitted + resumed.emitted
    assert counts["rejected"] == stopped.rejected + resumed.rejected
    assert counts["finished"] == RUN_ITEMS
    dimensions = kind.dimensions(_load(kind, tmp_path / "inputs").value, _settings(kind))
    assert set(report["coverage"]["axes"]) == set(dimensions)


def test_a_killed_run_resumes_with_every_item_and_side_record_once(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    argv = [*generate_argv(run_dir, KILLED_ITEMS), "--kind", KILLED_KIND]
    log = tmp_path / "killed.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=stderr, env=scripted_env(0.05)
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if _whole_ids(run_dir / layout.CORPUS_FILE) or _whole_ids(run_dir / layout.REJECTED_FILE):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    finished = _whole_ids(run_dir / layout.CORPUS_FILE) + _whole_ids(run_dir / layout.REJECTED_FILE)
    assert 1 <= len(finished) < KILLED_ITEMS, f"not killed mid-run:\n{log.read_text()}"

    final = subprocess.run(argv, capture_output=True, env=scripted_env(0), timeout=300)
    assert final.returncode == 0, final.stderr.decode()
    _assert_every_item_once(run_dir, KILLED_ITEMS)
    pairs = [json.loads(line) for line in (run_dir / "pairs.jsonl").read_text().splitlines()]
    corpus = [json.loads(line) for line in (run_dir / layout.CORPUS_FILE).read_text().splitlines()]
    # every kept transcript's pairs, one line per rewritten turn, each once
    assert sorted(p["id"] for p in pairs) == sorted(
        f"{r['id']}/turn-{p['turn']}" for r in corpus for p in r["metadata"]["pairs"]
    )
    assert {p["item"] for p in pairs} == {r["id"] for r in corpus}
