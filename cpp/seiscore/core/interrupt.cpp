#include "seiscore/core/interrupt.hpp"

#include <atomic>
#include <chrono>

namespace seiscore {

namespace {

std::atomic<InterruptHook> g_hook{nullptr};
std::atomic<bool> g_stop{false};
// When this thread last asked the hook (each thread asks at most every kPollEveryNs; a hook that
// only listens on one thread, as Python's signal check does, answers the others at once).
thread_local long long t_last_poll = 0;
constexpr long long kPollEveryNs = 50'000'000;

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void set_interrupt_hook(InterruptHook hook) { g_hook.store(hook); }

void clear_interrupt() { g_stop.store(false); }

bool interrupt_requested() { return g_stop.load(std::memory_order_relaxed); }

void interrupt_point() {
  if (g_stop.load(std::memory_order_relaxed)) throw Interrupted();
  const InterruptHook hook = g_hook.load(std::memory_order_relaxed);
  if (hook == nullptr) return;
  const long long now = now_ns();
  if (now - t_last_poll < kPollEveryNs) return;
  t_last_poll = now;
  if (hook()) {
    g_stop.store(true);
    throw Interrupted();
  }
}

}  // namespace seiscore
