"""The TF2 Detection Model Zoo as typed, frozen records, and the COCO 2017 download locations.

Numbers come from the zoo table (tensorflow/models research/object_detection/g3doc/
tf2_detection_zoo.md: "Speed (ms)" on an Nvidia V100 at batch 1, "COCO mAP" on COCO 2017 val)
and, for EfficientDet, from the exported pipeline configs (input size, BiFPN, head layers) and
the EfficientDet paper (val2017 AP, arXiv:1911.09070, as listed in shared/docs/tf-od-api.md).

URLs are relative to ZOO_BASE_URL, which is the zoo's `tf2/` folder rather than one release:
the zoo spreads its files over dated release folders (most in 20200711, some CenterNets in
20200713 and 20210210, the newer ExtremeNet in 20210507). A mirror or a file:// directory
must therefore keep the `<release>/<file>` layout.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

ZOO_BASE_URL = "http://download.tensorflow.org/models/object_detection/tf2/"
EFFICIENTDET_RELEASE = "20200711"

COCO_BASE_URL = "http://images.cocodataset.org/"
COCO_VAL2017_IMAGES_ZIP = "zips/val2017.zip"  # holds val2017/*.jpg
COCO_ANNOTATIONS_ZIP = "annotations/annotations_trainval2017.zip"
COCO_VAL2017_INSTANCES_MEMBER = "annotations/instances_val2017.json"  # inside the zip above
COCO_VAL2017_PERSON_KEYPOINTS_MEMBER = "annotations/person_keypoints_val2017.json"  # also
COCO_VAL2017_IMAGE_DIR = "val2017"  # inside the images zip
COCO_VAL2017_NUM_IMAGES = 5000


def join_url(base_url: str, relative: str) -> str:
  """`base_url` + `relative`, whether or not the base ends in '/' (urljoin would drop its last
  segment without one)."""
  return base_url.rstrip("/") + "/" + relative.lstrip("/")


def coco_url(relative: str, coco_base_url: str = COCO_BASE_URL) -> str:
  return join_url(coco_base_url, relative)


@dataclasses.dataclass(frozen=True)
class EvalSettings:
  """The eval_config used for every model of the sweep (TF OD API field names)."""
  metrics_set: tuple[str, ...] = ("coco_detection_metrics",)
  include_metrics_per_category: bool = True
  all_metrics_per_category: bool = True


EVAL_SETTINGS = EvalSettings()


@dataclasses.dataclass(frozen=True)
class EfficientDetArch:
  """Compound-scaled architecture of one EfficientDet (phi = compound coefficient)."""
  phi: int
  backbone: str  # EfficientNet variant; D7 reuses B6 at a larger input
  bifpn_iterations: int
  bifpn_filters: int
  head_layers: int  # num_layers_before_predictor of the shared box/class head
  paper_val_ap: float  # EfficientDet paper, COCO val2017


@dataclasses.dataclass(frozen=True)
class ZooModel:
  """One tarball of the TF2 Detection Model Zoo."""
  key: str  # short, unique: "d0".."d7" for EfficientDet
  family: str  # efficientdet, centernet, ssd, faster_rcnn, mask_rcnn, ...
  title: str  # the zoo table's model name
  release: str  # dated folder under ZOO_BASE_URL
  file_name: str  # e.g. efficientdet_d0_coco17_tpu-32.tar.gz
  input_size: tuple[int, int] | None  # (min, max) side after resizing; None if unknown
  outputs: tuple[str, ...] = ("boxes",)
  zoo_speed_ms: float | None = None
  zoo_coco_map: float | None = None  # boxes
  zoo_mask_map: float | None = None
  zoo_keypoint_map: float | None = None
  efficientdet: EfficientDetArch | None = None

  @property
  def model_name(self) -> str:
    """The task name and, for the zoo's exports, the tarball's top-level directory."""
    return self.file_name.removesuffix(".tar.gz")

  @property
  def relative_url(self) -> str:
    return f"{self.release}/{self.file_name}"

  def url(self, zoo_base_url: str = ZOO_BASE_URL) -> str:
    return join_url(zoo_base_url, self.relative_url)


def _efficientdet(phi: int, title_size: int, input_size: int, backbone: int, iters: int,
                  filters: int, head: int, speed: float, zoo_map: float,
                  paper_ap: float) -> ZooModel:
  return ZooModel(
      key=f"d{phi}", family="efficientdet", title=f"EfficientDet D{phi} {title_size}x{title_size}",
      release=EFFICIENTDET_RELEASE, file_name=f"efficientdet_d{phi}_coco17_tpu-32.tar.gz",
      input_size=(input_size, input_size), zoo_speed_ms=speed, zoo_coco_map=zoo_map,
      efficientdet=EfficientDetArch(phi, f"efficientnet-b{backbone}", iters, filters, head,
                                    paper_ap))


# D6's zoo title says 1280x1280, but its pipeline config resizes to 1408 (min = max dimension).
EFFICIENTDET = (
    _efficientdet(0, 512, 512, 0, 3, 64, 3, 39, 33.6, 33.5),
    _efficientdet(1, 640, 640, 1, 4, 88, 3, 54, 38.4, 39.1),
    _efficientdet(2, 768, 768, 2, 5, 112, 3, 67, 41.8, 42.5),
    _efficientdet(3, 896, 896, 3, 6, 160, 4, 95, 45.4, 45.9),
    _efficientdet(4, 1024, 1024, 4, 7, 224, 4, 133, 48.5, 49.0),
    _efficientdet(5, 1280, 1280, 5, 7, 288, 4, 222, 49.7, 50.5),
    _efficientdet(6, 1280, 1408, 6, 8, 384, 5, 268, 50.5, 51.3),
    _efficientdet(7, 1536, 1536, 6, 8, 384, 5, 325, 51.2, 51.8),
)


def _zoo(key: str, family: str, title: str, release: str, file_name: str,
         size: tuple[int, int] | None, speed: float | None, box_map: float | None,
         **extra) -> ZooModel:
  return ZooModel(key=key, family=family, title=title, release=release, file_name=file_name,
                  input_size=size, zoo_speed_ms=speed, zoo_coco_map=box_map, **extra)


_KPTS = ("boxes", "keypoints")

# The other families, transcribed from the zoo table (file names, releases, speed, mAP). Their
# architecture details are not recorded, and none of them has been downloaded and evaluated
# here yet. ExtremeNet has no published numbers; the tarball's top-level directory name of the
# two "extremenet.tar.gz" files is not documented (sources.download_model searches for it).
OTHERS = (
    _zoo("centernet_hg104_512x512", "centernet", "CenterNet HourGlass104 512x512", "20200713",
         "centernet_hg104_512x512_coco17_tpu-8.tar.gz", (512, 512), 70, 41.9),
    _zoo("centernet_hg104_512x512_kpts", "centernet", "CenterNet HourGlass104 Keypoints 512x512",
         "20200711", "centernet_hg104_512x512_kpts_coco17_tpu-32.tar.gz", (512, 512), 76, 40.0,
         outputs=_KPTS, zoo_keypoint_map=61.4),
    _zoo("centernet_hg104_1024x1024", "centernet", "CenterNet HourGlass104 1024x1024", "20200713",
         "centernet_hg104_1024x1024_coco17_tpu-32.tar.gz", (1024, 1024), 197, 44.5),
    _zoo("centernet_hg104_1024x1024_kpts", "centernet",
         "CenterNet HourGlass104 Keypoints 1024x1024", "20200711",
         "centernet_hg104_1024x1024_kpts_coco17_tpu-32.tar.gz", (1024, 1024), 211, 42.8,
         outputs=_KPTS, zoo_keypoint_map=64.5),
    _zoo("centernet_resnet50_v1_fpn_512x512", "centernet", "CenterNet Resnet50 V1 FPN 512x512",
         "20200711", "centernet_resnet50_v1_fpn_512x512_coco17_tpu-8.tar.gz", (512, 512), 27, 31.2),
    _zoo("centernet_resnet50_v1_fpn_512x512_kpts", "centernet",
         "CenterNet Resnet50 V1 FPN Keypoints 512x512", "20200711",
         "centernet_resnet50_v1_fpn_512x512_kpts_coco17_tpu-8.tar.gz", (512, 512), 30, 29.3,
         outputs=_KPTS, zoo_keypoint_map=50.7),
    _zoo("centernet_resnet101_v1_fpn_512x512", "centernet", "CenterNet Resnet101 V1 FPN 512x512",
         "20200711", "centernet_resnet101_v1_fpn_512x512_coco17_tpu-8.tar.gz", (512, 512), 34,
         34.2),
    _zoo("centernet_resnet50_v2_512x512", "centernet", "CenterNet Resnet50 V2 512x512", "20200711",
         "centernet_resnet50_v2_512x512_coco17_tpu-8.tar.gz", (512, 512), 27, 29.5),
    _zoo("centernet_resnet50_v2_512x512_kpts", "centernet",
         "CenterNet Resnet50 V2 Keypoints 512x512", "20200711",
         "centernet_resnet50_v2_512x512_kpts_coco17_tpu-8.tar.gz", (512, 512), 30, 27.6,
         outputs=_KPTS, zoo_keypoint_map=48.2),
    _zoo("centernet_mobilenetv2fpn_512x512", "centernet", "CenterNet MobileNetV2 FPN 512x512",
         "20210210", "centernet_mobilenetv2fpn_512x512_coco17_od.tar.gz", (512, 512), 6, 23.4),
    # The zoo lists a single number (41.7) for this one, presumably the keypoint mAP.
    _zoo("centernet_mobilenetv2fpn_512x512_kpts", "centernet",
         "CenterNet MobileNetV2 FPN Keypoints 512x512", "20210210",
         "centernet_mobilenetv2fpn_512x512_coco17_kpts.tar.gz", (512, 512), 6, None, outputs=_KPTS,
         zoo_keypoint_map=41.7),
    _zoo("ssd_mobilenet_v2_320x320", "ssd", "SSD MobileNet v2 320x320", "20200711",
         "ssd_mobilenet_v2_320x320_coco17_tpu-8.tar.gz", (320, 320), 19, 20.2),
    _zoo("ssd_mobilenet_v1_fpn_640x640", "ssd", "SSD MobileNet V1 FPN 640x640", "20200711",
         "ssd_mobilenet_v1_fpn_640x640_coco17_tpu-8.tar.gz", (640, 640), 48, 29.1),
    _zoo("ssd_mobilenet_v2_fpnlite_320x320", "ssd", "SSD MobileNet V2 FPNLite 320x320", "20200711",
         "ssd_mobilenet_v2_fpnlite_320x320_coco17_tpu-8.tar.gz", (320, 320), 22, 22.2),
    _zoo("ssd_mobilenet_v2_fpnlite_640x640", "ssd", "SSD MobileNet V2 FPNLite 640x640", "20200711",
         "ssd_mobilenet_v2_fpnlite_640x640_coco17_tpu-8.tar.gz", (640, 640), 39, 28.2),
    _zoo("ssd_resnet50_v1_fpn_640x640", "ssd", "SSD ResNet50 V1 FPN 640x640 (RetinaNet50)",
         "20200711", "ssd_resnet50_v1_fpn_640x640_coco17_tpu-8.tar.gz", (640, 640), 46, 34.3),
    _zoo("ssd_resnet50_v1_fpn_1024x1024", "ssd", "SSD ResNet50 V1 FPN 1024x1024 (RetinaNet50)",
         "20200711", "ssd_resnet50_v1_fpn_1024x1024_coco17_tpu-8.tar.gz", (1024, 1024), 87, 38.3),
    _zoo("ssd_resnet101_v1_fpn_640x640", "ssd", "SSD ResNet101 V1 FPN 640x640 (RetinaNet101)",
         "20200711", "ssd_resnet101_v1_fpn_640x640_coco17_tpu-8.tar.gz", (640, 640), 57, 35.6),
    _zoo("ssd_resnet101_v1_fpn_1024x1024", "ssd", "SSD ResNet101 V1 FPN 1024x1024 (RetinaNet101)",
         "20200711", "ssd_resnet101_v1_fpn_1024x1024_coco17_tpu-8.tar.gz", (1024, 1024), 104, 39.5),
    _zoo("ssd_resnet152_v1_fpn_640x640", "ssd", "SSD ResNet152 V1 FPN 640x640 (RetinaNet152)",
         "20200711", "ssd_resnet152_v1_fpn_640x640_coco17_tpu-8.tar.gz", (640, 640), 80, 35.4),
    _zoo("ssd_resnet152_v1_fpn_1024x1024", "ssd", "SSD ResNet152 V1 FPN 1024x1024 (RetinaNet152)",
         "20200711", "ssd_resnet152_v1_fpn_1024x1024_coco17_tpu-8.tar.gz", (1024, 1024), 111, 39.6),
    _zoo("faster_rcnn_resnet50_v1_640x640", "faster_rcnn", "Faster R-CNN ResNet50 V1 640x640",
         "20200711", "faster_rcnn_resnet50_v1_640x640_coco17_tpu-8.tar.gz", (640, 640), 53, 29.3),
    _zoo("faster_rcnn_resnet50_v1_1024x1024", "faster_rcnn", "Faster R-CNN ResNet50 V1 1024x1024",
         "20200711", "faster_rcnn_resnet50_v1_1024x1024_coco17_tpu-8.tar.gz", (1024, 1024), 65,
         31.0),
    _zoo("faster_rcnn_resnet50_v1_800x1333", "faster_rcnn", "Faster R-CNN ResNet50 V1 800x1333",
         "20200711", "faster_rcnn_resnet50_v1_800x1333_coco17_gpu-8.tar.gz", (800, 1333), 65, 31.6),
    _zoo("faster_rcnn_resnet101_v1_640x640", "faster_rcnn", "Faster R-CNN ResNet101 V1 640x640",
         "20200711", "faster_rcnn_resnet101_v1_640x640_coco17_tpu-8.tar.gz", (640, 640), 55, 31.8),
    _zoo("faster_rcnn_resnet101_v1_1024x1024", "faster_rcnn", "Faster R-CNN ResNet101 V1 1024x1024",
         "20200711", "faster_rcnn_resnet101_v1_1024x1024_coco17_tpu-8.tar.gz", (1024, 1024), 72,
         37.1),
    _zoo("faster_rcnn_resnet101_v1_800x1333", "faster_rcnn", "Faster R-CNN ResNet101 V1 800x1333",
         "20200711", "faster_rcnn_resnet101_v1_800x1333_coco17_gpu-8.tar.gz", (800, 1333), 77,
         36.6),
    _zoo("faster_rcnn_resnet152_v1_640x640", "faster_rcnn", "Faster R-CNN ResNet152 V1 640x640",
         "20200711", "faster_rcnn_resnet152_v1_640x640_coco17_tpu-8.tar.gz", (640, 640), 64, 32.4),
    _zoo("faster_rcnn_resnet152_v1_1024x1024", "faster_rcnn", "Faster R-CNN ResNet152 V1 1024x1024",
         "20200711", "faster_rcnn_resnet152_v1_1024x1024_coco17_tpu-8.tar.gz", (1024, 1024), 85,
         37.6),
    _zoo("faster_rcnn_resnet152_v1_800x1333", "faster_rcnn", "Faster R-CNN ResNet152 V1 800x1333",
         "20200711", "faster_rcnn_resnet152_v1_800x1333_coco17_gpu-8.tar.gz", (800, 1333), 101,
         37.4),
    _zoo("faster_rcnn_inception_resnet_v2_640x640", "faster_rcnn",
         "Faster R-CNN Inception ResNet V2 640x640", "20200711",
         "faster_rcnn_inception_resnet_v2_640x640_coco17_tpu-8.tar.gz", (640, 640), 206, 37.7),
    _zoo("faster_rcnn_inception_resnet_v2_1024x1024", "faster_rcnn",
         "Faster R-CNN Inception ResNet V2 1024x1024", "20200711",
         "faster_rcnn_inception_resnet_v2_1024x1024_coco17_tpu-8.tar.gz", (1024, 1024), 236, 38.7),
    _zoo("mask_rcnn_inception_resnet_v2_1024x1024", "mask_rcnn",
         "Mask R-CNN Inception ResNet V2 1024x1024", "20200711",
         "mask_rcnn_inception_resnet_v2_1024x1024_coco17_gpu-8.tar.gz", (1024, 1024), 301, 39.0,
         outputs=("boxes", "masks"), zoo_mask_map=34.6),
    _zoo("extremenet_20200711", "extremenet", "ExtremeNet (deprecated)", "20200711",
         "extremenet.tar.gz", None, None, None),
    _zoo("extremenet", "extremenet", "ExtremeNet", "20210507", "extremenet.tar.gz", None, None,
         None),
)

MODELS: tuple[ZooModel, ...] = EFFICIENTDET + OTHERS


def _index(models: Iterable[ZooModel]) -> Mapping[str, ZooModel]:
  index: dict[str, ZooModel] = {}
  for model in models:
    if model.key in index:
      raise ValueError(f"model_registry: duplicate key {model.key!r}")
    index[model.key] = model
  return index


BY_KEY: Mapping[str, ZooModel] = _index(MODELS)


def get(key: str) -> ZooModel:
  """The model for `key` ("d0", or a file name's stem such as "ssd_mobilenet_v2_320x320")."""
  try:
    return BY_KEY[key]
  except KeyError:
    raise KeyError(f"unknown zoo model {key!r}; known keys: {', '.join(BY_KEY)}") from None


def efficientdet_models(keys: Iterable[str] | None = None) -> tuple[ZooModel, ...]:
  """EfficientDet D0..D7 in phi order, or the ones named by `keys` (same order, validated)."""
  if keys is None:
    return EFFICIENTDET
  wanted = {k.strip().lower() for k in keys if k.strip()}
  unknown = wanted - {m.key for m in EFFICIENTDET}
  if unknown:
    raise KeyError(f"unknown EfficientDet key(s) {sorted(unknown)}; use d0..d7")
  return tuple(m for m in EFFICIENTDET if m.key in wanted)
