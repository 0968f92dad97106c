"""
seiscore's compiled C++ core (kernels; use the seiscore package, not this module)
"""

from __future__ import annotations

from . import association, correlation, location, picking, traveltime

__all__: list[str] = [
    "association",
    "build_info",
    "correlation",
    "location",
    "picking",
    "traveltime",
]

def build_info() -> dict:
    """
    Compile-time facts about the C++ core.
    """

__version__: str = "0.1.0"
