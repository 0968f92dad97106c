"""The association methods behind one call: :func:`associate_by_method` runs the grid search
(``"grid"``, :func:`~seiscore.association.associate`) or PhaseLink (``"phaselink"``,
:func:`~seiscore.association.associate_phaselink` with a trained linker file), from settings
written for either (``seiscore associate --method``, ``[association] method`` of
``seiscore run``). Both give the same :class:`~seiscore.association.Association`."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import ConfigError, InputError
from .grid_search import associate
from .linker import read_linker_card
from .phaselink import associate_phaselink
from .result import Association

__all__ = ["DEFAULT_ZLIM", "GRID_ONLY", "METHODS", "associate_by_method", "check_linker"]

#: The association methods.
METHODS = ("grid", "phaselink")
#: The grid search's settings that PhaseLink has no use for, with the values that mean "not
#: set" (the configuration of ``seiscore run`` always holds every key).
GRID_ONLY = {
    "cell_km": (None,),
    "cell_depth_km": (None,),
    "tolerance_fraction": (0.0,),
    "min_pick_fraction": (0.25,),
    "block_s": (1800.0,),
    "bin_s": (1.0,),
    "null_test": (False, "auto"),
    "null_test_window_s": (None,),
    "null_test_seed": (0,),
}
#: The grid search's default depth range; for PhaseLink it means "the linker's".
DEFAULT_ZLIM = (0.0, 40.0)


def check_linker(method: str, linker) -> Path | None:
    """The linker file of ``method`` (None for the grid search), checked before any work:
    ConfigError for an unknown method or PhaseLink without a linker; InputError, naming the
    file, when it or its card is missing or the card is not a PhaseLink linker's."""
    if method not in METHODS:
        raise ConfigError(f"method: expected one of {list(METHODS)}, got {method!r}")
    if method == "grid":
        return None
    if linker is None or str(linker) == "":
        raise ConfigError(
            "method 'phaselink' needs a trained linker: --linker linker.onnx (seiscore associate) "
            'or [association] linker = "linker.onnx" (seiscore run); seiscore train-associator '
            "makes one"
        )
    path = Path(linker)
    if not path.is_file():
        raise InputError(f"linker not found: {path}")
    read_linker_card(path)
    return path


def associate_by_method(
    picks, stations, velocity_model, *, method: str = "grid", linker=None, **config
) -> Association:
    """Associate ``picks`` by ``method``.

    ``"grid"`` passes ``config`` to :func:`~seiscore.association.associate` (``linker`` is not
    used). ``"phaselink"`` runs :func:`~seiscore.association.associate_phaselink` with the
    ``linker`` file (:func:`check_linker`) and the settings the two methods share; the
    :data:`GRID_ONLY` ones must be unset (ConfigError naming them otherwise), and the depth
    range :data:`DEFAULT_ZLIM`, like unset ``xlim``/``ylim``, means the linker's own volume.
    """
    path = check_linker(method, linker)
    if path is None:
        return associate(picks, stations, velocity_model, **config)
    config = dict(config)
    used = sorted(k for k, unset in GRID_ONLY.items() if k in config and config[k] not in unset)
    if used:
        raise ConfigError(
            f"method 'phaselink' does not use the grid search's {', '.join(used)}: leave "
            f"{'it' if len(used) == 1 else 'them'} unset, or use method 'grid'"
        )
    for key in GRID_ONLY:
        config.pop(key, None)
    if config.get("zlim") is not None and tuple(config["zlim"]) == DEFAULT_ZLIM:
        config.pop("zlim")
    return associate_phaselink(picks, stations, velocity_model, path, **config)
