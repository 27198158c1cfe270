"""pipeline.config reading: a realistic EfficientDet-D0 config, other models, and syntax errors."""
import os

from absl.testing import absltest

from eval.data import pipeline_config
from eval.data import textproto

_D0 = os.path.join(os.path.dirname(__file__), "testdata",
                   "ssd_efficientdet_d0_512x512_coco17_tpu-8.config")


class EfficientDetD0Test(absltest.TestCase):

  def test_evaluation_fields(self):
    config = pipeline_config.load(_D0)
    self.assertEqual(config.path, _D0)
    self.assertEqual(config.model_type, "ssd")
    self.assertEqual(config.num_classes, 90)
    self.assertEqual(
        config.image_resizer,
        pipeline_config.ImageResizer("keep_aspect_ratio_resizer", min_dimension=512,
                                     max_dimension=512, pad_to_max_dimension=True))
    self.assertEqual(
        config.feature_extractor,
        pipeline_config.FeatureExtractor("ssd_efficientnet-b0_bifpn_keras", bifpn_min_level=3,
                                         bifpn_max_level=7, bifpn_num_iterations=3,
                                         bifpn_num_filters=64))
    self.assertEqual(
        config.eval_config,
        pipeline_config.EvalConfig(metrics_set=("coco_detection_metrics",), batch_size=1))
    self.assertEqual(config.eval_input_readers, (pipeline_config.InputReader(
        label_map_path="PATH_TO_BE_CONFIGURED/label_map.txt",
        input_paths=("PATH_TO_BE_CONFIGURED/val2017-?????-of-00032.tfrecord",)),))
    self.assertIs(config.eval_input_reader, config.eval_input_readers[0])

  def test_the_fields_it_does_not_model_are_parsed_too(self):
    raw = pipeline_config.load(_D0).raw
    ssd = raw.message("model").message("ssd")
    anchors = ssd.message("anchor_generator").message("multiscale_anchor_generator")
    self.assertEqual(anchors.get_all("aspect_ratios", "float"), [1.0, 2.0, 0.5])
    self.assertEqual(ssd.message("post_processing").get("score_converter", "enum"), "SIGMOID")
    self.assertEqual(
        ssd.message("box_predictor").message("weight_shared_convolutional_box_predictor").get(
            "class_prediction_bias_init", "float"), -4.6)
    train = raw.message("train_config")
    self.assertLen(train.messages("data_augmentation_options"), 2)
    schedule = (train.message("optimizer").message("momentum_optimizer").message(
        "learning_rate").message("cosine_decay_learning_rate"))
    self.assertEqual(schedule.get("learning_rate_base", "float"), 0.08)
    self.assertEqual(schedule.get("warmup_learning_rate", "float"), 0.001)
    self.assertEqual(train.get("fine_tune_checkpoint_version", "enum"), "V2")

  def test_placeholder_free_copy_with_newer_fields(self):
    with open(_D0) as f:
      text = f.read()
    text = text.replace("PATH_TO_BE_CONFIGURED", "/data")
    text = text.replace(
        "  batch_size: 1;\n", """  batch_size: 1;
  include_metrics_per_category: true
  all_metrics_per_category: True
  num_examples: 5000
  super_categories { key: "animal" value: "cat,dog" }
  a_field_from_the_future < nested: [1, 2] [ext.pkg.extension] { x: "y" } >
  metrics_set: 'coco_mask_metrics'
""")
    text += """eval_input_reader {
  name: "second"
  label_map_path: "/data/other_label_map.pbtxt"
  load_instance_masks: true
  tf_record_input_reader { input_path: "/data/a-*" input_path: "/data/b-*" }
}
"""
    config = pipeline_config.parse(text, "zoo.config")
    self.assertEqual(
        config.eval_config,
        pipeline_config.EvalConfig(metrics_set=("coco_detection_metrics", "coco_mask_metrics"),
                                   include_metrics_per_category=True, all_metrics_per_category=True,
                                   num_examples=5000))
    self.assertLen(config.eval_input_readers, 2)
    self.assertEqual(
        config.eval_input_readers[1],
        pipeline_config.InputReader("/data/other_label_map.pbtxt", ("/data/a-*", "/data/b-*"), True,
                                    "second"))


