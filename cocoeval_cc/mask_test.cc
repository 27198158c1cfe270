#include "cocoeval_cc/mask.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cocoeval {
namespace {

using Counts = std::vector<uint32_t>;

Rle MakeRle(uint64_t h, uint64_t w, Counts counts) {
  Rle r;
  r.h = h;
  r.w = w;
  r.counts = std::move(counts);
  return r;
}

// Bitwise equality, with every NaN equal to every NaN.
bool SameDouble(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  uint64_t x, y;
  std::memcpy(&x, &a, 8);
  std::memcpy(&y, &b, 8);
  return x == y;
}

// ---------------------------------------------------------------------------
// Golden file produced by testdata/make_mask_golden.py from pycocotools.

std::string GoldenPath() {
  if (const char* p = std::getenv("MASK_GOLDEN")) return p;
  const std::string rel = "cocoeval_cc/testdata/mask_golden.txt";
  if (const char* srcdir = std::getenv("TEST_SRCDIR")) {
    const char* ws = std::getenv("TEST_WORKSPACE");
    std::string p = std::string(srcdir) + "/" + (ws ? ws : "_main") + "/" + rel;
    if (std::ifstream(p).good()) return p;
  }
  return rel;
}

class Tokens {
 public:
  explicit Tokens(const std::string& line) : in_(line) {}
  std::string Str() {
    std::string t;
    in_ >> t;
    return t;
  }
  uint64_t U64() { return std::stoull(Str()); }
  double Dbl() {
    const std::string t = Str();
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    EXPECT_EQ(*end, '\0') << t;
    return v;
  }
  std::string Rle() {
    const std::string t = Str();
    EXPECT_EQ(t.substr(0, 2), "s:");
    return t.substr(2);
  }
  std::vector<uint8_t> Hex() {
    const std::string t = Str();
    std::vector<uint8_t> out(t.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<uint8_t>(std::stoul(t.substr(2 * i, 2), nullptr, 16));
    }
    return out;
  }
  bool Done() {
    std::string t;
    return !(in_ >> t);
  }

