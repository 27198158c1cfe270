#include "cocoeval_cc/mask.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

// The reference evaluates a*b+c as a rounded product followed by a rounded
// sum; a fused multiply-add would change the last bit of IoUs and the
// rasterisation, so contraction must stay off whatever -march says.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace cocoeval {
namespace {

// Largest |5 * coordinate| accepted by FromPolygon: beyond it the reference's
// int arithmetic (differences of upsampled coordinates, u - 1) overflows.
constexpr double kMaxScaledCoord = 1073741823.0;  // 2^30 - 1
// Boundary points one polygon may produce before we call it garbage; far
// beyond any real image, and it bounds memory for hostile input.
constexpr size_t kMaxPolygonBoundaryPoints = size_t{1} << 26;

// (int)d as x86-64 computes it (cvttsd2si): NaN and out-of-range values give
// INT_MIN. The reference hits this for a repeated polygon vertex, where the
// slope is 0/0.
int32_t TruncToInt(double d) {
  if (!(d > -2147483649.0 && d < 2147483648.0)) {
    return std::numeric_limits<int32_t>::min();
  }
  return static_cast<int32_t>(d);
}

uint64_t CheckedArea(uint64_t h, uint64_t w) {
  if (w != 0 && h > std::numeric_limits<uint64_t>::max() / w) {
    throw InputError("mask size " + std::to_string(h) + "x" + std::to_string(w) + " overflows");
  }
  return h * w;
}

uint64_t CountSum(const Rle& rle) {
  uint64_t sum = 0;
  for (uint32_t c : rle.counts) sum += c;  // < 2^64 for any real vector
  return sum;
}

[[noreturn]] void ThrowSumMismatch() {
  throw InputError(
      "RLE counts of two same-size masks have different sums (counts must "
      "sum to h*w)");
}

// Collects the y-boundary points of rleFrPoly's densely sampled outline
// without materialising the outline: only consecutive sample pairs whose
// upsampled x changes, and whose x can land inside the image, matter, and
// the samples along one edge are a monotone function of the step index, so
// the relevant steps are found by search.
class PolygonBoundary {
 public:
  PolygonBoundary(uint64_t h, uint64_t w, std::vector<uint32_t>* out)
      : h_double_(static_cast<double>(h)),
        // w - 1 wraps for w == 0, as the reference's unsigned siz does, and
        // then filters nothing.
        w_minus_1_double_(static_cast<double>(w - 1)),
        h_int_bits_(static_cast<uint32_t>(h)),
        // Pairs whose smaller x exceeds this cannot pass the xd <= w - 1 test.
        hi_(w == 0 || w > (uint64_t{1} << 40) ? std::numeric_limits<int64_t>::max()
                                              : static_cast<int64_t>(5 * w + 5)),
        out_(out) {}

