"""Ordnance Survey National Grid (OSGB36 easting/northing) to WGS84 latitude/longitude.

Pure Python/numpy, no pyproj: the inverse Transverse Mercator projection on the Airy 1830
ellipsoid, then a 7-parameter Helmert transformation from OSGB36 to WGS84, as described in
the Ordnance Survey's "A guide to coordinate systems in Great Britain" (sections on the
National Grid projection and on Helmert datum transformations). The Helmert step is good to
a few metres across Great Britain, far finer than a postcode's extent; OSTN15 would be needed
for survey-grade accuracy. Every function accepts scalars or numpy arrays.
"""

from __future__ import annotations

import numpy as np

from geo.types import LatLon

# Airy 1830 ellipsoid (OSGB36) and the National Grid's true origin and scale.
AIRY_A, AIRY_B = 6377563.396, 6356256.909
F0 = 0.9996012717
LAT0, LON0 = np.radians(49.0), np.radians(-2.0)
E0, N0 = 400000.0, -100000.0
# WGS84 ellipsoid.
WGS84_A, WGS84_B = 6378137.000, 6356752.314245
# OSGB36 → WGS84 Helmert parameters: translations in metres, rotations in arc-seconds, scale
# in parts per million (the published WGS84 → OSGB36 set with the signs reversed).
TX, TY, TZ = 446.448, -125.157, 542.060
RX, RY, RZ = 0.1502, 0.2470, 0.8421
S_PPM = -20.4894
# Stop iterating on the latitude when the meridional arc is this close (metres): 0.01 mm.
ARC_TOLERANCE_M = 1e-5


def _meridional_arc(lat: np.ndarray) -> np.ndarray:
    n = (AIRY_A - AIRY_B) / (AIRY_A + AIRY_B)
    d, s = lat - LAT0, lat + LAT0
    return AIRY_B * F0 * (
        (1 + n + 1.25 * n**2 + 1.25 * n**3) * d
        - (3 * n + 3 * n**2 + 21 / 8 * n**3) * np.sin(d) * np.cos(s)
        + (15 / 8 * n**2 + 15 / 8 * n**3) * np.sin(2 * d) * np.cos(2 * s)
        - 35 / 24 * n**3 * np.sin(3 * d) * np.cos(3 * s))


def grid_to_osgb36(easting, northing) -> tuple[np.ndarray, np.ndarray]:
    """Inverse Transverse Mercator: National Grid metres → OSGB36 lat, lon (radians)."""
    e = np.asarray(easting, dtype=float)
    n = np.asarray(northing, dtype=float)
    e2 = 1 - AIRY_B**2 / AIRY_A**2
    lat = LAT0 + (n - N0) / (AIRY_A * F0)
    for _ in range(20):  # converges in 3-5 steps
        err = n - N0 - _meridional_arc(lat)
        if np.all(np.abs(err) < ARC_TOLERANCE_M):
            break
        lat = lat + err / (AIRY_A * F0)
    sin, tan, sec = np.sin(lat), np.tan(lat), 1 / np.cos(lat)
    nu = AIRY_A * F0 / np.sqrt(1 - e2 * sin**2)
    rho = AIRY_A * F0 * (1 - e2) / (1 - e2 * sin**2) ** 1.5
    eta2 = nu / rho - 1
    t2, t4, t6 = tan**2, tan**4, tan**6
    vii = tan / (2 * rho * nu)
    viii = tan / (24 * rho * nu**3) * (5 + 3 * t2 + eta2 - 9 * t2 * eta2)
    ix = tan / (720 * rho * nu**5) * (61 + 90 * t2 + 45 * t4)
    x = sec / nu
    xi = sec / (6 * nu**3) * (nu / rho + 2 * t2)
    xii = sec / (120 * nu**5) * (5 + 28 * t2 + 24 * t4)
    xiia = sec / (5040 * nu**7) * (61 + 662 * t2 + 1320 * t4 + 720 * t6)
    de = e - E0
    out_lat = lat - vii * de**2 + viii * de**4 - ix * de**6
    out_lon = LON0 + x * de - xi * de**3 + xii * de**5 - xiia * de**7
    return out_lat, out_lon


def _to_cartesian(lat, lon, a: float, b: float):
    e2 = 1 - b**2 / a**2
    nu = a / np.sqrt(1 - e2 * np.sin(lat) ** 2)
    return (nu * np.cos(lat) * np.cos(lon), nu * np.cos(lat) * np.sin(lon),
            (1 - e2) * nu * np.sin(lat))


def _helmert(x, y, z):
    s = 1 + S_PPM * 1e-6
    rx, ry, rz = (np.radians(r / 3600) for r in (RX, RY, RZ))
    return (TX + s * x - rz * y + ry * z,
            TY + rz * x + s * y - rx * z,
            TZ - ry * x + rx * y + s * z)


def _to_geodetic(x, y, z, a: float, b: float):
    e2 = 1 - b**2 / a**2
    p = np.sqrt(x**2 + y**2)
    lat = np.arctan2(z, p * (1 - e2))
    for _ in range(10):  # a few steps reach sub-millimetre
        nu = a / np.sqrt(1 - e2 * np.sin(lat) ** 2)
        lat = np.arctan2(z + e2 * nu * np.sin(lat), p)
    return lat, np.arctan2(y, x)


def osgb_to_wgs84(easting, northing) -> tuple[np.ndarray, np.ndarray]:
    """National Grid easting/northing (metres) → WGS84 (lat, lon) in degrees.

    >>> lat, lon = osgb_to_wgs84(531040, 104624)   # BN1 1AA, Brighton
    >>> round(float(lat), 4), round(float(lon), 4)
    (50.8263, -0.1408)
    """
    lat, lon = grid_to_osgb36(easting, northing)
    x, y, z = _to_cartesian(lat, lon, AIRY_A, AIRY_B)
    lat, lon = _to_geodetic(*_helmert(x, y, z), WGS84_A, WGS84_B)
    return np.degrees(lat), np.degrees(lon)


def osgb_point(easting: float, northing: float) -> LatLon:
    """One grid reference as a :class:`LatLon`."""
    lat, lon = osgb_to_wgs84(easting, northing)
    return LatLon(float(lat), float(lon))
