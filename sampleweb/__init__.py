"""The sample web: a deterministic, synthetic local web served on loopback, with ground truth.

``build`` (:mod:`sampleweb.generate`) writes a site spec and ``ground_truth.json``;
:class:`sampleweb.server.SampleWeb` serves the spec as an HTTP proxy on 127.0.0.1.
Everything here is synthetic sample data for offline development, tests and benchmarks.
"""

from __future__ import annotations

from sampleweb.area import (
    Area,
    AreaBeat,
    AreaPlace,
    load_area_from_db,
    load_area_from_files,
)
from sampleweb.generate import BuildResult, build
from sampleweb.server import RequestRecord, SampleWeb

__all__ = [
    "Area", "AreaBeat", "AreaPlace", "BuildResult", "RequestRecord", "SampleWeb", "build",
    "load_area_from_db", "load_area_from_files",
]