 private:
  std::istringstream in_;
};

void ExpectBbox(const cocoeval::Rle& r, Tokens& tok, const std::string& ctx) {
  const std::array<double, 4> bb = ToBbox(r);
  for (int i = 0; i < 4; ++i) {
    const double want = tok.Dbl();
    EXPECT_TRUE(SameDouble(bb[i], want))
        << ctx << " bbox[" << i << "] got " << bb[i] << " want " << want;
  }
}

TEST(MaskGoldenTest, MatchesPycocotoolsBitForBit) {
  std::ifstream in(GoldenPath());
  ASSERT_TRUE(in.good()) << "cannot open " << GoldenPath();
  std::map<std::string, int> seen;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    Tokens tok(line);
    const std::string kind = tok.Str();
    const std::string ctx = "line " + std::to_string(line_no) + " (" + kind + ")";
    SCOPED_TRACE(ctx);
    ++seen[kind];
    if (kind == "poly" || kind == "bbox") {
      const uint64_t h = tok.U64(), w = tok.U64();
      std::vector<double> xy(kind == "bbox" ? 4 : tok.U64());
      for (double& v : xy) v = tok.Dbl();
      const cocoeval::Rle r =
          kind == "bbox" ? FromBbox(xy.data(), h, w) : FromPolygon(xy.data(), xy.size(), h, w);
      EXPECT_EQ(ToString(r), tok.Rle());
      EXPECT_EQ(Area(r), tok.U64());
      ExpectBbox(r, tok, ctx);
    } else if (kind == "mask") {
      const uint64_t h = tok.U64(), w = tok.U64();
      const std::vector<uint8_t> mask = tok.Hex();
      ASSERT_EQ(mask.size(), h * w);
      const cocoeval::Rle r = Encode(mask.data(), h, w);
      const std::string s = tok.Rle();
      EXPECT_EQ(ToString(r), s);
      EXPECT_EQ(Area(r), tok.U64());
      ExpectBbox(r, tok, ctx);
      EXPECT_EQ(Decode(r), tok.Hex());
      const cocoeval::Rle parsed = FromString(s, h, w);
      EXPECT_EQ(parsed.counts, r.counts);
    } else if (kind == "frstr") {
      const uint64_t h = tok.U64(), w = tok.U64();
      const std::string s = tok.Rle();
      const cocoeval::Rle r = FromString(s, h, w);
      EXPECT_EQ(ToString(r), tok.Rle());
      EXPECT_EQ(Area(r), tok.U64());
      ExpectBbox(r, tok, ctx);
    } else if (kind == "merge") {
      const bool intersect = tok.U64() != 0;
      std::vector<cocoeval::Rle> rles(tok.U64());
      for (cocoeval::Rle& r : rles) {
        const uint64_t h = tok.U64(), w = tok.U64();
        r = FromString(tok.Rle(), h, w);
      }
      std::vector<const cocoeval::Rle*> ptrs;
      for (const cocoeval::Rle& r : rles) ptrs.push_back(&r);
      const cocoeval::Rle m = Merge(ptrs, intersect);
      EXPECT_EQ(m.h, tok.U64());
      EXPECT_EQ(m.w, tok.U64());
      EXPECT_EQ(ToString(m), tok.Rle());
    } else if (kind == "rleiou" || kind == "boxiou") {
      const size_t n = tok.U64(), m = tok.U64();
      std::vector<cocoeval::Rle> rles;
      std::vector<double> boxes;
      if (kind == "rleiou") {
        for (size_t i = 0; i < n + m; ++i) {
          const uint64_t h = tok.U64(), w = tok.U64();
          rles.push_back(FromString(tok.Rle(), h, w));
        }
      } else {
        for (size_t i = 0; i < 4 * (n + m); ++i) boxes.push_back(tok.Dbl());
      }
      std::vector<uint8_t> crowd(m);
      for (uint8_t& c : crowd) c = static_cast<uint8_t>(tok.U64());
      std::vector<double> out(n * m, 12345.0);
      if (kind == "rleiou") {
        RleIou(rles.data(), n, rles.data() + n, m, crowd.data(), out.data());
      } else {
        BoxIou(boxes.data(), n, boxes.data() + 4 * n, m, crowd.data(), out.data());
      }
      for (size_t k = 0; k < n * m; ++k) {
        const double want = tok.Dbl();
        EXPECT_TRUE(SameDouble(out[k], want))
            << "iou[" << k / m << "][" << k % m << "] got " << out[k] << " want " << want;
      }
    } else {
      ADD_FAILURE() << "unknown record " << kind;
      continue;
    }
    EXPECT_TRUE(tok.Done()) << "trailing tokens";
  }
  int total = 0;
  for (const auto& kv : seen) {
    total += kv.second;
    std::printf("golden %-7s %d cases\n", kv.first.c_str(), kv.second);
  }
  std::printf("golden total   %d cases\n", total);
  EXPECT_GE(seen["poly"], 300);
  EXPECT_GE(seen["bbox"], 100);
  EXPECT_GE(seen["mask"], 50);
  EXPECT_GE(seen["merge"], 100);
  EXPECT_GE(seen["rleiou"], 100);
  EXPECT_GE(seen["boxiou"], 100);
  EXPECT_GE(seen["frstr"], 5);
}

// ---------------------------------------------------------------------------
// Hand-written cases (expected values checked against pycocotools).

TEST(EncodeTest, ColumnMajorRunsStartingWithZeros) {
  // 2x3 mask, column-major: columns {1,0}, {1,1}, {0,0}.
  const uint8_t m[6] = {1, 0, 1, 1, 0, 0};
  const cocoeval::Rle r = Encode(m, 2, 3);
  EXPECT_EQ(r.h, 2u);
  EXPECT_EQ(r.w, 3u);
  EXPECT_EQ(r.counts, (Counts{0, 1, 1, 2, 2}));
  EXPECT_EQ(Decode(r), std::vector<uint8_t>(m, m + 6));
}

