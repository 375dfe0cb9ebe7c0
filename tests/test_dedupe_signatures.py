"""The vectorised shingles and signatures against a plain, one-shingle-at-a-time reference."""

from __future__ import annotations

import random

import numpy as np
import pytest
from dedupe_corpus import build_corpus

from storyloom.dedupe.hashing import MASK64, mix64_int
from storyloom.dedupe.normalise import normalise, tokens
from storyloom.dedupe.shingles import (
    LENGTH_MULTIPLIER,
    WORD_BASE,
    Shingler,
    seed_key,
    shingle_multipliers,
)
from storyloom.dedupe.signatures import EMPTY_SLOT, MinHasher, probe_table, similarity


def reference_shingle_hashes(text: str, *, shingle_size: int, seed: int) -> set[int]:
    """The specification in plain Python: hash each word byte by byte, then each shingle."""
    key = seed_key(seed)
    word_values = []
    for word in tokens(text):
        raw = sum(byte * pow(WORD_BASE, position, 1 << 64) for position, byte in enumerate(word))
        word_values.append(mix64_int((raw & MASK64) ^ key ^ (len(word) * LENGTH_MULTIPLIER)))
    if not word_values:
        return set()
    multipliers = shingle_multipliers(shingle_size)
    windows = [
        word_values[start : start + shingle_size]
        for start in range(max(1, len(word_values) - shingle_size + 1))
    ]
    return {
        mix64_int(
            sum(value * multiplier for value, multiplier in zip(window, multipliers, strict=False))
        )
        for window in windows
    }


def reference_signature(text: str, *, num_perm: int, shingle_size: int, seed: int) -> list[int]:
    """One-permutation MinHash with optimal densification, one shingle and one bin at a time."""
    slots: list[int | None] = [None] * num_perm
    for value in reference_shingle_hashes(text, shingle_size=shingle_size, seed=seed):
        bin_index = ((value >> 32) * num_perm) >> 32
        current = slots[bin_index]
        slots[bin_index] = value if current is None else min(current, value)
    if all(slot is None for slot in slots):
        return [int(EMPTY_SLOT)] * num_perm
    probes = probe_table(num_perm, seed)
    densified: list[int] = []
    for bin_index, slot in enumerate(slots):
        if slot is None:
            source = next(
                (int(probe) for probe in probes[bin_index] if slots[int(probe)] is not None), None
            )
            if source is None:
                source = next(
                    candidate % num_perm
                    for candidate in range(bin_index + 1, bin_index + 1 + num_perm)
                    if slots[candidate % num_perm] is not None
                )
            slot = slots[source]
        assert slot is not None
        densified.append(slot)
    return densified


def sample_texts() -> list[str]:
    corpus = build_corpus(12, seed=3, words_per_doc=120)
    return [
        *corpus.texts,
        "",
        "   ...  ",
        "one",
        "Two words",
        "exactly five words are here",
        "Curly \u201cquotes\u201d \u2014 and an em dash, na\u00efve caf\u00e9 \u00c9COLE.",
        "A" * 300 + " long token",
    ]


@pytest.mark.parametrize("shingle_size", [1, 3, 5])
def test_vectorised_shingles_match_the_reference(shingle_size: int) -> None:
    texts = sample_texts()
    shingler = Shingler(shingle_size=shingle_size, seed=11)
    batch = shingler.batch([normalise(text) for text in texts])
    for index, text in enumerate(texts):
        got = set(batch.hashes[batch.doc_index == index].tolist())
        assert got == reference_shingle_hashes(text, shingle_size=shingle_size, seed=11), text


@pytest.mark.parametrize(("num_perm", "shingle_size"), [(128, 5), (64, 3), (100, 2), (2048, 5)])
def test_signatures_match_the_reference_bit_for_bit(num_perm: int, shingle_size: int) -> None:
    texts = sample_texts()
    hasher = MinHasher(num_perm=num_perm, shingle_size=shingle_size, seed=5)
    batch = hasher.signatures(texts)
    for text, row in zip(texts, batch, strict=True):
        expected = reference_signature(text, num_perm=num_perm, shingle_size=shingle_size, seed=5)
        assert row.tolist() == expected, text
        assert hasher.signature(text).tolist() == expected  # alone or in a batch: the same


def test_long_buffers_hashed_in_segments_give_the_same_words() -> None:
    shingler = Shingler(shingle_size=1, seed=1)
    rng = random.Random(2)
    text = " ".join(
        "".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 12))) for _ in range(60_000)
    )
    starts, hashes = shingler.word_hashes(text.encode())
    assert len(text.encode()) > 1 << 18
    assert hashes.size == len(text.split())
    pieces = text.split()
    for index in (0, 1, 25_000, 40_001, 59_999):
        word = pieces[index].encode()
        assert text.encode()[starts[index] : starts[index] + len(word)] == word
        single = Shingler(shingle_size=1, seed=1).word_hashes(word)[1]
        assert hashes[index] == single[0]


def test_normalisation_ignores_case_punctuation_and_typography() -> None:
    plain = normalise('She said: "Don\'t stop" - then left...').split()
    fancy = normalise("SHE said \u201cDon\u2019t stop\u201d \u2014 then left\u2026").split()
    assert plain == fancy == [b"she", b"said", b"don", b"t", b"stop", b"then", b"left"]


def test_estimates_track_true_jaccard() -> None:
    corpus = build_corpus(300, seed=9, words_per_doc=400)
    hasher = MinHasher(num_perm=128, shingle_size=5, seed=1)
    signatures = hasher.signatures(corpus.texts)
    errors = []
    for first, second in sorted(corpus.planted_pairs):
        shingles_a = _shingle_set(corpus.texts[first])
        shingles_b = _shingle_set(corpus.texts[second])
        jaccard = len(shingles_a & shingles_b) / len(shingles_a | shingles_b)
        errors.append(similarity(signatures[first], signatures[second]) - jaccard)
    assert abs(float(np.mean(errors))) < 0.02  # unbiased
    assert float(np.std(errors)) < 0.06  # about sqrt(J(1-J)/128)
    unrelated = similarity(signatures[0], signatures[1:])
    assert float(np.max(unrelated)) < 0.2


def _shingle_set(text: str, size: int = 5) -> set[tuple[bytes, ...]]:
    found = tokens(text)
    return {tuple(found[i : i + size]) for i in range(len(found) - size + 1)}


def test_empty_texts_are_identical_and_unlike_any_text() -> None:
    hasher = MinHasher(num_perm=32, shingle_size=3, seed=1)
    empty, blank, text = hasher.signatures(["", " ,. ", "some words here"])
    assert similarity(empty, blank) == 1.0
    assert similarity(empty, text) == 0.0


def test_constructor_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_perm"):
        MinHasher(num_perm=0)
    with pytest.raises(ValueError, match="shingle_size"):
        MinHasher(shingle_size=0)
