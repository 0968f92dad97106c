"""Run a model: load the ONNX file with its card (:mod:`.card`) into ONNX Runtime.

Bundled models live in ``seiscore/data/models/<name>/<name>.onnx``; ``load_model("phasenet")``
finds them by name, ``load_model("/path/model.onnx")`` reads ``model.json`` beside it, and
``load_model(path, card=...)`` takes a card from elsewhere (a dict or a JSON path).
``load_model("phasenet", precision="int8")`` loads the bundled fast variant of a model (the
model whose card says ``variant_of: "phasenet"`` and ``precision: "int8"``).

Engines: on the CPU a window picker made only of 1-D convolutions, transposed convolutions,
concatenations, crops and a softmax (PhaseNet and its fine-tuned copies) runs in seiscore's own
C++ kernel (:mod:`.native`, ``engine="native"``), the same ONNX file's weights, about 1.3x ONNX
Runtime's speed; anything else runs in ONNX Runtime (``engine="onnxruntime"``).
``engine="auto"`` (the default) takes the native kernel when it can run the model and the CPU
has AVX2 or AVX-512 (its version for older CPUs is 3x slower than with AVX2), else ONNX
Runtime; ``Model.engine`` says which ran, ``Model.engine_note`` why the native kernel did not.

Running: :meth:`Model.run` takes an input array and returns new output arrays;
:meth:`Model.run_into` writes the output into a buffer the caller owns (ONNX Runtime's IO
binding: no output allocation per call), from host buffers that :meth:`Model.host_buffer`
allocates in page-locked (pinned) memory on a CUDA device, so the copies to and from the GPU
run at full speed.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ..exceptions import BackendUnavailable, InputError
from .card import PRECISIONS, ModelCard, read_card

__all__ = [
    "ENGINES",
    "MODELS_DIR",
    "Model",
    "available_models",
    "load_model",
    "resolve_onnx_device",
]

#: Windows per call by default: on the CPU small batches keep a call's activations in the
#: cache (PhaseNet: 0.60 ms per window at 1-8 windows per call, 0.75 ms at 64-256, one core);
#: a GPU needs large batches to be busy.
DEFAULT_BATCH = {"cpu": 8, "cuda": 256}

#: Who runs a model on the CPU (see the module docstring).
ENGINES = ("auto", "native", "onnxruntime")

MODELS_DIR = Path(__file__).resolve().parents[1] / "data" / "models"


def available_models() -> list[str]:
    """Names of the models bundled with seiscore."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / f"{p.name}.onnx").exists())


