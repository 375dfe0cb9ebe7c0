"""The corpus-kind seam: everything kind-specific, declared in one object.

The workflow (`storyloom.graph`), the run directory, the backends and dedupe know no
kind. A kind declares its input files, its balanced draw, its tasks (a request builder
and a reply parser each, with the reply's schema), its rubric as data, its gates, the
text its plans are deduplicated on, how a finished item renders as a document, the
record's metadata, a fake responder for the scripted backend (so no backend reads
prompt text) and a report profile. `storyloom.stories.registry` finds kinds by name
through the `storyloom.kinds` entry-point group, built-in kinds and plug-ins alike.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.core.records import Outcome
from storyloom.graph.settings import RewriteMode

#: The workflow's LLM steps, in the order a round uses them. Only `write` is required:
#: plan (structured, deduplicated before any draft) -> write -> gates -> judge ->
#: [review -> revise -> gates -> judge]* . A kind without `judge` passes every draft the
#: gates pass; a kind with `review` reviews before every revise.
TaskName = Literal["plan", "write", "review", "judge", "revise"]
#: (instructions, user message): the per-task part of the system prompt and the ask.
Prompt = tuple[str, str]


@dataclass(frozen=True)
class Finding:
    """What a gate found wrong with a draft: its kind (a stable name) and a message."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InputSpec:
    """One named input file of a kind: the CLI offers `--<name>`; `sample` ships."""

    name: str
    description: str
    sample: Path | None = None


@dataclass(frozen=True)
class LoadedInputs:
    """A kind's loaded inputs: the kind's own value, plus where each file came from and
    its content fingerprint (frozen into run.json so a changed file refuses to resume)."""

    value: Any
    paths: Mapping[str, str]
    fingerprints: Mapping[str, str]


@dataclass(frozen=True)
class Criterion:
    """One thing the judge scores, as data (name, what it means, how it is grouped)."""

    name: str
    description: str
    group: str = "craft"


@dataclass(frozen=True)
class Rubric:
    """The judge's criteria and the pass rule: the verdict is `pass`, every criterion in
    play scores at least `pass_score` (a criterion the judge left out counts as failed
    when `require_every_criterion`), and no gate found anything."""

    criteria: tuple[Criterion, ...]
    pass_score: int = 3
    require_every_criterion: bool = True
    #: A pass score per criterion group (e.g. {"constitution": 4}); others use pass_score.
    group_pass_scores: Mapping[str, int] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return asdict(self)

    def pass_score_for(self, criterion: Criterion) -> int:
        return self.group_pass_scores.get(criterion.group, self.pass_score)


class Gate(Protocol):
    """A deterministic check with its thresholds as fields; `check` returns findings."""

    name: str

    def check(self, text: str, item: ItemView) -> list[Finding]: ...


@dataclass(frozen=True)
class Draft:
    """One draft as the workflow keeps it: its text, what the gates and judge said."""

    text: str
    findings: tuple[Finding, ...] = ()
    critique: Mapping[str, Any] | None = None
    passed: bool = False
    round: int = 0
    truncated: bool = False
    #: The review written about this draft before it was revised (None: not reviewed).
    review: Any = None


@dataclass(frozen=True)
class ItemView:
    """What a task or gate sees of one item: the draw, the plan, the current draft, the
    loaded inputs and the run's settings."""

    item_id: str
    index: int
    draw: Mapping[str, Any]
    inputs: Any
    settings: Any
    plan: Mapping[str, Any] | None = None
    #: The draft the task works on: the one being judged or gated, or (for review and
    #: revise) the best draft so far.
    draft: Draft | None = None
    #: Summaries of earlier plans this one came too close to (a plan retry avoids them).
    avoid: Sequence[str] = ()
    round: int = 0
    #: Every judged draft so far, oldest first (a judge may compare draft and rewrite).
    drafts: Sequence[Draft] = ()
    #: The kind's own options (`CorpusKind.options_model`), validated.
    options: Any = None


