"""The sweet spot of a model family: where accuracy per unit of compute is best.

  spot = sweet_spot.sweet_spot(results)   # None without results with a valid AP
  print(spot.text)

The zoo's published speeds are the compute measure (ModelInfo.published_ms).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

from eval import results as results_lib
from eval.tracking import model_result


@dataclasses.dataclass(frozen=True)
class SweetSpot:
  """Where accuracy per unit of compute is best (published speeds are the compute measure).

  most_accurate: highest measured AP; best_ap_per_ms: highest AP(%) per ms; knee: the model
  furthest above the straight line from the fastest to the slowest model on the AP-vs-ms
  curve (the point of diminishing returns, Kneedle's criterion on normalised axes);
  marginal: (key, extra AP points per extra ms compared with the previous faster model).
  """
  most_accurate: str
  best_ap_per_ms: str | None
  knee: str | None
  marginal: tuple[tuple[str, float | None], ...]
  text: str


def sweet_spot(results: Sequence[model_result.ModelResult]) -> SweetSpot | None:
  """The sweet-spot hint for these results (None without results)."""
  valid = [r for r in results if not results_lib.is_missing(r.stat("AP"))]
  if not valid:
    return None
  most = max(valid, key=lambda r: r.stat("AP"))
  timed = sorted((r for r in valid if r.info.published_ms), key=lambda r: r.info.published_ms)
  best_ratio = max(timed, key=lambda r: r.ap_per_ms) if timed else None
  knee = None
  marginal = []
  if len(timed) >= 3:
    x0, x1 = timed[0].info.published_ms, timed[-1].info.published_ms
    ys = [r.stat("AP") for r in timed]
    y0, y1 = min(ys), max(ys)
    if x1 > x0 and y1 > y0:

      def above_chord(r):
        x = (r.info.published_ms - x0) / (x1 - x0)
        y = (r.stat("AP") - ys[0]) / (y1 - y0)
        y_line = (ys[-1] - ys[0]) / (y1 - y0) * x
        return y - y_line

      best = max(timed[1:-1], key=above_chord)
      knee = best.info.key if above_chord(best) > 0 else None
  for prev, cur in zip([None] + timed[:-1], timed):
    if prev is None or cur.info.published_ms == prev.info.published_ms:
      marginal.append((cur.info.key, None))
    else:
      marginal.append((cur.info.key, (cur.stat("AP") - prev.stat("AP")) * 100.0 /
                       (cur.info.published_ms - prev.info.published_ms)))
  parts = [f"Most accurate: {most.info.key.upper()} (AP {most.stat('AP') * 100:.1f})."]
  if best_ratio is not None:
    parts.append(f"Most accuracy per ms: {best_ratio.info.key.upper()} "
                 f"({best_ratio.ap_per_ms:.3f} AP points per published ms).")
  if knee is not None:
    k = next(r for r in timed if r.info.key == knee)
    parts.append(f"Knee of the AP-vs-speed curve: {knee.upper()} (AP {k.stat('AP') * 100:.1f} "
                 f"at {k.info.published_ms:g} ms); beyond it each extra ms buys less AP.")
  steps = [f"{k.upper()} +{g:.3f}" for k, g in marginal if g is not None]
  if steps:
    parts.append("AP points gained per extra ms over the next faster model: " + ", ".join(steps)
                 + ".")
  return SweetSpot(most_accurate=most.info.key,
                   best_ap_per_ms=best_ratio.info.key if best_ratio else None, knee=knee,
                   marginal=tuple(marginal), text=" ".join(parts))
