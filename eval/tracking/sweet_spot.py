"""The sweet spot of a model family: where accuracy per unit of compute is best.

  spot = sweet_spot.sweet_spot(results)   # None without results with a valid AP
  print(spot.text)

The compute measure is the zoo's published speed (ModelInfo.published_ms) by default, or the
latency measured in this run (timing="measured": metrics.json's speed section, p50 per image).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

from eval import results as results_lib
from eval.tracking import model_result


@dataclasses.dataclass(frozen=True)
class SweetSpot:
  """Where accuracy per unit of compute is best (published or measured ms per image).

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


def sweet_spot(results: Sequence[model_result.ModelResult],
               timing: str = "published") -> SweetSpot | None:
  """The sweet-spot hint for these results (None without results); timing: see TIMINGS."""
  valid = [r for r in results if not results_lib.is_missing(r.stat("AP"))]
  if not valid:
    return None
  ms = {r.info.key: r.ms(timing) for r in valid}
  ap_per_ms = {k: None for k in ms}
  for r in valid:
    if ms[r.info.key]:
      ap_per_ms[r.info.key] = r.stat("AP") * 100.0 / ms[r.info.key]
  most = max(valid, key=lambda r: r.stat("AP"))
  timed = sorted((r for r in valid if ms[r.info.key]), key=lambda r: ms[r.info.key])
  best_ratio = max(timed, key=lambda r: ap_per_ms[r.info.key]) if timed else None
  knee = None
  marginal = []
  if len(timed) >= 3:
    x0, x1 = ms[timed[0].info.key], ms[timed[-1].info.key]
    ys = [r.stat("AP") for r in timed]
    y0, y1 = min(ys), max(ys)
    if x1 > x0 and y1 > y0:

      def above_chord(r):
        x = (ms[r.info.key] - x0) / (x1 - x0)
        y = (r.stat("AP") - ys[0]) / (y1 - y0)
        y_line = (ys[-1] - ys[0]) / (y1 - y0) * x
        return y - y_line

      best = max(timed[1:-1], key=above_chord)
      knee = best.info.key if above_chord(best) > 0 else None
  for prev, cur in zip([None] + timed[:-1], timed):
    if prev is None or ms[cur.info.key] == ms[prev.info.key]:
      marginal.append((cur.info.key, None))
    else:
      marginal.append((cur.info.key, (cur.stat("AP") - prev.stat("AP")) * 100.0 /
                       (ms[cur.info.key] - ms[prev.info.key])))
  parts = [f"Most accurate: {most.info.key.upper()} (AP {most.stat('AP') * 100:.1f})."]
  if best_ratio is not None:
    parts.append(f"Most accuracy per ms: {best_ratio.info.key.upper()} "
                 f"({ap_per_ms[best_ratio.info.key]:.3f} AP points per {timing} ms).")
  if knee is not None:
    k = next(r for r in timed if r.info.key == knee)
    parts.append(
        f"Knee of the AP-vs-speed curve: {knee.upper()} (AP {k.stat('AP') * 100:.1f} "
        f"at {ms[k.info.key]:g} {'ms' if timing == 'published' else 'measured ms'}); beyond "
        "it each extra ms buys less AP.")
  steps = [f"{k.upper()} +{g:.3f}" for k, g in marginal if g is not None]
  if steps:
    parts.append("AP points gained per extra ms over the next faster model: " + ", ".join(steps)
                 + ".")
  return SweetSpot(most_accurate=most.info.key,
                   best_ap_per_ms=best_ratio.info.key if best_ratio else None, knee=knee,
                   marginal=tuple(marginal), text=" ".join(parts))
