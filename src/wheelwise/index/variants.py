"""Wheel variants (PEP 825): which variant wheel a machine takes, from its static properties.

A variant wheel's file name ends in a label (``torch-2.8.0-cp312-cp312-manylinux_2_28_x86_64-cu128.whl``);
the index serves ``{name}-{version}-variants.json`` mapping each label to properties
(``nvidia :: cuda_version_lower_bound :: 12.8``, ``nvidia :: sm_arch :: 90_real``,
``x86_64 :: level :: v3``).  A variant-aware installer keeps the variants every one of
whose features has a value the machine supports, orders them by the PEP's algorithm
(``default-priorities``, then the providers' own order of supported values), takes the
best, then the null variant (no properties, always supported), then plain wheels.  An
installer that knows nothing of variants takes plain wheels only.

The supported values come from the target's :class:`~wheelwise.properties.Properties`,
never from running a provider plugin (PEP 850 providers detect hardware; a target is
not this machine).  The providers' rules followed here:

- ``nvidia :: cuda_version_lower_bound :: X.Y``: the driver's CUDA is X.Y or newer; newest bound first.
- ``nvidia :: cuda_version_upper_bound :: X.Y``: the driver's CUDA is older than X.Y.
- ``nvidia :: sm_arch :: NN_real``: machine code for compute capability N.N, which runs on a GPU
  of the same major and the same or a higher minor; ``NN_virtual``: PTX, JIT-compiled on any GPU
  of that capability or newer.  Order: real from the GPU's own minor down, then virtual.  A
  target with ``+cuda`` and no ``+sm`` is taken to have a GPU every build covers (uv's
  ``--torch-backend cu128`` asks no more); give ``+sm`` to have the architecture checked.
- ``x86_64 :: level :: vN``: the CPU is at level vN or above; highest first.

Sources: https://peps.python.org/pep-0825/ (variant ordering; verified 2026-11-22);
https://github.com/wheelnext/nvidia-variant-provider2/blob/main/docs/nvidia.md (CUDA bounds, SM
compatibility order); https://docs.nvidia.com/cuda/cuda-c-programming-guide/#binary-compatibility
(cubin and PTX compatibility); https://github.com/wheelnext/provider-variant-x86-64 (levels).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import MetadataError
from ..properties import X86_64_LEVELS, Properties
from .simple import DistFile

__all__ = [
    "MAX_VARIANTS_JSON_BYTES",
    "VariantsJson",
    "VariantPick",
    "order_variants",
    "parse_variants_json",
    "pick_variant",
    "supported_values",
]

#: a variants.json larger than this is refused (PyTorch's lists a few dozen labels in a few KiB)
MAX_VARIANTS_JSON_BYTES = 1 << 20

#: {namespace: {feature: [values]}}, as variants.json writes one variant's properties
Props = Mapping[str, Mapping[str, tuple[str, ...]]]

_NAME = re.compile(r"[a-z0-9_]+")
_VALUE = re.compile(r"[a-z0-9_.]+")
_LABEL = re.compile(r"[0-9a-z_.]{1,16}")


class _Malformed(ValueError):
    """What is wrong inside a variants.json (becomes a :class:`MetadataError` naming the URL)."""


@dataclasses.dataclass(frozen=True)
class VariantsJson:
    """One ``{name}-{version}-variants.json``.

    :param namespaces: ``default-priorities.namespace``, most preferred first.
    :param features: ``default-priorities.feature``: namespace → preferred features.
    :param values: ``default-priorities.property``: (namespace, feature) → preferred values.
    :param variants: label → its properties.
    """

    namespaces: tuple[str, ...]
    features: Mapping[str, tuple[str, ...]]
    values: Mapping[tuple[str, str], tuple[str, ...]]
    variants: Mapping[str, Props]

    def describe(self, label: str) -> list[str]:
        """``["nvidia :: cuda_version_lower_bound :: 12.8", ...]`` for a label."""
        return [f"{ns} :: {feature} :: {value}" for ns, features in self.variants.get(label, {}).items()
                for feature, values in features.items() for value in values]

    def matched(self, label: str, props: Properties) -> list[str]:
        """Per feature of a label, the best value *props* supports: why the machine takes it."""
        found = []
        for ns, features in self.variants.get(label, {}).items():
            for feature, values in features.items():
                best = supported_values(props, ns, feature, values)
                if (ns, feature) == ("nvidia", "sm_arch") and props.sm is None:
                    found.append("nvidia :: sm_arch :: not checked (the target names no +sm)")
                elif best:
                    found.append(f"{ns} :: {feature} :: {best[0]}")
        return found


def _strings(value: object, where: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and pattern.fullmatch(v) for v in value):
        raise _Malformed(f"variants.json {where}: {where.rsplit('.', 1)[-1]} must be a list of names")
    return tuple(value)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"variants.json {where}: not an object")
    return value


def parse_variants_json(raw: bytes, url: str = "variants.json") -> VariantsJson:
    """Read a PEP 825 variants.json; anything else is a :class:`MetadataError` (the index's data: exit 3)."""
    if len(raw) > MAX_VARIANTS_JSON_BYTES:
        raise MetadataError(f"{url} is over the {MAX_VARIANTS_JSON_BYTES} bytes allowed for a variants.json", url=url)
    try:
        data = _mapping(json.loads(raw), "top level")
        priorities = _mapping(data.get("default-priorities", {}), "default-priorities")
        namespaces = _strings(priorities.get("namespace", []), "default-priorities.namespace", _NAME)
        features = {ns: _strings(v, f"default-priorities.feature.{ns}", _NAME)
                    for ns, v in _mapping(priorities.get("feature", {}), "default-priorities.feature").items()}
        values = {(ns, feature): _strings(v, f"default-priorities.property.{ns}.{feature}", _VALUE)
                  for ns, by_feature in _mapping(priorities.get("property", {}), "default-priorities.property").items()
                  for feature, v in _mapping(by_feature, f"default-priorities.property.{ns}").items()}
        variants: dict[str, Props] = {}
        for label, props in _mapping(data.get("variants"), "variants").items():
            if not _LABEL.fullmatch(label):
                raise _Malformed(f"variants.json: {label!r} is not a variant label")
            variants[label] = {ns: {f: _strings(v, f"variants.{label}.{ns}.{f}", _VALUE)
                                    for f, v in _mapping(by_f, f"variants.{label}.{ns}").items()}
                               for ns, by_f in _mapping(props, f"variants.{label}").items()}
    except (ValueError, RecursionError) as exc:  # JSON errors (nesting too deep included) and _Malformed alike
        raise MetadataError(
            f"{url} is not PEP 825 variant metadata: {exc}", url=url,
            hint="the index serves a variants.json PEP 825 does not describe; report it to the index's owner",
        ) from exc
    return VariantsJson(namespaces, features, values, variants)


# -- supported values: the static providers ------------------------------------------------------


def _version(text: str) -> tuple[int, ...] | None:
    return tuple(int(p) for p in text.split(".")) if re.fullmatch(r"\d+(\.\d+)*", text) else None


def _cuda_lower(props: Properties, value: str) -> float | None:
    bound = _version(value)
    if props.cuda is None or bound is None or bound > props.cuda:
        return None
    return -(bound[0] * 1000 + (bound[1] if len(bound) > 1 else 0))  # newest bound first


def _cuda_upper(props: Properties, value: str) -> float | None:
    bound = _version(value)
    if props.cuda is None or bound is None or props.cuda >= bound:
        return None
    return bound[0] * 1000 + (bound[1] if len(bound) > 1 else 0)  # tightest bound first


def _sm_arch(props: Properties, value: str) -> float | None:
    found = re.fullmatch(r"(\d+)(\d)_(real|virtual)", value)
    if found is None or (props.sm is None and props.cuda is None):
        return None
    if props.sm is None:
        return 0.0  # a CUDA target that names no GPU: its architecture is taken as covered (as uv's cuXYZ)
    cap = (int(found[1]), int(found[2]))
    if found[3] == "real":
        return float(props.sm[1] - cap[1]) if cap[0] == props.sm[0] and cap[1] <= props.sm[1] else None
    # PTX: after every real value, newest capability first
    return 100 + (props.sm[0] - cap[0]) * 10 + (props.sm[1] - cap[1]) if cap <= props.sm else None


def _x86_64_level(props: Properties, value: str) -> float | None:
    levels = list(X86_64_LEVELS)
    if props.x86_64 is None or value not in levels or levels.index(value) > levels.index(props.x86_64):
        return None
    return float(-levels.index(value))


#: (namespace, feature) → a rule: the rank of a value the machine supports (lower first), or None
RULES: Mapping[tuple[str, str], Callable[[Properties, str], float | None]] = {
    ("nvidia", "cuda_version_lower_bound"): _cuda_lower,
    ("nvidia", "cuda_version_upper_bound"): _cuda_upper,
    ("nvidia", "sm_arch"): _sm_arch,
    ("x86_64", "level"): _x86_64_level,
}
#: each namespace's features in the providers' order
_FEATURE_ORDER = {"nvidia": ("cuda_version_lower_bound", "cuda_version_upper_bound", "sm_arch"), "x86_64": ("level",)}


def supported_values(props: Properties, namespace: str, feature: str, values: Sequence[str]) -> list[str]:
    """Of *values*, those the machine supports, in the provider's order (best first)."""
    rule = RULES.get((namespace, feature))
    if rule is None:
        return []  # a namespace no static rule covers: a provider plugin would decide; we cannot
    ranked = [(rank, v) for v in values if (rank := rule(props, v)) is not None]
    return [v for _, v in sorted(ranked)]


# -- ordering (PEP 825, "Variant ordering") -------------------------------------------------------


def _compatible(props: Properties, variant: Props) -> bool:
    return all(supported_values(props, ns, f, values) for ns, by_f in variant.items() for f, values in by_f.items())


def order_variants(meta: VariantsJson, labels: Sequence[str], props: Properties) -> list[str]:
    """The labels of *labels* the machine supports, most preferred first (null variants last).

    Steps 1-7 of PEP 825's algorithm: namespaces as ``default-priorities`` lists them; per
    namespace its listed features, then the provider's; per feature its listed values, then the
    supported ones in the provider's order; each variant's best value per feature, sorted by
    (namespace, feature, value) position; variants compared key by key, more keys first, label last.
    """
    known = [label for label in dict.fromkeys(labels) if label in meta.variants]
    fitting = [label for label in known if _compatible(props, meta.variants[label])]
    all_values: dict[tuple[str, str], set[str]] = {}
    for label in known:
        for ns, by_f in meta.variants[label].items():
            for f, values in by_f.items():
                all_values.setdefault((ns, f), set()).update(values)
    namespaces = list(meta.namespaces) + sorted({ns for ns, _ in all_values} - set(meta.namespaces))
    feature_order = {ns: list(dict.fromkeys([*meta.features.get(ns, ()), *_FEATURE_ORDER.get(ns, ()),
                                             *sorted(f for n, f in all_values if n == ns)]))
                     for ns in namespaces}
    value_order = {key: list(dict.fromkeys([*meta.values.get(key, ()),
                                            *supported_values(props, key[0], key[1], sorted(vals))]))
                   for key, vals in all_values.items()}

    def key(label: str) -> tuple[list[tuple[int, int, int]], int, str]:
        best = []
        for ns, by_f in meta.variants[label].items():
            for f, values in by_f.items():
                order = value_order[(ns, f)]
                position = min(order.index(v) for v in values if v in order)
                best.append((namespaces.index(ns), feature_order[ns].index(f), position))
        # more keys first when one list is a prefix of the other: a padding that sorts after any key
        return sorted(best) + [(1 << 30, 0, 0)], -len(best), label

    return sorted(fitting, key=key)


@dataclasses.dataclass(frozen=True)
class VariantPick:
    """What installers take of one version's compatible wheels.

    :param file: what a variant-aware installer takes (``None``: nothing fits).
    :param legacy: what an installer without variant support takes: the best plain wheel.
    :param supported: the labels the machine supports, best first.
    """

    file: DistFile | None
    legacy: DistFile | None
    supported: tuple[str, ...] = ()


def pick_variant(ranked: Sequence[tuple[int, DistFile]], meta: VariantsJson | None, props: Properties) -> VariantPick:
    """Choose among the compatible wheels of one version, given as (tag rank, file).

    Variant wheels of the best supported label (by tag rank within it), else plain wheels;
    without a variants.json every variant wheel is unsupported (PEP 825, installing from an index,
    step 5).
    """
    plain = [(rank, f) for rank, f in ranked if f.variant is None]
    legacy = min(plain, key=lambda item: item[0])[1] if plain else None
    labels = [f.variant for _, f in ranked if f.variant is not None]
    order = order_variants(meta, labels, props) if meta is not None else []
    if not order:
        return VariantPick(legacy, legacy, ())
    files = [(rank, f) for rank, f in ranked if f.variant == order[0]]
    return VariantPick(min(files, key=lambda item: item[0])[1], legacy, tuple(order))
