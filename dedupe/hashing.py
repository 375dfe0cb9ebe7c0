"""64-bit mixing helpers shared by the shingler, the signatures and the LSH bands.

All arithmetic is modulo 2**64 on numpy uint64 arrays, so a whole batch is hashed in a few
vector operations. The scalar twin `mix64_int` exists for reference implementations and
seeds, and must stay bit-identical to `mix64`.
"""

from __future__ import annotations

import numpy as np

MASK64 = (1 << 64) - 1
_C1 = 0xFF51AFD7ED558CCD
_C2 = 0xC4CEB9FE1A85EC53
_NP_C1 = np.uint64(_C1)
_NP_C2 = np.uint64(_C2)
_NP_33 = np.uint64(33)


def mix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: every input bit affects every output bit."""
    mixed = values ^ (values >> _NP_33)
    mixed *= _NP_C1
    mixed ^= mixed >> _NP_33
    mixed *= _NP_C2
    mixed ^= mixed >> _NP_33
    return mixed


def mix64_int(value: int) -> int:
    """`mix64` for one Python int."""
    value &= MASK64
    value ^= value >> 33
    value = (value * _C1) & MASK64
    value ^= value >> 33
    value = (value * _C2) & MASK64
    value ^= value >> 33
    return value


def odd_constants(count: int, salt: int) -> list[int]:
    """`count` well-mixed odd multipliers, fixed for a given salt."""
    return [mix64_int(salt * 0x9E3779B97F4A7C15 + index + 1) | 1 for index in range(count)]