TEST(EncodeTest, NonBinaryValuesSplitRuns) {
  const uint8_t m[3] = {0, 2, 1};
  EXPECT_EQ(Encode(m, 1, 3).counts, (Counts{1, 1, 1}));
  EXPECT_EQ(Decode(Encode(m, 1, 3)), (std::vector<uint8_t>{0, 1, 0}));
}

TEST(EncodeTest, EmptyMask) {
  const cocoeval::Rle r = Encode(nullptr, 0, 7);
  EXPECT_EQ(r.counts, (Counts{0}));
  EXPECT_TRUE(Decode(r).empty());
}

TEST(DecodeTest, ThrowsWhenCountsDoNotSumToArea) {
  EXPECT_THROW(Decode(MakeRle(2, 2, {1, 2})), InputError);
  EXPECT_THROW(Decode(MakeRle(2, 2, {1, 2, 3})), InputError);
  EXPECT_THROW(Decode(MakeRle(2, 2, {})), InputError);
  EXPECT_THROW(Decode(MakeRle(uint64_t{1} << 40, uint64_t{1} << 40, {1})), InputError);
  EXPECT_EQ(Decode(MakeRle(2, 2, {0, 4})), (std::vector<uint8_t>(4, 1)));
}

TEST(MergeTest, EdgeCases) {
  EXPECT_EQ(Merge({}, false).counts, Counts{});
  const cocoeval::Rle a = MakeRle(2, 2, {1, 2, 1});
  const cocoeval::Rle b = MakeRle(2, 2, {0, 1, 3});
  const cocoeval::Rle c = MakeRle(4, 1, {0, 4});
  EXPECT_EQ(Merge({&a}, true).counts, a.counts);
  EXPECT_EQ(Merge({&a, &b}, false).counts, (Counts{0, 3, 1}));
  EXPECT_EQ(Merge({&a, &b}, true).counts, (Counts{4}));
  const cocoeval::Rle mismatch = Merge({&a, &b, &c}, false);
  EXPECT_EQ(mismatch.h, 0u);
  EXPECT_EQ(mismatch.w, 0u);
  EXPECT_TRUE(mismatch.counts.empty());
  const cocoeval::Rle short_sum = MakeRle(2, 2, {1, 1});
  EXPECT_THROW(Merge({&a, &short_sum}, false), InputError);
  const cocoeval::Rle empty = MakeRle(2, 2, {});
  EXPECT_THROW(Merge({&empty, &a}, false), InputError);
}

TEST(AreaTest, SumsOddRuns) {
  EXPECT_EQ(Area(MakeRle(3, 3, {1, 2, 3, 3})), 5u);
  EXPECT_EQ(Area(MakeRle(3, 3, {9})), 0u);
  EXPECT_EQ(Area(MakeRle(0, 0, {})), 0u);
}

TEST(ToBboxTest, ReferenceQuirks) {
  using B = std::array<double, 4>;
  // One run inside column 1 of a 4x3 image: rows 1..2.
  EXPECT_EQ(ToBbox(MakeRle(4, 3, {5, 2, 5})), (B{1, 1, 1, 2}));
  // A run crossing from column 0 into column 1 spans the full height.
  EXPECT_EQ(ToBbox(MakeRle(4, 3, {3, 2, 7})), (B{0, 0, 2, 4}));
  // A mask ending in foreground has an even number of counts.
  EXPECT_EQ(ToBbox(MakeRle(4, 3, {11, 1})), (B{2, 3, 1, 1}));
  EXPECT_EQ(ToBbox(MakeRle(4, 3, {12})), (B{0, 0, 0, 0}));
  // Only empty foreground runs: the uint32 arithmetic wraps.
  EXPECT_EQ(ToBbox(MakeRle(2, 4, {5, 0, 3, 0})), (B{4, 2, 4294967293.0, 4294967295.0}));
  EXPECT_EQ(ToBbox(MakeRle(0, 3, {0, 0})), (B{3, 0, 4294967294.0, 1}));
  EXPECT_EQ(ToBbox(MakeRle(4, 3, {3, 2, 0, 0, 7})), (B{0, 0, 2, 4}));
  EXPECT_THROW(ToBbox(MakeRle(0, 3, {0, 1})), InputError);
}

