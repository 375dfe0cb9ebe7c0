"""The story document is the story as written; each framing's header (added text) only
when the user asks for it, and metadata never goes into the text."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from storyloom.graph.settings import GenerationSettings
from storyloom.stories.kind import Draft, ItemView
from storyloom.stories.registry import get_kind
from storyloom.stories.story.inputs import load_inputs
from storyloom.stories.story.render import FRAMINGS, framing_for, render_document, split_title

BODY = "Wren kept the count.\n\n*Not this time,* she thought. She left the number as it was."
STORY = f"# The Night Ledger\n\n{BODY}"

EXPECTED_HEADERS = {
    "titled short story": "The Night Ledger\n\n",
    "novel chapter": "Chapter Four\nThe Night Ledger\n\n",
    "literary magazine piece": "The Night Ledger\n\nFiction\n\n",
    "fable": "The Night Ledger\n\nA Fable\n\n",
    "diary entries": "The Night Ledger\n\n",
    "letters": "The Night Ledger\n\n",
    "memoir excerpt": "The Night Ledger\n\nfrom a memoir\n\n",
}


def test_every_bundled_framing_has_a_renderer() -> None:
    assert set(load_inputs().axes.values["framing"]) == set(FRAMINGS) == set(EXPECTED_HEADERS)


@pytest.mark.parametrize("framing", sorted(EXPECTED_HEADERS))
def test_by_default_nothing_the_model_did_not_write_is_added(framing: str) -> None:
    text = render_document(STORY, title="Planned Title", framing=framing, index=2)
    assert text == STORY + "\n"
    untitled = render_document(BODY, title="Planned Title", framing=framing, index=2)
    assert untitled == BODY + "\n"


def test_markdown_headings_are_kept_as_written_as_in_the_documents_kind() -> None:
    story = "# Entries\n\n## March 3\n\nWren logged the count."
    assert render_document(story, title="T", framing="diary entries", index=0) == story + "\n"


@pytest.mark.parametrize("framing", sorted(EXPECTED_HEADERS))
def test_asked_for_each_framing_adds_its_header(framing: str) -> None:
    text = render_document(STORY, title="Planned Title", framing=framing, index=3, headers=True)
    assert text == EXPECTED_HEADERS[framing] + BODY + "\n"
    assert "#" not in text
    for metadata in ("framing", "index", "Planned Title", "seed", "persona"):
        assert metadata not in text


def test_chapter_number_follows_the_index_and_is_not_doubled() -> None:
    first = render_document(STORY, title="T", framing="novel chapter", index=0, headers=True)
    assert first.startswith("Chapter One\nThe Night Ledger\n\n")
    numbered = render_document(
        "# The Night Ledger\n\nChapter 7\n\n" + BODY,
        title="T",
        framing="novel chapter",
        index=0,
        headers=True,
    )
    assert numbered.startswith("The Night Ledger\n\nChapter 7\n\n")
    assert numbered.count("Chapter") == 1


def test_unknown_framing_from_user_axes_is_a_titled_document() -> None:
    assert framing_for("radio play").guidance == "a radio play"
    text = render_document(STORY, title="T", framing="radio play", index=0, headers=True)
    assert text == f"The Night Ledger\n\n{BODY}\n"


@pytest.mark.parametrize(
    ("story", "title"),
    [
        ("# The Night Ledger\n\nBody.", "The Night Ledger"),
        ("## *The Night Ledger*\nBody.", "The Night Ledger"),
        ("Title: The Night Ledger\n\nBody.", "The Night Ledger"),
        ("**The Night Ledger**\n\nBody.", "The Night Ledger"),
        ("Body.", "Planned"),
    ],
)
def test_split_title_reads_the_story_heading_or_falls_back(story: str, title: str) -> None:
    found, body = split_title(story, "Planned")
    assert (found, body) == (title, "Body.")


def test_with_headers_inner_headings_become_plain_lines() -> None:
    story = "# Entries\n\n## March 3\n\nWren logged the count.\n\n## March 4\n\nShe slept."
    text = render_document(story, title="T", framing="diary entries", index=0, headers=True)
    assert text == "Entries\n\nMarch 3\n\nWren logged the count.\n\nMarch 4\n\nShe slept.\n"


def test_the_story_kind_adds_the_header_only_with_its_option() -> None:
    kind = get_kind("story")
    inputs = kind.load_inputs({}).value
    settings = GenerationSettings()
    draw = {**kind.draw(inputs, 0, 0, settings)}
    draw["axes"] = {**draw["axes"], "framing": "fable"}
    best = Draft(BODY)

    def rendered(options: BaseModel | None) -> str:
        item = ItemView("i0", 0, draw, inputs, settings, plan={"title": "T"}, options=options)
        return kind.render(item, best)

    assert rendered(None) == rendered(kind.options_model()) == BODY + "\n"
    assert rendered(kind.options_model(framing_headers=True)) == f"T\n\nA Fable\n\n{BODY}\n"
