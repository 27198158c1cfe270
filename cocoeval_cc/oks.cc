#include "cocoeval_cc/oks.h"

#include <algorithm>
#include <cmath>

#include "cocoeval_cc/pairwise_sum.h"

// Built with -ffp-contract=off (BUILD): a fused multiply-add in dx * dx +
// dy * dy would round differently from numpy.

namespace cocoeval {
namespace {

// np.spacing(1): computeOks adds it to the area.
constexpr double kSpacingOne = 2.220446049250313e-16;

// computeOks' e = (dx**2 + dy**2) / vars / (area + np.spacing(1)) / 2, in
// numpy's left-to-right order; the caller sums np.exp(-e).
inline double ExpMinusE(double dx, double dy, double var, double denom) {
  const double e = (dx * dx + dy * dy) / var / denom / 2;
  return std::exp(-e);
}

}  // namespace

std::vector<double> OksVariances(const std::vector<double>& sigmas) {
  std::vector<double> vars(sigmas.size());
  for (size_t i = 0; i < sigmas.size(); ++i) {
    const double s2 = sigmas[i] * 2;
    vars[i] = s2 * s2;  // numpy's ** 2 is a square
  }
  return vars;
}

double Oks(const double* dt_xy, const OksGroundTruth& gt, const std::vector<double>& vars,
           double* scratch) {
  const size_t k = vars.size();
  const double denom = gt.area + kSpacingOne;
  size_t n = 0;
  for (size_t j = 0; j < k; ++j) {
    if (!(gt.xyv[3 * j + 2] > 0)) continue;
    // k1 > 0: distances to the labelled (v > 0) keypoints only: e[vg > 0].
    scratch[n++] = ExpMinusE(dt_xy[2 * j] - gt.xyv[3 * j], dt_xy[2 * j + 1] - gt.xyv[3 * j + 1],
                             vars[j], denom);
  }
  if (n == 0) {
    // k1 == 0: distances to the ground truth's box enlarged to 3x its size
    // ([x - w, x + 2w] x [y - h, y + 2h]), every keypoint counted.
    const double* bb = gt.box;
    const double x0 = bb[0] - bb[2], x1 = bb[0] + bb[2] * 2;
    const double y0 = bb[1] - bb[3], y1 = bb[1] + bb[3] * 2;
    for (size_t j = 0; j < k; ++j) {
      const double xd = dt_xy[2 * j], yd = dt_xy[2 * j + 1];
      const double dx = std::max(0.0, x0 - xd) + std::max(0.0, xd - x1);
      const double dy = std::max(0.0, y0 - yd) + std::max(0.0, yd - y1);
      scratch[j] = ExpMinusE(dx, dy, vars[j], denom);
    }
    n = k;
  }
  // np.sum(np.exp(-e)) / e.shape[0]
  return PairwiseSum(scratch, n) / static_cast<double>(n);
}

void OksMatrix(const double* const* dt_xy, size_t num_dt, const OksGroundTruth* gt, size_t num_gt,
               const std::vector<double>& vars, double* out, std::vector<double>* scratch) {
  scratch->resize(vars.size());
  for (size_t d = 0; d < num_dt; ++d) {
    for (size_t g = 0; g < num_gt; ++g) {
      out[d * num_gt + g] = Oks(dt_xy[d], gt[g], vars, scratch->data());
    }
  }
}

}  // namespace cocoeval
