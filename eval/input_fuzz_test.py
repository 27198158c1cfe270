"""Fuzz tests of the text inputs without a test of their own: pipeline.config and label maps
(protobuf text format) and metrics.json (eval/results.py).

Property: any input either parses or raises ValueError (TextFormatError / SchemaError are
ValueErrors) whose message names the source; nothing else escapes. Inputs are byte mutations of
real documents plus arbitrary text (hypothesis, derandomized so CI is reproducible).
"""
import json
import os

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st

from eval import results
from eval.data import label_map
from eval.data import pipeline_config

_HERE = os.path.dirname(os.path.abspath(__file__))
_CONFIG = os.path.join(_HERE, "data", "testdata", "ssd_efficientdet_d0_512x512_coco17_tpu-8.config")
_LABEL_MAP = 'item {\n  name: "/m/01g317"\n  id: 1\n  display_name: "person"\n}\n' \
             'item {\n  name: "/m/0k4j"\n  id: 3\n  display_name: "car"\n}\n'
_SETTINGS = hypothesis.settings(max_examples=400, deadline=None, derandomize=True,
                                suppress_health_check=list(hypothesis.HealthCheck))


def _metrics_json() -> str:
  names = ("AP", "AP50")
  evaluation = results.IouTypeResult("bbox", names, (0.5, 0.25),
                                     (results.CategoryResult(1, "person", (0.5, 0.25), "person"),),
                                     {"maxDets": [1, 10, 100]})
  return json.dumps(results.ModelRunResult((evaluation,), {"k": 0.5}, sweep={"m": 1}).to_json())


@st.composite
def _mutated(draw, original: str):
  """The original with a few bytes replaced, inserted or deleted, or cut short."""
  data = bytearray(original.encode())
  for _ in range(draw(st.integers(1, 6))):
    if not data:
      break
    at = draw(st.integers(0, len(data) - 1))
    op = draw(st.sampled_from(("replace", "insert", "delete", "truncate")))
    byte = draw(st.integers(0, 255))
    if op == "replace":
      data[at] = byte
    elif op == "insert":
      data.insert(at, byte)
    elif op == "delete":
      del data[at]
    else:
      del data[at:]
  return data.decode("utf-8", errors="replace")


def _parses_or_names(test, parse, text: str, where: str) -> None:
  try:
    parse(text)
  except ValueError as e:
    test.assertIn(where, str(e))


class InputFuzzTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    with open(_CONFIG) as f:
      cls.config = f.read()

  def test_originals_parse(self):
    self.assertEqual(pipeline_config.parse(self.config, "p.config").model_type, "ssd")
    self.assertLen(label_map.parse_items(_LABEL_MAP, "l.pbtxt"), 2)
    results.ModelRunResult.from_json(json.loads(_metrics_json()), "m.json")

  def test_pipeline_config(self):

    @_SETTINGS
    @hypothesis.given(st.one_of(_mutated(self.config), st.text(max_size=300)))
    def check(text):
      _parses_or_names(self, lambda t: pipeline_config.parse(t, "p.config"), text, "p.config")

    check()

  def test_label_map(self):

    @_SETTINGS
    @hypothesis.given(st.one_of(_mutated(_LABEL_MAP), st.text(max_size=300)))
    def check(text):
      _parses_or_names(self, lambda t: label_map.parse_items(t, "l.pbtxt"), text, "l.pbtxt")

    check()

  def test_metrics_json(self):

    def parse(text):
      try:
        data = json.loads(text)
      except ValueError:
        return  # not JSON: read_model_result's own SchemaError, tested in results_test
      results.ModelRunResult.from_json(data, "m.json")

    @_SETTINGS
    @hypothesis.given(
        st.one_of(
            _mutated(_metrics_json()),
            st.recursive(st.none() | st.booleans() | st.floats() | st.text(),
                         lambda c: st.lists(c) | st.dictionaries(st.text(), c),
                         max_leaves=20).map(json.dumps)))
    def check(text):
      _parses_or_names(self, parse, text, "m.json")

    check()


if __name__ == "__main__":
  absltest.main()
