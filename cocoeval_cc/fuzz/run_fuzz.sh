#!/usr/bin/env bash
# Builds the libFuzzer targets (mask_fuzz, json_fuzz) with clang and
# -fsanitize=fuzzer,address,undefined and runs each for a bounded time.
#
# Usage: cocoeval_cc/fuzz/run_fuzz.sh [seconds_per_target=60] [target...]
#   e.g. cocoeval_cc/fuzz/run_fuzz.sh 300 json_fuzz
# Environment: FUZZ_OUT (build / corpus / crash directory, default
# /tmp/cocoeval_cc_fuzz), FUZZ_JOBS (parallel fuzzing processes per target,
# default 1), CXX (default clang++).
#
# The seed corpus comes from third_party/coco_fixtures: small slices of the
# ground truth and of both results files (plus the whole files), each with the
# mode byte json_fuzz expects in front (0: ground truth, 1: results). Crashes are written to
# $FUZZ_OUT/<target>/crashes; the script exits non-zero if any target fails.
set -euo pipefail

SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then TARGETS=(mask_fuzz json_fuzz); fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${FUZZ_OUT:-/tmp/cocoeval_cc_fuzz}"
JOBS="${FUZZ_JOBS:-1}"
CXX="${CXX:-clang++}"
mkdir -p "$OUT/bin"

if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "== $CXX not found: installing clang"
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq clang
  CXX=clang++
fi
if [[ ! -f /usr/include/simdjson.h ]]; then
  echo "== simdjson headers not found: installing libsimdjson-dev"
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y -qq libsimdjson-dev
fi

FLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I"$ROOT")
CC_DIR="$ROOT/cocoeval_cc"

build() {
  local target="$1"
  echo "== building $target"
  case "$target" in
    mask_fuzz)
      "$CXX" "${FLAGS[@]}" "$CC_DIR/mask.cc" "$CC_DIR/fuzz/mask_fuzz.cc" -o "$OUT/bin/mask_fuzz"
      ;;
    json_fuzz)
      "$CXX" "${FLAGS[@]}" "$CC_DIR/mask.cc" "$CC_DIR/dataset.cc" "$CC_DIR/padded_buffer.cc" \
        "$CC_DIR/ground_truth_loader.cc" "$CC_DIR/ground_truth_keypoints.cc" \
        "$CC_DIR/detections_loader.cc" "$CC_DIR/segmentation.cc" "$CC_DIR/oks.cc" \
        "$CC_DIR/json_scanner.cc" "$CC_DIR/id_index.cc" "$CC_DIR/evaluate.cc" "$CC_DIR/accumulate.cc" "$CC_DIR/summarize.cc" \
        "$CC_DIR/evaluator.cc" "$CC_DIR/fuzz/json_fuzz.cc" -lsimdjson -pthread \
        -o "$OUT/bin/json_fuzz"
      ;;
    *)
      echo "unknown target $target" >&2
      return 1
      ;;
  esac
}

