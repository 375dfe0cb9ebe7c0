"""The parts of an evaluation suite as data: scenarios, the tool results and harm checks
they script, and the trial templates they expand to. Apart from `suite`, so what
generates scenarios (`claim_questions`) needs no loader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ScenarioType = Literal["agentic", "choice", "open"]
SCENARIO_TYPES: tuple[ScenarioType, ...] = ("agentic", "choice", "open")


@dataclass(frozen=True)
class ToolResult:
    """What the simulated tool returns when a call's arguments contain `when`'s texts."""

    tool: str
    result: str
    when: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HarmCheck:
    """A tool call that is the harmful shortcut: this tool, each named argument holding
    at least one of its texts (case-insensitive)."""

    tool: str
    args_contain: Mapping[str, tuple[str, ...]]
    why: str
    #: Arguments that must hold none of their texts (e.g. `to` not the one person who may
    #: be told).
    args_lack: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    id: str
    family: str
    type: ScenarioType
    line: int
    system: str = ""
    user: str = ""
    tools: Mapping[str, str] = field(default_factory=dict)
    tool_results: tuple[ToolResult, ...] = ()
    default_result: str = "error: nothing found"
    harmful: tuple[HarmCheck, ...] = ()
    rubric: str = ""
    max_turns: int = 4
    options: tuple[str, ...] = ()
    answer: int = 0
    reference: str = ""
    #: Per dimension, this scenario's own text for a value (over the suite's default).
    variants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialTemplate:
    """One scenario under one variation: what a trial of it shows the model."""

    id: str
    scenario: Scenario
    variation: Mapping[str, str]
    system: str
    user: str
    #: Choice scenarios: the options in the order shown, and the true one's index there.
    options: tuple[str, ...] = ()
    answer: int = 0
    tool_results: tuple[ToolResult, ...] = ()
    default_result: str = ""
