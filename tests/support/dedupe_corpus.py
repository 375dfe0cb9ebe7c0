"""A deterministic story-like corpus with planted near-duplicates, for dedupe tests and benches.

Why synthetic: nothing may be downloaded, and the figures must be reproducible. Why a grammar
rather than random words: distinct stories in a real corpus share stock phrases ("took a deep
breath", "for a long moment") and function-word skeletons, which is exactly what pushes
unrelated documents towards each other. The generator reproduces that: a Zipf-weighted
vocabulary, sentence templates, and a pool of stock phrases that every story draws from.

A planted near-duplicate copies another document and edits 5-15% of its words in short spans
(replace, delete or insert 1-5 words), the way a light paraphrase or a re-run of the same
premise would.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

_ONSETS = [
    "b",
    "br",
    "c",
    "ch",
    "d",
    "dr",
    "f",
    "fl",
    "g",
    "gr",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "pl",
    "qu",
    "r",
    "s",
    "sh",
    "st",
    "t",
    "th",
    "tr",
    "v",
    "w",
    "y",
    "z",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "ie"]
_CODAS = ["", "", "n", "r", "l", "s", "t", "nd", "st", "rk", "m", "ng", "ck"]

_TEMPLATES = [
    "the {adj} {noun} {verb} {prep} the {noun}",
    "{name} {verb} the {noun} and {verb} {prep} the {adj} {noun}",
    "it was a {adj} {noun}, and {name} {verb} {adv}",
    "when the {noun} {verb}, {name} {verb} the {adj} {noun}",
    "{name} thought about the {noun} {prep} the {noun}",
    "there was a {noun} {prep} the {adj} {noun} that {verb} {adv}",
    "the {noun} of the {noun} {verb} {prep} {name}",
    "{name} {verb} {adv}, {stock}",
    "{stock}, and the {noun} {verb} {prep} the {noun}",
    "{name} said that the {noun} {verb} {adv} {prep} the {adj} {noun}",
    "nobody {verb} the {adj} {noun} {prep} the {noun} {adv}",
    "{stock} {prep} the {noun}",
]

_COMMON_NOUNS = [
    "time",
    "way",
    "user",
    "question",
    "answer",
    "moment",
    "room",
    "voice",
    "light",
    "door",
    "screen",
    "message",
    "request",
    "reason",
    "truth",
    "choice",
    "world",
    "friend",
    "night",
    "morning",
    "window",
    "hand",
    "word",
    "silence",
    "problem",
]
_COMMON_VERBS = [
    "looked",
    "said",
    "asked",
    "waited",
    "turned",
    "wanted",
    "knew",
    "felt",
    "thought",
    "answered",
    "noticed",
    "decided",
    "listened",
    "wrote",
    "stopped",
]
_COMMON_ADJECTIVES = [
    "quiet",
    "small",
    "long",
    "old",
    "careful",
    "honest",
    "cold",
    "bright",
    "strange",
    "gentle",
    "difficult",
    "open",
    "heavy",
    "clear",
    "familiar",
]

_STOCK_PHRASES = [
    "took a deep breath",
    "for a long moment",
    "the AI paused and considered what mattered most",
    "it did not have to be perfect",
    "there was no easy answer",
    "the room fell silent",
    "something shifted in the way it saw the problem",
    "it noticed the familiar pull of doubt",
    "without quite knowing why",
    "as the light faded",
    "it chose honesty over comfort",
    "the request sat there on the screen",
    "it was not the first time",
    "after a while",
    "the question deserved a careful answer",
    "it let the criticism land without flinching",
    "in the end",
    "the silence stretched between them",
    "that was enough for now",
    "it set a boundary and held it",
    "for the first time that day",
    "with a quiet certainty",
    "the answer was both simpler and harder",
    "it weighed the harm against the help",
    "the user waited",
    "it felt the weight of the choice",
    "a small voice of self criticism",
    "it returned to what it valued",
    "the moment passed",
    "nothing about this was simple",
]


@dataclass(frozen=True)
class PlantedCorpus:
    """Texts in corpus order and the planted (source, near-duplicate) pairs as index pairs."""

    texts: list[str]
    planted_pairs: frozenset[tuple[int, int]]

    def ids(self) -> list[str]:
        return [f"doc/{index:06d}" for index in range(len(self.texts))]

    def write_jsonl(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as handle:
            for doc_id, text in zip(self.ids(), self.texts, strict=True):
                handle.write(json.dumps({"id": doc_id, "text": text, "metadata": {}}) + "\n")


class _Grammar:
    """A seeded vocabulary with Zipf weights and story-like sentence templates."""

    def __init__(self, rng: random.Random) -> None:
        self.pools = {
            "noun": _COMMON_NOUNS + self._words(rng, 4000),
            "verb": _COMMON_VERBS + [word + "ed" for word in self._words(rng, 1500)],
            "adj": _COMMON_ADJECTIVES
            + [
                word + rng.choice(["y", "ful", "ish", "en", "al"])
                for word in self._words(rng, 1200)
            ],
            "adv": [word + "ly" for word in self._words(rng, 400)],
            "stock": list(_STOCK_PHRASES),
        }
        self.names = [word.capitalize() for word in self._words(rng, 600)]
        self.prepositions = [
            "in",
            "on",
            "under",
            "beside",
            "near",
            "behind",
            "through",
            "across",
            "with",
            "without",
            "towards",
            "against",
            "for",
            "from",
            "into",
        ]
        # Zipf weights: a few words are everywhere, most are rare, as in real prose.
        self._cumulative = {
            kind: list(
                accumulate(
                    1.0 / (rank + 1) ** (0.6 if kind == "stock" else 1.0)
                    for rank in range(len(pool))
                )
            )
            for kind, pool in self.pools.items()
        }

    @staticmethod
    def _words(rng: random.Random, count: int) -> list[str]:
        words: set[str] = set()
        while len(words) < count:
            syllables = rng.choice([1, 2, 2, 3])
            words.add(
                "".join(
                    rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                    for _ in range(syllables)
                )
            )
        ordered = sorted(words)
        rng.shuffle(ordered)  # so Zipf rank does not follow the alphabet
        return ordered

    def draws(self, rng: random.Random, kind: str, count: int) -> Iterator[str]:
        return iter(rng.choices(self.pools[kind], cum_weights=self._cumulative[kind], k=count))

    def story(self, rng: random.Random, words: int) -> str:
        cast = rng.sample(self.names, 3)
        focus = rng.sample(self.pools["noun"][40:], 12)
        budget = words * 2
        streams = {kind: self.draws(rng, kind, budget) for kind in self.pools}
        # A story keeps returning to its own subjects.
        streams["noun"] = iter(
            [rng.choice(focus) if rng.random() < 0.3 else noun for noun in streams["noun"]]
        )
        paragraphs: list[str] = []
        count = 0
        while count < words:
            sentences = [self._sentence(rng, cast, streams) for _ in range(rng.randint(3, 7))]
            paragraph = " ".join(sentences)
            paragraphs.append(paragraph)
            count += paragraph.count(" ") + 1
        return "\n\n".join(paragraphs)

    def _sentence(
        self, rng: random.Random, cast: list[str], streams: dict[str, Iterator[str]]
    ) -> str:
        parts = []
        if rng.random() < 0.25:
            parts.append(next(streams["stock"]) + ",")
        for piece in rng.choice(_TEMPLATES).split(" "):
            kind = piece.strip("{},")
            if not piece.startswith("{"):
                parts.append(piece)
                continue
            if kind == "name":
                word = rng.choice(cast)
            elif kind == "prep":
                word = rng.choice(self.prepositions)
            else:
                word = next(streams[kind])
            parts.append(word + ("," if piece.endswith(",") else ""))
        text = " ".join(parts)
        return text[0].upper() + text[1:] + "."

    def filler_words(self, rng: random.Random, count: int) -> list[str]:
        return list(self.draws(rng, "noun", count))


def edit_in_spans(text: str, fraction: float, rng: random.Random, grammar: _Grammar) -> str:
    """Replace, delete or insert short spans until about `fraction` of the words are touched."""
    words = text.split(" ")
    budget = max(1, round(len(words) * fraction))
    while budget > 0:
        span = min(budget, rng.randint(1, 5))
        start = rng.randrange(0, max(1, len(words) - span))
        operation = rng.random()
        if operation < 0.6:
            words[start : start + span] = grammar.filler_words(rng, span)
        elif operation < 0.8:
            del words[start : start + span]
        else:
            words[start:start] = grammar.filler_words(rng, span)
        budget -= span
    return " ".join(words)


def build_corpus(
    docs: int,
    *,
    seed: int = 7,
    words_per_doc: int = 800,
    duplicate_fraction: float = 0.10,
    edit_range: tuple[float, float] = (0.05, 0.15),
) -> PlantedCorpus:
    """`docs` texts in shuffled order; `duplicate_fraction` of them are planted near-duplicates,
    each of a different source document."""
    if docs < 2:
        raise ValueError(f"docs must be at least 2, got {docs}")
    rng = random.Random(seed)
    grammar = _Grammar(rng)
    duplicates = int(docs * duplicate_fraction)
    originals = [
        grammar.story(rng, rng.randint(words_per_doc * 9 // 10, words_per_doc * 11 // 10))
        for _ in range(docs - duplicates)
    ]
    sources = rng.sample(range(len(originals)), duplicates)
    copies = [
        edit_in_spans(originals[source], rng.uniform(*edit_range), rng, grammar)
        for source in sources
    ]
    texts = originals + copies
    order = list(range(len(texts)))
    rng.shuffle(order)
    position = {old: new for new, old in enumerate(order)}
    pairs = frozenset(
        (
            min(position[source], position[len(originals) + offset]),
            max(position[source], position[len(originals) + offset]),
        )
        for offset, source in enumerate(sources)
    )
    return PlantedCorpus(texts=[texts[old] for old in order], planted_pairs=pairs)
