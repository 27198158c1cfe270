#!/usr/bin/env python3
"""Writes mask_golden.txt: expected outputs of pycocotools 2.0.11's mask API.

Run with the oracle interpreter (pycocotools 2.0.11 + numpy):
  /tmp/oracle-venv/bin/python cocoeval_cc/testdata/make_mask_golden.py

One record per line, whitespace-separated tokens. RLE strings are written as
"s:<counts>" (the alphabet is '0'..'o', so no whitespace; "s:" alone is the
empty string). Doubles are repr(float), which strtod reads back exactly.

  poly   h w ncoords x0 y0 ... s:rle area bx by bw bh
  bbox   h w x y bw bh s:rle area bx by bw bh
  mask   h w hexbytes(column-major) s:rle area bx by bw bh hexdecoded
  frstr  h w s:input s:reencoded area bx by bw bh
  merge  intersect n (h w s:rle)*n rh rw s:rle
  rleiou n m (h w s:rle)*n (h w s:rle)*m crowd*m iou*(n*m)   # iou[i][j], dt x gt
  boxiou n m (x y w h)*n (x y w h)*m crowd*m iou*(n*m)
"""

import argparse
import os
import random

import numpy as np
from pycocotools import _mask
from pycocotools import mask as M

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "mask_golden.txt"))
parser.add_argument("--seed", type=int, default=20240611)
parser.add_argument("--scale", type=int, default=1, help="multiplies the random case counts")
ARGS = parser.parse_args()
OUT = ARGS.out
SCALE = ARGS.scale
rng = random.Random(ARGS.seed)


def fstr(x):
  return repr(float(x))


def rle_tokens(r):
  c = r["counts"]
  if isinstance(c, bytes):
    c = c.decode("ascii")
  return "s:" + c


def bbox_tokens(r):
  return " ".join(fstr(v) for v in M.toBbox(r))


def coord(h, w, axis_len):
  kind = rng.random()
  if kind < 0.45:
    return rng.uniform(0, axis_len)
  if kind < 0.6:  # quantised values hit the (int)(5x+.5) rounding edges
    return rng.randint(-4 * 5, (axis_len + 4) * 5) / rng.choice([5.0, 10.0, 2.0, 4.0])
  if kind < 0.7:
    return float(rng.randint(-2, axis_len + 2))
  if kind < 0.85:  # outside the image
    return rng.uniform(-0.5 * axis_len - 10, 1.5 * axis_len + 10)
  if kind < 0.95:
    return rng.uniform(-3, 3)
  return rng.uniform(-2000, 2000)


def random_polygon(h, w):
  kind = rng.random()
  if kind < 0.1:
    npts = rng.choice([0, 1, 2])
  elif h * w > 4000000:  # keeps the golden file small
    npts = rng.choice([3, 4, 5])
  else:
    npts = rng.choice([3, 3, 4, 5, 6, 8, 12, 20, 50])
  pts = []
  for _ in range(npts):
    pts += [coord(h, w, w), coord(h, w, h)]
  if npts > 0 and rng.random() < 0.2:  # repeated vertices (0/0 slope)
    i = 2 * rng.randrange(npts)
    pts[i:i] = pts[i:i + 2]
  if rng.random() < 0.1:  # collinear / axis-aligned degenerate
    x = coord(h, w, w)
    pts = [x, coord(h, w, h), x, coord(h, w, h), x, coord(h, w, h)]
  if rng.random() < 0.05:  # odd length: last coordinate ignored
    pts.append(coord(h, w, w))
  return pts


def random_size():
  kind = rng.random()
  if kind < 0.1:
    return rng.randint(1, 3), rng.randint(1, 3)
  if kind < 0.7:
    return rng.randint(1, 120), rng.randint(1, 120)
  if kind < 0.95:
    return rng.randint(100, 1000), rng.randint(100, 1000)
  return rng.randint(5000, 20000), rng.randint(5000, 20000)


