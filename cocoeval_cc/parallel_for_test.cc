#include "cocoeval_cc/parallel_for.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace cocoeval {
namespace {

TEST(ParallelForTest, CallsEveryIndexOnce) {
  for (int threads : {1, 2, 3, 8}) {
    for (size_t n : {0, 1, 63, 64, 65, 1000}) {
      for (size_t block : {1, 64, 256}) {
        std::vector<std::atomic<int>> calls(n);
        ParallelFor(n, threads, block, [&](size_t i) { calls[i].fetch_add(1); });
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(calls[i].load(), 1)
              << "n=" << n << " threads=" << threads << " block=" << block;
        }
      }
    }
  }
}

// One state per thread: no two threads ever see the same state at once, and
// a thread keeps its state across blocks.
TEST(ParallelForTest, WorkerStateIsPerThread) {
  struct State {
    int calls = 0;
    std::atomic<int> in_use{0};
  };
  std::atomic<int> total{0};
  ParallelFor<State>(1000, 4, 8, [&](size_t, State& state) {
    EXPECT_EQ(state.in_use.fetch_add(1), 0);
    ++state.calls;
    total.fetch_add(1);
    state.in_use.fetch_sub(1);
  });
  EXPECT_EQ(total.load(), 1000);
}

TEST(ParallelForTest, RethrowsTheFirstException) {
  for (int threads : {1, 4}) {
    std::atomic<int> calls{0};
    EXPECT_THROW(ParallelFor(10000, threads, 16,
                             [&](size_t i) {
                               calls.fetch_add(1);
                               if (i == 100) throw std::runtime_error("boom");
                             }),
                 std::runtime_error);
    EXPECT_LT(calls.load(), 10000);  // the loop stops early
  }
}

TEST(ParallelForTest, NonPositiveThreadCountRunsOnTheCaller) {
  int sum = 0;  // not atomic: only the calling thread may touch it
  ParallelFor(100, 0, 1, [&](size_t i) { sum += static_cast<int>(i); });
  EXPECT_EQ(sum, 4950);
}

}  // namespace
}  // namespace cocoeval
