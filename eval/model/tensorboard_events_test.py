"""Event files: every metric as a scalar under its TF OD API name, one file per output dir."""
import glob
import os

from absl.testing import absltest
import tensorflow as tf

from eval.model import tensorboard_events


def _read(path):
  scalars = {}
  for event in tf.compat.v1.train.summary_iterator(path):
    for value in event.summary.value:
      plugin = value.metadata.plugin_data.plugin_name
      scalars[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)), plugin)
  return scalars


class TensorboardEventsTest(absltest.TestCase):

  def test_scalars_and_rewrite(self):
    out = self.create_tempdir().full_path
    metrics = {
        "DetectionBoxes_Precision/mAP": 0.25, "DetectionBoxes_Recall/AR@100 ByCategory/person": -1.0
    }
    first = tensorboard_events.write_scalars(out, metrics, step=7)
    self.assertEqual(
        _read(first), {
            "DetectionBoxes_Precision/mAP":
                (7, 0.25, "scalars"), "DetectionBoxes_Recall/AR@100 ByCategory/person":
                    (7, -1.0, "scalars")
        })
    second = tensorboard_events.write_scalars(out, {"DetectionBoxes_Precision/mAP": 0.5})
    self.assertEqual(glob.glob(os.path.join(out, "events.out.tfevents.*")), [second])
    self.assertEqual(_read(second), {"DetectionBoxes_Precision/mAP": (0, 0.5, "scalars")})
    self.assertEqual(os.listdir(out), [os.path.basename(second)])  # no temporary left


if __name__ == "__main__":
  absltest.main()
