"""The compact bucket table answers exactly like a plain dict of lists, across merges."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from storyloom.dedupe.buckets import BucketTable


@pytest.mark.parametrize("min_merge", [1, 7, 1 << 16])
def test_lookups_match_a_plain_dict_before_and_after_merges(min_merge: int) -> None:
    rng = random.Random(min_merge)
    table = BucketTable(min_merge=min_merge)
    reference: dict[int, list[int]] = defaultdict(list)
    pool = [rng.getrandbits(60) for _ in range(300)]  # few keys: buckets are shared often
    for number in range(400):
        keys = rng.sample(pool, 5)
        table.add(keys, number)
        for key in keys:
            reference[key].append(number)
        probe = [*rng.sample(pool, 6), rng.getrandbits(60)]
        expected = {found for key in probe for found in reference.get(key, [])}
        assert table.lookup(probe) == expected


def test_rejects_a_silly_merge_size() -> None:
    with pytest.raises(ValueError, match="min_merge"):
        BucketTable(min_merge=0)