class OtherModelsTest(absltest.TestCase):

  def test_faster_rcnn_with_fixed_shape_resizer(self):
    config = pipeline_config.parse(
        """
        model { faster_rcnn {
          num_classes: 90
          image_resizer { fixed_shape_resizer { height: 640 width: 640 } }
          feature_extractor { type: 'faster_rcnn_resnet50_keras' batch_norm_trainable: true }
          first_stage_anchor_generator { grid_anchor_generator { scales: [0.25, 0.5] } }
        } }
        eval_config { metrics_set: "coco_detection_metrics" metrics_set: "coco_mask_metrics" }
        """, "frcnn.config")
    self.assertEqual(config.model_type, "faster_rcnn")
    self.assertEqual(config.image_resizer,
                     pipeline_config.ImageResizer("fixed_shape_resizer", height=640, width=640))
    self.assertEqual(config.feature_extractor,
                     pipeline_config.FeatureExtractor("faster_rcnn_resnet50_keras"))
    self.assertEqual(config.eval_config.metrics_set,
                     ("coco_detection_metrics", "coco_mask_metrics"))
    self.assertEqual(config.eval_input_readers, ())
    self.assertIsNone(config.eval_input_reader)

  def test_center_net_and_resizer_defaults(self):
    config = pipeline_config.parse("""model { center_net { num_classes: 90
        image_resizer { keep_aspect_ratio_resizer { } } } }""")
    self.assertEqual(config.model_type, "center_net")
    self.assertEqual(
        config.image_resizer,
        pipeline_config.ImageResizer("keep_aspect_ratio_resizer", min_dimension=600,
                                     max_dimension=1024))
    self.assertEqual(config.feature_extractor, pipeline_config.FeatureExtractor(None))
    self.assertEqual(config.eval_config, pipeline_config.EvalConfig())

  def test_no_model_is_an_error(self):
    with self.assertRaisesRegex(textproto.TextFormatError, r"^x.config:\d+: no model"):
      pipeline_config.parse("eval_config { }", "x.config")


class SyntaxTest(absltest.TestCase):

  def assert_error(self, text, line, pattern):
    with self.assertRaisesRegex(textproto.TextFormatError, rf"^bad.config:{line}: {pattern}"):
      pipeline_config.parse(text, "bad.config")

  def test_broken_syntax_names_the_line(self):
    self.assert_error("model {\n  ssd {\n    num_classes: 90\n  }\n", 5,
                      "missing '}' to close the message opened on line 1")
    self.assert_error("model { ssd { num_classes: } }", 1,
                      "expected a value for field 'num_classes', got '}'")
    self.assert_error("model { ssd {\n type: \"abc\n } }", 2, "unterminated string")
    self.assert_error("model {\n ssd\n num_classes: 1 }", 3,
                      "expected ':' or '{' after field name 'ssd', got 'num_classes'")
    self.assert_error("model { ssd { } }\n}\n", 2, "unexpected '}'")
    self.assert_error("model { ssd { } >", 1, r"unexpected '>': expected '}'")
    self.assert_error("model { ssd { x: 1 @ } }", 1, "unexpected character")
    self.assert_error("model { ssd { x: [1, 2 } }", 1, "expected ',' or ']'")
    self.assert_error("model { ssd { x: 'a\\qb' } }", 1, r"invalid escape '\\q'")

  def test_wrong_types_name_the_field(self):
    self.assert_error("model { ssd { num_classes: 'ninety' } }", 1,
                      "field 'num_classes': expected an int, got 'ninety'")
    self.assert_error("model { ssd { image_resizer: 3 } }", 1,
                      "field 'image_resizer': expected a message")
    self.assert_error("model { ssd { }}\neval_config { batch_size: 1.5 }", 2,
                      "field 'batch_size': expected an int")

  def test_missing_file(self):
    with self.assertRaisesRegex(FileNotFoundError, "nowhere.config: cannot read"):
      pipeline_config.load(os.path.join(self.create_tempdir().full_path, "nowhere.config"))

  def test_binary_file(self):
    path = self.create_tempfile(content=b"\x0a\x02\xff\xfe", mode="wb").full_path
    with self.assertRaisesRegex(textproto.TextFormatError, "not UTF-8 text"):
      pipeline_config.load(path)


class TextFormatTest(absltest.TestCase):

  def test_scalars_and_escapes(self):
    msg = textproto.parse(r"""
        s: "tab\there" s: 'quote\'s' s: "\303\251\u00e9" s: "con" 'cat'
        i: -7 i: 0x1F f: 1e-3 f: 2.5f f: -inf f: nan b: true b: f b: 1 e: SIGMOID
        list: [] nested: [{ a: 1 }, < a: 2 >]""")
    self.assertEqual(msg.get_all("s", "string"), ["tab\there", "quote's", "éé", "concat"])
    self.assertEqual(msg.get_all("i", "int"), [-7, 31])
    floats = msg.get_all("f", "float")
    self.assertEqual(floats[:3], [0.001, 2.5, float("-inf")])
    self.assertNotEqual(floats[3], floats[3])  # nan
    self.assertEqual(msg.get_all("b", "bool"), [True, False, True])
    self.assertEqual(msg.get("e", "enum"), "SIGMOID")
    self.assertFalse(msg.has("list"))
    self.assertEqual([m.get("a", "int") for m in msg.messages("nested")], [1, 2])
    self.assertEqual(msg.get("i", "int"), 31)  # singular: the last value wins
    self.assertEqual(msg.get("absent", "int", 7), 7)

  def test_quote_round_trips(self):
    value = "a\"b'c\\d\ne\tf é"
    self.assertEqual(textproto.parse(f"s: {textproto.quote(value)}").get("s", "string"), value)


if __name__ == "__main__":
  absltest.main()