  // Adds the samples of the edge (xs, ys) -> (xe, ye) in upsampled integer
  // coordinates, in the reference's order.
  void AddEdge(int64_t xs, int64_t ys, int64_t xe, int64_t ye) {
    const int64_t dx = xe > xs ? xe - xs : xs - xe;
    const int64_t dy = ys > ye ? ys - ye : ye - ys;
    const bool x_major = dx >= dy;
    const bool flip = (x_major && xs > xe) || (!x_major && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    // 0/0 = NaN for a repeated vertex, exactly as in the reference.
    const double s = x_major ? static_cast<double>(ye - ys) / static_cast<double>(dx)
                             : static_cast<double>(xe - xs) / static_cast<double>(dy);
    const int64_t n = x_major ? dx : dy;
    edge_ = Edge{xs, ys, n, s, flip, x_major};

    int64_t cu = U(0);
    if (have_prev_ && cu != prev_u_) Pair(prev_u_, prev_v_, cu, V(0));
    have_prev_ = true;
    if (n > 0) WalkEdge();
    prev_u_ = U(n);
    prev_v_ = V(n);
  }

 private:
  struct Edge {
    int64_t xs, ys, n;
    double s;
    bool flip, x_major;
  };

  int64_t T(int64_t d) const { return edge_.flip ? edge_.n - d : d; }
  // Sample d of the current edge: the reference's u[m] and v[m].
  int64_t U(int64_t d) const {
    const int64_t t = T(d);
    if (edge_.x_major) return t + edge_.xs;
    return TruncToInt(static_cast<double>(edge_.xs) + edge_.s * static_cast<double>(t) + .5);
  }
  int64_t V(int64_t d) const {
    const int64_t t = T(d);
    if (!edge_.x_major) return t + edge_.ys;
    return TruncToInt(static_cast<double>(edge_.ys) + edge_.s * static_cast<double>(t) + .5);
  }

  // Smallest d in [lo, n] with U(d) != cu, or n + 1; U(lo - 1) == cu and U
  // is monotone, so the samples equal to cu form a prefix.
  int64_t NextChange(int64_t lo, int64_t cu) const {
    const int64_t n = edge_.n;
    if (lo > n) return n + 1;
    if (U(lo) != cu) return lo;
    int64_t good = lo, step = 1, bad;
    for (;;) {
      if (n - good <= step) {
        if (U(n) == cu) return n + 1;
        bad = n;
        break;
      }
      if (U(good + step) != cu) {
        bad = good + step;
        break;
      }
      good += step;
      step *= 2;
    }
    while (bad - good > 1) {
      const int64_t mid = good + (bad - good) / 2;
      (U(mid) != cu ? bad : good) = mid;
    }
    return bad;
  }

  // Smallest d in [1, n] with pred(U(d)) for a predicate monotone in d, or
  // n + 1.
  template <typename Pred>
  int64_t FirstWhere(Pred pred) const {
    int64_t lo = 1, hi = edge_.n + 1;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (pred(U(mid))) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  // Visits the pairs (d - 1, d) with U(d) != U(d - 1) that can pass the
  // x filter. A pair contributes x in [min, max - 1] of its two U values,
  // so it matters only if max >= 0 and min <= hi_.
  void WalkEdge() {
    const int64_t n = edge_.n;
    const bool increasing = U(n) >= U(0);
    const int64_t hi = hi_;
    int64_t d = increasing ? FirstWhere([](int64_t u) { return u >= 0; })
                           : FirstWhere([hi](int64_t u) { return u <= hi; });
    if (d > n) return;
    if (edge_.x_major) {
      // U moves by exactly 1 per sample, so every pair changes U, and Pair
      // keeps only those whose smaller U is 2 mod 5 ((u + .5) / 5 - .5 is
      // an integer exactly then: the other residues are >= 0.2 away from
      // one, far above the rounding error for |u| <= kMaxScaledCoord).
      // Visit only those; the skipped pairs would add nothing.
      while (d <= n) {
        const int64_t up = U(d - 1);
        if (increasing ? up > hi_ : up < 0) return;
        const int64_t uc = U(d);
        const int64_t r = ((std::min(up, uc) - 2) % 5 + 5) % 5;
        if (r != 0) {
          d += increasing ? 5 - r : r;
          continue;
        }
        Pair(up, V(d - 1), uc, V(d));
        d += 5;
      }
      return;
    }
    int64_t cu = U(d - 1);
    for (;;) {
      if (increasing ? cu > hi_ : cu < 0) return;
      const int64_t next = NextChange(d, cu);
      if (next > n) return;
      const int64_t nu = U(next);
      Pair(cu, V(next - 1), nu, V(next));
      cu = nu;
      d = next + 1;
    }
  }

  // One iteration of the reference's y-boundary loop for consecutive samples
  // (up, vp) -> (uc, vc) with uc != up.
  void Pair(int64_t up, int64_t vp, int64_t uc, int64_t vc) {
    double xd = static_cast<double>(uc < up ? uc : uc - 1);
    xd = (xd + .5) / 5.0 - .5;
    if (std::floor(xd) != xd || xd < 0 || xd > w_minus_1_double_) return;
    double yd = static_cast<double>(vc < vp ? vc : vp);
    yd = (yd + .5) / 5.0 - .5;
    if (yd < 0) {
      yd = 0;
    } else if (yd > h_double_) {
      yd = h_double_;
    }
    yd = std::ceil(yd);
    if (out_->size() >= kMaxPolygonBoundaryPoints) {
      throw InputError("polygon boundary too large to rasterise");
    }
    // (uint)(x * (int)h + y) with the int arithmetic wrapping as on x86-64.
    const uint32_t x = static_cast<uint32_t>(TruncToInt(xd));
    const uint32_t y = static_cast<uint32_t>(TruncToInt(yd));
    out_->push_back(x * h_int_bits_ + y);
  }

  const double h_double_, w_minus_1_double_;
  const uint32_t h_int_bits_;
  const int64_t hi_;
  std::vector<uint32_t>* out_;
  Edge edge_{};
  bool have_prev_ = false;
  int64_t prev_u_ = 0, prev_v_ = 0;
};

// (int)(5 * c + .5), the reference's upsampling, restricted to the range in
// which its later int arithmetic cannot overflow.
int64_t Upsample(double c) {
  const double v = 5.0 * c + .5;
  if (!(v >= -kMaxScaledCoord && v <= kMaxScaledCoord)) {
    throw InputError("polygon coordinate out of range: " + std::to_string(c));
  }
  return static_cast<int64_t>(v);  // truncation toward zero, as (int)
}

}  // namespace

Rle Encode(const uint8_t* mask, uint64_t h, uint64_t w) {
  const uint64_t a = CheckedArea(h, w);
  Rle r;
  r.h = h;
  r.w = w;
  uint8_t p = 0;
  uint32_t c = 0;
  for (uint64_t j = 0; j < a; ++j) {
    if (mask[j] != p) {
      r.counts.push_back(c);
      c = 0;
      p = mask[j];
    }
    ++c;
  }
  r.counts.push_back(c);
  return r;
}

std::vector<uint8_t> Decode(const Rle& rle) {
  const uint64_t a = CheckedArea(rle.h, rle.w);
  if (CountSum(rle) != a) {
    throw InputError("RLE counts sum to " + std::to_string(CountSum(rle)) +
                     ", expected h*w = " + std::to_string(a));
  }
  std::vector<uint8_t> mask(a);
  uint8_t v = 0;
  uint64_t pos = 0;
  for (uint32_t c : rle.counts) {
    std::fill_n(mask.begin() + pos, c, v);
    pos += c;
    v = !v;
  }
  return mask;
}

Rle Merge(const std::vector<const Rle*>& rles, bool intersect) {
  Rle out;
  if (rles.empty()) return out;
  out = *rles[0];
  if (rles.size() == 1) return out;
  std::vector<uint32_t> merged;
  for (size_t i = 1; i < rles.size(); ++i) {
    const Rle& b_rle = *rles[i];
    if (b_rle.h != out.h || b_rle.w != out.w) return Rle();
    const std::vector<uint32_t>& a_cnts = out.counts;
    const std::vector<uint32_t>& b_cnts = b_rle.counts;
    const size_t ka = a_cnts.size(), kb = b_cnts.size();
    // An empty counts vector reads as a single zero run.
    uint32_t ca = ka ? a_cnts[0] : 0, cb = kb ? b_cnts[0] : 0;
    bool v = false, va = false, vb = false;
    size_t a = 1, b = 1;
    uint32_t cc = 0, ct = 1;
    merged.clear();
    while (ct > 0) {
      const uint32_t c = std::min(ca, cb);
      if (c == 0 && ((ca == 0 && a >= ka && cb != 0) || (cb == 0 && b >= kb && ca != 0))) {
        ThrowSumMismatch();
      }
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < ka) {
        ca = a_cnts[a++];
        va = !va;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < kb) {
        cb = b_cnts[b++];
        vb = !vb;
      }
      ct += cb;
      const bool vp = v;
      v = intersect ? (va && vb) : (va || vb);
      if (v != vp || ct == 0) {
        merged.push_back(cc);
        cc = 0;
      }
    }
    out.counts.swap(merged);
  }
  return out;
}

uint64_t Area(const Rle& rle) {
  uint32_t a = 0;  // rleArea accumulates in 32 bits
  for (size_t j = 1; j < rle.counts.size(); j += 2) a += rle.counts[j];
  return a;
}

namespace {

// Exact 32-bit division by an invariant divisor with one multiplication
// (Lemire, Kaser & Kurz, "Faster remainder by direct computation", 2019:
// with M = ceil(2^64 / d), floor(M * n / 2^64) = n / d for every 32-bit n
// and 2 <= d < 2^32). ToBbox divides twice per foreground run.
class DivBy {
 public:
  explicit DivBy(uint32_t d) : d_(d), m_(d > 1 ? ~uint64_t{0} / d + 1 : 0) {}
  uint32_t Div(uint32_t n) const {
    if (d_ <= 1) return n;  // d == 0 is excluded by the caller
    return static_cast<uint32_t>((static_cast<unsigned __int128>(m_) * n) >> 64);
  }

