// Object keypoint similarity (pycocotools' COCOeval.computeOks), bit for bit
// with numpy's float64 arithmetic.
#ifndef COCOEVAL_CC_OKS_H_
#define COCOEVAL_CC_OKS_H_

#include <cstddef>
#include <vector>

namespace cocoeval {

// One ground-truth instance as computeOks reads it.
struct OksGroundTruth {
  const double* xyv;  // K (x, y, v) triples
  const double* box;  // [x, y, w, h]: bounds the zero-visible case
  double area;
};

// computeOks' vars = (sigmas * 2) ** 2.
std::vector<double> OksVariances(const std::vector<double>& sigmas);

// OKS of one detection (K (x, y) pairs) against one ground truth, with
// K = vars.size(). `scratch` holds K doubles.
double Oks(const double* dt_xy, const OksGroundTruth& gt, const std::vector<double>& vars,
           double* scratch);

// computeOks for one image x category: out[d * num_gt + g], detections in
// the given order (best score first), ground truth in input order.
void OksMatrix(const double* const* dt_xy, size_t num_dt, const OksGroundTruth* gt, size_t num_gt,
               const std::vector<double>& vars, double* out, std::vector<double>* scratch);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_OKS_H_
