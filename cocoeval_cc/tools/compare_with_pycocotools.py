#!/usr/bin/env python3
"""Bit-exactness check of _cocoeval_cc against pycocotools on the COCO fixtures.

Usage: compare_with_pycocotools.py [--module-dir DIR] [--fixtures DIR]
Needs pycocotools and numpy in the running interpreter and the compiled
_cocoeval_cc module on sys.path (or in --module-dir). Exit status 0 when every
case is bit-identical (stats, precision, recall, scores) and the stats equal
the published values in expected_stats.json.
"""
import argparse
import contextlib
import io
import json
import os
import sys

import numpy as np


def run_pycocotools(gt_path, dt_path, iou_type, area_rng=None, area_lbl=None):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        ev = COCOeval(gt, dt, iou_type)
        if area_rng is not None:
            ev.params.areaRng = area_rng
            ev.params.areaRngLbl = area_lbl
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def run_ours(cc, gt_path, dt_path, iou_type, area_rng=None, area_lbl=None, num_threads=0):
    gt = cc.load_ground_truth(gt_path)
    dt = cc.load_results(gt, dt_path, num_threads=num_threads)
    p = cc.Params(iou_type)
    if area_rng is not None:
        p.area_rng = area_rng
        p.area_rng_lbl = area_lbl
    ev = cc.Evaluator(gt, dt, p, num_threads=num_threads)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev


def pycocotools_custom_stats(ev):
    """The generalized stats list (AP, AP50, AP75, AP per area, AR per maxDets,
    AR per area) computed from pycocotools' arrays with its own _summarize rule."""
    p = ev.params
    prec, rec = ev.eval["precision"], ev.eval["recall"]

    def mean(s):
        s = s[s > -1]
        return -1.0 if len(s) == 0 else float(np.mean(s))

    def ap(iou=None, lbl="all", md=None):
        md = p.maxDets[-1] if md is None else md
        a = [i for i, l in enumerate(p.areaRngLbl) if l == lbl]
        m = [i for i, d in enumerate(p.maxDets) if d == md]
        s = prec
        if iou is not None:
            s = s[np.where(iou == p.iouThrs)[0]]
        return mean(s[:, :, :, a, m])

    def ar(lbl="all", md=None):
        md = p.maxDets[-1] if md is None else md
        a = [i for i, l in enumerate(p.areaRngLbl) if l == lbl]
        m = [i for i, d in enumerate(p.maxDets) if d == md]
        return mean(rec[:, :, a, m])

    others = [l for l in p.areaRngLbl if l != "all"]
    out = [ap(), ap(0.5), ap(0.75)] + [ap(lbl=l) for l in others]
    out += [ar(md=d) for d in p.maxDets] + [ar(lbl=l) for l in others]
    return np.array(out)


def compare(name, ref_ev, ours, ref_stats, expected, expected_exact=True):
    ok = True
    checks = [
        ("stats", np.asarray(ref_stats), np.asarray(ours.stats)),
        ("precision", ref_ev.eval["precision"], np.asarray(ours.precision)),
        ("recall", ref_ev.eval["recall"], np.asarray(ours.recall)),
        ("scores", ref_ev.eval["scores"], np.asarray(ours.scores)),
    ]
    for what, ref, got in checks:
        same = ref.shape == got.shape and np.array_equal(ref, got)
        detail = ""
        if not same:
            ok = False
            if ref.shape != got.shape:
                detail = f" shape {got.shape} != {ref.shape}"
            else:
                diff = np.argwhere(ref != got)
                detail = f" {len(diff)} differ, first at {tuple(diff[0])}: {got[tuple(diff[0])]!r} vs {ref[tuple(diff[0])]!r}"
        print(f"  {name:28s} {what:10s} {'bit-identical' if same else 'DIFFERENT'}{detail}")
    if expected is not None:
        exp = np.asarray(expected)
        got = np.asarray(ours.stats)
        same = np.array_equal(got, exp)
        if same or expected_exact:
            print(f"  {name:28s} {'expected':10s} {'equal' if same else 'DIFFERENT: ' + repr(list(got))}")
            ok &= same
        else:
            # The published custom-range values come from faster-coco-eval,
            # whose mean is not numpy's pairwise one: allow a few ulp there.
            ulps = np.abs(got - exp) / np.spacing(np.abs(exp))
            close = bool(np.all(ulps <= 4))
            print(f"  {name:28s} {'expected':10s} within {int(ulps.max())} ulp of the published "
                  f"(faster-coco-eval) values{'' if close else ' -- TOO FAR'}")
            ok &= close
    return ok