 private:
  uint32_t d_;
  uint64_t m_;
};

}  // namespace

std::array<double, 4> ToBbox(const Rle& rle) {
  // The reference works in 32-bit unsigned arithmetic throughout, which is
  // why a mask with only empty foreground runs gets a wrapped-around size.
  const uint32_t h = static_cast<uint32_t>(rle.h);
  const uint32_t w = static_cast<uint32_t>(rle.w);
  const size_t m = rle.counts.size() / 2 * 2;
  if (m == 0) return {0, 0, 0, 0};
  const uint32_t* counts = rle.counts.data();
  const DivBy div(h);
  uint32_t xs = w, ys = h, xe = 0, ye = 0, cc = 0;
  for (size_t j = 0; j < m; j += 2) {
    cc += counts[j];  // background run
    const uint32_t start = cc;
    const uint32_t len = counts[j + 1];
    cc += len;
    if (len == 0) continue;
    if (h == 0) throw InputError("RLE of height 0 has foreground pixels");
    // x = n / h and y = n % h (the reference's (n - y) / h is the same).
    const uint32_t x_start = div.Div(start), y_start = start - x_start * h;
    const uint32_t last = cc - 1;
    const uint32_t x_end = div.Div(last), y_end = last - x_end * h;
    xs = std::min(xs, x_start);
    xe = std::max(xe, x_end);
    if (x_start < x_end) {
      // The run wraps into a later column: take the full height.
      ys = 0;
      ye = h - 1;
    } else {
      ys = std::min(ys, y_start);
      ye = std::max(ye, y_end);
    }
  }
  return {static_cast<double>(xs), static_cast<double>(ys), static_cast<double>(xe - xs + 1),
          static_cast<double>(ye - ys + 1)};
}

Rle FromPolygon(const double* xy, size_t num_coords, uint64_t h, uint64_t w) {
  const size_t k = num_coords / 2;
  std::vector<int64_t> px(k + 1), py(k + 1);
  for (size_t j = 0; j < k; ++j) {
    px[j] = Upsample(xy[2 * j]);
    py[j] = Upsample(xy[2 * j + 1]);
  }
  if (k > 0) {
    px[k] = px[0];
    py[k] = py[0];
  }
  if (h == 0) {
    // Every boundary point, and h*w, is then position 0: the reference
    // always ends with the single run {0}.
    return Rle{h, w, {0}};
  }
  std::vector<uint32_t> a;
  PolygonBoundary boundary(h, w, &a);
  for (size_t j = 0; j < k; ++j) {
    boundary.AddEdge(px[j], py[j], px[j + 1], py[j + 1]);
  }
  // Boundary positions in column-major order, closed by h*w; their
  // differences are the runs, and a zero difference (a boundary crossed
  // twice) folds the following run into the previous one.
  a.push_back(static_cast<uint32_t>(h * w));
  std::sort(a.begin(), a.end());
  uint32_t prev = 0;
  for (uint32_t& v : a) {
    const uint32_t t = v;
    v -= prev;
    prev = t;
  }
  Rle r;
  r.h = h;
  r.w = w;
  r.counts.reserve(a.size());
  size_t j = 0;
  r.counts.push_back(a[j++]);
  while (j < a.size()) {
    if (a[j] > 0) {
      r.counts.push_back(a[j++]);
    } else {
      ++j;
      if (j < a.size()) r.counts.back() += a[j++];
    }
  }
  return r;
}

Rle FromBbox(const double bb[4], uint64_t h, uint64_t w) {
  const double xs = bb[0], xe = xs + bb[2];
  const double ys = bb[1], ye = ys + bb[3];
  const double xy[8] = {xs, ys, xs, ye, xe, ye, xe, ys};
  return FromPolygon(xy, 8, h, w);
}

std::string ToString(const Rle& rle) {
  std::string s;
  s.reserve(rle.counts.size() * 2);
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    int64_t x = rle.counts[i];
    if (i > 2) x -= static_cast<int64_t>(rle.counts[i - 2]);
    bool more = true;
    while (more) {
      int c = static_cast<int>(x & 0x1f);
      x = x >= 0 ? x >> 5 : ~(~x >> 5);  // arithmetic shift, spelled out
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

Rle FromString(std::string_view s, uint64_t h, uint64_t w) {
  const uint64_t area = CheckedArea(h, w);
  Rle r;
  r.h = h;
  r.w = w;
  r.counts.reserve(s.size());
  uint64_t sum = 0;
  size_t p = 0;
  while (p < s.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= s.size()) {
        throw InputError("RLE string truncated inside a value at offset " + std::to_string(p));
      }
      const unsigned char ch = static_cast<unsigned char>(s[p]);
      if (ch < 48 || ch > 111) {
        throw InputError("RLE string has invalid character code " + std::to_string(ch) +
                         " at offset " + std::to_string(p));
      }
      if (k == 7) {
        throw InputError(
            "RLE string value longer than 7 characters at "
            "offset " +
            std::to_string(p));
      }
      const uint32_t c = ch - 48;
      // The reference shifts an int: on x86-64 the count is taken mod 32
      // and the 32-bit result is sign-extended into its long accumulator.
      x |= static_cast<int32_t>((c & 0x1f) << ((5 * k) & 31));
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) {
        x |= static_cast<int32_t>(0xffffffffu << ((5 * k) & 31));
      }
    }
    const size_t m = r.counts.size();
    if (m > 2) x += static_cast<int64_t>(r.counts[m - 2]);
    const uint32_t count = static_cast<uint32_t>(x);
    sum += count;
    if (sum > area) {
      throw InputError("RLE counts sum past h*w = " + std::to_string(area));
    }
    r.counts.push_back(count);
  }
  if (sum != area) {
    throw InputError("RLE counts sum to " + std::to_string(sum) +
                     ", expected h*w = " + std::to_string(area));
  }
  return r;
}

