#include "cocoeval_cc/json_scanner.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

namespace cocoeval {
namespace {

// Powers of ten that doubles represent exactly (Clinger's fast path).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Scans one JSON number at p (grammar checked) and converts it with
// correct rounding in the same pass. Advances p past it.
bool ScanNumber(const char*& p, const char* end, double* out) {
  const char* start = p;
  const bool neg = p < end && *p == '-';
  p += neg;
  uint64_t mant = 0;
  int digits = 0;  // significant digits kept in mant; > 19 = too many
  int64_t exp10 = 0;
  bool int_nonzero = false;  // for telling overflow from underflow
  int64_t int_digits = 0, frac_zeros = 0, exp_value = 0;
  if (p >= end) return false;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    int_nonzero = true;
    for (; p < end && IsDigit(*p); ++p) {
      ++int_digits;
      if (digits < 19) {
        mant = mant * 10 + static_cast<uint64_t>(*p - '0');
        ++digits;
      } else {
        digits = 99;
      }
    }
  } else {
    return false;
  }
  if (p < end && *p == '.') {
    ++p;
    if (p >= end || !IsDigit(*p)) return false;
    for (; p < end && IsDigit(*p); ++p) {
      if (mant == 0 && *p == '0') {  // leading zeros are not significant
        --exp10;
        ++frac_zeros;
      } else if (digits < 19) {
        mant = mant * 10 + static_cast<uint64_t>(*p - '0');
        ++digits;
        --exp10;
      } else {
        digits = 99;
      }
    }
  }
  bool fast = digits <= 19 && mant <= (uint64_t{1} << 53);
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool eneg = false;
    if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p >= end || !IsDigit(*p)) return false;
    int64_t ev = 0;
    for (; p < end && IsDigit(*p); ++p) {
      if (ev < 100000) ev = ev * 10 + (*p - '0');
    }
    if (ev >= 100000) fast = false;
    exp_value = eneg ? -ev : ev;
    exp10 += exp_value;
  }
  if (fast && mant == 0) {
    *out = neg ? -0.0 : 0.0;
    return true;
  }
  if (fast && exp10 >= -22 && exp10 <= 22) {
    // mant and 10^|exp10| are exact doubles, so one IEEE operation gives
    // the correctly rounded value (Clinger's fast path).
    double d = static_cast<double>(mant);
    d = exp10 < 0 ? d / kPow10[-exp10] : d * kPow10[exp10];
    *out = neg ? -d : d;
    return true;
  }
  double d;
  const auto r = std::from_chars(start, p, d);
  if (r.ptr != p) return false;
  if (r.ec == std::errc::result_out_of_range) {
    // Python's float(): overflow gives inf, underflow gives 0.
    const int64_t magnitude = (int_nonzero ? int_digits : -frac_zeros) + exp_value;
    d = magnitude > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    d = neg ? -d : d;
  } else if (r.ec != std::errc()) {
    return false;
  }
  *out = d;
  return true;
}

class Scanner {
 public:
  Scanner(const char* p, const char* end) : p_(p), end_(end) {}

  const char* pos() const { return p_; }
  bool AtEnd() const { return p_ == end_; }

  void Ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool Eat(char c) {
    Ws();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    Ws();
    return p_ < end_ && *p_ == c;
  }

  // An ASCII key without escapes; returns its bytes. Non-ASCII keys go to
  // simdjson, which validates UTF-8 (found by fuzzing: an invalid byte in a
  // key was accepted here and rejected there).
  bool Key(const char** key, size_t* len) {
    if (!Eat('"')) return false;
    const char* k = p_;
    while (p_ < end_ && *p_ != '"') {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p_;
    }
    if (p_ == end_) return false;
    *key = k;
    *len = static_cast<size_t>(p_ - k);
    ++p_;
    return Eat(':');
  }