@dataclass(frozen=True)
class Task:
    """One LLM step: builds the request's prompt from the item and parses the reply.

    `parse` returns the value kept in state (JSON-plain) or raises `ValueError` with the
    reason the reply is unusable. `max_tokens` and `temperature` name settings fields.
    """

    name: TaskName
    build: Callable[[ItemView], Prompt]
    parse: Callable[[Completion], Any]
    #: The reply's model, or a function of the item giving one (a judge whose schema
    #: names every criterion in play, so decoding can neither omit nor invent one).
    schema: type[BaseModel] | Callable[[ItemView], type[BaseModel]] | None = None
    max_tokens: str = "write_max_tokens"
    temperature: str = "temperature"
    #: The rejection reason when the reply is unusable (default `invalid_<name>`).
    rejects_as: str = ""
    #: What this item requires of the reply beyond the schema (e.g. the criteria in
    #: play), as the validation context of `CompletionRequest.output_context`.
    requirements: Callable[[ItemView], Mapping[str, Any]] | None = None

    @property
    def rejection_reason(self) -> str:
        return self.rejects_as or f"invalid_{self.name}"

    def context_for(self, item: ItemView) -> Mapping[str, Any]:
        return self.requirements(item) if self.requirements else {}

    def schema_for(self, item: ItemView) -> type[BaseModel] | None:
        if self.schema is None or isinstance(self.schema, type):
            return self.schema
        return self.schema(item)


#: Figures of one kind for `storyloom stats`: (corpus records, rejected records) as dicts
#: -> {table title: {row label: value}}.
KindFigures = Callable[
    [Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]], dict[str, dict[str, Any]]
]


@dataclass(frozen=True)
class DimensionsInput:
    """The one input file that alone names every value of every dimension (the story's
    axes file): `stats` reads it when the run's other inputs are gone or were edited, so
    values never drawn still show as gaps."""

    #: The input's name (an `InputSpec.name`).
    name: str
    #: The file as ({dimension: values}, its content fingerprint); raises `InputError`
    #: (a ValueError) or OSError on a file it cannot read.
    read: Callable[[Path], tuple[Mapping[str, Sequence[str]], str]]


@dataclass(frozen=True)
class ReportProfile:
    """How `storyloom stats` reads a kind's records: `metadata[dimensions_field]` is a
    {dimension: value} map (coverage tables and heat map), `metadata[sections_field]` the
    constitution sections in play, `dimensions_field[length_field]` the length band;
    `figures` adds the kind's own tables (e.g. the rewrite's win rate), and
    `dimensions_input` names the input that lists every dimension's values on its own."""

    dimensions_field: str = "axes"
    sections_field: str = "sections"
    length_field: str = "length"
    figures: KindFigures | None = None
    dimensions_input: DimensionsInput | None = None