void BoxIou(const double* dt, size_t n, const double* gt, size_t m, const uint8_t* iscrowd,
            double* out) {
  for (size_t i = 0; i < n; ++i) {
    const double* d = dt + 4 * i;
    const double da = d[2] * d[3];
    double* row = out + i * m;
    for (size_t j = 0; j < m; ++j) {
      const double* g = gt + 4 * j;
      row[j] = 0;
      // Same operations in the same order as bbIou; NaNs flow through the
      // comparisons as there.
      const double iw = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
      if (iw <= 0) continue;
      const double ih = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
      if (ih <= 0) continue;
      const double inter = iw * ih;
      const double ga = g[2] * g[3];
      const bool crowd = iscrowd != nullptr && iscrowd[j];
      const double uni = crowd ? da : da + ga - inter;
      row[j] = inter / uni;
    }
  }
}

namespace {

// The run-walking part of rleIou for pairs whose boxes overlap (out[] > 0
// from BoxIou on entry). dt_rle(i) / gt_rle(j) give the masks.
template <typename DtRle, typename GtRle, typename DtArea>
void RleIouWalk(DtRle dt_rle, size_t n, GtRle gt_rle, size_t m, const uint8_t* iscrowd,
                DtArea dt_area, double* out) {
  for (size_t i = 0; i < n; ++i) {
    const Rle& d = dt_rle(i);
    const uint32_t* const da = d.counts.data();
    const size_t ka = d.counts.size();
    double* row = out + i * m;
    for (size_t j = 0; j < m; ++j) {
      if (!(row[j] > 0)) continue;
      const Rle& g = gt_rle(j);
      if (d.h != g.h || d.w != g.w) {
        row[j] = -1;
        continue;
      }
      const uint32_t* const ga = g.counts.data();
      const size_t kb = g.counts.size();
      // Walk both run lists in step; all arithmetic is the reference's
      // 32-bit unsigned.
      uint32_t ca = ka ? da[0] : 0, cb = kb ? ga[0] : 0;
      bool va = false, vb = false;
      size_t a = 1, b = 1;
      uint32_t inter = 0, uni = 0, ct = 1;
      while (ct > 0) {
        const uint32_t c = std::min(ca, cb);
        if (c == 0 && ((ca == 0 && a >= ka && cb != 0) || (cb == 0 && b >= kb && ca != 0))) {
          ThrowSumMismatch();
        }
        if (va || vb) {
          uni += c;
          if (va && vb) inter += c;
        }
        ca -= c;
        if (!ca && a < ka) {
          ca = da[a++];
          va = !va;
        }
        cb -= c;
        if (!cb && b < kb) {
          cb = ga[b++];
          vb = !vb;
        }
        ct = ca + cb;
      }
      if (inter == 0) {
        uni = 1;
      } else if (iscrowd != nullptr && iscrowd[j]) {
        uni = dt_area(i);
      }
      row[j] = static_cast<double>(inter) / static_cast<double>(uni);
    }
  }
}

uint32_t Area32(const Rle& r) {
  uint32_t a = 0;
  for (size_t k = 1; k < r.counts.size(); k += 2) a += r.counts[k];
  return a;
}

}  // namespace