def poly_rle(pts, h, w):
  return _mask.frPoly([pts], h, w)[0]


def main():
  lines = []
  rles_by_size = {}

  # Polygons.
  for _ in range(500 * SCALE):
    h, w = random_size()
    pts = random_polygon(h, w)
    r = poly_rle(pts, h, w)
    rles_by_size.setdefault((h, w), []).append(r)
    lines.append(" ".join(
        ["poly", str(h), str(w), str(len(pts))] + [fstr(v) for v in pts]
        + [rle_tokens(r), str(int(M.area(r))), bbox_tokens(r)]))
  # Hand-picked polygons: exact ties, negative coordinates, tiny images.
  special = [
      (10, 10, [0.5, 0.5, 5.5, 0.5, 5.5, 5.5, 0.5, 5.5]),
      (10, 10, [-0.5, -0.5, 3.3, -0.1, 3.3, 3.3]),
      (10, 10, [-1.0, -1.0, -1.0, 12.0, 12.0, 12.0, 12.0, -1.0]),
      (1, 1, [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]),
      (1, 1, [0.2, 0.2, 0.8, 0.2, 0.8, 0.8]),
      (5, 7, [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]),
      (5, 7, [1.0, 1.0, 4.0, 1.0, 4.0, 1.0, 4.0, 4.0, 1.0, 4.0]),
      (8, 8, [-0.3, 2.0, 6.0, -0.3, 9.0, 9.0, -0.1, -0.1]),
      (8, 8, [-2.1, 3.0, -0.7, 5.0, -1.5, 7.0]),
      (8, 8, [3.0, -2.1, 5.0, -0.7, 7.0, -1.5]),
      (8, 8, [0.1, 0.1, 0.3, 7.9, 0.5, 0.1, 0.7, 7.9]),
      (3, 9, [0.0, 0.0, 9.0, 3.0]),
      (20, 30, [1e5, 1e5, -1e5, 1e5, 0.0, -1e5]),
      (20, 30, [1e6, 3.0, -1e6, 4.0, 5.0, 5.0]),
      (7, 3, [-5.0, -5.0, 20.0, 20.0, -5.0, 20.0]),
      # Zero-size images: no x filter when w == 0 (w - 1 wraps), all at 0 when h == 0.
      (5, 0, [1.0, 1.0, 40.0, 2.0, 3.0, 30.0]),
      (5, 0, [-1.0, -1.0, 4.2, 2.0, 3.0, 3.3]),
      (0, 5, [1.0, 1.0, 4.0, 2.0, 3.0, 3.0]),
      (0, 0, [1.0, 1.0, 4.0, 2.0, 3.0, 3.0]),
      (1000, 1000, [-3e5, 10.0, 3e5, 20.0, 500.0, 3e5]),
      (50, 60, [10.0, -2e5, 11.0, 2e5, 40.0, 2e5, 41.0, -2e5]),
  ]
  for h, w, pts in special:
    r = poly_rle(pts, h, w)
    lines.append(" ".join(
        ["poly", str(h), str(w), str(len(pts))] + [fstr(v) for v in pts]
        + [rle_tokens(r), str(int(M.area(r))), bbox_tokens(r)]))

  # Boxes.
  for i in range(150 * SCALE):
    h, w = random_size()
    if i % 10 == 0:
      bb = [rng.randint(-3, w), rng.randint(-3, h), rng.randint(-2, w), rng.randint(-2, h)]
    else:
      bb = [coord(h, w, w), coord(h, w, h), rng.uniform(-1, w), rng.uniform(-1, h)]
    bb = [float(v) for v in bb]
    r = _mask.frBbox(np.array([bb], dtype=np.double), h, w)[0]
    rles_by_size.setdefault((h, w), []).append(r)
    lines.append(" ".join(
        ["bbox", str(h), str(w)] + [fstr(v) for v in bb]
        + [rle_tokens(r), str(int(M.area(r))), bbox_tokens(r)]))

  # Binary masks (some with values other than 0/1, which split runs).
  for i in range(80 * SCALE):
    h, w = (rng.randint(1, 40), rng.randint(1, 40)) if i % 4 else (rng.randint(1, 4),
                                                                   rng.randint(1, 4))
    style = rng.random()
    if style < 0.3:
      m = (np.random.RandomState(i).rand(h, w) < rng.random()).astype(np.uint8)
    elif style < 0.5:
      m = np.zeros((h, w), np.uint8)
      m[rng.randrange(h):rng.randrange(h) + 1, rng.randrange(w):rng.randrange(w) + 1] = 1
    elif style < 0.6:
      m = np.full((h, w), rng.choice([0, 1]), np.uint8)
    elif style < 0.75:
      m = np.random.RandomState(i).randint(0, 3, size=(h, w)).astype(np.uint8)
      m[m == 2] = rng.choice([2, 255])
    else:
      m = np.zeros((h, w), np.uint8)
      for _ in range(rng.randint(1, 4)):
        y0, x0 = rng.randrange(h), rng.randrange(w)
        m[y0:y0 + rng.randint(1, h), x0:x0 + rng.randint(1, w)] = 1
    fm = np.asfortranarray(m.reshape(h, w, 1))
    r = M.encode(fm)[0]
    dec = M.decode(r)
    if (h, w) in rles_by_size or rng.random() < 0.5:
      rles_by_size.setdefault((h, w), []).append(r)
    colmajor = m.flatten(order="F").tobytes().hex()
    decoded = np.asarray(dec).flatten(order="F").astype(np.uint8).tobytes().hex()
    lines.append(" ".join([
        "mask",
        str(h),
        str(w), colmajor,
        rle_tokens(r),
        str(int(M.area(r))),
        bbox_tokens(r), decoded
    ]))

  # Counts strings with 7-character values, decoded with the reference's
  # 32-bit shift artefacts; reencoded via a single-element merge.
  def enc(vals):
    s = []
    for i, v in enumerate(vals):
      x = v - (vals[i - 2] if i > 2 else 0)
      more = True
      while more:
        c = x & 0x1f
        x >>= 5
        more = (x != -1) if (c & 0x10) else (x != 0)
        if more:
          c |= 0x20
        s.append(chr(c + 48))
    return "".join(s)

  def dec_canonical(s):
    cnts, p = [], 0
    while p < len(s):
      x = k = 0
      more = True
      while more:
        c = ord(s[p]) - 48
        x |= (c & 0x1f) << (5 * k)
        more = c & 0x20
        p += 1
        k += 1
        if not more and (c & 0x10):
          x |= -1 << (5 * k)
      if len(cnts) > 2:
        x += cnts[-2]
      cnts.append(x & 0xffffffff)
    return cnts

  big = [[0, 2 ** 30], [0, 2 ** 31 + 5], [0, 2 ** 32 - 1], [2 ** 30 + 7, 3], [0, 2 ** 31, 1, 1],
         [0, 2 ** 32 - 1, 0, 1], [3, 2 ** 31 + 9, 2 ** 31 - 5, 0, 7], [0, 1, 2 ** 32 - 2, 1, 5],
         [5, 2 ** 29 + 3, 1, 2 ** 29 - 1], [1, 2, 3, 4, 5, 6, 7],
         [0, 2 ** 29, 2 ** 29, 2 ** 29 + 1, 1]]
  for vals in big:
    s = enc(vals)
    probe = {"size": [1, 1], "counts": s.encode()}
    re = M.merge([probe])["counts"].decode()
    total = sum(dec_canonical(re))
    r = {"size": [1, total], "counts": s.encode()}
    lines.append(" ".join(
        ["frstr", "1",
         str(total), "s:" + s, "s:" + re,
         str(int(M.area(r))),
         bbox_tokens(r)]))

  # Merges within one size, and across sizes (empty result).
  sizes = [k for k, v in rles_by_size.items() if len(v) >= 2]
  for i in range(120 * SCALE):
    key = rng.choice(sizes)
    group = rles_by_size[key]
    n = rng.randint(1, min(5, len(group)))
    objs = rng.sample(group, n)
    if i % 15 == 0:
      other = rng.choice(list(rles_by_size.keys()))
      objs.insert(rng.randint(1, len(objs)), rng.choice(rles_by_size[other]))
    if i == 1:
      objs = []
    inter = rng.random() < 0.4
    r = M.merge(objs, intersect=inter)
    toks = ["merge", str(int(inter)), str(len(objs))]
    for o in objs:
      toks += [str(o["size"][0]), str(o["size"][1]), rle_tokens(o)]
    toks += [str(r["size"][0]), str(r["size"][1]), rle_tokens(r)]
    lines.append(" ".join(toks))

  # Mask IoU.
  for i in range(120 * SCALE):
    key = rng.choice(sizes)
    group = rles_by_size[key]
    dts = [rng.choice(group) for _ in range(rng.randint(1, 6))]
    gts = [rng.choice(group) for _ in range(rng.randint(1, 6))]
    if i % 8 == 0:  # a different-size mask: -1 where the boxes overlap
      other = rng.choice(list(rles_by_size.keys()))
      gts.append(rng.choice(rles_by_size[other]))
    crowd = [int(rng.random() < 0.3) for _ in gts]
    iou = np.asarray(M.iou(dts, gts, crowd))
    toks = ["rleiou", str(len(dts)), str(len(gts))]
    for o in dts + gts:
      toks += [str(o["size"][0]), str(o["size"][1]), rle_tokens(o)]
    toks += [str(c) for c in crowd]
    toks += [fstr(iou[a, b]) for a in range(len(dts)) for b in range(len(gts))]
    lines.append(" ".join(toks))

  # Box IoU, including degenerate and non-finite boxes.
  def rand_box():
    k = rng.random()
    if k < 0.6:
      return [rng.uniform(0, 100), rng.uniform(0, 100), rng.uniform(0, 60), rng.uniform(0, 60)]
    if k < 0.8:
      return [
          float(rng.randint(0, 50)),
          float(rng.randint(0, 50)),
          float(rng.randint(0, 30)),
          float(rng.randint(0, 30))
      ]
    if k < 0.9:
      return [rng.uniform(0, 100) / 3, rng.uniform(0, 100) / 7, 0.1 / 3, rng.uniform(0, 1e-3)]
    if k < 0.95:
      return [rng.uniform(-10, 10), rng.uniform(-10, 10), -rng.uniform(0, 5), rng.uniform(0, 20)]
    return [
        rng.choice([float("nan"), float("inf"), 1e308]), 5.0, 10.0,
        rng.choice([float("inf"), 3.0])
    ]

  for i in range(150 * SCALE):
    n, m = rng.randint(1, 8), rng.randint(1, 8)
    dts = [rand_box() for _ in range(n)]
    gts = [rand_box() for _ in range(m)]
    if i % 5 == 0:  # near-duplicates
      gts[0] = [v + rng.choice([0.0, 1e-9, -1e-12]) for v in dts[0]]
    crowd = [int(rng.random() < 0.3) for _ in gts]
    iou = np.asarray(M.iou(np.array(dts), np.array(gts), crowd))
    toks = ["boxiou", str(n), str(m)]
    toks += [fstr(v) for b in dts + gts for v in b]
    toks += [str(c) for c in crowd]
    toks += [fstr(iou[a, b]) for a in range(n) for b in range(m)]
    lines.append(" ".join(toks))

  with open(OUT, "w") as f:
    f.write("# Generated by make_mask_golden.py from pycocotools 2.0.11; do not edit.\n")
    for line in lines:
      f.write(line + "\n")
  print("wrote %d cases to %s" % (len(lines), OUT))


if __name__ == "__main__":
  main()
