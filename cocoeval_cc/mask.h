// Run-length encoded binary masks with the exact semantics of pycocotools
// 2.0.11 (maskApi.c): rasterisation of polygons and boxes, merge, area,
// bounding boxes, the compressed COCO counts string, and box / mask IoU.
// Every function reproduces the reference bit for bit on the inputs the
// reference handles; where the reference would read or write out of bounds,
// divide by zero or loop forever, these functions throw cocoeval::InputError.

#ifndef COCOEVAL_CC_MASK_H_
#define COCOEVAL_CC_MASK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cocoeval_cc/errors.h"

namespace cocoeval {

// Column-major (Fortran order) run lengths that alternate zeros and ones and
// start with a (possibly empty) run of zeros, as COCO stores them.
struct Rle {
  uint64_t h = 0, w = 0;
  std::vector<uint32_t> counts;
};

// Encodes an h x w column-major mask. As in the reference, a new run starts
// whenever a byte differs from the previous one, so values other than 0/1
// split runs (mask {0, 2, 1} gives counts {1, 1, 1}).
Rle Encode(const uint8_t* mask, uint64_t h, uint64_t w);

// Decodes to h*w column-major bytes (0/1). Throws InputError unless the
// counts sum to exactly h*w.
std::vector<uint8_t> Decode(const Rle& rle);

// Union (intersect=false) or intersection of the masks. No input gives an
// empty 0x0 Rle; one input is returned as is; a size mismatch with the first
// mask gives an empty 0x0 Rle (as rleMerge). Throws InputError when two
// same-size masks have different count sums (the reference loops forever).
Rle Merge(const std::vector<const Rle*>& rles, bool intersect);

// Number of foreground pixels: the sum of the odd runs, modulo 2^32 as
// rleArea's uint accumulator (only masks of 2^32+ pixels can notice).
uint64_t Area(const Rle& rle);

// {x, y, w, h} as rleToBbox computes it in 32-bit unsigned arithmetic,
// quirks included: a foreground run spanning several columns gets the full
// image height, fewer than two counts give {0, 0, 0, 0}, and only empty
// foreground runs give {w, h, 1 - w, 1 - h} wrapped to uint32. Throws
// InputError for foreground in a mask of height 0 (the reference divides by
// zero).
std::array<double, 4> ToBbox(const Rle& rle);

// Rasterises the box {x, y, w, h} as the 4-point polygon rleFrBbox builds.
Rle FromBbox(const double bb[4], uint64_t h, uint64_t w);

// Rasterises the polygon x0,y0,x1,y1,... (num_coords doubles; an odd last
// coordinate is ignored, as len//2 in pycocotools) exactly as rleFrPoly.
// Throws InputError for non-finite coordinates or ones whose magnitude
// exceeds about 2.1e8 (the reference's int arithmetic overflows there), or
// when the boundary would need more than 2^26 points.
Rle FromPolygon(const double* xy, size_t num_coords, uint64_t h, uint64_t w);

// The compressed COCO counts string (LEB128-like, 5 bits per character plus
// a continuation bit, offset 48, deltas against counts[i-2] for i > 2).
std::string ToString(const Rle& rle);

// Parses a compressed counts string for an h x w mask. Throws InputError on
// characters outside '0'..'o', truncated values, values longer than the 7
// characters the encoder can produce, or counts not summing to h*w. Values of
// 7 characters are decoded as the reference does on x86-64, including its
// 32-bit shift artefacts, so results match pycocotools for any string it
// produces.
Rle FromString(std::string_view s, uint64_t h, uint64_t w);

// IoU of n detection boxes against m ground-truth boxes (xywh, row-major),
// written to out[i * m + j] (detections x ground truth). iscrowd may be null;
// for a crowd ground truth the intersection is divided by the detection area.
void BoxIou(const double* dt, size_t n, const double* gt, size_t m, const uint8_t* iscrowd,
            double* out);

// Mask IoU as rleIou, laid out like BoxIou. Pairs whose bounding boxes do not
// overlap are 0 without looking at the masks; overlapping pairs whose sizes
// differ are -1. Throws InputError when a compared pair of same-size masks
// has different count sums (the reference loops forever).
void RleIou(const Rle* dt, size_t n, const Rle* gt, size_t m, const uint8_t* iscrowd, double* out);

// Masks together with what RleIou needs of each, computed once: the ToBbox
// box (NaN when ToBbox throws, so the IoU call rethrows) and the area.
struct MaskSet {
  std::vector<Rle> rles;
  std::vector<std::array<double, 4>> boxes;
  std::vector<uint32_t> areas;  // Area(), 32-bit as rleArea

  size_t size() const { return rles.size(); }
  void Resize(size_t n) {
    rles.resize(n);
    boxes.resize(n);
    areas.resize(n);
  }
  // Stores mask i and computes its box and area (thread-safe for distinct i).
  void Set(size_t i, Rle rle);
};

// RleIou of the detections dt.rles[dt_index[0..n)] against the ground truth
// gt.rles[gt_index[0..m)], without copying masks and with the precomputed
// boxes as the bounding-box prefilter. Same results as RleIou.
void RleIou(const MaskSet& dt, const uint32_t* dt_index, size_t n, const MaskSet& gt,
            const uint32_t* gt_index, size_t m, const uint8_t* iscrowd, double* out);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_MASK_H_
