"""The regression guard: after a revision is judged, keep whichever draft is better.

A rewrite can fix one thing and break another, and a judge is noisy. The rule: a
revision is kept only if it does not *regress*, meaning it does not

- turn a criterion that passed (score >= its pass score) into a failing one,
- let any criterion drop by more than `TOLERATED_DROP` points (one point is within a
  single judgment's noise; a real loss shows as two, or as a fall below the pass mark),
- add a kind of gate finding the earlier draft did not have (gates are deterministic,
  so a new finding is a real regression), or
- fall below the length band when the earlier draft was not below it,

and, regressions aside, it ranks at least as high (passed, fewer gate findings, fewer
failing criteria, best worst score, best mean score). Ties go to the revision, since it
was written against the review and the constitution. A revision judged
beside `previous` (its judgment's `draft_scores` and `winner`, see `storyloom.stories.
judging`) is compared on that one judgment, which scores both drafts, not on two
independent ones, and is not kept if it lost the comparison. Criteria the revision's
judge left out are unknown here (the pass rule already fails such a draft). Pass scores come per
criterion (`pass_scores`, keyed by `criterion_key`; constitution sections need more than
craft), `PASS_SCORE` for any not listed. All of it is pure, so the tests pin it down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from storyloom.stories.judging import LOST_NOTE, criterion_key, critique_scores
from storyloom.stories.story.gates import is_below_band

#: Craft criteria pass at 3; constitution sections at 4 (`StoryKind`'s rubric).
PASS_SCORE = 3
CONSTITUTION_PASS_SCORE = 4
#: How far a criterion may fall in a kept revision (see the module docstring).
TOLERATED_DROP = 1

PassScores = Mapping[str, int]


def _critique(draft: Mapping[str, Any]) -> Mapping[str, Any]:
    critique = draft.get("critique") or {}
    return critique if isinstance(critique, Mapping) else critique.model_dump()


def _scores(draft: Mapping[str, Any]) -> dict[str, int]:
    scores = critique_scores(_critique(draft))
    return {criterion_key(name): score for name, score in scores.items()}


def _paired(previous: Mapping[str, Any], revision: Mapping[str, Any]) -> Mapping[str, Any]:
    """`previous` as scored in the revision's own judgment when the judge saw both (its
    `draft_scores`), so the two are compared on one judgment; else as it was."""
    draft_scores = _critique(revision).get("draft_scores")
    if not draft_scores:
        return previous
    scores = [{"criterion": name, "score": score} for name, score in draft_scores.items()]
    return {**previous, "critique": {"scores": scores}}


def _required(criterion: str, pass_scores: PassScores | None) -> int:
    return (pass_scores or {}).get(criterion, PASS_SCORE)


def _finding_kinds(draft: Mapping[str, Any]) -> set[str]:
    return {finding["kind"] for finding in draft.get("findings", [])}


def draft_rank(
    draft: Mapping[str, Any], pass_scores: PassScores | None = None
) -> tuple[float, ...]:
    """Higher is better: passed, fewer gate findings, fewer failing criteria, best worst
    score, best mean score."""
    scored = _scores(draft) or {"unjudged": 0}
    failing = sum(score < _required(name, pass_scores) for name, score in scored.items())
    scores = list(scored.values())
    return (
        float(bool(draft.get("passed"))),
        -float(len(draft.get("findings", []))),
        -float(failing),
        float(min(scores)),
        sum(scores) / len(scores),
    )


def regressions(
    previous: Mapping[str, Any],
    revision: Mapping[str, Any],
    *,
    length_band: str,
    pass_scores: PassScores | None = None,
    tolerated_drop: int = TOLERATED_DROP,
) -> list[str]:
    """Why `revision` is worse than `previous` on something; [] if it is not."""
    reasons: list[str] = []
    before, after = _scores(previous), _scores(revision)
    for criterion, score in before.items():
        new = after.get(criterion)
        if new is None:
            continue
        required = _required(criterion, pass_scores)
        if (score >= required > new) or score - new > tolerated_drop:
            reasons.append(f"{criterion} fell from {score} to {new}")
    for kind in sorted(_finding_kinds(revision) - _finding_kinds(previous)):
        reasons.append(f"new gate finding: {kind}")
    if is_below_band(revision["text"], length_band) and not is_below_band(
        previous["text"], length_band
    ):
        reasons.append(f"fell below the {length_band} length band")
    return reasons


@dataclass(frozen=True)
class Choice:
    keep: Literal["previous", "revision"]
    reasons: tuple[str, ...]

    @property
    def keeps_revision(self) -> bool:
        return self.keep == "revision"


def choose_better_draft(
    previous: Mapping[str, Any] | None,
    revision: Mapping[str, Any],
    *,
    length_band: str,
    pass_scores: PassScores | None = None,
) -> Choice:
    """Which draft to keep after `revision` was gated and judged.

    Drafts are the workflow's draft records: mappings with `text`, `findings` (a list of
    `{kind, message}`), `critique` (a `Critique` or its dict, or None) and `passed`.
    """
    if previous is None:
        return Choice("revision", ())
    if _critique(revision).get("winner") == "draft":
        return Choice("previous", (LOST_NOTE,))
    previous = _paired(previous, revision)
    found = regressions(previous, revision, length_band=length_band, pass_scores=pass_scores)
    if found:
        return Choice("previous", tuple(found))
    if draft_rank(revision, pass_scores) < draft_rank(previous, pass_scores):
        return Choice("previous", ("the revision ranks lower overall",))
    return Choice("revision", ())