  // Scans a JSON number token; returns its extent and whether it is an
  // integer (no fraction, no exponent).
  bool NumberToken(const char** b, const char** e, bool* integer) {
    Ws();
    const char* s = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ >= end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && IsDigit(*p_)) ++p_;
    } else {
      return false;
    }
    *integer = true;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ >= end_ || !IsDigit(*p_)) return false;
      while (p_ < end_ && IsDigit(*p_)) ++p_;
      *integer = false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || !IsDigit(*p_)) return false;
      while (p_ < end_ && IsDigit(*p_)) ++p_;
      *integer = false;
    }
    *b = s;
    *e = p_;
    return true;
  }

  bool Double(double* out) {
    Ws();
    return ScanNumber(p_, end_, out);
  }

  // An integer id (the fast path leaves 1.0-style ids to simdjson).
  bool Int(int64_t* out) {
    const char *b, *e;
    bool integer;
    if (!NumberToken(&b, &e, &integer) || !integer) return false;
    const bool neg = *b == '-';
    const char* d = b + neg;
    if (e - d > 18) return false;  // may overflow: leave it to simdjson
    int64_t v = 0;
    for (; d < e; ++d) v = v * 10 + (*d - '0');
    *out = neg ? -v : v;
    return true;
  }

  // Skips an ASCII string with valid escapes (others go to simdjson, which
  // validates UTF-8).
  bool SkipString() {
    if (!Eat('"')) return false;
    while (p_ < end_) {
      const unsigned char c = static_cast<unsigned char>(*p_++);
      if (c == '"') return true;
      if (c < 0x20 || c >= 0x80) return false;
      if (c != '\\') continue;
      if (p_ >= end_) return false;
      const char e = *p_++;
      if (e == 'u') {
        for (int i = 0; i < 4; ++i, ++p_) {
          if (p_ >= end_ || !std::isxdigit(static_cast<unsigned char>(*p_))) return false;
        }
      } else if (!std::strchr("\"\\/bfnrt", e) || e == 0) {
        return false;
      }
    }
    return false;
  }

  // Reads an ASCII string without escapes (names); others end the fast path.
  bool PlainString(std::string* out) {
    if (!Eat('"')) return false;
    const char* b = p_;
    while (p_ < end_ && *p_ != '"') {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p_;
    }
    if (p_ == end_) return false;
    out->assign(b, p_);
    ++p_;
    return true;
  }

  // Skips any value (depth-limited); returns false on what the fast path
  // does not accept.
  bool SkipValue(int depth = 0) {
    Ws();
    if (p_ >= end_ || depth > 64) return false;
    if (*p_ == '[') {
      ++p_;
      if (Eat(']')) return true;
      for (;;) {
        if (!SkipValue(depth + 1)) return false;
        if (Eat(',')) continue;
        return Eat(']');
      }
    }
    if (*p_ == '{') {
      ++p_;
      if (Eat('}')) return true;
      for (;;) {
        const char* key;
        size_t len;
        if (!Key(&key, &len) || !SkipValue(depth + 1)) return false;
        if (Eat(',')) continue;
        return Eat('}');
      }
    }
    return SkipScalar();
  }

  // Skips a number, string, true, false or null; anything else ends the
  // fast path.
  bool SkipScalar() {
    Ws();
    if (p_ >= end_) return false;
    auto literal = [&](const char* lit, size_t n) {
      if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, lit, n) != 0) return false;
      p_ += n;
      return true;
    };
    switch (*p_) {
      case '"':
        return SkipString();
      case 't':
        return literal("true", 4);
      case 'f':
        return literal("false", 5);
      case 'n':
        return literal("null", 4);
      default: {
        const char *b, *e;
        bool integer;
        return NumberToken(&b, &e, &integer);
      }
    }
  }

 private:
  const char* p_;
  const char* end_;
};

inline bool KeyIs(const char* key, size_t len, const char* lit, size_t lit_len) {
  return len == lit_len && std::memcmp(key, lit, len) == 0;
}

