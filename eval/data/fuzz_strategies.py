"""Hypothesis strategies the input fuzz tests share."""
from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def mutated_bytes(draw, original: bytes) -> bytes:
  """The file with a few bytes replaced (any byte: non-UTF-8 too), inserted or deleted, or cut
  short."""
  data = bytearray(original)
  for _ in range(draw(st.integers(1, 4))):
    if not data:
      break
    at = draw(st.integers(0, len(data) - 1))
    op = draw(st.sampled_from(("replace", "insert", "delete", "truncate")))
    if op == "replace":
      data[at] = draw(st.integers(0, 255))
    elif op == "insert":
      data.insert(at, draw(st.integers(0, 255)))
    elif op == "delete":
      del data[at]
    else:
      del data[at:]
  return bytes(data)
