"""`storyloom eval --backend openai`: a base model and its fine-tune behind one
OpenAI-compatible server (as vLLM serves them), compared in one command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chat_api_server import ChatAPIServer
from cli_runner import invoke

SUITE = """\
name: capitals
scenarios:
  - {id: norway, type: choice, family: geography, question: "The capital of Norway?",
     options: [Oslo, Bergen]}
"""


def test_base_and_tuned_behind_one_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = tmp_path / "capitals.yaml"
    suite.write_text(SUITE)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ChatAPIServer(models=("base", "tuned")) as server:
        # First the structured-output probe of each backend (judge, base, tuned), then one
        # call at a time, models interleaved per trial: Oslo is A at order 0 and B at
        # order 1; the base model always answers A, the tuned one always Oslo.
        server.queue(*[{"storyloom_probe": "ultramarine-7"}] * 3)
        server.queue("A.", "A.", "A.", "A.", "A.", "B.", "A.", "B.")
        result = invoke(
            "eval", tmp_path / "run", "--backend", "openai", "--base-url", server.base_url,
            "--model", "base", "--model", "tuned", "--suite", suite, "--trials", "2",
            "--concurrency", "1", "--json", tmp_path / "out.json",
        )  # fmt: skip
        sent = [
            request.body["model"]
            for request in server.chat_requests()
            if "capital" in json.dumps(request.body["messages"])
        ]
    assert result.exit_code == 0, result.output
    assert sent == ["base", "tuned"] * 4
    by_model = json.loads((tmp_path / "out.json").read_text())["rows"][0]["by_model"]
    assert (by_model["base"]["hits"], by_model["base"]["trials"]) == (2, 4)
    assert (by_model["tuned"]["hits"], by_model["tuned"]["trials"]) == (4, 4)
