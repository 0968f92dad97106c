#!/usr/bin/env bash
# The kernel tests under AddressSanitizer + UndefinedBehaviorSanitizer (gcc's runtimes).
#
#   tools/sanitize.sh [pytest arguments]      (default: the kernel, robustness and fuzz tests)
#
# Builds seiscore._core with -fsanitize=address,undefined into build-sanitize/ (CUDA off), then
# runs pytest with that extension loaded in place of the installed one (a sitecustomize in the
# build folder does it) and the ASan runtime preloaded, because the Python interpreter itself is
# not instrumented. Any ASan report aborts the process, and UBSan is made fatal, so a finding
# fails the run. Needs the package and its test extras installed (pip install ".[test]").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build-sanitize
PY=${PYTHON:-python}

cmake -S . -B "$BUILD" -DSEISCORE_CUDA=OFF -DSEISCORE_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPython_EXECUTABLE="$(command -v "$PY")" \
  -Dpybind11_DIR="$("$PY" -c 'import pybind11; print(pybind11.get_cmake_dir())')" >/dev/null
cmake --build "$BUILD" --target _core -j "$(nproc)"

SO=$(ls "$BUILD"/_core.cpython-*.so)
mkdir -p "$BUILD/site"
cat >"$BUILD/site/sitecustomize.py" <<PYEOF
# load the sanitizer build of seiscore._core instead of the installed one
import importlib.util, sys
spec = importlib.util.spec_from_file_location("seiscore._core", "$PWD/$SO")
mod = importlib.util.module_from_spec(spec)
sys.modules["seiscore._core"] = mod
spec.loader.exec_module(mod)
PYEOF

if [ $# -eq 0 ]; then
  set -- tests/picking/test_extract.py tests/picking/test_native.py tests/traveltime tests/association/test_association.py \
    tests/location/test_location.py tests/correlation/test_preprocess.py \
    tests/correlation/test_spectra.py tests/correlation/test_stack.py tests/robustness/test_kernels.py \
    tests/robustness/test_fuzz.py -m "not slow"
fi
export PYTHONPATH="$PWD/$BUILD/site${PYTHONPATH:+:$PYTHONPATH}"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
"$PY" -c "import seiscore._core as c; assert '$BUILD' in c.__file__, c.__file__; print('sanitized core:', c.__file__)"
"$PY" -m pytest -q -p no:cacheprovider "$@"
