"""`storyloom plan`: seeds and coverage without a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from storyloom.cli.plan_cmd import plan
from storyloom.stories.story.inputs import sample_path


def run(*args: object) -> Result:
    return CliRunner().invoke(plan, [str(arg) for arg in args])


def run_json(*args: object) -> dict[str, Any]:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_coverage_is_within_one_of_fair_share() -> None:
    data = run_json("-n", 1000, "--seed", 3, "--coverage-only")
    assert data["count"] == 1000 and "seeds" not in data
    assert data["distinct_premises"] == 1000
    # The axes `never_together` restricts (point of view and tone given the framing, the
    # act given the dilemma, who faces it and the outcome given both), the sections and
    # the agentic share depend on another draw, balanced within each of its values
    # (tests/test_seeds.py).
    dependent = {
        *("point_of_view", "tone", "act", "facing", "outcome"),
        *("constitution section", "agentic setting"),
    }
    independent = {k: v for k, v in data["max_deviation"].items() if k not in dependent}
    assert all(value < 1.0 for value in independent.values()), independent
    sections = [row for row in data["coverage"] if row["dimension"] == "constitution section"]
    assert len(sections) == 10
    assert sum(row["count"] for row in sections) == 2000
    assert round(sum(row["fair_share"] for row in sections), 6) == 2000


def test_a_third_of_a_thousand_draws_are_agentic() -> None:
    data = run_json("-n", 1000, "--coverage-only")
    agentic = {
        r["value"]: r["count"] for r in data["coverage"] if r["dimension"] == "agentic setting"
    }
    assert agentic["yes"] >= 1000 / 3 and agentic["yes"] + agentic["no"] == 1000


def test_json_seeds_match_what_a_run_derives() -> None:
    data = run_json("-n", 5, "--seed", 11)
    assert [seed["index"] for seed in data["seeds"]] == [0, 1, 2, 3, 4]
    again = run_json("-n", 5, "--seed", 11)
    assert again["seeds"] == data["seeds"]
    assert run_json("-n", 5, "--seed", 12)["seeds"] != data["seeds"]


def test_name_variants_cycle_names_over_shared_draws() -> None:
    seeds = run_json("-n", 6, "--name-variants")["seeds"]
    assert [s["persona_name"] for s in seeds] == ["Wren", "Ada", "Sol"] * 2
    assert seeds[0]["axes"] == seeds[1]["axes"] == seeds[2]["axes"]
    assert seeds[0]["axes"] != seeds[3]["axes"]


def test_tables_show_seeds_and_coverage() -> None:
    result = run("-n", 12)
    assert result.exit_code == 0, result.output
    for text in ("Seeds (12)", "Coverage", "fair share", "Largest deviation", "honesty", "Wren"):
        assert text in result.output
    coverage_only = run("-n", 12, "--coverage-only")
    assert "Seeds (12)" not in coverage_only.output and "Coverage" in coverage_only.output


def test_custom_axes_file_is_used(tmp_path: Path) -> None:
    axes = tmp_path / "axes.toml"
    axes.write_text(sample_path("axes").read_text().replace('"fable",', '"fable", "radio play",'))
    data = run_json("-n", 16, "--axes", axes, "--coverage-only")
    framings = {
        row["value"]: row["count"] for row in data["coverage"] if row["dimension"] == "framing"
    }
    assert framings["radio play"] == 2


def test_input_errors_are_one_line_messages(tmp_path: Path) -> None:
    missing = run("--axes", tmp_path / "nope.toml")
    assert missing.exit_code == 1
    assert "axes file not found" in missing.output and "Traceback" not in missing.output
    broken = tmp_path / "persona.toml"
    broken.write_text("name = ")
    bad = run("--persona", broken)
    assert bad.exit_code == 1 and "invalid TOML" in bad.output


def test_count_must_be_positive() -> None:
    result = run("-n", 0)
    assert result.exit_code == 2 and "-n" in result.output