def per_category_check(name, ref_ev, ours):
    """Row i, column k = stat i restricted to category k (TF OD API rule)."""
    prec, rec = ref_ev.eval["precision"], ref_ev.eval["recall"]
    pc = np.asarray(ours.per_category_stats())
    ok = pc.shape[1] == prec.shape[2]
    for k in range(prec.shape[2]):
        sub = type("E", (), {})()
        sub.params = ref_ev.params
        sub.eval = {"precision": prec[:, :, k:k + 1], "recall": rec[:, k:k + 1]}
        ref = pycocotools_custom_stats(sub)
        if not np.array_equal(ref, pc[:, k]):
            ok = False
    print(f"  {name:28s} {'per-cat':10s} {'bit-identical' if ok else 'DIFFERENT'}")
    return ok


def arrays_equal(name, ref_ev, ours, ref_stats=None):
    """Arrays bit for bit; stats against ref_stats (default: pycocotools')."""
    ok = True
    for what in ("precision", "recall", "scores"):
        ref, got = ref_ev.eval[what], np.asarray(getattr(ours, what))
        same = ref.shape == got.shape and np.array_equal(ref, got)
        ok &= same
    ref_stats = np.asarray(ref_ev.stats if ref_stats is None else ref_stats)
    same_stats = np.array_equal(ref_stats, np.asarray(ours.stats))
    print(f"  {name:40s} arrays {'bit-identical' if ok else 'DIFFERENT'}, "
          f"stats {'bit-identical' if same_stats else 'DIFFERENT'}")
    return ok and same_stats


