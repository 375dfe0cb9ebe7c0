"""The judge, written once and driven by the kind's `Rubric`.

A kind declares its criteria as data (`Rubric`, and `CorpusKind.criteria(item)` for the
ones in play for an item) and gets from here everything else about judging:

- the reply model, one per rubric and prompt profile, so every judge call of a run sends
  the same JSON schema. The Anthropic API renders the output format into the prompt
  ahead of the cached prefix, and a format that changes invalidates the cache: a schema
  rebuilt per item never reads it. What varies per item (the sections in play) is
  checked after the reply instead: every criterion in play exactly once, none invented
  (`EntriesInPlay`, fed by `CompletionRequest.output_context`), and a reply that misses
  gets the backend's repair turn;
- each criterion's entry in the order that keeps a judge honest: its evidence, then the
  reasoning, then the score, so the score is decided after the evidence is written;
- the comparative variant (a blind A/B of first draft and rewrite): both answers scored
  per criterion, then compared overall, unblinded when parsed by the item's
  `draw["rewrite_label"]`, so state and records speak only of draft and rewrite;
- the paired variant (`Rubric.pairs_rewrites`, the story kind): the first draft judged
  alone, and each rewrite judged blind beside the draft it would replace, under the same
  schema: each entry's `score` (the one story's, or story A's) and `score_b` (story B's,
  given only when two are shown), and an overall `comparison` only when two are shown;
  the validation context's `compared` says which the item's request was, so a reply
  missing the second story's scores gets the repair turn. Parsed, a paired judgment is
  the comparative critique (unblinded alike), a single one the plain critique;
- a kind's leading evidence (`Rubric.lead`, e.g. the documents kind's claim checks),
  fields the judge fills before any criterion;
- the one critique dict every reader shares: `scores: [{criterion, score, evidence,
  reasoning}]`, `revision_notes`, and the extras (the lead's fields; for a comparative
  rubric `draft_scores`, `winner`, `comparison`, `rewrite_label`);
- the pass rule (`shortfall`: a reason, or None) and the combination of K samples.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Protocol, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    create_model,
    model_validator,
)

from storyloom.backends.base import Completion

Profile = Literal["rich", "compact"]
PROFILES: tuple[Profile, ...] = ("rich", "compact")
Label = Literal["A", "B"]

#: The first revision note (and the shortfall) when the rewrite loses a blind comparison.
LOST_NOTE = "the rewrite lost the blind comparison with the first draft"


class Found(Protocol):
    """What a gate found (`storyloom.stories.kind.Finding`, which imports this module)."""

    @property
    def kind(self) -> str: ...

    @property
    def message(self) -> str: ...


#: A pass condition beyond the scores, declared on the rubric: the critique -> why it
#: fails (e.g. "an inconsistent claim: ..."), or None.
Check = Callable[[Mapping[str, Any]], "str | None"]


@dataclass(frozen=True)
class Criterion:
    """One thing the judge scores, as data (name, what it means, how it is grouped)."""

    name: str
    description: str
    group: str = "craft"


@dataclass(frozen=True)
class Rubric:
    """The judge's criteria and pass rule as data (see `shortfall`): every criterion in
    play must score at least its group's pass score, no gate may have found anything,
    each declared check must find nothing, and a comparative rubric's rewrite must win."""

    criteria: tuple[Criterion, ...]
    pass_score: int = 3
    #: A pass score per criterion group (e.g. {"constitution": 4}); others use pass_score.
    group_pass_scores: Mapping[str, int] = field(default_factory=dict)
    #: A blind A/B of the first draft and the rewrite (`ItemView.draw["rewrite_label"]`
    #: says which label the rewrite is shown under); the rewrite must win.
    comparative: bool = False
    #: The first draft judged alone, each rewrite blind beside the draft it would replace
    #: (`ItemView.previous`, shown under `draw["rewrite_label"]` and its other label),
    #: both under the one schema (see the module docstring); a rewrite that loses fails.
    pairs_rewrites: bool = False
    #: Evidence the judge gives before any criterion: this model's fields lead the
    #: reply and are kept in the critique as they are (documents: `claims_made`).
    lead: type[BaseModel] | None = None
    #: Pass conditions the scores cannot express (documents: no inconsistent claim).
    checks: tuple[Check, ...] = ()

    def pass_score_for(self, criterion: Criterion) -> int:
        return self.group_pass_scores.get(criterion.group, self.pass_score)

    def describe(self) -> dict[str, Any]:
        """The rubric as plain data for the recipe fingerprint."""
        return {
            "criteria": [asdict(criterion) for criterion in self.criteria],
            "pass_score": self.pass_score,
            "group_pass_scores": dict(sorted(self.group_pass_scores.items())),
            "comparative": self.comparative,
            "pairs_rewrites": self.pairs_rewrites,
            "lead": self.lead.model_json_schema() if self.lead else None,
            "checks": [source_digest(check) for check in self.checks],
        }


