"""Label maps (StringIntLabelMap text, as mscoco_label_map.pbtxt).

  item { name: "/m/01g317" id: 1 display_name: "person" }
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

from eval import atomic_io
from eval.data import textproto


@dataclasses.dataclass(frozen=True)
class Item:
  id: int
  name: str | None = None
  display_name: str | None = None

  @property
  def label(self) -> str:
    """What the evaluator shows: display_name, falling back to name."""
    return self.display_name or self.name or ""


def parse_items(text: str, path: str = "<string>") -> list[Item]:
  """The items in file order, without the background item (id 0) the API allows."""
  root = textproto.parse(text, path)
  items: list[Item] = []
  first_line: dict[int, int] = {}
  for index, msg in enumerate(root.messages("item")):
    line = root.lines["item"][index]
    where = f"item #{index + 1}"
    item_id = msg.get("id", "int")
    if item_id is None:
      raise textproto.TextFormatError(path, line, f"{where} has no id")
    item = Item(item_id, msg.get("name", "string"), msg.get("display_name", "string"))
    if not item.label:
      raise textproto.TextFormatError(path, line, f"{where} (id {item_id}) has no name or "
                                      "display_name")
    if item_id < 0:
      raise textproto.TextFormatError(path, line, f"{where}: id {item_id} is negative")
    if item_id == 0:  # the API reserves 0 for the background class
      if "background" not in (item.name, item.display_name):
        raise textproto.TextFormatError(path, line, f"{where}: id 0 is reserved for background")
      continue
    if item_id in first_line:
      raise textproto.TextFormatError(
          path, line, f"{where}: duplicate id {item_id} (first on line {first_line[item_id]})")
    first_line[item_id] = line
    items.append(item)
  return items


def load_items(path: str) -> list[Item]:
  try:
    with open(path, "rb") as f:
      data = f.read()
  except IsADirectoryError:
    raise ValueError(f"{path}: is a directory, not a label map") from None
  except OSError as e:
    raise FileNotFoundError(f"{path}: cannot read the label map ({e.strerror})") from None
  try:
    text = data.decode("utf-8")
  except UnicodeDecodeError:
    raise textproto.TextFormatError(path, 1, "not UTF-8 text") from None
  return parse_items(text, path)


def to_labels(items: Iterable[Item]) -> dict[int, str]:
  return {item.id: item.label for item in items}


def load(path: str) -> dict[int, str]:
  """id -> display_name (or name) of the label map at `path`."""
  return to_labels(load_items(path))


def categories(items: Iterable[Item]) -> list[dict]:
  """COCO `categories` entries, sorted by id."""
  return [{"id": item.id, "name": item.label} for item in sorted(items, key=lambda i: i.id)]


def text_to_id(items: Iterable[Item]) -> dict[str, int]:
  """Maps both display_name and name to the id, for records without image/object/class/label.

  display_name wins over another item's identical name: create_coco_tf_record.py writes COCO
  category names, which are the display names of the COCO label map.
  """
  items = list(items)
  mapping = {item.name: item.id for item in items if item.name}
  mapping.update({item.display_name: item.id for item in items if item.display_name})
  return mapping


def format_items(items: Iterable[Item]) -> str:
  lines = []
  for item in items:
    lines.append("item {")
    if item.name is not None:
      lines.append(f"  name: {textproto.quote(item.name)}")
    lines.append(f"  id: {item.id}")
    if item.display_name is not None:
      lines.append(f"  display_name: {textproto.quote(item.display_name)}")
    lines.append("}")
  return "\n".join(lines) + "\n"


def write(path: str, labels: Mapping[int, str] | Iterable[Item]) -> None:
  """Writes a label map atomically.

  A mapping id -> label becomes items with that label as both name and display_name, so the
  API finds it whatever its `use_display_name` setting.
  """
  if isinstance(labels, Mapping):
    items = [Item(int(i), str(n), str(n)) for i, n in sorted(labels.items())]
  else:
    items = list(labels)
  ids = [item.id for item in items]
  duplicates = sorted({i for i in ids if ids.count(i) > 1})
  if duplicates:
    raise ValueError(f"{path}: duplicate label map ids {duplicates}")
  atomic_io.write_text(path, format_items(items))
