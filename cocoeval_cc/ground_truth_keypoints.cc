// GroundTruth::KeypointData: the annotations' 'keypoints', kept as JSON text
// by the loader and decoded on first use, so that only keypoint evaluation
// pays for them.
#include <simdjson.h>

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/dataset_internal.h"
#include "cocoeval_cc/errors.h"

namespace cocoeval {

const GtKeypoints& GroundTruth::KeypointData() const {
  std::lock_guard<std::mutex> lock(keypoints_mutex_);
  if (keypoints_ready_) return keypoints_;
  namespace od = simdjson::ondemand;
  GtKeypoints k;
  const size_t n = ann_ids.size();
  k.begin.reserve(n + 1);
  k.begin.push_back(0);
  od::parser parser;
  for (size_t i = 0; i < n; ++i) {
    if (ann_keypoints.Has(i)) {
      const std::string_view text = ann_keypoints.Get(i);
      auto fail = [&](const std::string& problem) {
        throw InputError(source + ": " + AnnotationName(i) + ": " + problem);
      };
      // The text lies inside the document, which has simdjson's padding behind it.
      od::document doc;
      simdjson::error_code e =
          parser.iterate(text.data(), text.size(), text.size() + simdjson::SIMDJSON_PADDING)
              .get(doc);
      od::value v;
      if (!e) e = doc.get_value().get(v);
      if (e) fail(internal::JsonProblem(e));
      const size_t before = k.xyv.size();
      const std::string problem = internal::GetNumberList(v, "keypoints", &k.xyv);
      if (!problem.empty()) fail(problem);
      if ((k.xyv.size() - before) % 3 != 0) {
        fail("'keypoints' must hold x, y, v for each keypoint (a multiple of 3 numbers)");
      }
    }
    k.begin.push_back(k.xyv.size());
  }
  keypoints_ = std::move(k);
  keypoints_ready_ = true;
  return keypoints_;
}

}  // namespace cocoeval
