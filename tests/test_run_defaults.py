"""The defaults a kind or a backend implies are settled where a run opens
(`graph.service.open_run` through `graph.settings.run_settings`), so a caller without
the CLI gets the same run the CLI would; and a run.json written under the former
settings names still resumes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fast_retry import FAST_RETRY

from storyloom.backends import options as backend_options
from storyloom.backends.registry import backend_spec
from storyloom.cli.main import cli
from storyloom.graph.runner import RunOptions
from storyloom.graph.service import RunRequest, RunSetupError, call_timeout_for, execute, open_run
from storyloom.graph.settings import GenerationSettings, run_settings
from storyloom.stories.registry import get_kind


def request(run_dir: Path, backend: str = "scripted", **fields: object) -> RunRequest:
    values = fields.pop("backend_options", {})
    return RunRequest(
        run_dir=run_dir,
        backend=backend_spec(backend, values),  # type: ignore[arg-type]
        options=fields.pop("options", RunOptions(count=1, concurrency=1, retry=FAST_RETRY)),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("kind", ["story", "documents", "advice"])
def test_a_run_opened_without_the_cli_takes_the_kind_s_rewrite_mode(
    tmp_path: Path, kind: str
) -> None:
    with open_run(request(tmp_path / "run", kind=kind)) as opened:
        asyncio.run(opened.backend.aclose())
    settings = opened.config.settings
    assert settings.rewrite == get_kind(kind).default_rewrite == "always"
    assert settings.prompt_profile == "rich"  # the scripted backend is no small model
    frozen = json.loads((tmp_path / "run" / "run.json").read_text())["settings"]
    assert (frozen["rewrite"], frozen["prompt_profile"]) == ("always", "rich")


def test_the_bundled_model_gets_the_compact_prompts_and_no_call_watchdog(tmp_path: Path) -> None:
    with open_run(request(tmp_path / "run", "llamacpp", kind="story")) as opened:
        asyncio.run(opened.backend.aclose())
    assert opened.config.settings.prompt_profile == "compact"
    assert opened.context.call_timeout is None


def test_what_was_asked_wins_over_what_kind_and_backend_imply() -> None:
    settings = run_settings(
        get_kind("documents"),
        backend_spec("llamacpp"),
        {"rewrite": "on-fail", "prompt_profile": "rich", "max_revisions": 1, "temperature": None},
    )
    assert (settings.rewrite, settings.prompt_profile, settings.max_revisions) == (
        "on-fail",
        "rich",
        1,
    )


def test_a_gguf_above_the_small_size_gets_the_rich_prompts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend_options, "SMALL_GGUF_BYTES", 10)
    small, large = tmp_path / "small.gguf", tmp_path / "large.gguf"
    small.write_bytes(b"x" * 10)
    large.write_bytes(b"x" * 11)
    story = get_kind("story")
    profile = {
        path.name: run_settings(story, backend_spec("llamacpp", {"model_path": path}))
        for path in (small, large, tmp_path / "missing.gguf")
    }
    profile = {name: settings.prompt_profile for name, settings in profile.items()}
    assert profile == {"small.gguf": "compact", "large.gguf": "rich", "missing.gguf": "rich"}


@pytest.mark.parametrize(
    ("backend", "values", "asked", "expected"),
    [
        ("anthropic", {}, None, 600.0),
        ("anthropic", {"batch": True}, None, None),  # a batch may take hours
        ("openai", {}, None, None),
        ("llamacpp", {}, None, None),
        ("anthropic", {}, 0.0, None),  # 0: no limit
        ("llamacpp", {}, 30.0, 30.0),
    ],
)
def test_the_call_watchdog_is_the_backend_s_unless_asked(
    tmp_path: Path, backend: str, values: dict, asked: float | None, expected: float | None
) -> None:
    spec = request(tmp_path, backend, backend_options=values, call_timeout=asked)
    assert call_timeout_for(spec) == expected


def test_the_per_request_timeout_is_the_backend_s() -> None:
    assert backend_spec("anthropic").options.timeout == 120.0  # type: ignore[attr-defined]
    assert backend_spec("openai").options.timeout == 900.0  # type: ignore[attr-defined]


def test_a_setting_out_of_range_is_one_line_naming_it(tmp_path: Path) -> None:
    asked = request(tmp_path / "run", settings={"max_revisions": 99})
    with (
        pytest.raises(RunSetupError, match=r"^setting max_revisions: input should be"),
        open_run(asked),
    ):
        pass
    assert not (tmp_path / "run").exists()


def test_settings_under_their_former_names_still_load() -> None:
    settings = GenerationSettings.model_validate(
        {"story_dedupe_threshold": 0.3, "premise_dedupe_threshold": 0.6}
    )
    assert (settings.dedupe_threshold, settings.plan_dedupe_threshold) == (0.3, 0.6)
    with pytest.raises(ValueError, match="story_dedupe_threshold"):
        GenerationSettings.model_validate({"story_dedupe_threshold": 0.3, "dedupe_threshold": 0.3})


def test_a_run_started_under_the_former_names_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with open_run(request(run_dir)) as opened:
        first = asyncio.run(execute(opened, RunOptions(count=1, concurrency=1, retry=FAST_RETRY)))
    assert first.emitted + first.rejected == 1
    config = json.loads((run_dir / "run.json").read_text())
    settings = config["settings"]
    settings["story_dedupe_threshold"] = settings.pop("dedupe_threshold")
    settings["premise_dedupe_threshold"] = settings.pop("plan_dedupe_threshold")
    (run_dir / "run.json").write_text(json.dumps(config))

    more = RunOptions(count=2, concurrency=1, retry=FAST_RETRY)
    with open_run(request(run_dir, options=more)) as opened:  # no ConfigChangedError
        assert opened.changes_taken == []
        second = asyncio.run(execute(opened, more))
    assert (second.already_done, second.emitted + second.rejected) == (1, 1)


def test_the_former_flag_of_the_plan_threshold_still_sets_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = ["generate", "-n", "1", "--backend", "scripted", "--run-dir", str(run_dir)]
    result = CliRunner().invoke(cli, [*args, "--premise-threshold", "0.7"])
    assert result.exit_code == 0, result.output
    settings = json.loads((run_dir / "run.json").read_text())["settings"]
    assert (settings["plan_dedupe_threshold"], settings["dedupe_threshold"]) == (0.7, 0.4)