class NoOptions(BaseModel):
    """A kind with no options of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CorpusKind(ABC):
    """One kind of training data on the shared workflow."""

    name: ClassVar[str]
    version: ClassVar[str]
    summary: ClassVar[str]
    input_specs: ClassVar[tuple[InputSpec, ...]] = ()
    report_profile: ClassVar[ReportProfile] = ReportProfile()
    #: The kind's own settings (`generate --option KEY=VALUE`), frozen into run.json.
    options_model: ClassVar[type[BaseModel]] = NoOptions
    #: False: the first draft goes straight to review and revise, and the judge sees the
    #: rewrite (with `item.drafts` holding the draft it may compare against).
    judge_first_draft: ClassVar[bool] = True
    #: The `--rewrite` default: "always" revises every item at least once.
    default_rewrite: ClassVar[RewriteMode] = "on-fail"
    #: The metadata field the plan is kept in (dedupe indexes are rebuilt from it).
    plan_field: ClassVar[str] = "plan"

    rubric: Rubric
    gates: tuple[Gate, ...]
    tasks: Mapping[str, Task]

    @abstractmethod
    def load_inputs(self, paths: Mapping[str, Path | None]) -> LoadedInputs:
        """Load and validate every input (None: the shipped sample); raise `InputError`
        with one line naming the file and the problem."""

    @abstractmethod
    def draw(self, inputs: Any, run_seed: int, index: int, settings: Any) -> dict[str, Any]:
        """Item `index`'s draw, deterministic and balanced over any prefix. JSON-plain;
        its balanced dimensions go under `axes` ({dimension: value}, what `plan` and
        `stats` tabulate) and the constitution sections in play under `sections`.
        `settings.kind_options` holds the kind's options (validated by `options_model`)."""

    def dimensions(self, inputs: Any, settings: Any) -> dict[str, tuple[str, ...]]:
        """Every value each balanced dimension of `draw()["axes"]` can take (what `plan`
        and `stats` set counts against: a value never drawn shows as a gap). Sections in
        play are counted apart, against the constitution's sections."""
        return {}

    def max_items(self, inputs: Any, options: Any) -> int | None:
        """The most items a run can ask for (None: no limit); a larger `-n` is refused
        before any call (e.g. a source file used at most `per_source` times a record)."""
        return None

    def shared_prefix(self, inputs: Any, settings: Any = None) -> str:
        """The system-prompt part identical for every call of a run (cacheable); the
        settings say which prompt profile to use."""
        return ""

    def request_hints(self, item: ItemView, task: str) -> dict[str, Any]:
        """Plain facts sent with each request as `metadata` (for the fake responder and
        logs); no backend reads prompt text."""
        return {}

    def plan_text(self, plan: Mapping[str, Any]) -> str:
        """The text a plan is deduplicated on, before any draft is written."""
        return json.dumps(plan, sort_keys=True)

    def dedupe_group(self, draw: Mapping[str, Any]) -> int:
        """Items are deduplicated only against items of the same group (0: one index)."""
        return 0

    def check(self, text: str, item: ItemView) -> list[Finding]:
        findings: list[Finding] = []
        for gate in self.gates:
            findings.extend(gate.check(text, item))
        return findings

    def passes(self, critique: Mapping[str, Any] | None, item: ItemView) -> bool:
        """The rubric's pass rule over a parsed critique and the gate findings."""
        assert item.draft is not None
        if critique is None or item.draft.findings:
            return False
        scores = critique_scores(critique)
        if self.rubric.require_every_criterion:
            missing = {c.name for c in self.criteria(item)} - set(scores)
            if missing:
                return False
        return critique.get("verdict") == "pass" and all(
            score >= self.rubric.pass_score for score in scores.values()
        )

    def criteria(self, item: ItemView) -> tuple[Criterion, ...]:
        """The criteria in play for this item (by default the whole rubric)."""
        return self.rubric.criteria

    def combine_critiques(self, critiques: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """K judgments of one draft (`--judge-samples K`) as one: each criterion's mean
        score rounded down, `pass` only if every sample passed, every note kept once."""
        if len(critiques) == 1:
            return dict(critiques[0])
        totals: dict[str, list[int]] = {}
        evidence: dict[str, str] = {}
        for critique in critiques:
            for entry in critique.get("scores") or []:
                totals.setdefault(str(entry["criterion"]), []).append(int(entry["score"]))
                evidence.setdefault(str(entry["criterion"]), str(entry.get("evidence", "")))
        notes = [n for c in critiques for n in c.get("revision_notes") or []]
        return {
            "scores": [
                {"criterion": name, "score": sum(s) // len(s), "evidence": evidence[name]}
                for name, s in totals.items()
            ],
            "verdict": "pass" if all(c.get("verdict") == "pass" for c in critiques) else "revise",
            "revision_notes": list(dict.fromkeys(notes)),
            "samples": len(critiques),
        }

    def shortfall(self, critique: Mapping[str, Any] | None, item: ItemView) -> str | None:
        """Why the judged draft `item.draft` did not pass, in the kind's words: a rejected
        record's `detail` when its revisions ran out (None: the workflow's generic one)."""
        return None

    def keeps_revision(
        self, previous: Draft | None, revision: Draft, item: ItemView
    ) -> tuple[bool, tuple[str, ...]]:
        """Whether a judged revision replaces the best draft so far (and why not)."""
        if previous is None:
            return True, ()
        return revision.passed or not previous.passed, ()

    @abstractmethod
    def render(self, item: ItemView, best: Draft) -> str:
        """The emitted document's text (for chat kinds: the conversation's words, with no
        role labels, as the text dedupe and the report read)."""

    def record(self, item: ItemView, best: Draft) -> dict[str, Any]:
        """The corpus record's content fields (beside `id` and `metadata`): a document
        kind gives `text`; a chat kind may add `messages` (roles as data) and `tools`."""
        return {"text": self.render(item, best)}

    def dedupe_text(self, record: Mapping[str, Any]) -> str:
        """The text an emitted record is deduplicated on; computed from the record alone,
        so the index can be rebuilt from corpus.jsonl."""
        return str(record.get("text") or "")

    def side_records(
        self, item: ItemView, best: Draft | None, outcome: Outcome, reason: str
    ) -> dict[str, dict[str, Any]]:
        """Records for the kind's own output files, by file name (e.g. `pairs.jsonl`),
        written once per item id beside corpus/rejected (each must hold `id`)."""
        return {}

    def metadata(self, item: ItemView, best: Draft | None) -> dict[str, Any]:
        """Record metadata beside the text; keep the plan under `plan_field` and the
        balanced dimensions under `report_profile.dimensions_field`."""
        return {"draw": dict(item.draw), self.plan_field: dict(item.plan) if item.plan else None}

    @abstractmethod
    def fake_reply(self, request: CompletionRequest) -> Reply:
        """A well-formed placeholder reply, from the request's `metadata` alone."""

    def recipe(self) -> dict[str, Any]:
        """What shapes this kind's output beyond its inputs and settings: fingerprinted
        into run.json, so a changed prompt, rubric or threshold refuses to resume."""
        return {
            "rubric": self.rubric.describe(),
            "gates": [_describe(gate) for gate in self.gates],
            "tasks": {name: _task_source(task) for name, task in self.tasks.items()},
        }

    def recipe_fingerprint(self) -> str:
        blob = json.dumps(self.recipe(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def critique_entries(critique: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """A critique's (criterion, score, evidence) rows, from either shape a judge returns:
    `criteria: {name: {evidence, reasoning, score}}` (a field per criterion) or
    `scores: [{criterion, score, evidence}]`."""
    rows: list[tuple[str, int, str]] = []
    named = critique.get("criteria")
    if isinstance(named, Mapping):
        for name, entry in named.items():
            if isinstance(entry, Mapping) and isinstance(entry.get("score"), int):
                rows.append((str(name), int(entry["score"]), str(entry.get("evidence", ""))))
    for entry in critique.get("scores") or []:
        if isinstance(entry, Mapping) and "criterion" in entry and "score" in entry:
            rows.append(
                (str(entry["criterion"]), int(entry["score"]), str(entry.get("evidence", "")))
            )
    return rows


def critique_scores(critique: Mapping[str, Any]) -> dict[str, int]:
    """A critique's scores by criterion name, from either shape (`critique_entries`)."""
    return {name: score for name, score, _ in critique_entries(critique)}


def _describe(gate: object) -> dict[str, Any]:
    values = {f.name: getattr(gate, f.name) for f in fields(gate)} if is_dataclass(gate) else {}
    return {"gate": type(gate).__name__, **values}


def _task_source(task: Task) -> str:
    """The prompt builder's code, hashed: editing a prompt changes the recipe."""
    import inspect

    parts = []
    for function in (task.build, task.parse):
        try:
            parts.append(inspect.getsource(function))
        except (OSError, TypeError):
            parts.append(getattr(function, "__qualname__", repr(function)))
    schema = task.schema
    if isinstance(schema, type):
        parts.append(schema.__name__)
        parts.append(json.dumps(schema.model_json_schema(), sort_keys=True))
    elif schema is not None:  # a function of the item: its code is the recipe
        try:
            parts.append(inspect.getsource(schema))
        except (OSError, TypeError):
            parts.append(getattr(schema, "__qualname__", repr(schema)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