TEST(FromPolygonTest, SimpleSquareAndDegenerates) {
  const double sq[8] = {0, 0, 2, 0, 2, 2, 0, 2};
  EXPECT_EQ(ToString(FromPolygon(sq, 8, 4, 4)), "02208");  // pycocotools
  EXPECT_EQ(FromPolygon(sq, 0, 4, 4).counts, (Counts{16}));
  EXPECT_EQ(FromPolygon(sq, 1, 4, 4).counts, (Counts{16}));
  const double nan_pt[6] = {1, 1, NAN, 2, 3, 3};
  EXPECT_THROW(FromPolygon(nan_pt, 6, 4, 4), InputError);
  const double huge[6] = {1, 1, 1e12, 2, 3, 3};
  EXPECT_THROW(FromPolygon(huge, 6, 4, 4), InputError);
  // Far outside but within range: fast, and nothing inside the image.
  const double far[6] = {-2e8, -2e8, 2e8, -2e8, 2e8, -1e8};
  EXPECT_EQ(FromPolygon(far, 6, 100, 100).counts, (Counts{10000}));
}

TEST(FromBboxTest, MatchesPolygon) {
  const double bb[4] = {1.2, 0.7, 2.5, 3.1};
  const double poly[8] = {1.2, 0.7, 1.2, 3.8, 3.7, 3.8, 3.7, 0.7};
  EXPECT_EQ(FromBbox(bb, 6, 6).counts, FromPolygon(poly, 8, 6, 6).counts);
}

TEST(StringTest, RoundTripRandomCounts) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 2000; ++iter) {
    Counts c(rng() % 40);
    uint64_t sum = 0;
    for (uint32_t& v : c) {
      const int bits = static_cast<int>(rng() % 30);  // < 2^29: 6 chars max
      v = static_cast<uint32_t>(rng() & ((uint64_t{1} << bits) - 1));
      sum += v;
    }
    const cocoeval::Rle r = MakeRle(1, sum, c);
    const std::string s = ToString(r);
    for (char ch : s) ASSERT_TRUE(ch >= '0' && ch <= 'o');
    EXPECT_EQ(FromString(s, 1, sum).counts, c);
  }
}

TEST(StringTest, KnownEncodings) {
  EXPECT_EQ(ToString(MakeRle(4, 4, {0, 5, 3, 0, 8})), "053K5");
  EXPECT_EQ(ToString(MakeRle(0, 0, {})), "");
  EXPECT_EQ(FromString("", 0, 5).counts, Counts{});
  // Seven-character values decode with the reference's 32-bit artefacts.
  EXPECT_EQ(FromString("0PPPPPP21QPPPPPN", 1, 4294967290u).counts,
            (Counts{0, 2147483648u, 1, 2147483641u}));
  EXPECT_EQ(FromString("0UPPPPP2", 1, 2147483653u).counts, (Counts{0, 2147483653u}));
}

TEST(StringTest, MalformedInputThrows) {
  const std::vector<std::string> bad = {
      "0P",    // truncated: continuation bit on last char
      "P",     // truncated single value
      "05 3",  // space
      std::string("05\0"
                  "3",
                  4),            // embedded NUL
      "05p",                     // 'p' is past the alphabet
      "05/",                     // '/' is before it
      "\xff\xfe",                // high bytes
      "0PPPPPPP1",               // 8-character value
      "0oooooooooooooooooooo1",  // very long value
      "6",                       // 6 > h*w
      "01",                      // sums to 1 < h*w
      "?",                       // negative value wraps to ~2^32
  };
  for (const std::string& s : bad) {
    EXPECT_THROW(FromString(s, 2, 2), InputError) << s;
  }
  EXPECT_THROW(FromString("0", uint64_t{1} << 33, uint64_t{1} << 33), InputError);
  try {
    FromString("01p", 2, 2);
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("invalid character"), std::string::npos) << e.what();
  }
}

