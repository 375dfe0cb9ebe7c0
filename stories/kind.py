"""The corpus-kind seam: everything kind-specific, declared in one object.

The workflow (`storyloom.graph`), the run directory, the backends and dedupe know no
kind. A kind declares its input files, its balanced draw, its tasks (a request builder
and a reply parser each, with the reply's schema: one for the whole run), its rubric as
data (the judge itself, its reply schema, pass rule and sample combination, is written
once in `storyloom.stories.judging` and made by `CorpusKind.judge_task`), its gates, the
text its plans are deduplicated on, how a finished item renders as a document, the
record's metadata, a fake responder for the scripted backend (so no backend reads
prompt text) and a report profile. `storyloom.stories.registry` finds kinds by name
through the `storyloom.kinds` entry-point group, built-in kinds and plug-ins alike.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.backends.scripted import Reply
from storyloom.core.records import Outcome
from storyloom.graph.settings import RewriteMode
from storyloom.stories import judging
from storyloom.stories.inputs import InputError
from storyloom.stories.judging import Criterion, Rubric, prompt_profile, source_digest

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
    #: When `draft` is a new draft being gated or judged: the best draft so far, which a
    #: revision must beat to replace (None otherwise).
    previous: Draft | None = None
    #: The kind's own options (`CorpusKind.options_model`), validated.
    options: Any = None


@dataclass(frozen=True)
class Task:
    """One LLM step: builds the request's prompt from the item and parses the reply.

    `parse(completion, item)` returns the value kept in state (JSON-plain) or raises
    `ValueError` with the reason the reply is unusable. `max_tokens` and `temperature`
    name settings fields. `schema` is the same for every item of a run (a provider caches
    the prompt prefix only while the output format stays the same); what an item
    requires beyond it (the criteria in play, the number of turns) is `requirements`,
    checked after the reply with the backend's repair turn.
    """

    name: TaskName
    build: Callable[[ItemView], Prompt]
    parse: Callable[[Completion, ItemView], Any]
    schema: type[BaseModel] | None = None
    max_tokens: str = "write_max_tokens"
    temperature: str = "temperature"
    #: The rejection reason when the reply is unusable (default `invalid_<name>`).
    rejects_as: str = ""
    #: What this item requires of the reply beyond the schema (e.g. the criteria in
    #: play), as the validation context of `CompletionRequest.output_context`.
    requirements: Callable[[ItemView], Mapping[str, Any]] | None = None
    #: The schema a prompt profile sends instead of `schema` (the compact profile's
    #: tighter string caps): still one schema per run, since a run has one profile.
    profile_schemas: Mapping[str, type[BaseModel]] = field(default_factory=dict)

    @property
    def rejection_reason(self) -> str:
        return self.rejects_as or f"invalid_{self.name}"

    def context_for(self, item: ItemView) -> Mapping[str, Any]:
        return self.requirements(item) if self.requirements else {}

    def schema_for(self, item: ItemView) -> type[BaseModel] | None:
        return self.profile_schemas.get(prompt_profile(item.settings), self.schema)

    def describe(self) -> dict[str, Any]:
        """The task as the recipe fingerprints it: its builder's and parser's code and
        every schema it may send."""
        schemas = {"": self.schema, **self.profile_schemas}
        return {
            "build": source_digest(self.build),
            "parse": source_digest(self.parse),
            "schemas": {
                profile: [schema.__name__, schema.model_json_schema()]
                for profile, schema in schemas.items()
                if schema is not None
            },
        }


def replaced_by_rewrite(item: ItemView) -> Draft | None:
    """The draft a rewrite being judged would replace (the best so far), which a rubric
    that pairs rewrites shows beside it (None: a first draft, judged alone)."""
    if item.draft is None or item.draft.round == 0:
        return None
    return item.previous


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
class ItemNoun:
    """What a user calls one item of a kind, and several: every command's progress bar,
    summary and report say this, never another kind's word."""

    singular: str = "item"
    plural: str = "items"

    def count(self, n: int) -> str:
        """`n` with the noun that agrees with it: "1 story", "3 stories"."""
        return f"{n:,} {self.singular if n == 1 else self.plural}"


