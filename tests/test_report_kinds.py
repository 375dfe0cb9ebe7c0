"""`storyloom stats` over corpus kinds: both run.json shapes, a kind's dimensions and own
figures (a small fake kind registered here), `--kind` for a bare corpus, chat-shaped
records, and pairwise similarity that agrees with the run's dedupe."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from augment_source import write_source
from click.testing import CliRunner
from dedupe_corpus import build_corpus
from jsonl_files import write_jsonl
from stats_cli import run_stats, stats_json

from storyloom.backends.base import CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.cli.main import cli
from storyloom.dedupe.index import NearDuplicateIndex
from storyloom.dedupe.signatures import MinHasher, similarity
from storyloom.graph.indexes import ITEM_SHINGLE_SIZE
from storyloom.graph.settings import GenerationSettings
from storyloom.report.similarity import pairwise_similarity
from storyloom.stories import registry as registry_module
from storyloom.stories.inputs import InputError, fingerprint, read_text_file
from storyloom.stories.kind import (
    CorpusKind,
    Draft,
    InputSpec,
    ItemView,
    LoadedInputs,
    ReportProfile,
    Rubric,
)
from storyloom.stories.registry import get_kind, kind_names, register_kind

FIXTURE = Path(__file__).parent / "fixtures" / "report" / "run"


def _old_shape(config: dict[str, Any]) -> dict[str, Any]:
    """run.json as written before corpus kinds: inputs at the top level, no identity."""
    old = {key: config[key] for key in ("name", "backend", "model", "settings")}
    return {**old, **config["inputs"]}


def test_old_and_new_run_config_shapes_read_the_same_inputs(tmp_path: Path) -> None:
    new = stats_json(tmp_path, [str(FIXTURE)])
    run = tmp_path / "old"
    shutil.copytree(FIXTURE, run)
    config = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps(_old_shape(config)))
    old = stats_json(tmp_path, [str(run)])
    # the constitution's and the axes file's values are read from either shape: the
    # fixture's never-drawn section and axis value show as gaps in both
    for report in (old, new):
        assert report["coverage"]["uncovered_sections"] == ["oversight-and-correction"]
        assert report["coverage"]["axes"]["setting"]["a library"] == {"emitted": 0, "rejected": 0}
    assert old["coverage"] == new["coverage"]
    assert old["quality"] == new["quality"]


# --- a fake kind with its own profile, dimensions and figures ----------------------------


def _tally_figures(
    corpus: Sequence[Mapping[str, Any]], rejected: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    reasons: dict[str, int] = {}
    for record in rejected:
        reasons[str(record["reason"])] = reasons.get(str(record["reason"]), 0) + 1
    kept = sum(1 for record in corpus if record["metadata"]["rewrite_won"])
    return {
        "Rewrites": {"won": kept, "win rate": kept / len(corpus), "ids": [r["id"] for r in corpus]},
        "Rejections": reasons,
    }


class TallyKind(CorpusKind):
    """Dimensions under `facets` read from a `palette` file of `dimension: a, b` lines."""

    name: ClassVar[str] = "tally"
    version: ClassVar[str] = "1"
    summary: ClassVar[str] = "a test kind"
    input_specs: ClassVar[tuple[InputSpec, ...]] = (InputSpec("palette", "dimension values"),)
    report_profile: ClassVar[ReportProfile] = ReportProfile(
        dimensions_field="facets",
        sections_field="topics",
        length_field="size",
        figures=_tally_figures,
    )

    def __init__(self) -> None:
        self.rubric = Rubric(criteria=())
        self.gates = ()
        self.tasks = {}

    def load_inputs(self, paths: Mapping[str, Path | None]) -> LoadedInputs:
        path = paths.get("palette")
        if path is None:
            raise InputError("palette: required")
        text = read_text_file(path, "palette")
        palette = {
            line.split(":")[0].strip(): tuple(v.strip() for v in line.split(":")[1].split(","))
            for line in text.splitlines()
            if ":" in line
        }
        return LoadedInputs(palette, {"palette": str(path)}, {"palette": fingerprint(text)})

    def draw(self, inputs: Any, run_seed: int, index: int, settings: Any) -> dict[str, Any]:
        return {"axes": {}}

    def dimensions(self, inputs: Any, settings: Any) -> dict[str, tuple[str, ...]]:
        return dict(inputs)

    def render(self, item: ItemView, best: Draft) -> str:
        return best.text

    def fake_reply(self, request: CompletionRequest) -> Reply:
        return "text"


@pytest.fixture(autouse=True)
def tally_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registered for each test in a copy of the registry, so no other test (or CLI module
    imported later, whose options list every kind's inputs) ever sees it."""
    monkeypatch.setattr(registry_module, "_REGISTERED", dict(registry_module._REGISTERED))
    register_kind(TallyKind.name, TallyKind)