TEST(StringTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(11);
  int ok = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s(rng() % 24, '\0');
    for (char& ch : s) {
      ch = static_cast<char>(rng() % 4 ? 48 + rng() % 64 : rng() % 256);
    }
    const uint64_t h = rng() % 6, w = rng() % 6;
    try {
      const cocoeval::Rle r = FromString(s, h, w);
      ++ok;
      EXPECT_EQ(Decode(r).size(), h * w);
      EXPECT_LE(Area(r), h * w);
      const std::string again = ToString(r);
      EXPECT_EQ(FromString(again, h, w).counts, r.counts);
    } catch (const InputError&) {
    }
  }
  EXPECT_GT(ok, 0);
}

TEST(BoxIouTest, CrowdAndNoOverlap) {
  const double dt[8] = {0, 0, 10, 10, 20, 20, 5, 5};
  const double gt[8] = {5, 0, 10, 10, 0, 0, 20, 20};
  const uint8_t crowd[2] = {0, 1};
  double out[4];
  BoxIou(dt, 2, gt, 2, crowd, out);
  EXPECT_EQ(out[0], 50.0 / 150.0);
  EXPECT_EQ(out[1], 1.0);  // crowd: intersection / detection area
  EXPECT_EQ(out[2], 0.0);
  EXPECT_EQ(out[3], 0.0);  // touching at a corner: no overlap
  BoxIou(dt, 2, gt, 2, nullptr, out);
  EXPECT_EQ(out[1], 100.0 / 400.0);
}

TEST(RleIouTest, SizeMismatchAndCrowd) {
  const cocoeval::Rle a = MakeRle(2, 2, {0, 2, 2});  // column 0
  const cocoeval::Rle b = MakeRle(2, 2, {0, 4});     // everything
  const cocoeval::Rle c = MakeRle(4, 1, {0, 2, 2});  // other size, overlaps
  const cocoeval::Rle far = MakeRle(3, 3, {8, 1});   // other size, disjoint box
  const cocoeval::Rle gts[3] = {b, c, far};
  const uint8_t crowd[3] = {1, 0, 0};
  double out[3];
  RleIou(&a, 1, gts, 3, crowd, out);
  EXPECT_EQ(out[0], 1.0);
  EXPECT_EQ(out[1], -1.0);
  EXPECT_EQ(out[2], 0.0);
  RleIou(&a, 1, gts, 1, nullptr, out);
  EXPECT_EQ(out[0], 0.5);
  const cocoeval::Rle bad = MakeRle(2, 2, {0, 3});  // sums to 3, not 4
  EXPECT_THROW(RleIou(&bad, 1, &b, 1, nullptr, out), InputError);
  RleIou(nullptr, 0, &b, 1, nullptr, out);  // empty: no-op
}

// ToBbox divides with a multiply-shift: compare with plain division on
// random masks of odd and extreme heights (including 1 and 2^32 - 1).
std::array<double, 4> ToBboxReference(const Rle& rle) {
  const uint32_t h = static_cast<uint32_t>(rle.h), w = static_cast<uint32_t>(rle.w);
  const size_t m = rle.counts.size() / 2 * 2;
  if (m == 0) return {0, 0, 0, 0};
  uint32_t xs = w, ys = h, xe = 0, ye = 0, cc = 0;
  for (size_t j = 0; j < m; ++j) {
    const uint32_t start = cc;
    cc += rle.counts[j];
    if (j % 2 == 0 || rle.counts[j] == 0) continue;
    const uint32_t y_start = start % h, x_start = (start - y_start) / h;
    const uint32_t y_end = (cc - 1) % h, x_end = (cc - 1 - y_end) / h;
    xs = std::min(xs, x_start);
    xe = std::max(xe, x_end);
    if (x_start < x_end) {
      ys = 0;
      ye = h - 1;
    } else {
      ys = std::min(ys, y_start);
      ye = std::max(ye, y_end);
    }
  }
  return {double(xs), double(ys), double(xe - xs + 1), double(ye - ys + 1)};
}

