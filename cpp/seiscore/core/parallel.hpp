// seiscore/core/parallel.hpp — the one place that knows how threads are made.
//
// parallel_for(n, workers, fn) calls fn(i) for every i in [0, n), spread over `workers`
// threads (workers <= 0 means: all hardware threads, or OMP_NUM_THREADS when OpenMP is used).
// Iterations are handed out dynamically, so uneven tasks balance. fn must not throw across
// threads: exceptions are caught, the remaining work is still drained, and the first one is
// rethrown on the calling thread. Every iteration starts at an interrupt point
// (core/interrupt.hpp), so an interrupted loop drains at once.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "seiscore/core/interrupt.hpp"

#if defined(SEISCORE_HAVE_OPENMP)
#include <omp.h>
#endif

namespace seiscore {

inline int default_workers() {
#if defined(SEISCORE_HAVE_OPENMP)
  return std::max(1, omp_get_max_threads());
#else
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
#endif
}

inline int resolve_workers(int workers) { return workers > 0 ? workers : default_workers(); }

template <class Fn>
void parallel_for(std::int64_t n, int workers, Fn&& fn) {
  if (n <= 0) return;
  const int nw = static_cast<int>(std::min<std::int64_t>(resolve_workers(workers), n));
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto guarded = [&](std::int64_t i) {
    try {
      interrupt_point();
      fn(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
    }
  };
  if (nw <= 1) {
    for (std::int64_t i = 0; i < n; ++i) guarded(i);
  } else {
#if defined(SEISCORE_HAVE_OPENMP)
#pragma omp parallel for schedule(dynamic, 1) num_threads(nw)
    for (std::int64_t i = 0; i < n; ++i) guarded(i);
#else
    // The calling thread is one of the workers, so that it reaches interrupt points (core/interrupt.hpp).
    std::atomic<std::int64_t> next{0};
    auto drain = [&] {
      for (std::int64_t i = next++; i < n; i = next++) guarded(i);
    };
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(nw - 1));
    for (int t = 1; t < nw; ++t) pool.emplace_back(drain);
    drain();
    for (auto& th : pool) th.join();
#endif
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace seiscore
