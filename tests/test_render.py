"""Each framing renders a standalone document with metadata kept out of the text."""

from __future__ import annotations

import pytest

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
def test_each_framing_is_a_standalone_document(framing: str) -> None:
    text = render_document(STORY, title="Planned Title", framing=framing, index=3)
    assert text == EXPECTED_HEADERS[framing] + BODY + "\n"
    assert "#" not in text
    for metadata in ("framing", "index", "Planned Title", "seed", "persona"):
        assert metadata not in text


def test_chapter_number_follows_the_index_and_is_not_doubled() -> None:
    first = render_document(STORY, title="T", framing="novel chapter", index=0)
    assert first.startswith("Chapter One\nThe Night Ledger\n\n")
    numbered = render_document(
        "# The Night Ledger\n\nChapter 7\n\n" + BODY, title="T", framing="novel chapter", index=0
    )
    assert numbered.startswith("The Night Ledger\n\nChapter 7\n\n")
    assert numbered.count("Chapter") == 1


def test_unknown_framing_from_user_axes_is_a_titled_document() -> None:
    assert framing_for("radio play").guidance == "a radio play"
    text = render_document(STORY, title="T", framing="radio play", index=0)
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


def test_inner_headings_become_plain_lines() -> None:
    story = "# Entries\n\n## March 3\n\nWren logged the count.\n\n## March 4\n\nShe slept."
    text = render_document(story, title="T", framing="diary entries", index=0)
    assert text == "Entries\n\nMarch 3\n\nWren logged the count.\n\nMarch 4\n\nShe slept.\n"
