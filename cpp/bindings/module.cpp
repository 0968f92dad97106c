// bindings/module.cpp — the seiscore._core extension: registers every stage's bindings, in
// pipeline order (picking → traveltime → association → location → correlation), so that the
// submodules appear in the order a reader meets them in the docs.
#include "common.hpp"
#include "seiscore/core/interrupt.hpp"

#ifndef SEISCORE_VERSION_INFO
#define SEISCORE_VERSION_INFO "unknown"
#endif

namespace seiscore::bindings {
void bind_build_info(py::module_& m);
void bind_picking(py::module_& m);
void bind_correlation(py::module_& m);
void bind_traveltime(py::module_& m);
void bind_association(py::module_& m);
void bind_phaselink(py::module_& m);  // into _core.association (after bind_association)
void bind_location(py::module_& m);

namespace {

// Python's main thread (signal handlers run only there), as PyThread_get_thread_ident() sees it.
unsigned long g_python_main_thread = 0;

// The exception a signal handler raised inside a kernel (KeyboardInterrupt for Ctrl-C, or
// whatever an alarm handler raises), kept until the kernel has unwound to its binding.
PyObject* g_pending_type = nullptr;
PyObject* g_pending_value = nullptr;
PyObject* g_pending_traceback = nullptr;

// Kernels' interrupt hook: on the main thread, let Python run its signal handlers (Ctrl-C);
// a handler that raised means stop. Its exception is kept and raised again when the kernel's
// Interrupted reaches the binding (see the translator in PYBIND11_MODULE).
bool python_signal_pending() {
  if (PyThread_get_thread_ident() != g_python_main_thread) return false;
#if PY_VERSION_HEX >= 0x030D0000
  if (!Py_IsInitialized() || Py_IsFinalizing()) return false;
#else
  if (!Py_IsInitialized() || _Py_IsFinalizing()) return false;
#endif
  const PyGILState_STATE gil = PyGILState_Ensure();
  const bool stop = PyErr_CheckSignals() != 0;
  if (stop) {
    Py_XDECREF(g_pending_type);
    Py_XDECREF(g_pending_value);
    Py_XDECREF(g_pending_traceback);
    PyErr_Fetch(&g_pending_type, &g_pending_value, &g_pending_traceback);
  }
  PyGILState_Release(gil);
  return stop;
}

}  // namespace

}  // namespace seiscore::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "seiscore's compiled C++ core (kernels; use the seiscore package, not this module)";
  m.attr("__version__") = SEISCORE_VERSION_INFO;
  // seiscore::InvalidArgument derives from std::invalid_argument → ValueError (pybind11 default).
  // seiscore::Interrupted (a signal inside a kernel) → the exception its Python handler raised
  // (KeyboardInterrupt for Ctrl-C), the stop flag cleared.
  seiscore::bindings::g_python_main_thread =
      pybind11::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  seiscore::set_interrupt_hook(&seiscore::bindings::python_signal_pending);
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const seiscore::Interrupted&) {
      seiscore::clear_interrupt();
      namespace b = seiscore::bindings;
      if (b::g_pending_type != nullptr) {  // the signal handler's own exception
        PyErr_Restore(b::g_pending_type, b::g_pending_value, b::g_pending_traceback);
        b::g_pending_type = b::g_pending_value = b::g_pending_traceback = nullptr;
      } else {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
      }
    }
  });
  seiscore::bindings::bind_build_info(m);
  seiscore::bindings::bind_picking(m);
  seiscore::bindings::bind_traveltime(m);
  seiscore::bindings::bind_association(m);
  seiscore::bindings::bind_phaselink(m);
  seiscore::bindings::bind_location(m);
  seiscore::bindings::bind_correlation(m);
}
