#include "cocoeval_cc/summarize.h"

#include <cstdio>

namespace cocoeval {
namespace {

std::string Format(const char* fmt, double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, x);
  return buf;
}

}  // namespace

std::string StatSpec::Describe(const Params& p) const {
  std::string iou =
      has_iou_thr ? Format("%0.2f", iou_thr)
                  : Format("%0.2f", p.iou_thrs.front()) + ":" + Format("%0.2f", p.iou_thrs.back());
  char buf[160];
  std::snprintf(buf, sizeof(buf), " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3lld ]",
                ap ? "Average Precision" : "Average Recall", ap ? "(AP)" : "(AR)", iou.c_str(),
                area_lbl.c_str(), static_cast<long long>(max_det));
  return buf;
}

std::vector<StatSpec> StatSpecs(const Params& p) {
  const int64_t last = p.max_dets.back();
  std::vector<StatSpec> specs;
  auto add = [&](bool ap, bool has_thr, double thr, const std::string& lbl, int64_t md) {
    StatSpec s;
    s.ap = ap;
    s.has_iou_thr = has_thr;
    s.iou_thr = thr;
    s.area_lbl = lbl;
    s.max_det = md;
    specs.push_back(s);
  };
  if (p.iou_type == IouType::kKeypoints) {
    // _summarizeKps: AP and AR each over .50:.95, at .50, at .75, then per
    // area range, all at maxDets 20 (here the last maxDets, which is 20 by
    // default).
    for (bool ap : {true, false}) {
      add(ap, false, 0, "all", last);
      add(ap, true, 0.5, "all", last);
      add(ap, true, 0.75, "all", last);
      for (const std::string& l : p.area_rng_lbl) {
        if (l != "all") add(ap, false, 0, l, last);
      }
    }
    return specs;
  }
  add(true, false, 0, "all", last);
  add(true, true, 0.5, "all", last);
  add(true, true, 0.75, "all", last);
  for (const std::string& l : p.area_rng_lbl) {
    if (l != "all") add(true, false, 0, l, last);
  }
  for (int64_t md : p.max_dets) add(false, false, 0, "all", md);
  for (const std::string& l : p.area_rng_lbl) {
    if (l != "all") add(false, false, 0, l, last);
  }
  return specs;
}

std::vector<double> Summarize(const Accumulated& acc, const Params& p,
                              const std::vector<StatSpec>& specs, int64_t k) {
  std::vector<double> stats;
  std::vector<double> vals;
  for (const StatSpec& s : specs) {
    std::vector<size_t> ts;
    for (size_t t = 0; t < acc.T; ++t) {
      if (!s.has_iou_thr || p.iou_thrs[t] == s.iou_thr) ts.push_back(t);
    }
    std::vector<size_t> as, ms;
    for (size_t a = 0; a < acc.A; ++a) {
      if (p.area_rng_lbl[a] == s.area_lbl) as.push_back(a);
    }
    for (size_t m = 0; m < acc.M; ++m) {
      if (p.max_dets[m] == s.max_det) ms.push_back(m);
    }
    const size_t k0 = k < 0 ? 0 : static_cast<size_t>(k);
    const size_t k1 = k < 0 ? acc.K : k0 + 1;
    vals.clear();
    // Labels and maxDets are unique, so as / ms hold at most one index; the
    // walk is in C order (t, r, k) like numpy's s[s > -1].
    for (size_t a : as) {
      for (size_t m : ms) {
        for (size_t t : ts) {
          if (s.ap) {
            for (size_t r = 0; r < acc.R; ++r) {
              for (size_t kk = k0; kk < k1; ++kk) {
                const double v = acc.precision[acc.PrecisionIndex(t, r, kk, a, m)];
                if (v > -1) vals.push_back(v);
              }
            }
          } else {
            for (size_t kk = k0; kk < k1; ++kk) {
              const double v = acc.recall[acc.RecallIndex(t, kk, a, m)];
              if (v > -1) vals.push_back(v);
            }
          }
        }
      }
    }
    stats.push_back(vals.empty()
                        ? -1.0
                        : PairwiseSum(vals.data(), vals.size()) / static_cast<double>(vals.size()));
  }
  return stats;
}

std::vector<double> PerCategoryStats(const Accumulated& acc, const Params& p,
                                     const std::vector<StatSpec>& specs) {
  std::vector<double> out(specs.size() * acc.K);
  for (size_t k = 0; k < acc.K; ++k) {
    const std::vector<double> col = Summarize(acc, p, specs, static_cast<int64_t>(k));
    for (size_t i = 0; i < specs.size(); ++i) out[i * acc.K + k] = col[i];
  }
  return out;
}

}  // namespace cocoeval