TEST(ToBboxTest, FastDivisionMatchesPlainDivision) {
  std::mt19937_64 rng(7);
  const uint64_t heights[] = {1, 2, 3, 5, 7, 427, 640, 65537, 0x7FFFFFFFu, 0xFFFFFFFFu};
  for (uint64_t h : heights) {
    for (int trial = 0; trial < 200; ++trial) {
      Rle r;
      r.h = h;
      r.w = 1 + rng() % 50;
      const int runs = 2 + static_cast<int>(rng() % 20);
      for (int k = 0; k < runs; ++k) {
        // Mostly small runs, sometimes huge ones (32-bit wrap-around).
        r.counts.push_back(rng() % 4 == 0 ? static_cast<uint32_t>(rng())
                                          : static_cast<uint32_t>(rng() % (2 * h + 3)));
      }
      EXPECT_EQ(ToBbox(r), ToBboxReference(r)) << "h=" << h << " trial " << trial;
    }
  }
}

TEST(RleIouTest, MaskSetOverloadMatches) {
  std::mt19937_64 rng(11);
  MaskSet dt, gt;
  const size_t n = 12, m = 7;
  dt.Resize(n);
  gt.Resize(m);
  auto random_mask = [&](uint64_t h, uint64_t w) {
    std::vector<uint8_t> px(h * w);
    const uint64_t x0 = rng() % w, y0 = rng() % h, x1 = x0 + rng() % (w - x0 + 1),
                   y1 = y0 + rng() % (h - y0 + 1);
    for (uint64_t x = x0; x < x1; ++x) {
      for (uint64_t y = y0; y < y1; ++y) px[x * h + y] = 1;
    }
    if (rng() % 3 == 0) px[rng() % (h * w)] ^= 1;
    return Encode(px.data(), h, w);
  };
  std::vector<Rle> dts, gts;
  for (size_t i = 0; i < n; ++i) {
    dts.push_back(random_mask(i % 5 == 4 ? 9 : 12, 10));  // some size mismatches: -1
    dt.Set(i, dts.back());
  }
  for (size_t j = 0; j < m; ++j) {
    gts.push_back(random_mask(12, 10));
    gt.Set(j, gts.back());
  }
  const uint8_t crowd[m] = {0, 1, 0, 0, 1, 0, 0};
  std::vector<double> a(n * m), b(n * m);
  RleIou(dts.data(), n, gts.data(), m, crowd, a.data());
  std::vector<uint32_t> di(n), gi(m);
  for (size_t i = 0; i < n; ++i) di[i] = static_cast<uint32_t>(i);
  for (size_t j = 0; j < m; ++j) gi[j] = static_cast<uint32_t>(j);
  RleIou(dt, di.data(), n, gt, gi.data(), m, crowd, b.data());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(double)));
  // A permuted subset by index equals the same subset by value.
  const uint32_t dsub[3] = {5, 0, 9}, gsub[2] = {6, 1};
  double c[6], d[6];
  const Rle dv[3] = {dts[5], dts[0], dts[9]}, gv[2] = {gts[6], gts[1]};
  const uint8_t crowd_sub[2] = {crowd[6], crowd[1]};
  RleIou(dv, 3, gv, 2, crowd_sub, c);
  RleIou(dt, dsub, 3, gt, gsub, 2, crowd_sub, d);
  EXPECT_EQ(0, std::memcmp(c, d, sizeof(c)));
}

}  // namespace
}  // namespace cocoeval