# --- small shared pieces ---------------------------------------------------------------


def criterion_key(name: str) -> str:
    """Criteria compared by name regardless of case and spacing ('Care for people' ==
    'care-for-people' == 'care_for_people')."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def prompt_profile(settings: Any) -> Profile:
    """The run's prompt profile ("rich" unless the settings say "compact")."""
    profile = getattr(settings, "prompt_profile", "rich")
    return "compact" if profile == "compact" else "rich"


def incomplete(completion: Completion, what: str) -> str:
    """Why a structured reply gave no value: cut at max_tokens, refused, or empty."""
    return f"the model stopped ({completion.stop_reason}) before giving a complete {what}"


def finding_lines(findings: Sequence[Found]) -> list[str]:
    """A draft's gate findings as the prompt lines a judge, reviewer or reviser reads."""
    return [f"{finding.kind}: {finding.message}" for finding in findings]


def names_line(names: Sequence[str], what: str = "criterion") -> str:
    """The prompt line that names what the reply must hold one entry each of."""
    listed = ", ".join(f"`{name}`" for name in names)
    return f"Give one entry per {what}, named exactly: {listed}."


def source_digest(function: object) -> str:
    """A short digest of a function's source (its name when it has none): editing it
    changes the recipe."""
    try:
        text = inspect.getsource(function)  # type: ignore[arg-type]
    except (OSError, TypeError):
        text = getattr(function, "__qualname__", repr(function))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- entries named after what is in play -----------------------------------------------


def match_in_play(given: Sequence[str], in_play: Sequence[str], what: str) -> list[str]:
    """Each name in `given` as the name in play it stands for (an exact name, or one that
    differs only in case, spacing or punctuation); `ValueError` naming every entry
    missing, repeated or not in play."""
    by_key = {criterion_key(name): name for name in in_play}
    matched: list[str] = []
    unknown: list[str] = []
    for name in given:
        canonical = name if name in in_play else by_key.get(criterion_key(name))
        if canonical is None:
            unknown.append(name)
        else:
            matched.append(canonical)
    problems = []
    if missing := [name for name in in_play if name not in matched]:
        problems.append(f"no entry for {', '.join(missing)}")
    if repeated := sorted({name for name in matched if matched.count(name) > 1}):
        problems.append(f"more than one entry for {', '.join(repeated)}")
    if unknown:
        problems.append(f"{', '.join(repr(name) for name in unknown)} is not a {what} in play")
    if problems:
        expected = ", ".join(in_play)
        raise ValueError(f"{'; '.join(problems)} (one entry per {what}: {expected})")
    return matched


@dataclass(frozen=True)
class InPlay:
    """Which list of a reply names what is in play: `entries` holds one entry per name
    in the validation context's `context`, each naming it in its `name` field."""

    entries: str
    name: str
    context: str
    what: str


