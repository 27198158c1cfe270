"""Tests of //eval/tracking:sweet_spot on synthetic EfficientDet results."""
import dataclasses

from absl.testing import absltest

from eval.tracking import model_result
from eval.tracking import sweet_spot
from eval.tracking.testing import synthetic_results


def _result(key: str, **info_changes) -> model_result.ModelResult:
  info = dataclasses.replace(synthetic_results.efficientdet_info(key), **info_changes)
  return model_result.ModelResult(
      info, synthetic_results.synthetic_run(info, no_ground_truth=("hair drier",)))


class SweetSpotTest(absltest.TestCase):

  def test_sweet_spot(self):
    results = model_result.by_phi([_result(k) for k in ("d0", "d3", "d7", "d1")])
    spot = sweet_spot.sweet_spot(results)
    self.assertEqual(spot.most_accurate, "d7")
    self.assertEqual(spot.best_ap_per_ms, "d0")
    self.assertIn(spot.knee, ("d1", "d3"))
    full = [_result(f"d{phi}") for phi in range(8)]
    self.assertEqual(sweet_spot.sweet_spot(full).knee, "d4")

  def test_text_and_marginal_gains(self):
    d0, d1 = _result("d0"), _result("d1")
    spot = sweet_spot.sweet_spot([d1, d0])
    self.assertIsNone(spot.knee)  # needs three timed models
    self.assertEqual([k for k, _ in spot.marginal], ["d0", "d1"])
    self.assertIsNone(spot.marginal[0][1])
    gain = (d1.stat("AP") - d0.stat("AP")) * 100.0 / (54 - 39)
    self.assertAlmostEqual(spot.marginal[1][1], gain)
    self.assertEqual(
        spot.text, f"Most accurate: D1 (AP {d1.stat('AP') * 100:.1f}). "
        f"Most accuracy per ms: D0 ({d0.ap_per_ms:.3f} AP points per published ms). "
        f"AP points gained per extra ms over the next faster model: D1 +{gain:.3f}.")

  def test_without_speeds_or_valid_ap(self):
    self.assertIsNone(sweet_spot.sweet_spot([]))
    d0 = _result("d0")
    no_ap = dataclasses.replace(
        d0.run, evaluations=(dataclasses.replace(d0.run.primary, stats=(-1.0,) * 12),))
    self.assertIsNone(sweet_spot.sweet_spot([model_result.ModelResult(d0.info, no_ap)]))
    untimed = sweet_spot.sweet_spot([_result("d0", published_ms=None)])
    self.assertEqual(untimed.most_accurate, "d0")
    self.assertIsNone(untimed.best_ap_per_ms)
    self.assertEqual(untimed.marginal, ())
    self.assertEqual(untimed.text, f"Most accurate: D0 (AP {d0.stat('AP') * 100:.1f}).")


class MeasuredTimingTest(absltest.TestCase):

  def test_measured_latencies_choose_the_sweet_spot(self):
    measured = {"d0": 400.0, "d1": 200.0, "d2": 300.0, "d3": 900.0}
    results = []
    for key, ms in measured.items():
      info = synthetic_results.efficientdet_info(key)
      results.append(
          model_result.ModelResult(info, synthetic_results.synthetic_run(info, measured_ms=ms)))
    published = sweet_spot.sweet_spot(results)
    by_measured = sweet_spot.sweet_spot(results, "measured")
    self.assertEqual(published.best_ap_per_ms, "d0")
    self.assertEqual(by_measured.best_ap_per_ms, "d1")
    self.assertIn("AP points per measured ms", by_measured.text)
    ap = {r.info.key: r.stat("AP") for r in results}
    self.assertEqual(dict(by_measured.marginal)["d2"], (ap["d2"] - ap["d1"]) * 100.0 / 100.0)
    self.assertIsNone(
        sweet_spot.sweet_spot([
            model_result.ModelResult(r.info, synthetic_results.synthetic_run(r.info))
            for r in results
        ], "measured").best_ap_per_ms)
    with self.assertRaisesRegex(ValueError, "timing 'wall'"):
      results[0].ms("wall")


if __name__ == "__main__":
  absltest.main()
