r"""Any models of the TF2 Detection Model Zoo on COCO 2017 val, compared: the sweep for all.

  bazel run //eval:evaluate_zoo -- --models=ssd_mobilenet_v2_320x320,centernet_hg104_512x512
  bazel run //eval:evaluate_zoo -- --models=d0,faster_rcnn_resnet50_v1_640x640 --max_images=500

--models takes keys of configs/model_registry.py (EfficientDet's d0..d7 and the file-name stems
of the other zoo models; an unknown key lists them all). Everything else is
//eval:all_efficientdet's: the same flags (downloads, cache, --max_images, Ray executor,
ClearML), the same outputs per model (OUT/<model_name>/), resume, one ClearML task per model,
a comparison task and OUT/report/index.html over every finished model in OUT. Models of one
family with a scaling factor (EfficientDet) are compared along it; any other set of models
along the zoo's published speed (fastest first), with the sweet spot of accuracy vs speed.
"""
from __future__ import annotations

from typing import Sequence

from absl import app
from absl import flags

from configs import model_registry
from eval.sweep import main as sweep_main

_MODELS = flags.DEFINE_list(
    "models", None, "Zoo models to run: keys of configs/model_registry.py (d0..d7, "
    "ssd_mobilenet_v2_320x320, centernet_hg104_512x512, ...).", required=True)
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", "~/detector_eval/evaluate_zoo",
    "Results: OUT/<model_name>/ per model, OUT/report/index.html. Relative paths resolve "
    "against the directory `bazel run` was started from.")
_CLEARML_PROJECT = flags.DEFINE_string("clearml_project", "evaluate_zoo",
                                       "ClearML project of the tasks.")


def _registry_models(keys: Sequence[str]) -> tuple[model_registry.ZooModel, ...]:
  return tuple(model_registry.get(k) for k in dict.fromkeys(k.strip() for k in keys if k.strip()))


PRESET = sweep_main.Preset(program="evaluate_zoo", comparison_task="zoo_comparison", tags=("zoo",),
                           report_title="TF2 zoo models on COCO: accuracy vs speed",
                           resolve_models=_registry_models,
                           models_hint="name keys of configs/model_registry.py",
                           family=model_registry.MODELS)


def main(argv: Sequence[str]) -> None:
  sweep_main.main(argv, PRESET, _MODELS.value, _OUTPUT_DIR.value, _CLEARML_PROJECT.value)


if __name__ == "__main__":
  app.run(main)
