// numpy's pairwise summation, shared by summarize (np.mean) and OKS
// (np.sum): a naive running sum differs from numpy in the last bit.
#ifndef COCOEVAL_CC_PAIRWISE_SUM_H_
#define COCOEVAL_CC_PAIRWISE_SUM_H_

#include <cstddef>

namespace cocoeval {

// np.add.reduce on a contiguous float64 array (numpy's pairwise_sum:
// blocks of 128 summed with 8 accumulators, larger arrays split in halves
// rounded to a multiple of 8).
inline double PairwiseSum(const double* a, size_t n) {
  constexpr size_t kBlock = 128;  // numpy's PW_BLOCKSIZE
  if (n < 8) {
    double res = 0.0;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= kBlock) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return PairwiseSum(a, n2) + PairwiseSum(a + n2, n - n2);
}

}  // namespace cocoeval

#endif  // COCOEVAL_CC_PAIRWISE_SUM_H_
