// bindings/common.hpp — helpers shared by the binding files: validate arrays at the border,
// hand C++ vectors to NumPy without copying.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace seiscore::bindings {

namespace py = pybind11;

// Refuses anything that is not exactly dtype T (no silent casts): the Python wrappers coerce.
// Compared by equivalence, not identity: an array that went through pickle (a Dask worker)
// has an equal dtype that is not the same Python object.
template <class T>
void require_dtype(const py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<T, 0>>(a)) {
    throw py::value_error(std::string(name) + ": expected dtype " + std::string(py::str(py::dtype::of<T>())) +
                          ", got " + std::string(py::str(a.dtype())));
  }
}

inline void require_ndim(const py::array& a, py::ssize_t ndim, const char* name, const char* shape) {
  if (a.ndim() != ndim) {
    throw py::value_error(std::string(name) + ": expected " + std::to_string(ndim) + " dimensions " + shape +
                          ", got " + std::to_string(a.ndim()));
  }
}

// Element strides of an array of T (byte strides must be multiples of sizeof(T)).
template <class T>
std::int64_t element_stride(const py::array& a, py::ssize_t axis, const char* name) {
  const py::ssize_t s = a.strides(axis);
  if (s % static_cast<py::ssize_t>(sizeof(T)) != 0) {
    throw py::value_error(std::string(name) + ": misaligned strides; pass np.ascontiguousarray(...)");
  }
  return static_cast<std::int64_t>(s / static_cast<py::ssize_t>(sizeof(T)));
}

// A 1-D contiguous array of T with n elements (per-phase parameters and the like).
template <class T>
const T* vector_arg(const py::array& a, py::ssize_t n, const char* name) {
  require_dtype<T>(a, name);
  if (a.ndim() != 1 || a.shape(0) != n) {
    throw py::value_error(std::string(name) + ": expected a 1-D array of length " + std::to_string(n));
  }
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be contiguous");
  return static_cast<const T*>(a.data());
}

// A Python value converted to T, or TypeError naming the argument (pybind11's own cast error is
// a RuntimeError without the name).
template <class T>
T cast_arg(const py::handle& h, const std::string& name) {
  try {
    return h.cast<T>();
  } catch (const py::cast_error&) {
    throw py::type_error(name + ": cannot convert " + std::string(py::str(py::type::of(h).attr("__name__"))) +
                         " value " + std::string(py::repr(h)) + " to " +
                         (std::is_same<T, std::string>::value ? "str"
                          : std::is_integral<T>::value        ? "int"
                                                              : "float"));
  }
}

// Moves a vector into a 1-D NumPy array that owns it (no copy).
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({static_cast<py::ssize_t>(heap->size())}, {static_cast<py::ssize_t>(sizeof(T))},
                        heap->data(), owner);
}

}  // namespace seiscore::bindings
