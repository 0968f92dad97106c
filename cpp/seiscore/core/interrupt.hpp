// seiscore/core/interrupt.hpp — long kernels stop when the user asks (Ctrl-C), without knowing
// anything about Python.
//
// Kernels call interrupt_point() at a coarse grain (once per block, row or chunk of work: a
// few microseconds to milliseconds apart). It is cheap: an atomic load and a clock read; each
// thread asks the hook at most every 50 ms. When the hook answers "stop", every thread
// throws seiscore::Interrupted at its next interrupt point, parallel_for drains its remaining
// iterations quickly (each throws at its first interrupt point) and rethrows on the calling
// thread. The bindings install a hook that checks Python's signal handlers (so Ctrl-C raises
// KeyboardInterrupt) and translate Interrupted into KeyboardInterrupt.
//
// State: one process-wide hook (a function pointer, installed once when the extension loads) and
// one stop flag, cleared by clear_interrupt() when the interrupted call has returned. This is the
// only global state of the kernels; without a hook interrupt_point() never throws.
#pragma once

#include <stdexcept>

namespace seiscore {

class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

// Returns true when the work must stop. Called from any thread that reaches an interrupt
// point (so it must be thread-safe, and quick on threads it does not listen on); must not throw.
using InterruptHook = bool (*)();

void set_interrupt_hook(InterruptHook hook);

// Throws Interrupted when a stop was requested. Safe from any thread.
void interrupt_point();

// Forget a stop request (after the interrupted call has unwound).
void clear_interrupt();

// True when a stop was requested and not yet cleared (for loops that must not throw).
bool interrupt_requested();

}  // namespace seiscore