void RleIou(const Rle* dt, size_t n, const Rle* gt, size_t m, const uint8_t* iscrowd, double* out) {
  // Per-thread scratch so the hot path does not allocate once warmed up.
  thread_local std::vector<double> boxes;
  boxes.resize(4 * (n + m));
  double* const db = boxes.data();
  double* const gb = db + 4 * n;
  for (size_t i = 0; i < n; ++i) {
    const std::array<double, 4> bb = ToBbox(dt[i]);
    std::copy(bb.begin(), bb.end(), db + 4 * i);
  }
  for (size_t j = 0; j < m; ++j) {
    const std::array<double, 4> bb = ToBbox(gt[j]);
    std::copy(bb.begin(), bb.end(), gb + 4 * j);
  }
  BoxIou(db, n, gb, m, iscrowd, out);
  RleIouWalk([dt](size_t i) -> const Rle& { return dt[i]; }, n,
             [gt](size_t j) -> const Rle& { return gt[j]; }, m, iscrowd,
             [dt](size_t i) { return Area32(dt[i]); }, out);
}

void MaskSet::Set(size_t i, Rle rle) {
  try {
    boxes[i] = ToBbox(rle);
  } catch (const InputError&) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    boxes[i] = {nan, nan, nan, nan};
  }
  areas[i] = Area32(rle);
  rles[i] = std::move(rle);
}