// A result's 'keypoints': non-empty x, y, v triples of finite numbers;
// appends the x, y pairs to out->kp_xy.
bool Keypoints(Scanner& s, ScannedResults* out) {
  if (!s.Eat('[')) return false;
  size_t n = 0;
  for (;;) {
    double v;
    if (!s.Double(&v) || !std::isfinite(v)) return false;
    if (n % 3 != 2) out->kp_xy.push_back(v);
    ++n;
    if (s.Eat(',')) continue;
    if (s.Eat(']')) break;
    return false;
  }
  return n % 3 == 0;
}

bool Record(Scanner& s, const IdIndex& images, const IdIndex& categories, ScannedResults* out) {
  if (!s.Eat('{')) return false;
  int64_t image_id = 0, category_id = 0;
  double box[4];
  double score = 0;
  bool has_image = false, has_cat = false, has_score = false, has_keypoints = false;
  const uint64_t kp_before = out->kp_xy.size();
  int box_n = -1;
  if (s.Eat('}')) return false;
  for (;;) {
    const char* key;
    size_t len;
    if (!s.Key(&key, &len)) return false;
    if (KeyIs(key, len, "image_id", 8)) {
      if (!s.Int(&image_id)) return false;
      has_image = true;
    } else if (KeyIs(key, len, "category_id", 11)) {
      if (!s.Int(&category_id)) return false;
      has_cat = true;
    } else if (KeyIs(key, len, "bbox", 4)) {
      if (!s.Eat('[')) return false;
      box_n = 0;
      if (!s.Eat(']')) {
        for (;;) {
          if (box_n == 4 || !s.Double(&box[box_n])) return false;
          ++box_n;
          if (s.Eat(',')) continue;
          if (s.Eat(']')) break;
          return false;
        }
      }
    } else if (KeyIs(key, len, "score", 5)) {
      if (!s.Double(&score)) return false;
      has_score = true;
    } else if (KeyIs(key, len, "segmentation", 12)) {
      return false;
    } else if (KeyIs(key, len, "keypoints", 9)) {
      if (has_keypoints || !Keypoints(s, out)) return false;
      has_keypoints = true;
    } else if (!s.SkipScalar()) {
      return false;
    }
    if (s.Eat(',')) continue;
    if (s.Eat('}')) break;
    return false;
  }
  if (!has_image || !has_cat || !has_score) return false;
  if (!std::isfinite(score)) return false;
  if (box_n == 4) {
    for (int i = 0; i < 4; ++i) {
      if (!std::isfinite(box[i])) return false;
    }
    if (box[2] < 0 || box[3] < 0) return false;
  } else if (box_n == -1 && has_keypoints) {
    box[0] = box[1] = box[2] = box[3] = std::numeric_limits<double>::quiet_NaN();
  } else {
    return false;
  }
  const int64_t img = images.Find(image_id);
  const int64_t cat = categories.Find(category_id);
  if (img < 0 || cat < 0) return false;
  out->image.push_back(static_cast<uint32_t>(img));
  out->category.push_back(static_cast<uint32_t>(cat));
  out->bbox.insert(out->bbox.end(), box, box + 4);
  out->score.push_back(score);
  if (has_keypoints || !out->kp_end.empty()) {
    // Earlier records without keypoints end where this one begins.
    out->kp_end.resize(out->score.size() - 1, kp_before);
    out->kp_end.push_back(out->kp_xy.size());
  }
  return true;
}

}  // namespace

