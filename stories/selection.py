"""The regression guard: after a revision is judged, keep whichever draft is better.

A rewrite can fix one thing and break another, and a small judge is noisy. The rule:
a revision is kept only if it does not *regress*, meaning it does not

- turn a criterion that passed (score >= pass score) into a failing one,
- add a kind of gate finding the earlier draft did not have (gates are deterministic,
  so a new finding is a real regression), or
- fall below the length band when the earlier draft was not below it,

and, regressions aside, it ranks at least as high (passed, fewer gate findings, fewer
failing criteria, best worst score, best mean score). Ties go to the revision, since it
was written against the critique and the constitution. Criteria the revision's judge
left out are treated as unknown, not as failures. All of it is pure, so the workflow's
`judge` node calls it and the tests pin it down.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from storyloom.stories.gates import is_below_band
from storyloom.stories.models import Critique

PASS_SCORE = 3


def criterion_key(name: str) -> str:
    """Criteria compared by name regardless of case and spacing ('Care for people' ==
    'care-for-people' == 'care_for_people')."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _scores(draft: Mapping[str, Any]) -> dict[str, int]:
    critique = draft.get("critique")
    if not critique:
        return {}
    parsed = critique if isinstance(critique, Critique) else Critique.model_validate(critique)
    return {criterion_key(name): score for name, score in parsed.score_map().items()}


def _finding_kinds(draft: Mapping[str, Any]) -> set[str]:
    return {finding["kind"] for finding in draft.get("findings", [])}


def draft_rank(draft: Mapping[str, Any], pass_score: int = PASS_SCORE) -> tuple[float, ...]:
    """Higher is better: passed, fewer gate findings, fewer failing criteria, best worst
    score, best mean score."""
    scores = list(_scores(draft).values()) or [0]
    failing = sum(score < pass_score for score in scores)
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
    pass_score: int = PASS_SCORE,
) -> list[str]:
    """Why `revision` is worse than `previous` on something that had passed; [] if not."""
    reasons: list[str] = []
    before, after = _scores(previous), _scores(revision)
    for criterion, score in before.items():
        new = after.get(criterion)
        if score >= pass_score and new is not None and new < pass_score:
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
    pass_score: int = PASS_SCORE,
) -> Choice:
    """Which draft to keep after `revision` was gated and judged.

    Drafts are the workflow's draft records: mappings with `text`, `findings` (a list of
    `{kind, message}`), `critique` (a `Critique` or its dict, or None) and `passed`.
    """
    if previous is None:
        return Choice("revision", ())
    found = regressions(previous, revision, length_band=length_band, pass_score=pass_score)
    if found:
        return Choice("previous", tuple(found))
    if draft_rank(revision, pass_score) < draft_rank(previous, pass_score):
        return Choice("previous", ("the revision ranks lower overall",))
    return Choice("revision", ())


def critique_passes(critique: Critique, findings: list[Any], pass_score: int = PASS_SCORE) -> bool:
    """A draft passes when the judge says pass, no score is below the pass score and the
    gates found nothing."""
    return (
        critique.verdict == "pass"
        and all(score >= pass_score for score in critique.score_map().values())
        and not findings
    )