class Model:
    """An ONNX model (a picker or a single-value head) with its card, ready to run (see
    :func:`load_model`)."""

    def __init__(
        self,
        path: Path,
        card: ModelCard,
        device: str = "cpu",
        threads: int | None = None,
        engine: str = "auto",
    ):
        import onnxruntime as ort

        if engine not in ENGINES:
            raise InputError(f"engine: expected one of {list(ENGINES)}, got {engine!r}")
        self.path = path
        self.card = card
        self.device = resolve_onnx_device(device)
        options = ort.SessionOptions()
        n_threads = int(threads) if threads else (os.cpu_count() or 1)
        if n_threads < 1:
            raise InputError(f"threads must be >= 1, got {threads}")
        # Small convolutions (PhaseNet has 8-128 channels) scale poorly inside one call, so on
        # the CPU each call runs on one thread and `concurrency` calls run side by side on
        # different batches (measured: 2.4 s vs 3.5 s per PhaseNet station-day on 2 cores).
        # On a GPU one stream of calls keeps the device busy.
        self.concurrency = n_threads if self.device == "cpu" else 1
        self.batch_size = DEFAULT_BATCH[self.device]
        options.intra_op_num_threads = 1 if self.device == "cpu" else n_threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = (
            ["CUDAExecutionProvider", "CPUExecutionProvider"]
            if self.device == "cuda"
            else ["CPUExecutionProvider"]
        )
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise InputError(f"{path}: cannot load ONNX model ({exc})") from None
        if self.device == "cuda" and self.session.get_providers()[0] != "CUDAExecutionProvider":
            raise BackendUnavailable(
                f"{path}: onnxruntime-gpu is installed but could not use a CUDA device "
                f"(providers in use: {self.session.get_providers()})"
            )
        names = {i.name for i in self.session.get_inputs()}
        if card.input_name not in names:
            raise InputError(
                f"{path}: card input_name {card.input_name!r} not in the graph {sorted(names)}"
            )
        outs = {o.name for o in self.session.get_outputs()}
        wanted = [card.output_name] + ([card.time_name] if card.contract == "stream" else [])
        for name in wanted:
            if name not in outs:
                raise InputError(f"{path}: card output {name!r} not in the graph {sorted(outs)}")
        self._outputs = wanted
        self._local = threading.local()
        self._pinned = _pinned_memory_info(ort) if self.device == "cuda" else None
        self._native = None
        self.engine, self.engine_note = "onnxruntime", ""
        if engine != "onnxruntime":
            reason = self._try_native(force=engine == "native")
            if reason and engine == "native":
                raise InputError(f"{path}: the native engine cannot run this model: {reason}")
            self.engine_note = reason

    def _try_native(self, force: bool) -> str:
        """Compile the graph for the native kernel; '' when it runs there, else why not."""
        from .native import Unsupported, compile_onnx

        card = self.card
        if self.device != "cpu":
            return "it runs on the CPU only"
        if card.contract != "window" or card.input_layout != "NCW":
            return (
                "it runs [batch, channel, sample] window pickers "
                f"(this card: {card.contract}, {card.input_layout})"
            )
        try:
            net = compile_onnx(self.path, card.input_name, card.output_name)
        except Unsupported as exc:
            return str(exc)
        shapes = (net.in_channels, net.in_length, net.out_channels, net.out_length)
        n = card.window_length
        if shapes != (len(card.channel_order), n, len(card.labels), n):
            return "the graph's shapes differ from the card's"
        if net.isa == "baseline" and not force:  # 3x slower than its AVX2 / AVX-512 versions
            return "this CPU has no AVX2 (the kernel's version without it is 3x slower)"
        self._native = net
        self.engine = "native"
        return ""

    def __repr__(self) -> str:
        return (
            f"Model({self.card.name!r}, contract={self.card.contract!r}, device={self.device!r}, "
            f"precision={self.card.precision!r}, engine={self.engine!r})"
        )

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """Run the graph on one input array (already laid out as the card says)."""
        if self._native is not None:
            x = np.ascontiguousarray(x, dtype=np.float32)
            if x.ndim != 3:
                raise InputError(
                    f"{self.path}: expected input [batch, channel, sample], got {x.shape}"
                )
            net = self._native
            y = np.empty((x.shape[0], net.out_channels, net.out_length), np.float32)
            self.run_into(x, y)
            return [y]
        return self.session.run(self._outputs, {self.card.input_name: x})

    def run_into(self, x: np.ndarray, y: np.ndarray) -> None:
        """Run the graph on ``x`` and write the card's output into ``y``.

        Both are C-contiguous float32 host arrays; ``y`` has exactly the output's shape. ONNX
        Runtime reads ``x`` and writes ``y`` in place (IO binding): no arrays are allocated per
        call, and on a CUDA device the only copies are ``x`` to the GPU and the output back.
        Thread-safe: each thread has its own binding.
        """
        if self._native is not None:
            from .. import _core

            _core.picking.convnet_run(self._native, x, y)
            return
        binding = getattr(self._local, "binding", None)
        if binding is None:
            binding = self._local.binding = self.session.io_binding()
        binding.bind_cpu_input(self.card.input_name, x)
        binding.bind_output(
            self.card.output_name, "cpu", 0, np.float32, list(y.shape), y.ctypes.data
        )
        self.session.run_with_iobinding(binding)

    @property
    def pinned(self) -> bool:
        """Whether :meth:`host_buffer` gives page-locked memory (CUDA with ONNX Runtime's
        host-accessible allocator)."""
        return self._pinned is not None

    def host_buffer(self, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 host array for :meth:`run_into`: page-locked (pinned) memory when the
        model runs on a CUDA device and ONNX Runtime can allocate it, else ordinary memory."""
        if self._pinned is None:
            return np.empty(shape, np.float32)
        import onnxruntime as ort

        value = ort.OrtValue.ortvalue_from_shape_and_type(
            list(shape), np.float32, memory_info=self._pinned
        )
        array = value.numpy().view(_HostArray)
        array.owner = value  # the memory is the OrtValue's: freed with the last view of it
        return array


class _HostArray(np.ndarray):
    """A NumPy view of host memory that an ONNX Runtime OrtValue owns (``owner``); slices keep
    the array, and so the OrtValue, alive."""

    owner = None


def _pinned_memory_info(ort):
    """ONNX Runtime's host-accessible (pinned) memory of the CUDA execution provider, or None
    when this ONNX Runtime cannot say (then buffers are ordinary memory: slower copies)."""
    try:
        for ep in ort.get_ep_devices():
            if ep.ep_name == "CUDAExecutionProvider":
                return ep.memory_info(ort.OrtDeviceMemoryType.HOST_ACCESSIBLE)
    except Exception:  # noqa: BLE001 - older ONNX Runtime: no EP device API
        return None
    return None


def resolve_onnx_device(device: str) -> str:
    """``cpu`` or ``cuda`` for ONNX Runtime; ``cuda`` needs onnxruntime-gpu and a GPU."""
    if device not in ("auto", "cpu", "cuda"):
        raise InputError(f"device: expected 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cpu":
        return "cpu"
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        return "cuda"
    if device == "auto":
        return "cpu"
    raise BackendUnavailable(
        "device='cuda' needs onnxruntime-gpu and a CUDA GPU: pip install 'seiscore[gpu]' "
        f"(onnxruntime providers here: {ort.get_available_providers()})"
    )


def load_model(
    name_or_path: str | os.PathLike,
    *,
    card=None,
    device: str = "cpu",
    threads: int | None = None,
    precision: str | None = None,
    engine: str = "auto",
) -> Model:
    """Load a bundled model by name, or an ONNX file with its card.

    Parameters
    ----------
    name_or_path : str or path
        A bundled model's name (see :func:`available_models`) or the path of an ``.onnx`` file.
    card : dict or path, optional
        The model card; default: the ``.json`` beside the ``.onnx`` file.
    device : ``"cpu"``, ``"cuda"`` or ``"auto"``
        ONNX Runtime execution provider; ``"cuda"`` raises ``BackendUnavailable`` without
        onnxruntime-gpu and a GPU.
    threads : int, optional
        CPU threads for inference (default: all cores): on the CPU, this many single-threaded
        ONNX Runtime calls run concurrently on different batches.
    precision : ``"float32"``, ``"int8"`` or None
        For a bundled model's name: ``"int8"`` loads its quantised fast variant (the bundled
        model whose card says ``variant_of`` that name and ``precision: "int8"``; InputError
        when there is none). For a file: the card's precision must match. None: as named.
    engine : ``"auto"``, ``"native"`` or ``"onnxruntime"``
        Who runs the model on the CPU: seiscore's C++ kernel for convolutional window pickers
        (``"native"``; InputError when it cannot run this graph), ONNX Runtime, or the first of
        the two that can (``"auto"``). Both give the same probabilities to float32 rounding.
    """
    if precision is not None and precision not in PRECISIONS:
        raise InputError(f"precision: expected one of {list(PRECISIONS)}, got {precision!r}")
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() != ".onnx":
        if precision is not None and text in available_models():
            text = _variant(text, precision)
        if text in available_models():
            path = MODELS_DIR / text / f"{text}.onnx"
        else:
            raise InputError(
                f"unknown model {text!r}: bundled models are {available_models()}, "
                "or give the path of an .onnx file"
            )
    if not path.exists():
        raise InputError(f"model file not found: {path}")
    if card is None:
        card = path.with_suffix(".json")
        if not card.exists():
            raise InputError(f"{path}: no model card; expected {card} (or pass card=...)")
    raw, source = read_card(card)
    parsed = ModelCard.from_dict(raw, source)
    if precision is not None and parsed.precision != precision:
        raise InputError(f"{path}: the card says precision {parsed.precision!r}, not {precision!r}")
    return Model(path, parsed, device=device, threads=threads, engine=engine)


def _variant(name: str, precision: str) -> str:
    """The bundled model that is ``name`` at ``precision`` (``name`` itself, or its variant)."""

    def card_of(n):
        return read_card(MODELS_DIR / n / f"{n}.json")[0]

    if card_of(name).get("precision", "float32") == precision:
        return name
    for other in available_models():
        raw = card_of(other)
        if raw.get("variant_of") == name and raw.get("precision", "float32") == precision:
            return other
    raise InputError(f"model {name!r} has no bundled {precision} variant")
