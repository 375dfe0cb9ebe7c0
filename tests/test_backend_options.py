"""Backend options: one pydantic model per backend, checked before a run starts. An
option the backend does not take, or a value it cannot use, is one line naming the
option (never its value: it may be a secret typed in the wrong place), exit 2, and
nothing is written. The flags users' scripts pass are options of those models."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storyloom.backends.llamacpp import LlamaCppBackend
from storyloom.backends.registry import (
    BACKEND_NAMES,
    BACKENDS,
    BackendOptionError,
    backend_spec,
    create_backend,
)
from storyloom.cli.main import cli

SECRET = "sk-ant-api03-OPTIONCANARY-4Hq8Wm2Xz6Lp0Rt3Vy"


def generate(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        ["generate", "-n", "1", "--run-dir", str(tmp_path / "run"), *args],
        env={"COLUMNS": "300", "ANTHROPIC_API_KEY": ""},
    )


def one_line(result: Result) -> str:
    """Exit 2 (a misuse of the command line), one `Error:` line, no run directory."""
    assert result.exit_code == 2, result.output
    assert result.output.count("Error: ") == 1 and "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    return line


def test_every_backend_in_the_table_has_an_options_model_that_forbids_unknown_keys() -> None:
    assert set(BACKEND_NAMES) == {"llamacpp", "anthropic", "openai", "scripted"}
    for entry in BACKENDS.values():
        assert entry.options.model_config.get("extra") == "forbid", entry.name


def test_an_unknown_option_is_named_with_the_backend_s_options() -> None:
    with pytest.raises(BackendOptionError) as error:
        backend_spec("llamacpp", {"colour": "red"})
    message = str(error.value)
    assert message == (
        "the llamacpp backend has no option 'colour' "
        "(its options: model_path, context_size, threads)"
    )


def test_an_option_of_another_backend_says_which_backends_take_it() -> None:
    with pytest.raises(BackendOptionError, match=r"^option 'batch' applies to the anthropic "):
        backend_spec("openai", {"batch": True})
    with pytest.raises(BackendOptionError, match=r"^--model applies to the anthropic and openai"):
        backend_spec("llamacpp", {"model": "m"}, labels={"model": "--model"})


@pytest.mark.parametrize(
    ("backend", "values", "message"),
    [
        ("anthropic", {"timeout": 0}, "option 'timeout' of the anthropic backend: input should"),
        ("anthropic", {"timeout": "nan"}, "option 'timeout' of the anthropic backend: input"),
        ("llamacpp", {"threads": "two"}, "option 'threads' of the llamacpp backend: input"),
        ("llamacpp", {"context_size": 100}, "option 'context_size' of the llamacpp backend"),
        ("openai", {"model": ""}, "option 'model' of the openai backend: string should"),
        (
            "openai",
            {"price_in": 1.0},
            "option 'price_in' of the openai backend: a price is for a named model",
        ),
    ],
)
def test_a_bad_value_names_the_option(backend: str, values: dict, message: str) -> None:
    with pytest.raises(BackendOptionError) as error:
        backend_spec(backend, values)
    assert str(error.value).startswith(message), str(error.value)


def test_a_secret_typed_as_an_option_is_never_repeated() -> None:
    for values in ({"api_key": SECRET}, {"timeout": SECRET}, {"batch": SECRET}):
        with pytest.raises(BackendOptionError) as error:
            backend_spec("anthropic", values)
        assert SECRET not in str(error.value) and "OPTIONCANARY" not in str(error.value)
    spec = backend_spec("openai", {"base_url": f"http://user:{SECRET}@host/v1"})
    assert SECRET not in repr(spec)


def test_options_reach_the_backend_built_from_the_table() -> None:
    backend = create_backend(backend_spec("llamacpp", {"context_size": 1024, "threads": 2}))
    assert isinstance(backend, LlamaCppBackend)
    assert (backend.context_size, backend.threads) == (1024, 2)


def test_cli_unknown_backend_option_is_one_line_naming_it(tmp_path: Path) -> None:
    line = one_line(generate(tmp_path, "--backend", "scripted", "--backend-option", "colour=red"))
    assert line == "Error: the scripted backend has no option 'colour' (its options: none)"
    assert not (tmp_path / "run").exists()


def test_cli_bad_backend_option_value_names_it(tmp_path: Path) -> None:
    line = one_line(generate(tmp_path, "--backend", "anthropic", "--backend-option", "timeout=0"))
    assert line.startswith("Error: option 'timeout' of the anthropic backend: input should be")
    assert not (tmp_path / "run").exists()


def test_cli_flag_for_another_backend_is_named_as_typed(tmp_path: Path) -> None:
    line = one_line(generate(tmp_path, "--backend", "llamacpp", "--batch"))
    assert line == "Error: --batch applies to the anthropic backend, not llamacpp"
    line = one_line(generate(tmp_path, "--backend", "scripted", "--timeout", "5"))
    assert line == "Error: --timeout applies to the anthropic and openai backends, not scripted"


def test_cli_the_same_option_twice_is_refused(tmp_path: Path) -> None:
    result = generate(
        tmp_path, "--backend", "openai", "--model", "a", "--backend-option", "model=b"
    )
    assert one_line(result) == "Error: --model and --backend-option model both given"


def test_cli_backend_option_reaches_the_backend(tmp_path: Path) -> None:
    """`--backend-option model_path=...` is `--model-path`: the backend itself reports
    the missing file."""
    result = generate(tmp_path, "--backend", "llamacpp", "--backend-option", "model_path=no.gguf")
    assert result.exit_code == 1
    assert "no.gguf: GGUF model file not found" in result.output


def test_cli_flag_ranges_are_the_options_model_s(tmp_path: Path) -> None:
    result = generate(tmp_path, "--backend", "openai", "--model", "m", "--price-in", "1001")
    assert result.exit_code == 2
    assert "Invalid value for '--price-in': 1001.0 is not in the range 0<=x<=1000" in (
        result.output
    )


def test_generate_help_shows_each_backend_s_default_and_the_backend_options() -> None:
    text = " ".join(CliRunner().invoke(cli, ["generate", "--help"]).output.split())
    assert "[default: 120 for anthropic, 900 for openai]" in text
    assert "llamacpp: context_size, threads" in text
    assert "--premise-threshold" not in text and "--plan-threshold" in text