PALETTE = "colour: red, green, blue\nshape: round, square\nsize: short, long\n"
TALLY_TEXTS = [
    "The red ball rolled under the old oak table and stopped by the door.",
    "A green square of paper lay folded on the desk beside the lamp all night.",
    "Blue light fell across the round window as the train left the valley.",
]


def _tally_record(index: int, colour: str, shape: str, won: bool) -> dict[str, Any]:
    return {
        "id": f"t/{index}",
        "text": TALLY_TEXTS[index],
        "metadata": {
            "kind": "tally",
            "facets": {"colour": colour, "shape": shape, "size": "short"},
            "topics": ["honesty"],
            "rewrite_won": won,
        },
    }


def _tally_run(tmp_path: Path) -> Path:
    run = tmp_path / "tally-run"
    run.mkdir()
    (run / "palette.txt").write_text(PALETTE, encoding="utf-8")
    config = {
        "name": "tally-run",
        "run_id": "0" * 32,
        "kind": "tally",
        "kind_version": "1",
        "recipe": "0" * 16,
        "backend": "scripted",
        "model": "scripted-demo",
        "settings": {"dedupe_threshold": 0.4},
        "inputs": {"palette": {"path": "palette.txt", "fingerprint": fingerprint(PALETTE)}},
        "count": 5,
    }
    (run / "run.json").write_text(json.dumps(config), encoding="utf-8")
    write_jsonl(
        run / "corpus.jsonl",
        [
            _tally_record(0, "red", "round", won=True),
            _tally_record(1, "red", "square", won=False),
            _tally_record(2, "blue", "round", won=True),
        ],
    )
    write_jsonl(
        run / "rejected.jsonl",
        [
            {"id": "t/3", "reason": "max_revisions", "metadata": {"facets": {"colour": "red"}}},
            {"id": "t/4", "reason": "near_duplicate", "metadata": {}},
        ],
    )
    return run


EXPECTED_TALLY_FIGURES = {
    "Rewrites": {"won": 2, "win rate": 2 / 3, "ids": ["t/0", "t/1", "t/2"]},
    "Rejections": {"max_revisions": 1, "near_duplicate": 1},
}


def test_a_kinds_profile_dimensions_and_figures(tmp_path: Path) -> None:
    report = stats_json(tmp_path, [str(_tally_run(tmp_path))])
    assert report["kind"] == "tally"
    assert report["kind_figures"] == EXPECTED_TALLY_FIGURES
    axes = report["coverage"]["axes"]
    # the palette's order and values, "green" never drawn (a gap), rejections counted too
    assert list(axes) == ["colour", "shape", "size"]
    assert axes["colour"] == {
        "red": {"emitted": 2, "rejected": 1},
        "green": {"emitted": 0, "rejected": 0},
        "blue": {"emitted": 1, "rejected": 0},
    }
    heat = report["coverage"]["heatmap"]  # the kind's first two dimensions
    assert (heat["x_axis"], heat["y_axis"]) == ("colour", "shape")
    assert heat["counts"] == [[1, 0, 1], [1, 0, 0]]  # rows: round, square
    assert list(report["size"]["length_bands"]) == ["short"]  # from facets.size
    assert report["coverage"]["sections"] == {"honesty": 3}  # from topics


def test_kind_figures_in_terminal_and_html(tmp_path: Path) -> None:
    run = _tally_run(tmp_path)
    html = tmp_path / "r.html"
    result = run_stats([str(run), "--html", str(html), "--full"])
    assert result.exit_code == 0, result.output
    for text in (result.output, html.read_text(encoding="utf-8")):
        assert "Kind figures: tally" in text
        assert "Rewrites" in text and "Rejections" in text
        assert "0.667" in text  # the win rate
        assert "max_revisions" in text


def test_an_edited_input_gives_no_value_universe(tmp_path: Path) -> None:
    run = _tally_run(tmp_path)
    (run / "palette.txt").write_text(PALETTE + "weight: light, heavy\n", encoding="utf-8")
    report = stats_json(tmp_path, [str(run)])
    assert list(report["coverage"]["axes"]["colour"]) == ["blue", "red"]  # observed only
    heat = report["coverage"]["heatmap"]  # still the kind's order, from the first record
    assert (heat["x_axis"], heat["y_axis"]) == ("colour", "shape")