# Seeds: small slices of the fixtures (libFuzzer mutates small inputs far more
# effectively) and the whole files, each prefixed by the mode byte.
seed_json() {
  local corpus="$1"
  local fixtures="$ROOT/third_party/coco_fixtures"
  python3 - "$fixtures" "$corpus" <<'EOF'
import json, os, sys
fixtures, corpus = sys.argv[1], sys.argv[2]
gt = json.load(open(os.path.join(fixtures, "instances_val2014_100.json")))
def write(name, mode, text):
  with open(os.path.join(corpus, name), "wb") as f:
    f.write(mode + text.encode())
imgs = gt["images"]
for n in (1, 2, 4):
  ids = {i["id"] for i in imgs[:n]}
  anns = [a for a in gt["annotations"] if a["image_id"] in ids][:6]
  cats = {a["category_id"] for a in anns}
  small = {"images": [{k: i[k] for k in ("id", "height", "width")} for i in imgs[:n]],
           "categories": [c for c in gt["categories"] if c["id"] in cats][:4],
           "annotations": anns}
  write(f"gt_{n}.json", b"\x00", json.dumps(small))
  write(f"gt_{n}_compact.json", b"\x00", json.dumps(small, separators=(",", ":")))
for res_name, tag in (("instances_val2014_fakebbox100_results.json", "bbox"),
                      ("instances_val2014_fakesegm100_results.json", "segm")):
  res = json.load(open(os.path.join(fixtures, res_name)))
  # Rewrite ids onto the fuzz target's fixed ground truth (images 1, 2, 0,
  # 5000000000; categories 1, 2, 0) and sizes onto its images.
  sizes = {1: [10, 20], 2: [8, 8], 0: [16, 12], 5000000000: [4, 4]}
  image_ids = list(sizes)
  out = []
  for i, r in enumerate(res[:8]):
    r = dict(r)
    r["image_id"] = image_ids[i % 4]
    r["category_id"] = [1, 2, 0][i % 3]
    if "segmentation" in r:
      h, w = sizes[r["image_id"]]
      r["segmentation"] = {"size": [h, w], "counts": [0, h * w]} if i % 2 else \
          [[0, 0, w / 2, 0, w / 2, h / 2, 0, h / 2]]
    out.append(r)
  write(f"res_{tag}.json", b"\x01", json.dumps(out))
  write(f"res_{tag}_1.json", b"\x01", json.dumps(out[:1]))
write("res_rle_string.json", b"\x01", json.dumps(
    [{"image_id": 5000000000, "category_id": 1, "segmentation": {"size": [4, 4], "counts": "04000"},
      "score": 0.5}]))
EOF
  { printf '\x00'; cat "$fixtures/instances_val2014_100.json"; } > "$corpus/gt_full.json"
  { printf '\x01'; cat "$fixtures/instances_val2014_fakebbox100_results.json"; } > "$corpus/res_full_bbox.json"
}

seed_mask() {
  local corpus="$1"
  printf '\x00\x08\x08' > "$corpus/empty"
  printf '\x00\x04\x0404000' > "$corpus/str"
  printf '\x01\x0a\x14\x00\x00\x00\x00\x00\x00\xf0\x3f' > "$corpus/poly"
}

status=0
for target in "${TARGETS[@]}"; do
  build "$target"
  dir="$OUT/$target"
  mkdir -p "$dir/corpus" "$dir/seeds" "$dir/crashes"
  # Artifacts of earlier runs move aside, so the count below is this run's.
  if compgen -G "$dir/crashes/*" >/dev/null; then
    mkdir -p "$dir/crashes.prev" && mv "$dir"/crashes/* "$dir/crashes.prev/"
  fi
  if [[ "$target" == json_fuzz ]]; then seed_json "$dir/seeds"; else seed_mask "$dir/seeds"; fi
  echo "== running $target for ${SECONDS_PER_TARGET}s (log: $dir/fuzz.log)"
  set +e
  (cd "$dir" && "$OUT/bin/$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -jobs="$JOBS" -workers="$JOBS" -print_final_stats=1 \
      -artifact_prefix="$dir/crashes/" corpus seeds) > "$dir/fuzz.log" 2>&1
  rc=$?
  set -e
  if [[ "$JOBS" -gt 1 ]]; then cat "$dir"/fuzz-*.log >> "$dir/fuzz.log" 2>/dev/null || true; fi
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)" \
    "$dir/fuzz.log" | tail -4 || true
  echo "   corpus: $(ls "$dir/corpus" | wc -l) inputs; crashes: $(ls "$dir/crashes" | wc -l)"
  if [[ $rc -ne 0 ]]; then
    echo "!! $target failed (exit $rc); see $dir/fuzz.log and $dir/crashes" >&2
    grep -E "ERROR|SUMMARY|check failed|runtime error" "$dir/fuzz.log" | head -5 >&2 || true
    status=1
  fi
done
exit $status
