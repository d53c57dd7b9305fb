"""Durations and rates as a scenario file writes them, and how to draw from them.

A duration is a constant or a table (lognormal by the mean and sd of the value itself,
exponential, uniform, empirical); a rate is a constant or a piecewise schedule over the run's
hours. Sampling is vectorized with numpy so that a population of a million numbers is drawn in
blocks, and the same seed gives the same draws whatever strategy consumes them.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

import numpy as np

from recobro.domain.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Duration:
    """A distribution of seconds. ``kind`` is constant, lognormal, exponential, uniform or empirical."""

    kind: str
    a: float = 0.0  # constant value, mean, or low
    b: float = 0.0  # sd or high
    values: tuple[float, ...] = ()

    @property
    def mean(self) -> float:
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        if self.kind == "empirical":
            return sum(self.values) / len(self.values)
        return self.a

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.kind == "constant":
            return np.full(size, self.a)
        if self.kind == "lognormal":
            if self.b == 0:
                return np.full(size, self.a)
            sigma2 = math.log1p((self.b / self.a) ** 2)
            mu = math.log(self.a) - sigma2 / 2
            return rng.lognormal(mu, math.sqrt(sigma2), size)
        if self.kind == "exponential":
            return rng.exponential(self.a, size)
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b, size)
        return rng.choice(np.asarray(self.values, dtype=float), size)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A value that changes at given hours of the run: ``[(0.0, 0.30), (4.0, 0.12)]``."""

    points: tuple[tuple[float, float], ...]

    def at(self, hour: float) -> float:
        idx = bisect_right([h for h, _ in self.points], hour) - 1
        return self.points[max(idx, 0)][1]

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(v for _, v in self.points)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{where}: se esperaba un número / expected a number, got {value!r}", field=where)
    if not math.isfinite(value):
        raise ValidationError(f"{where}: el número no es finito / number is not finite", field=where)
    return float(value)


def _positive(value: Any, where: str, *, allow_zero: bool = False) -> float:
    number = _number(value, where)
    if number < 0 or (number == 0 and not allow_zero):
        raise ValidationError(f"{where}: debe ser mayor que 0 / must be greater than 0, got {number}", field=where)
    return number


_DIST_KEYS = {
    "lognormal": {"mean", "sd"},
    "exponential": {"mean"},
    "uniform": {"low", "high"},
    "empirical": {"values"},
}


def parse_duration(value: Any, where: str) -> Duration:
    """A constant number of seconds or a ``{ dist = ... }`` table; errors name the key."""
    if not isinstance(value, dict):
        return Duration("constant", _positive(value, where, allow_zero=True))
    kind = value.get("dist")
    if kind not in _DIST_KEYS:
        raise ValidationError(
            f"{where}.dist: distribución desconocida / unknown distribution {kind!r} "
            f"(lognormal, exponential, uniform, empirical)",
            field=f"{where}.dist",
        )
    allowed = _DIST_KEYS[kind] | {"dist"}
    for key in value:
        if key not in allowed:
            raise ValidationError(f"{where}.{key}: clave desconocida / unknown key", field=f"{where}.{key}")
    for key in _DIST_KEYS[kind]:
        if key not in value:
            raise ValidationError(f"{where}.{key}: falta / missing", field=f"{where}.{key}")
    if kind == "lognormal":
        return Duration(
            kind, _positive(value["mean"], f"{where}.mean"), _positive(value["sd"], f"{where}.sd", allow_zero=True)
        )
    if kind == "exponential":
        return Duration(kind, _positive(value["mean"], f"{where}.mean"))
    if kind == "uniform":
        low = _positive(value["low"], f"{where}.low", allow_zero=True)
        high = _positive(value["high"], f"{where}.high", allow_zero=True)
        if high < low:
            raise ValidationError(f"{where}: high < low", field=where)
        return Duration(kind, low, high)
    raw = value["values"]
    if not isinstance(raw, list) or not raw:
        raise ValidationError(f"{where}.values: lista vacía / needs a non-empty list", field=f"{where}.values")
    return Duration(
        kind, values=tuple(_positive(v, f"{where}.values[{i}]", allow_zero=True) for i, v in enumerate(raw))
    )


def parse_schedule(value: Any, where: str, *, low: float, high: float | None) -> Schedule:
    """A constant or ``[[hour, value], ...]`` with increasing hours from 0; values within bounds."""
    points: list[tuple[float, float]] = []
    if isinstance(value, list):
        if not value:
            raise ValidationError(f"{where}: horario vacío / empty schedule", field=where)
        for i, item in enumerate(value):
            if not isinstance(item, list) or len(item) != 2:
                raise ValidationError(f"{where}[{i}]: se esperaba [hora, valor] / expected [hour, value]", field=where)
            points.append((_number(item[0], f"{where}[{i}][0]"), _number(item[1], f"{where}[{i}][1]")))
        if points[0][0] != 0.0:
            raise ValidationError(
                f"{where}: el horario empieza en la hora 0 / schedule must start at hour 0", field=where
            )
        if any(b[0] <= a[0] for a, b in itertools.pairwise(points)):
            raise ValidationError(f"{where}: horas crecientes / hours must increase", field=where)
    else:
        points.append((0.0, _number(value, where)))
    for hour, number in points:
        if number < low or (high is not None and number > high):
            bound = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise ValidationError(f"{where}: {number} fuera de / outside {bound} (hora / hour {hour})", field=where)
    return Schedule(tuple(points))
