// The one parallel loop of the evaluator: loading, evaluate and accumulate
// all use it. Indices are handed out in blocks from a shared counter, so the
// order in which they run varies between runs; callers keep results
// independent of the thread count by writing every output element from
// exactly one index.
#ifndef COCOEVAL_CC_PARALLEL_FOR_H_
#define COCOEVAL_CC_PARALLEL_FOR_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace cocoeval {

// The worker state of loops that need none.
struct NoWorkerState {};

// Calls fn(i) -- or fn(i, state) -- for every i in [0, n) on up to
// `num_threads` threads, the caller's included. Threads take `block_size`
// consecutive indices at a time (1 balances few, uneven items; larger
// blocks cut the counter traffic for many small ones). `WorkerState` is
// default-constructed once per thread and passed to every call on that
// thread, for scratch buffers reused across indices. The first exception
// thrown by fn stops the loop and is rethrown here.
template <typename WorkerState = NoWorkerState, typename Fn>
void ParallelFor(size_t n, int num_threads, size_t block_size, Fn&& fn) {
  block_size = std::max<size_t>(block_size, 1);
  const size_t blocks = (n + block_size - 1) / block_size;
  const size_t workers = std::min<size_t>(static_cast<size_t>(std::max(num_threads, 1)), blocks);
  std::atomic<size_t> next_block{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&]() {
    WorkerState state;
    try {
      for (;;) {
        const size_t b = next_block.fetch_add(1);
        if (b >= blocks) break;
        const size_t end = std::min(n, (b + 1) * block_size);
        for (size_t i = b * block_size; i < end; ++i) {
          if constexpr (std::is_invocable_v<Fn&, size_t, WorkerState&>) {
            fn(i, state);
          } else {
            fn(i);
          }
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next_block.store(blocks);  // the other threads stop at their next block
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace cocoeval

#endif  // COCOEVAL_CC_PARALLEL_FOR_H_