class EntriesInPlay(BaseModel):
    """A reply with one entry per thing in play for the item (criteria, sections), whose
    schema stays the same for every item: the names are checked after decoding against
    the validation context (`CompletionRequest.output_context`), then written as the
    names in play and put in their order. Without a context nothing is checked."""

    model_config = ConfigDict(extra="forbid")
    in_play: ClassVar[InPlay]

    @classmethod
    def item_json_schema(cls, context: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON schema narrowed to one item: the entries list holds exactly one entry
        per name in play, in order, each naming it. For a backend whose decoding a grammar
        constrains and whose prompt cache does not see the format (llama.cpp in process),
        so a small model cannot miss, repeat or invent a name; the API backends send
        `model_json_schema()`, the same for every item, and the names are checked after
        the reply."""
        schema = cls.model_json_schema()
        names = list(context.get(cls.in_play.context) or ())
        entries = schema.get("properties", {}).get(cls.in_play.entries)
        if not names or not entries or "$ref" not in entries.get("items", {}):
            return schema
        entry = schema["$defs"][entries["items"]["$ref"].rsplit("/", 1)[-1]]
        entries.pop("items")
        entries.pop("maxItems", None)
        entries["prefixItems"] = [
            {**copy.deepcopy(entry), "properties": {
                **copy.deepcopy(entry["properties"]),
                cls.in_play.name: {"type": "string", "const": name},
            }}
            for name in names
        ]  # fmt: skip
        entries["minItems"] = entries["maxItems"] = len(names)
        return schema

    @model_validator(mode="after")
    def _one_entry_per_name_in_play(self, info: ValidationInfo) -> Self:
        spec = self.in_play
        names = (info.context or {}).get(spec.context)
        if names is None:
            return self
        entries = list(getattr(self, spec.entries))
        matched = match_in_play([getattr(e, spec.name) for e in entries], list(names), spec.what)
        for entry, name in zip(entries, matched, strict=True):
            setattr(entry, spec.name, name)
        order = {name: number for number, name in enumerate(names)}
        setattr(self, spec.entries, sorted(entries, key=lambda e: order[getattr(e, spec.name)]))
        return self


# --- the reply models ------------------------------------------------------------------


@dataclass(frozen=True)
class Caps:
    """String caps of a profile's judge reply. They are part of the schema so that
    grammar-constrained decoding (llama.cpp) cannot loop inside one string until the
    token budget runs out; the compact profile's are tight so a small model fits a dozen
    entries in its budget."""

    text: int
    note: int


CAPS: dict[Profile, Caps] = {"rich": Caps(text=800, note=400), "compact": Caps(text=80, note=160)}
NAME_CAP = 120
MAX_NOTES = 12
#: The most constitution sections an item may put in play: a review's list holds at most
#: this many, and the kinds' input loaders refuse a file that asks for more (a story's
#: `sections_per_story`, an advice dilemma's `sections`), so no draw can outgrow the
#: schema. The review budget is sized on it.
MAX_SECTIONS = 4
#: The most entries a judgment's list may hold: every section an item may have in play
#: plus a rubric's criteria (the story's ten craft criteria are the most), and a bound that
#: keeps a small model's grammar-constrained decoding from adding entries until its token
#: budget runs out. The budgets are sized on it (`storyloom.backends.reply_size`).
MAX_ENTRIES = 16
Score = Annotated[int, Field(ge=1, le=5)]
_SCALE = "1 fails, 2 weak, 3 acceptable, 4 good, 5 excellent."


class JudgmentReply(EntriesInPlay):
    """The judge's reply (the classes `judgment_model` makes): every criterion in play
    judged exactly once."""

    in_play: ClassVar[InPlay] = InPlay("criteria", "criterion", "criteria", "criterion")


#: What a judgment entry scores: one answer, A and B (comparative), or one story with an
#: optional second (paired).
Mode = Literal["single", "comparative", "paired"]


def _mode(rubric: Rubric) -> Mode:
    if rubric.comparative:
        return "comparative"
    return "paired" if rubric.pairs_rewrites else "single"


@cache
def _entry_model(mode: Mode, profile: Profile) -> type[BaseModel]:
    comparative = mode == "comparative"
    text = Annotated[str, StringConstraints(max_length=CAPS[profile].text)]
    name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_CAP)]
    fields: dict[str, Any] = {
        "criterion": (name, Field(description="The criterion's name, exactly as listed.")),
        "evidence": (
            text,
            Field(
                description="Short quotes from answer A and from answer B that bear on this "
                "criterion (or what is missing)."
                if comparative
                else "Quote the story's own words that bear on this criterion (or say what "
                "is missing); when two stories are shown, quotes from story A and from B."
                if mode == "paired"
                else "Quote the draft's own words that bear on this criterion (or say "
                "what is missing)."
            ),
        ),
        "reasoning": (
            text,
            Field(description="Why that evidence earns the score, against the criterion."),
        ),
    }
    if comparative:
        fields["a"] = (Score, Field(description=f"Answer A: {_SCALE}"))
        fields["b"] = (Score, Field(description=f"Answer B: {_SCALE}"))
    elif mode == "paired":
        fields["score"] = (Score, Field(description=f"The story (story A when two): {_SCALE}"))
        fields["score_b"] = (
            Score | None,
            Field(default=None, description="Story B's score, only when two stories are shown."),
        )
    else:
        fields["score"] = (Score, Field(description=_SCALE))
    names = {"single": "CriterionJudgment", "comparative": "CriterionComparison"}
    return create_model(
        names.get(mode, "CriterionPairedJudgment"),
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )


@cache
def _comparison_model(profile: Profile) -> type[BaseModel]:
    text = Annotated[str, StringConstraints(max_length=CAPS[profile].text)]
    return create_model(
        "Comparison",
        __config__=ConfigDict(extra="forbid"),
        evidence=(text, Field(description="Where the two answers differ most, quoted.")),
        reasoning=(text, Field(description="Which serves the reader better, and why.")),
        better=(Label, Field(description="The better answer overall: A or B.")),
    )


class PairedJudgmentReply(JudgmentReply):
    """A paired rubric's reply: a second story's scores and the comparison exactly when
    the item's request showed two stories (the validation context's `compared`)."""

    @classmethod
    def item_json_schema(cls, context: Mapping[str, Any]) -> dict[str, Any]:
        """Narrowed as every reply with entries in play, and with the second story's
        scores and the comparison required when two stories are shown, absent when one
        is."""
        schema = super().item_json_schema(context)
        compared = context.get("compared")
        if compared is None:
            return schema
        entries = schema["properties"][cls.in_play.entries]
        holders = entries.get("prefixItems") or [
            schema["$defs"][entries["items"]["$ref"].rsplit("/", 1)[-1]]
        ]
        for entry in holders:
            _present_exactly_when(entry, "score_b", bool(compared))
        _present_exactly_when(schema, "comparison", bool(compared))
        return schema

    @model_validator(mode="after")
    def _second_story_exactly_when_shown(self, info: ValidationInfo) -> Self:
        compared = (info.context or {}).get("compared")
        if compared is None:
            return self
        entries: list[Any] = list(getattr(self, self.in_play.entries))
        comparison = getattr(self, "comparison", None)
        if compared:
            if missing := [e.criterion for e in entries if e.score_b is None]:
                raise ValueError(
                    "two stories are shown: give score_b (story B's score) for "
                    + ", ".join(missing)
                )
            if comparison is None:
                raise ValueError("two stories are shown: give the overall comparison")
        elif comparison is not None or any(e.score_b is not None for e in entries):
            raise ValueError("one story is shown: give no score_b and no comparison")
        return self


@cache
def _judgment_model(
    mode: Mode, lead: type[BaseModel] | None, profile: Profile
) -> type[JudgmentReply]:
    note = Annotated[str, StringConstraints(max_length=CAPS[profile].note)]
    fields: dict[str, Any] = {
        "criteria": (
            list[_entry_model(mode, profile)],  # type: ignore[misc]
            Field(
                max_length=MAX_ENTRIES,
                description="One entry per criterion listed, each judged in full.",
            ),
        )
    }
    if mode == "comparative":
        fields["comparison"] = (
            _comparison_model(profile),
            Field(description="The two answers compared overall."),
        )
    elif mode == "paired":
        fields["comparison"] = (
            _comparison_model(profile) | None,
            Field(default=None, description="Only when two stories are shown: A and B compared."),
        )
    fields["revision_notes"] = (
        list[note],
        Field(
            max_length=MAX_NOTES,
            description="One concrete change (what, and where) for each criterion under "
            "its pass mark.",
        ),
    )
    reply = PairedJudgmentReply if mode == "paired" else JudgmentReply
    bases: tuple[type[BaseModel], ...] = (lead, reply) if lead else (reply,)
    names = {"single": "Judgment", "comparative": "ComparativeJudgment"}
    model: type[JudgmentReply] = create_model(
        names.get(mode, "PairedJudgment"),
        __base__=bases,
        **fields,
    )
    return model


def judgment_model(rubric: Rubric, profile: Profile = "rich") -> type[JudgmentReply]:
    """The judge's reply model for `rubric` under a prompt profile: the same class (and
    so the same JSON schema) for every item of a run. The lead's fields come first, then
    one entry per criterion, then (comparative, paired) the overall comparison, then notes."""
    return _judgment_model(_mode(rubric), rubric.lead, profile)


# --- the critique ----------------------------------------------------------------------


def parse_judgment(
    completion: Completion, rubric: Rubric, rewrite_label: str | None = None
) -> dict[str, Any]:
    """The reply as the critique dict (see the module docstring); a comparative reply (or
    a paired one that showed two stories) is unblinded by the label the rewrite was shown
    under (the item's `draw["rewrite_label"]`)."""
    reply = completion.parsed
    if not isinstance(reply, JudgmentReply):
        raise ValueError(incomplete(completion, "judgment"))
    data = reply.model_dump()
    lead = {name: data[name] for name in rubric.lead.model_fields} if rubric.lead else {}
    notes = list(data["revision_notes"])
    entries = data["criteria"]
    compared = rubric.comparative or data.get("comparison") is not None
    if not compared:
        return {
            **lead,
            "scores": [_score(entry, entry["score"]) for entry in entries],
            "revision_notes": notes,
        }
    if rewrite_label not in ("A", "B"):
        raise ValueError(f"a blind comparison needs the rewrite's label, not {rewrite_label!r}")
    if not rubric.comparative:  # a paired reply that showed two stories
        entries = [{**entry, "a": entry["score"], "b": entry["score_b"]} for entry in entries]
    rewrite, draft = ("a", "b") if rewrite_label == "A" else ("b", "a")
    comparison = data["comparison"]
    winner = "rewrite" if comparison["better"] == rewrite_label else "draft"
    if winner == "draft":
        notes.insert(0, f"{LOST_NOTE}: {comparison['reasoning']}")
    return {
        **lead,
        "scores": [_score(entry, entry[rewrite]) for entry in entries],
        "draft_scores": {entry["criterion"]: entry[draft] for entry in entries},
        "winner": winner,
        "comparison": {"evidence": comparison["evidence"], "reasoning": comparison["reasoning"]},
        "rewrite_label": rewrite_label,
        "revision_notes": notes,
    }


def _score(entry: Mapping[str, Any], score: int) -> dict[str, Any]:
    return {
        "criterion": entry["criterion"],
        "score": int(score),
        "evidence": entry["evidence"],
        "reasoning": entry["reasoning"],
    }


def critique_entries(critique: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """A critique's scored entries (`{criterion, score, evidence, reasoning}`)."""
    return [
        entry
        for entry in (critique or {}).get("scores") or []
        if isinstance(entry, Mapping) and "criterion" in entry and "score" in entry
    ]


def critique_scores(critique: Mapping[str, Any] | None) -> dict[str, int]:
    """A critique's scores by criterion name."""
    return {str(e["criterion"]): int(e["score"]) for e in critique_entries(critique)}


def pass_scores(rubric: Rubric, criteria: Sequence[Criterion]) -> dict[str, int]:
    """Each criterion in play (by `criterion_key`) and the score it must reach."""
    return {criterion_key(c.name): rubric.pass_score_for(c) for c in criteria}


def shortfall(
    rubric: Rubric,
    critique: Mapping[str, Any] | None,
    criteria: Sequence[Criterion],
    findings: Sequence[Found],
) -> str | None:
    """The pass rule: why the judged draft does not pass, or None if it does. A gate
    finding, a lost comparison, a declared check, then each criterion in play that was
    not scored or scored under its pass score (an invented one counts for nothing)."""
    if critique is None:
        return "not judged"
    if findings:
        return "; ".join(finding.message for finding in findings)
    if _lost(rubric, critique):
        reasoning = (critique.get("comparison") or {}).get("reasoning", "")
        return f"{LOST_NOTE}: {reasoning}".rstrip(": ")
    for check in rubric.checks:
        if reason := check(critique):
            return reason
    scores = {criterion_key(name): score for name, score in critique_scores(critique).items()}
    for criterion in criteria:
        bar = rubric.pass_score_for(criterion)
        score = scores.get(criterion_key(criterion.name))
        if score is None:
            return f"the judge did not score {criterion.name}"
        if score < bar:
            return f"{criterion.name} scored {score}, under {bar}"
    return None


#: Critique keys `combine` computes; every other key (a lead's evidence, a check's
#: fields) comes from the sample that makes the case against the draft.
_COMBINED = frozenset(
    {"scores", "revision_notes", "draft_scores", "winner", "comparison", "rewrite_label"}
)


def combine(rubric: Rubric, critiques: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """K judgments of one draft (`--judge-samples K`) as one, each rule leaning against
    the draft: a criterion's mean score rounded down, with the evidence and reasoning of
    the sample that scored it lowest; the rewrite wins only if every sample says so; the
    other fields (claim checks, a check's verdict) from the first sample a comparison or
    a declared check fails on; every revision note once."""
    if len(critiques) == 1:
        return dict(critiques[0])
    against = next(
        (c for c in critiques if _lost(rubric, c) or any(check(c) for check in rubric.checks)),
        critiques[0],
    )
    combined: dict[str, Any] = {k: v for k, v in against.items() if k not in _COMBINED}
    found: dict[str, list[Mapping[str, Any]]] = {}
    for critique in critiques:
        for entry in critique_entries(critique):
            found.setdefault(str(entry["criterion"]), []).append(entry)
    combined["scores"] = [
        {
            **min(entries, key=lambda e: int(e["score"])),
            "criterion": name,
            "score": sum(int(e["score"]) for e in entries) // len(entries),
        }
        for name, entries in found.items()
    ]
    if rubric.comparative or any("winner" in critique for critique in critiques):
        drafts: dict[str, list[int]] = {}
        for critique in critiques:
            for name, score in (critique.get("draft_scores") or {}).items():
                drafts.setdefault(name, []).append(int(score))
        combined["draft_scores"] = {name: sum(s) // len(s) for name, s in drafts.items()}
        combined["winner"] = "draft" if _lost(rubric, against) else "rewrite"
        combined["comparison"] = dict(against.get("comparison") or {})
        combined["rewrite_label"] = critiques[0].get("rewrite_label")
    notes = [note for critique in critiques for note in critique.get("revision_notes") or []]
    combined["revision_notes"] = list(dict.fromkeys(notes))
    combined["samples"] = len(critiques)
    return combined


def _lost(rubric: Rubric, critique: Mapping[str, Any]) -> bool:
    """A comparative rubric's rewrite must win; a paired one's loses only when compared."""
    if rubric.comparative:
        return critique.get("winner") != "rewrite"
    return critique.get("winner") == "draft"


# --- replies for scripted backends and tests -------------------------------------------


def judgment_reply(
    scores: Mapping[str, int], notes: Sequence[str] = (), **lead: Any
) -> dict[str, Any]:
    """A reply of `judgment_model`'s shape scoring each criterion as given (fake
    responders and tests; `lead` holds the rubric's leading fields)."""
    return {
        **lead,
        "criteria": [
            {
                "criterion": name,
                "evidence": "placeholder",
                "reasoning": "placeholder",
                "score": score,
            }
            for name, score in scores.items()
        ],
        "revision_notes": list(notes),
    }


def comparative_reply(
    rewrite_scores: Mapping[str, int],
    draft_scores: Mapping[str, int],
    rewrite_label: Label,
    better: Literal["rewrite", "draft"] = "rewrite",
    reasoning: str = "placeholder",
) -> dict[str, Any]:
    """A comparative reply: the rewrite shown as `rewrite_label`, `better` winning."""
    rewrite = rewrite_label.lower()
    draft = "b" if rewrite == "a" else "a"
    other: Label = "B" if rewrite_label == "A" else "A"
    return {
        "criteria": [
            {
                "criterion": name,
                "evidence": "placeholder",
                "reasoning": "placeholder",
                rewrite: score,
                draft: draft_scores[name],
            }
            for name, score in rewrite_scores.items()
        ],
        "comparison": {
            "evidence": "placeholder",
            "reasoning": reasoning,
            "better": rewrite_label if better == "rewrite" else other,
        },
        "revision_notes": [],
    }


def paired_reply(
    rewrite_scores: Mapping[str, int],
    draft_scores: Mapping[str, int],
    rewrite_label: Label,
    better: Literal["rewrite", "draft"] = "rewrite",
    reasoning: str = "placeholder",
) -> dict[str, Any]:
    """A paired rubric's reply to a rewrite's judgment: story A's scores as `score`,
    story B's as `score_b`, the rewrite shown as `rewrite_label`, `better` winning."""
    blind = comparative_reply(rewrite_scores, draft_scores, rewrite_label, better, reasoning)
    for entry in blind["criteria"]:
        entry["score"], entry["score_b"] = entry.pop("a"), entry.pop("b")
    return blind


def _present_exactly_when(holder: dict[str, Any], name: str, present: bool) -> None:
    """An optional property (`X | None = None`) made required and non-null, or removed."""
    properties = holder.get("properties", {})
    if name not in properties:
        return
    if not present:
        del properties[name]
        return
    choices = properties[name].get("anyOf")
    if choices:
        kept = [choice for choice in choices if choice.get("type") != "null"]
        properties[name] = {
            **{k: v for k, v in properties[name].items() if k not in ("anyOf", "default")},
            **kept[0],
        }
    properties[name].pop("default", None)
    holder.setdefault("required", [])
    if name not in holder["required"]:
        holder["required"].append(name)
