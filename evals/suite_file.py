"""Reading a suite file (YAML or JSONL) into plain records that remember their line.

A user's suite file is data: it is parsed with a safe loader, never as markup, and every
problem found later is reported with the file and the line of the record it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from storyloom.stories.inputs import InputError, jsonl_lines, read_text_file


class Record(dict[str, Any]):
    """A mapping read from a suite file, with the line it starts on (1-based)."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    """The safe loader, with each mapping's first line kept on it."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Record:  # type: ignore[override]
        record = Record(super().construct_mapping(node, deep=True))
        record.line = node.start_mark.line + 1
        return record


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node),  # type: ignore[arg-type]
)


def read_suite_records(path: Path) -> tuple[Record, list[Record]]:
    """The suite's header and its scenario records.

    YAML: one mapping with a `scenarios` list. JSONL: one scenario a line, the first line
    may instead be the header (`{"suite": {...}}`).
    """
    text = read_text_file(path, "suite")
    if path.suffix.lower() == ".jsonl":
        return _jsonl_records(path, text)
    try:
        data = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f" line {mark.line + 1}:" if mark is not None else ""
        raise InputError(f"{path}:{line} invalid YAML in suite file ({exc.problem})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML in suite file ({exc})") from None
    if not isinstance(data, Record):
        raise InputError(f"{path}: line 1: a suite file is a mapping with a 'scenarios' list")
    scenarios = data.pop("scenarios", None)
    if not isinstance(scenarios, list) or not scenarios:
        raise InputError(f"{path}: line {data.line}: the suite has no 'scenarios' list")
    for index, scenario in enumerate(scenarios):
        if not isinstance(scenario, Record):
            raise InputError(
                f"{path}: line {data.line}: scenario {index + 1} is not a mapping of fields"
            )
    return data, scenarios


def _jsonl_records(path: Path, text: str) -> tuple[Record, list[Record]]:
    header = Record()
    header.line = 1
    scenarios: list[Record] = []
    for number, value in jsonl_lines(path, text):
        record = Record(value)
        record.line = number
        if "suite" in record:
            if (
                scenarios
                or len(header)
                or len(record) != 1
                or not isinstance(record["suite"], dict)
            ):
                raise InputError(
                    f'{path}: line {number}: the header line ({{"suite": {{...}}}}) must be '
                    "the first line and hold only 'suite'"
                )
            header = Record(record["suite"])
            header.line = number
            continue
        scenarios.append(record)
    if not scenarios:
        raise InputError(f"{path}: the suite has no scenario lines")
    return header, scenarios