#: The noun of a kind that declares none (and of a corpus read as no known kind).
ITEMS = ItemNoun()


@dataclass(frozen=True)
class ReportProfile:
    """How `storyloom stats` reads and shows a kind's records.

    Reading: `metadata[dimensions_field]` is a {dimension: value} map (coverage tables
    and heat map), `metadata[sections_field]` the constitution sections in play,
    `dimensions_field[length_field]` the length band; `figures` adds the kind's own
    tables (e.g. the rewrite's win rate), and `dimensions_input` names the input that
    lists every dimension's values on its own.

    Showing: `noun` names the items; a row that means nothing for the kind is left out
    (`story_rows`: the inner-monologue share, persona and character names, which only a
    story with an AI character and a cast has). `length_bands` are the word ranges the
    writer was asked for per band, counted on `metadata[length_words_field]` when set
    (augment's bands are the system prompt's words) and on the document otherwise.
    `section_criterion` is the judge's score that stands for the section in play (a
    document about one section is scored on its fidelity to it) when no criterion is
    named after the section. `verdicts` are judge checks reported as counts of their
    labelled outcomes, not as 1-5 scores; `skeleton_fields` are the plan's fields whose
    text (in the kind's `plan_field`) is the plot skeleton clustered for the plot-skeleton
    concentration."""

    dimensions_field: str = "axes"
    sections_field: str = "sections"
    length_field: str = "length"
    figures: KindFigures | None = None
    dimensions_input: DimensionsInput | None = None
    noun: ItemNoun = ITEMS
    story_rows: bool = False
    length_bands: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    length_words_field: str | None = None
    section_criterion: str | None = None
    verdicts: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    skeleton_fields: tuple[str, ...] = ()