namespace {

bool ScanImages(Scanner& s, ScannedGroundTruth* out) {
  if (!s.Eat('[')) return false;
  if (s.Eat(']')) return true;
  for (;;) {
    if (!s.Eat('{')) return false;
    int64_t id = 0, h = -1, w = -1;
    bool has_id = false;
    if (!s.Eat('}')) {
      for (;;) {
        const char* key;
        size_t len;
        if (!s.Key(&key, &len)) return false;
        if (KeyIs(key, len, "id", 2)) {
          if (!s.Int(&id)) return false;
          has_id = true;
        } else if (KeyIs(key, len, "height", 6)) {
          if (!s.Int(&h) || h < 0) return false;
        } else if (KeyIs(key, len, "width", 5)) {
          if (!s.Int(&w) || w < 0) return false;
        } else if (!s.SkipValue()) {
          return false;
        }
        if (s.Eat(',')) continue;
        if (s.Eat('}')) break;
        return false;
      }
    }
    if (!has_id) return false;
    out->image_ids.push_back(id);
    out->image_heights.push_back(h);
    out->image_widths.push_back(w);
    if (s.Eat(',')) continue;
    return s.Eat(']');
  }
}

bool ScanCategories(Scanner& s, ScannedGroundTruth* out) {
  if (!s.Eat('[')) return false;
  if (s.Eat(']')) return true;
  for (;;) {
    if (!s.Eat('{')) return false;
    int64_t id = 0;
    bool has_id = false;
    std::string name, super;
    if (!s.Eat('}')) {
      for (;;) {
        const char* key;
        size_t len;
        if (!s.Key(&key, &len)) return false;
        if (KeyIs(key, len, "id", 2)) {
          if (!s.Int(&id)) return false;
          has_id = true;
        } else if (KeyIs(key, len, "name", 4)) {
          if (!s.PlainString(&name)) return false;
        } else if (KeyIs(key, len, "supercategory", 13)) {
          if (!s.PlainString(&super)) return false;
        } else if (!s.SkipValue()) {
          return false;
        }
        if (s.Eat(',')) continue;
        if (s.Eat('}')) break;
        return false;
      }
    }
    if (!has_id) return false;
    out->category_ids.push_back(id);
    out->category_names.push_back(std::move(name));
    out->category_supercategories.push_back(std::move(super));
    if (s.Eat(',')) continue;
    return s.Eat(']');
  }
}

bool ScanAnnotations(Scanner& s, const char* doc, ScannedGroundTruth* out) {
  if (!s.Eat('[')) return false;
  if (s.Eat(']')) return true;
  for (;;) {
    if (!s.Eat('{')) return false;
    int64_t id = 0, image_id = 0, category_id = 0, iscrowd = 0;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    double box[4] = {nan, nan, nan, nan};
    double area = 0;
    bool has_id = false, has_image = false, has_cat = false, has_area = false;
    uint64_t seg_b = 0, seg_e = 0, kp_b = 0, kp_e = 0;
    double num_keypoints = nan;
    if (s.Eat('}')) return false;
    for (;;) {
      const char* key;
      size_t len;
      if (!s.Key(&key, &len)) return false;
      if (KeyIs(key, len, "id", 2)) {
        if (!s.Int(&id)) return false;
        has_id = true;
      } else if (KeyIs(key, len, "image_id", 8)) {
        if (!s.Int(&image_id)) return false;
        has_image = true;
      } else if (KeyIs(key, len, "category_id", 11)) {
        if (!s.Int(&category_id)) return false;
        has_cat = true;
      } else if (KeyIs(key, len, "area", 4)) {
        // Non-finite areas (1e400 overflows to inf) go to the simdjson path,
        // which reports them.
        if (!s.Double(&area) || !std::isfinite(area)) return false;
        has_area = true;
      } else if (KeyIs(key, len, "iscrowd", 7)) {
        s.Ws();
        if (s.Peek('t') || s.Peek('f')) {
          const char* b = s.pos();
          if (!s.SkipScalar()) return false;
          iscrowd = *b == 't';
        } else if (!s.Int(&iscrowd)) {
          return false;
        }
      } else if (KeyIs(key, len, "bbox", 4)) {
        if (!s.Eat('[')) return false;
        int n = 0;
        if (s.Eat(']')) return false;
        for (;;) {
          if (n == 4 || !s.Double(&box[n])) return false;
          ++n;
          if (s.Eat(',')) continue;
          if (s.Eat(']')) break;
          return false;
        }
        if (n != 4) return false;
        for (double v : box) {
          if (!std::isfinite(v)) return false;
        }
        if (box[2] < 0 || box[3] < 0) return false;
      } else if (KeyIs(key, len, "segmentation", 12)) {
        s.Ws();
        if (!s.Peek('[') && !s.Peek('{')) return false;
        seg_b = static_cast<uint64_t>(s.pos() - doc);
        if (!s.SkipValue()) return false;
        seg_e = static_cast<uint64_t>(s.pos() - doc);
      } else if (KeyIs(key, len, "keypoints", 9)) {
        s.Ws();
        if (!s.Peek('[')) return false;
        kp_b = static_cast<uint64_t>(s.pos() - doc);
        if (!s.SkipValue()) return false;
        kp_e = static_cast<uint64_t>(s.pos() - doc);
      } else if (KeyIs(key, len, "num_keypoints", 13)) {
        if (!s.Double(&num_keypoints) || !std::isfinite(num_keypoints)) return false;
      } else if (!s.SkipValue()) {
        return false;
      }
      if (s.Eat(',')) continue;
      if (s.Eat('}')) break;
      return false;
    }
    if (!has_id || !has_image || !has_cat || !has_area) return false;
    out->ann_ids.push_back(id);
    out->ann_image_ids.push_back(image_id);
    out->ann_category_ids.push_back(category_id);
    out->ann_bbox.insert(out->ann_bbox.end(), box, box + 4);
    out->ann_area.push_back(area);
    out->ann_iscrowd.push_back(iscrowd != 0);
    out->segm_begin.push_back(seg_b);
    out->segm_end.push_back(seg_e);
    out->keypoints_begin.push_back(kp_b);
    out->keypoints_end.push_back(kp_e);
    out->ann_num_keypoints.push_back(num_keypoints);
    if (s.Eat(',')) continue;
    return s.Eat(']');
  }
}

}  // namespace