void RleIou(const MaskSet& dt, const uint32_t* dt_index, size_t n, const MaskSet& gt,
            const uint32_t* gt_index, size_t m, const uint8_t* iscrowd, double* out) {
  thread_local std::vector<double> boxes;
  boxes.resize(4 * (n + m));
  double* const db = boxes.data();
  double* const gb = db + 4 * n;
  for (size_t i = 0; i < n; ++i) {
    const std::array<double, 4>& bb = dt.boxes[dt_index[i]];
    if (std::isnan(bb[0])) ToBbox(dt.rles[dt_index[i]]);  // rethrows
    std::copy(bb.begin(), bb.end(), db + 4 * i);
  }
  for (size_t j = 0; j < m; ++j) {
    const std::array<double, 4>& bb = gt.boxes[gt_index[j]];
    if (std::isnan(bb[0])) ToBbox(gt.rles[gt_index[j]]);
    std::copy(bb.begin(), bb.end(), gb + 4 * j);
  }
  BoxIou(db, n, gb, m, iscrowd, out);
  RleIouWalk([&](size_t i) -> const Rle& { return dt.rles[dt_index[i]]; }, n,
             [&](size_t j) -> const Rle& { return gt.rles[gt_index[j]]; }, m, iscrowd,
             [&](size_t i) { return dt.areas[dt_index[i]]; }, out);
}

}  // namespace cocoeval
