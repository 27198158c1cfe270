// libFuzzer target for the mask module: malformed counts strings must throw
// InputError (never crash or read out of bounds), accepted strings must
// round-trip, and polygon rasterisation must survive arbitrary doubles.
//
// Build: clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
//          -I. cocoeval_cc/mask.cc cocoeval_cc/fuzz/mask_fuzz.cc -o mask_fuzz

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cocoeval_cc/mask.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// Input layout: byte 0 selects the mode; bytes 1..2 give h and w (small, so
// a decode stays cheap); the rest is the payload.
void FuzzString(uint64_t h, uint64_t w, std::string_view s) {
  cocoeval::Rle r;
  try {
    r = cocoeval::FromString(s, h, w);
  } catch (const cocoeval::InputError&) {
    return;
  }
  const std::vector<uint8_t> mask = cocoeval::Decode(r);
  Check(mask.size() == h * w);
  uint64_t ones = 0;
  for (uint8_t v : mask) ones += v;
  Check(ones == cocoeval::Area(r));
  const std::array<double, 4> bb = cocoeval::ToBbox(r);
  (void)bb;
  // Re-encoding the decoded mask gives the canonical runs: equal to the
  // parsed ones up to merged empty runs, so compare decoded pixels instead.
  const cocoeval::Rle again = cocoeval::Encode(mask.data(), h, w);
  Check(cocoeval::Decode(again) == mask);
  const std::string str = cocoeval::ToString(r);
  Check(cocoeval::FromString(str, h, w).counts == r.counts);
  const cocoeval::Rle* both[2] = {&r, &again};
  const cocoeval::Rle u = cocoeval::Merge({both[0], both[1]}, false);
  Check(cocoeval::Decode(u) == mask);
  double iou = 0;
  cocoeval::RleIou(&r, 1, &again, 1, nullptr, &iou);
  Check(iou == 0 || iou == 1);
}

void FuzzPolygon(uint64_t h, uint64_t w, const uint8_t* data, size_t size) {
  std::vector<double> xy(size / sizeof(double));
  if (!xy.empty()) std::memcpy(xy.data(), data, xy.size() * sizeof(double));
  cocoeval::Rle r;
  try {
    r = cocoeval::FromPolygon(xy.data(), xy.size(), h, w);
  } catch (const cocoeval::InputError&) {
    return;
  }
  Check(r.h == h && r.w == w && !r.counts.empty());
  (void)cocoeval::Area(r);
  try {
    (void)cocoeval::ToBbox(r);
  } catch (const cocoeval::InputError&) {
  }
  const std::string s = cocoeval::ToString(r);
  try {
    const cocoeval::Rle back = cocoeval::FromString(s, h, w);
    Check(back.counts == r.counts);
    Check(cocoeval::Decode(back).size() == h * w);
  } catch (const cocoeval::InputError&) {
    // Polygons partly outside a 0-width image can produce counts that do
    // not sum to h*w, exactly as the reference does.
  }
  if (xy.size() >= 4) {
    try {
      const cocoeval::Rle box = cocoeval::FromBbox(xy.data(), h, w);
      double iou[1];
      cocoeval::RleIou(&r, 1, &box, 1, nullptr, iou);
      cocoeval::BoxIou(xy.data(), 1, xy.data(), 1, nullptr, iou);
    } catch (const cocoeval::InputError&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t mode = data[0];
  const uint64_t h = data[1] % 64, w = data[2] % 64;
  data += 3;
  size -= 3;
  if (mode & 1) {
    FuzzPolygon(h, w, data, size);
  } else {
    FuzzString(h, w, std::string_view(reinterpret_cast<const char*>(data), size));
  }
  return 0;
}
