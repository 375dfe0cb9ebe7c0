"""`storyloom plan --kind K`: any kind's draws and their balance, without a model."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from storyloom.cli.main import cli


#: Dimensions each drawn on its own stream (the document type and the person are drawn
#: within the claim and the dilemma: tests/test_kind_contract.py holds their balance).
@pytest.mark.parametrize(("kind", "dimension"), [("documents", "claim"), ("advice", "dilemma")])
def test_plan_kind_covers_every_value_within_one_of_its_fair_share(
    kind: str, dimension: str
) -> None:
    result = CliRunner().invoke(cli, ["plan", "--kind", kind, "-n", "300", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    rows = [row for row in report["coverage"] if row["dimension"] == dimension]
    assert rows and all(row["count"] > 0 for row in rows)
    assert report["max_deviation"][dimension] <= 1.0
    assert len(report["draws"]) == 20


def test_plan_unknown_kind_is_one_line() -> None:
    result = CliRunner().invoke(cli, ["plan", "--kind", "poems"])
    assert result.exit_code == 2
    assert "unknown kind 'poems'; choose one of" in result.output
