"""A second model's detections made from a first's, for comparisons in tests and benchmarks."""
from __future__ import annotations

import random


def perturbed_detections(detections: list[dict], seed: int = 7) -> list[dict]:
  """The detections moved a little, rescored, a tenth dropped (deterministic for a seed)."""
  rng = random.Random(seed)
  out = []
  for d in detections:
    if rng.random() < 0.1:
      continue
    x, y, w, h = d["bbox"]
    dx, dy = rng.uniform(-0.08, 0.08) * w, rng.uniform(-0.08, 0.08) * h
    out.append({**d, "bbox": [x + dx, y + dy, w, h], "score": d["score"] * rng.uniform(0.5, 1.0)})
  return out