def extra_cases(cc, gt_path, fx):
    """Non-default parameters, ndarray results and sharded evaluation."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    bbox_path = os.path.join(fx, "instances_val2014_fakebbox100_results.json")
    ok = True
    with contextlib.redirect_stdout(io.StringIO()):
        cgt = COCO(gt_path)
        cdt = cgt.loadRes(bbox_path)
    gt = cc.load_ground_truth(gt_path)
    dt = cc.load_results(gt, bbox_path)
    img_ids = sorted(cgt.getImgIds())
    cat_ids = sorted(cgt.getCatIds())

    def ref_eval(setup, coco_dt=cdt):
        with contextlib.redirect_stdout(io.StringIO()):
            ev = COCOeval(cgt, coco_dt, "bbox")
            setup(ev.params)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return ev

    def ours_eval(setup, d=dt, threads=0):
        p = cc.Params("bbox")
        setup(p)
        ev = cc.Evaluator(gt, d, p, num_threads=threads)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        return ev

    cases = {
        "useCats=0": (lambda p: setattr(p, "useCats", 0), lambda p: setattr(p, "use_cats", False)),
        "maxDets [1, 5, 20]": (lambda p: setattr(p, "maxDets", [1, 5, 20]),
                               lambda p: setattr(p, "max_dets", [1, 5, 20])),
        "iouThrs linspace(.3,.9,7)": (lambda p: setattr(p, "iouThrs", np.linspace(.3, .9, 7)),
                                      lambda p: setattr(p, "iou_thrs", list(np.linspace(.3, .9, 7)))),
        "imgIds subset, catIds subset": (
            lambda p: (setattr(p, "imgIds", img_ids[::3]), setattr(p, "catIds", cat_ids[::2])),
            lambda p: (setattr(p, "img_ids", img_ids[::3]), setattr(p, "cat_ids", cat_ids[::2]))),
    }
    for name, (ref_setup, our_setup) in cases.items():
        ref = ref_eval(ref_setup)
        # pycocotools' summarize() hard-codes maxDets=100 for AP rows and
        # gives -1 when 100 is not among maxDets; we use the last maxDets
        # (coco-semantics.md rule 8), i.e. the generalized list.
        ref_stats = pycocotools_custom_stats(ref) if name.startswith("maxDets") else None
        ok &= arrays_equal(name, ref, ours_eval(our_setup), ref_stats)

    # loadRes(ndarray): [image_id, x, y, w, h, score, category_id]
    recs = json.load(open(bbox_path))
    arr = np.array([[r["image_id"], *r["bbox"], r["score"], r["category_id"]] for r in recs], dtype=np.float64)
    with contextlib.redirect_stdout(io.StringIO()):
        cdt_arr = cgt.loadRes(arr)
    ok &= arrays_equal("loadRes(ndarray)", ref_eval(lambda p: None, cdt_arr),
                       ours_eval(lambda p: None, cc.load_results_array(gt, arr)))

    # Sharding: three image subsets evaluated separately, pickled, merged.
    import pickle
    full = ours_eval(lambda p: None)
    shard_ev = cc.Evaluator(gt, dt, cc.Params("bbox"))
    states = [pickle.loads(pickle.dumps(shard_ev.evaluate_images(img_ids[i::3]))) for i in range(3)]
    merged = cc.merge_states(states)
    acc = cc.Evaluator(gt, None, cc.Params("bbox"))
    acc.set_state(cc.EvalState.from_bytes(merged.to_bytes()))
    acc.accumulate()
    acc.summarize()
    same = all(np.array_equal(np.asarray(getattr(full, w)), np.asarray(getattr(acc, w)))
               for w in ("precision", "recall", "scores", "stats"))
    print(f"  {'3 shards, pickled, merged':40s} {'bit-identical' if same else 'DIFFERENT'}")
    ok &= same
    return ok


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--module-dir", default=os.environ.get("COCOEVAL_CC_MODULE_DIR"))
    ap.add_argument("--fixtures", default=os.path.join(here, "..", "..", "..", "shared", "data", "coco_fixtures"))
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    args = ap.parse_args()
    if args.module_dir:
        sys.path.insert(0, args.module_dir)
    import _cocoeval_cc as cc

    fx = args.fixtures
    if not os.path.isdir(fx):
        fx = "/work/shared/data/coco_fixtures"
    expected = json.load(open(os.path.join(fx, "expected_stats.json")))
    gt_path = os.path.join(fx, "instances_val2014_100.json")
    custom_rng = [[0, 1e10], [0, 8 ** 2], [8 ** 2, 16 ** 2], [16 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
    custom_lbl = ["all", "nano", "micro", "small", "medium", "large"]
    all_ok = True
    for iou_type in ("bbox", "segm"):
        dt_path = os.path.join(fx, expected[iou_type]["detections"])
        exp = expected[iou_type]["stats"]
        if iou_type == "segm":
            exp = list(exp)
            exp[3] = expected["segm"]["pycocotools_2_0_11_AP_small"]
        ref = run_pycocotools(gt_path, dt_path, iou_type)
        for nt in args.threads:
            ours = run_ours(cc, gt_path, dt_path, iou_type, num_threads=nt)
            all_ok &= compare(f"{iou_type} threads={nt}", ref, ours, ref.stats, exp)
        all_ok &= per_category_check(f"{iou_type}", ref, ours)
        ref_c = run_pycocotools(gt_path, dt_path, iou_type, custom_rng, custom_lbl)
        ours_c = run_ours(cc, gt_path, dt_path, iou_type, custom_rng, custom_lbl)
        all_ok &= compare(f"{iou_type} custom areas", ref_c, ours_c, pycocotools_custom_stats(ref_c),
                          expected["custom_area_ranges"][iou_type], expected_exact=False)
    all_ok &= extra_cases(cc, gt_path, fx)
    print("ALL BIT-IDENTICAL" if all_ok else "MISMATCHES FOUND")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