OptionsT = TypeVar("OptionsT", bound=BaseModel)


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
    #: What a revision does, when it is more than a rewrite of the draft (the dataset card
    #: says it beside the revision policy).
    revision_words: ClassVar[str] = ""
    #: The metadata field the plan is kept in (dedupe indexes are rebuilt from it).
    plan_field: ClassVar[str] = "plan"
    #: Modules and data files whose text shapes the output beyond the tasks' builders,
    #: parsers and schemas (prompt text, catalogs, record shaping, a craft guide): their
    #: source is part of the recipe, so an edit refuses to resume.
    recipe_modules: ClassVar[tuple[ModuleType, ...]] = ()
    recipe_files: ClassVar[tuple[Traversable | Path, ...]] = ()

    rubric: Rubric
    gates: tuple[Gate, ...]
    tasks: Mapping[str, Task]

    def load_inputs(self, paths: Mapping[str, Path | None]) -> LoadedInputs:
        """Load and validate every input (None: the shipped sample); raise `InputError`
        with one line naming the file and the problem. Each input is resolved to the
        user's path or its spec's sample here, once for every kind; `read_inputs` reads
        them."""
        chosen: dict[str, Path] = {}
        for spec in self.input_specs:
            path = paths.get(spec.name) or spec.sample
            if path is None:
                needed = f"--{spec.name} FILE: {spec.description}"
                raise InputError(f"the {self.name} kind needs {needed}")
            chosen[spec.name] = Path(path)
        inputs = self.read_inputs(chosen, paths)
        return LoadedInputs(
            value=inputs,
            paths={name: str(path) for name, path in chosen.items()},
            fingerprints=self.input_fingerprints(inputs),
        )

    def read_inputs(self, chosen: Mapping[str, Path], given: Mapping[str, Path | None]) -> Any:
        """The kind's inputs loaded from `chosen` (every input's path: the user's, or the
        shipped sample); `given` holds only what the user named, for a loader that treats
        the sample differently. A kind overrides this, or `load_inputs` itself."""
        raise NotImplementedError(f"the {self.name} kind does not read inputs")

    def input_fingerprints(self, inputs: Any) -> dict[str, str]:
        """Each input's content fingerprint: by default the `fingerprint` of the loaded
        value's attribute named like the input."""
        return {spec.name: getattr(inputs, spec.name).fingerprint for spec in self.input_specs}

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

    def criteria(self, item: ItemView) -> tuple[Criterion, ...]:
        """The criteria in play for this item (by default the whole rubric)."""
        return self.rubric.criteria

    def judge_task(
        self,
        build: Callable[[ItemView], Prompt],
        *,
        max_tokens: str = "judge_max_tokens",
        rejects_as: str = "",
    ) -> Task:
        """The judge step, made from the rubric: one reply schema per prompt profile for
        the whole run, the criteria in play for the item checked after the reply, the
        reply parsed into the critique dict every reader shares (`storyloom.stories.
        judging`). The kind writes only the prompt."""

        def parse(completion: Completion, item: ItemView) -> dict[str, Any]:
            return judging.parse_judgment(completion, self.rubric, item.draw.get("rewrite_label"))

        compact = judging.judgment_model(self.rubric, "compact")
        return Task(
            "judge",
            build,
            parse,
            judging.judgment_model(self.rubric, "rich"),
            max_tokens,
            "judge_temperature",
            rejects_as=rejects_as,
            requirements=self.judge_requirements,
            profile_schemas={"compact": compact},
        )

    def judge_requirements(self, item: ItemView) -> dict[str, Any]:
        """The criteria in play, which the judge's reply must hold exactly once each (and,
        for a rubric that pairs rewrites, whether two stories are shown)."""
        requirements: dict[str, Any] = {"criteria": [c.name for c in self.criteria(item)]}
        if self.rubric.pairs_rewrites:
            requirements["compared"] = replaced_by_rewrite(item) is not None
        return requirements

    def shortfall(self, critique: Mapping[str, Any] | None, item: ItemView) -> str | None:
        """Why the judged draft `item.draft` did not pass (None: it passed), by the
        rubric's one pass rule (`judging.shortfall`); also a rejected record's `detail`
        when its revisions ran out."""
        assert item.draft is not None
        return judging.shortfall(self.rubric, critique, self.criteria(item), item.draft.findings)

    def passes(self, critique: Mapping[str, Any] | None, item: ItemView) -> bool:
        return self.shortfall(critique, item) is None

    def combine_critiques(self, critiques: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """K judgments of one draft (`--judge-samples K`) as one (`judging.combine`)."""
        return judging.combine(self.rubric, critiques)

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

    def draft_turns(self, text: str, plan: Mapping[str, Any] | None) -> list[dict[str, str]] | None:
        """A chat kind's draft as the turns it writes or changes (`role`, `content`), for
        `inspect` to show and diff turn by turn; None: a document (shown as text)."""
        return None

    def dedupe_text(self, record: Mapping[str, Any]) -> str:
        """The text an emitted record is deduplicated on; computed from the record alone,
        so the index can be rebuilt from corpus.jsonl."""
        return str(record.get("text") or "")

    def side_records(
        self, item: ItemView, best: Draft | None, outcome: Outcome, reason: str
    ) -> dict[str, dict[str, Any] | list[dict[str, Any]]]:
        """Records for the kind's own output files, by file name (e.g. `pairs.jsonl`),
        written once per id beside corpus/rejected: one record holding the item's `id`, or
        a list of records each with its own `id` and the item's id as `item`."""
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
        into run.json, so a changed prompt, schema, rubric or threshold refuses to
        resume. Written once: a kind lists its prompt and record-shaping modules and data
        files in `recipe_modules` / `recipe_files`."""
        texts = [inspect.getsource(judging)]
        texts += [inspect.getsource(module) for module in self.recipe_modules]
        texts += [file.read_text(encoding="utf-8") for file in self.recipe_files]
        return {
            "rubric": self.rubric.describe(),
            "gates": [_describe(gate) for gate in self.gates],
            "tasks": {name: task.describe() for name, task in self.tasks.items()},
            "code": hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16],
        }

    def recipe_fingerprint(self) -> str:
        blob = json.dumps(self.recipe(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _describe(gate: object) -> dict[str, Any]:
    values = {f.name: getattr(gate, f.name) for f in fields(gate)} if is_dataclass(gate) else {}
    return {"gate": type(gate).__name__, **values}


def options_of(item: ItemView, model: type[OptionsT]) -> OptionsT:
    """The kind's validated options for `item`: the run's, or the model's defaults where
    an item is built outside a run (`storyloom check`, tests)."""
    return item.options if isinstance(item.options, model) else model()