def test_a_bare_corpus_is_read_as_the_kind_its_records_name_or_as_kind(tmp_path: Path) -> None:
    run = _tally_run(tmp_path)
    corpus = run / "corpus.jsonl"
    named = stats_json(tmp_path, [str(corpus)])
    assert named["kind"] == "tally"
    assert named["kind_figures"]["Rewrites"]["won"] == 2
    assert named["coverage"]["heatmap"]["x_axis"] == "colour"
    plain = tmp_path / "plain.jsonl"
    records = [json.loads(line) for line in corpus.read_text().splitlines()]
    for record in records:
        del record["metadata"]["kind"]
    write_jsonl(plain, records)
    as_story = stats_json(tmp_path, [str(plain)])
    assert as_story["kind"] == "story"
    assert as_story["coverage"]["axes"] == {}  # a story's dimensions live under `axes`
    assert as_story["kind_figures"] == {}
    chosen = stats_json(tmp_path, [str(plain), "--kind", "tally"])
    assert chosen["kind"] == "tally"
    assert chosen["kind_figures"]["Rewrites"]["won"] == 2
    assert list(chosen["coverage"]["axes"]) == ["colour", "shape", "size"]


def test_kind_option_that_contradicts_the_run_is_one_line(tmp_path: Path) -> None:
    run = _tally_run(tmp_path)
    result = run_stats([str(run), "--kind", "story"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(run) in lines[0] and "'tally'" in lines[0]
    assert run_stats([str(run), "--kind", "no-such-kind"]).exit_code == 2


def test_a_kind_not_installed_still_gets_the_generic_report(tmp_path: Path) -> None:
    record = {"id": "x/0", "text": TALLY_TEXTS[0], "metadata": {"kind": "plugin-kind"}}
    report = stats_json(tmp_path, [str(write_jsonl(tmp_path / "c.jsonl", [record]))])
    assert report["kind"] == "plugin-kind"
    assert report["counts"]["emitted"] == 1
    assert any("'plugin-kind' is not installed" in note for note in report["notes"])


def test_figures_that_fail_become_a_note(tmp_path: Path) -> None:
    run = _tally_run(tmp_path)
    corpus = run / "corpus.jsonl"
    records = [json.loads(line) for line in corpus.read_text().splitlines()]
    del records[1]["metadata"]["rewrite_won"]
    write_jsonl(corpus, records)
    report = stats_json(tmp_path, [str(run)])
    assert report["kind_figures"] == {}
    assert any("'tally': its figures failed" in note for note in report["notes"])
    assert report["counts"]["emitted"] == 3


# --- pairwise similarity agrees with dedupe ----------------------------------------------


def _dedupe_flags(first: str, second: str, threshold: float) -> bool:
    """What the run's item index decides for `second` arriving after `first`."""
    index = NearDuplicateIndex(threshold=threshold, shingle_size=ITEM_SHINGLE_SIZE)
    index.check_and_insert("first", first)
    return index.check_and_insert("second", second) is not None


def test_pairs_at_or_above_threshold_are_exactly_what_dedupe_flags() -> None:
    corpus = build_corpus(8, seed=3, words_per_doc=250, duplicate_fraction=0.25)
    texts = corpus.texts
    hasher = MinHasher(shingle_size=ITEM_SHINGLE_SIZE)
    planted = sorted(
        float(similarity(hasher.signature(texts[a]), hasher.signature(texts[b])))
        for a, b in corpus.planted_pairs
    )
    # at each planted pair's own estimate (flagged) and one slot above it (not), and at
    # the run's default threshold (every planted pair flagged)
    thresholds = [0.4, *planted, *(value + 1 / 128 for value in planted)]
    counts = []
    for threshold in thresholds:
        expected = sum(
            _dedupe_flags(texts[a], texts[b], threshold)
            for a in range(len(texts))
            for b in range(a + 1, len(texts))
        )
        found = pairwise_similarity(texts, [0] * len(texts), threshold=threshold, max_pairs=1000)
        assert found is not None and found.pairs == 28
        assert found.pairs_at_or_above_threshold == expected, threshold
        counts.append(expected)
    assert counts[0] == len(corpus.planted_pairs) == 2
    assert counts[-1] < counts[0]  # the test can tell flagged from not flagged


def test_pairs_in_different_dedupe_groups_are_never_flagged() -> None:
    corpus = build_corpus(4, seed=5, words_per_doc=250, duplicate_fraction=0.25)
    (a, b), *_ = corpus.planted_pairs
    texts = [corpus.texts[a], corpus.texts[b]]
    same = pairwise_similarity(texts, [0, 0], threshold=0.4, max_pairs=10)
    apart = pairwise_similarity(texts, [0, 1], threshold=0.4, max_pairs=10)
    assert same is not None and apart is not None
    assert (same.pairs_at_or_above_threshold, apart.pairs_at_or_above_threshold) == (1, 0)
    assert same.summary == apart.summary  # the similarity itself is still shown


@pytest.mark.parametrize("key", ["dedupe_threshold", "story_dedupe_threshold"])
def test_a_run_uses_its_own_dedupe_threshold(tmp_path: Path, key: str) -> None:
    """Under the setting's name, or its former name in a run started before the rename."""
    corpus = build_corpus(4, seed=5, words_per_doc=250, duplicate_fraction=0.25)
    (a, b), *_ = corpus.planted_pairs
    estimate = float(
        similarity(MinHasher().signature(corpus.texts[a]), MinHasher().signature(corpus.texts[b]))
    )
    run = _tally_run(tmp_path)
    write_jsonl(
        run / "corpus.jsonl",
        [{"id": f"t/{i}", "text": corpus.texts[i], "metadata": {}} for i in (a, b)],
    )
    config = json.loads((run / "run.json").read_text())
    for threshold, flagged in ((estimate, 1), (estimate + 1 / 128, 0)):
        config["settings"] = {key: threshold}
        (run / "run.json").write_text(json.dumps(config))
        found = stats_json(tmp_path, [str(run)])["diversity"]["similarity"]
        assert found["threshold"] == threshold
        assert found["pairs_at_or_above_threshold"] == flagged


# --- chat-shaped records -----------------------------------------------------------------


def _chat(index: int, question: str, answer: str) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": question},
        {"role": "assistant", "content": answer, "tool_calls": [{"name": "lookup"}]},
    ]
    return {
        "id": f"chat/{index}",
        "text": "\n\n".join(str(m["content"]) for m in messages),
        "messages": messages,
        "tools": [{"name": "lookup", "parameters": {"type": "object"}}],
        "metadata": {"kind": "chat", "axes": {"topic": "billing", "tone": "calm"}},
    }


def test_chat_shaped_records_are_reported(tmp_path: Path) -> None:
    answer = (
        "I checked the invoice history and the second charge was a duplicate made when the "
        "payment page reloaded, so I have asked for it to be refunded within five days."
    )
    records = [
        _chat(0, "Why was I charged twice this month?", answer),
        _chat(1, "Why was I charged twice in March?", answer),
        _chat(2, "Can I change my plan?", "Yes: open Settings, then Plan, and pick another."),
    ]
    corpus = write_jsonl(tmp_path / "chats.jsonl", records)
    report = stats_json(tmp_path, [str(corpus)])
    assert report["kind"] == "chat"
    assert report["counts"]["emitted"] == 3
    assert report["size"]["words"]["count"] == 3
    assert report["coverage"]["axes"]["topic"] == {"billing": {"emitted": 3, "rejected": 0}}
    assert report["coverage"]["heatmap"]["counts"] == [[3]]
    similarity_found = report["diversity"]["similarity"]
    assert similarity_found["pairs"] == 3
    assert similarity_found["pairs_at_or_above_threshold"] == 1  # the two billing chats
    terminal = run_stats([str(corpus), "--full"])
    assert terminal.exit_code == 0, terminal.output
    assert "chat" in terminal.output and "billing" in terminal.output


# --- every built-in kind, end to end -----------------------------------------------------


#: Files for the inputs that ship no sample, by input name.
REQUIRED_INPUTS: dict[str, Callable[[Path], Path]] = {
    "source": lambda path: write_source(path, 6),
}


@pytest.mark.parametrize("name", kind_names())
def test_a_scripted_run_of_each_kind_reports_its_dimensions(name: str, tmp_path: Path) -> None:
    kind = get_kind(name)
    inputs: dict[str, Path | None] = {}
    for spec in kind.input_specs:
        if spec.sample is None:
            if spec.name not in REQUIRED_INPUTS:
                pytest.skip(f"no test file for the {name} kind's input {spec.name!r}")
            inputs[spec.name] = REQUIRED_INPUTS[spec.name](tmp_path / f"{spec.name}.jsonl")
    run = tmp_path / name
    given = [f"--input={key}={path}" for key, path in inputs.items()]
    made = CliRunner().invoke(
        cli,
        [
            "generate",
            "--kind",
            name,
            "--backend",
            "scripted",
            "-n",
            "2",
            *given,
            "--run-dir",
            str(run),
        ],
    )
    assert made.exit_code == 0, made.output
    report = stats_json(tmp_path, [str(run)])
    settings = GenerationSettings.model_validate(
        json.loads((run / "run.json").read_text())["settings"]
    )
    expected = kind.dimensions(kind.load_inputs(inputs).value, settings)
    assert report["kind"] == name
    for dimension, values in expected.items():  # every value, drawn or not, in the kind's order
        assert list(report["coverage"]["axes"][dimension])[: len(values)] == list(values)
    if expected:
        heat = report["coverage"]["heatmap"]
        assert [heat["x_axis"], heat["y_axis"]] == list(expected)[:2]
    assert bool(report["kind_figures"]) == (kind.report_profile.figures is not None)