bool ScanGroundTruth(const char* begin, const char* end, ScannedGroundTruth* out) {
  Scanner s(begin, end);
  if (!s.Eat('{')) return false;
  bool images = false, cats = false, anns = false;
  if (s.Eat('}')) return false;
  for (;;) {
    const char* key;
    size_t len;
    if (!s.Key(&key, &len)) return false;
    if (KeyIs(key, len, "images", 6)) {
      if (images || !ScanImages(s, out)) return false;
      images = true;
    } else if (KeyIs(key, len, "categories", 10)) {
      if (cats || !ScanCategories(s, out)) return false;
      cats = true;
    } else if (KeyIs(key, len, "annotations", 11)) {
      if (anns || !ScanAnnotations(s, begin, out)) return false;
      anns = true;
    } else if (!s.SkipValue()) {
      return false;
    }
    if (s.Eat(',')) continue;
    if (s.Eat('}')) break;
    return false;
  }
  s.Ws();
  return s.AtEnd() && images && cats && anns;
}

bool ParseJsonDouble(const char* b, const char* e, double* out) {
  const char* p = b;
  return ScanNumber(p, e, out) && p == e;
}

bool ScanResults(const char* begin, const char* end, ScanPart part, const IdIndex& images,
                 const IdIndex& categories, ScannedResults* out) {
  Scanner s(begin, end);
  if (part != ScanPart::kTail) {
    if (!s.Eat('[')) return false;
    if (s.Peek(']')) return false;  // empty: the slow path says so
  }
  for (;;) {
    if (!Record(s, images, categories, out)) return false;
    if (part == ScanPart::kHead && s.AtEnd()) return true;
    if (s.Eat(',')) continue;
    if (part == ScanPart::kHead) return false;
    if (!s.Eat(']')) return false;
    s.Ws();
    return s.AtEnd();
  }
}

}  // namespace cocoeval
