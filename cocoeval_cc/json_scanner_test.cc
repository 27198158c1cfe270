#include "cocoeval_cc/json_scanner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

namespace cocoeval {
namespace {

bool Parse(const std::string& s, double* d) {
  return ParseJsonDouble(s.data(), s.data() + s.size(), d);
}

TEST(ParseJsonDoubleTest, CorrectlyRounded) {
  const char* cases[] = {"0",
                         "-0",
                         "1",
                         "0.1",
                         "0.3",
                         "123.456",
                         "1e10",
                         "1E-5",
                         "2.5e+3",
                         "0.8999999999999999",
                         "9007199254740993",
                         "12345678901234567890",
                         "0.0000757997975717062904265",  // simdjson 3.0.1 gets this one wrong
                         "0.0909677680046276697140",
                         "2.2250738585072011e-308",
                         "4.9e-324",
                         "1.7976931348623157e308",
                         "123456789012345678901234567890e-10"};
  for (const char* c : cases) {
    double d;
    ASSERT_TRUE(Parse(c, &d)) << c;
    EXPECT_EQ(d, std::strtod(c, nullptr)) << c;
  }
  double d;
  ASSERT_TRUE(Parse("-0", &d));
  EXPECT_TRUE(std::signbit(d));
}

TEST(ParseJsonDoubleTest, RandomAgainstStrtod) {
  std::mt19937_64 rng(1);
  char buf[64];
  for (int i = 0; i < 200000; ++i) {
    const double v =
        std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 200) - 150);
    const int digits = 1 + static_cast<int>(rng() % 25);
    std::snprintf(buf, sizeof(buf), (i % 2) ? "%.*g" : "%.*f", digits, v);
    double d;
    ASSERT_TRUE(Parse(buf, &d)) << buf;
    ASSERT_EQ(d, std::strtod(buf, nullptr)) << buf;
  }
}

TEST(ParseJsonDoubleTest, OutOfRangeLikePython) {
  double d;
  ASSERT_TRUE(Parse("1e-400", &d));
  EXPECT_EQ(d, 0.0);
  ASSERT_TRUE(Parse("1e400", &d));
  EXPECT_TRUE(std::isinf(d));
  ASSERT_TRUE(Parse("-1e400", &d));
  EXPECT_TRUE(std::isinf(d) && d < 0);
}

TEST(ParseJsonDoubleTest, RejectsNonJsonNumbers) {
  for (const char* c :
       {"", "-", "01", "1.", ".5", "+1", "1e", "1e+", "NaN", "Infinity", "0x10", "1.5.2", "1 "}) {
    double d;
    EXPECT_FALSE(Parse(c, &d)) << c;
  }
}

TEST(ScanResultsTest, FastPathOnlyForPlainRecords) {
  IdIndex images, cats;
  images.Build({10, 20});
  cats.Build({1});
  ScannedResults out;
  const std::string ok =
      R"( [ {"image_id": 20, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "id": 3, "x": null, "name": "a\"b\u00e9"} ] )";
  ASSERT_TRUE(ScanResults(ok.data(), ok.data() + ok.size(), ScanPart::kWhole, images, cats, &out));
  EXPECT_EQ(out.image, (std::vector<uint32_t>{1}));
  EXPECT_EQ(out.bbox, (std::vector<double>{1, 2, 3, 4}));
  for (
      const char* bad :
      {R"([])", R"([{"image_id": 20, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}] x)",
       R"([{"image_id": 30, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}])",
       R"([{"image_id": 20, "category_id": 1, "bbox": [1, 2, 3], "score": 0.5}])",
       R"([{"image_id": 20, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "segmentation": []}])",
       R"([{"image_id": 20, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "name": "été"}])",
       R"([{"image_id": 20, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "name": "a\qb"}])",
       R"([{"image_id": 20, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "name": {}}])",
       R"([{"image_id": 20, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5},])",
       R"([{"image_id": 20, "category_\u0069d": 1, "bbox": [1, 2, 3, 4], "score": 0.5}])"}) {
    ScannedResults r;
    EXPECT_FALSE(ScanResults(bad, bad + std::strlen(bad), ScanPart::kWhole, images, cats, &r))
        << bad;
  }
}

TEST(ScanResultsTest, HeadAndTail) {
  IdIndex images, cats;
  images.Build({10});
  cats.Build({1});
  const std::string doc =
      R"([{"image_id": 10, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 10, "category_id": 1, "bbox": [5, 6, 7, 8], "score": 0.25}])";
  const size_t close = doc.find('}');
  const size_t open = doc.find('{', close);
  ScannedResults head, tail;
  ASSERT_TRUE(
      ScanResults(doc.data(), doc.data() + close + 1, ScanPart::kHead, images, cats, &head));
  ASSERT_TRUE(ScanResults(doc.data() + open, doc.data() + doc.size(), ScanPart::kTail, images, cats,
                          &tail));
  EXPECT_EQ(head.score, (std::vector<double>{0.5}));
  EXPECT_EQ(tail.score, (std::vector<double>{0.25}));
  // A split point inside a record is refused.
  ScannedResults bad;
  EXPECT_FALSE(ScanResults(doc.data(), doc.data() + close, ScanPart::kHead, images, cats, &bad));
}

}  // namespace
}  // namespace cocoeval
