"""Observables of estimator PUBs as data: the JSON form ``jobman run --observables`` reads, and
the file a set keeps them in.

**The JSON form** (``H.json``). One observable is a list of ``[pauli, coefficient]`` pairs, as
``SparsePauliOp.from_list`` takes them: ``[["ZZ", 1.0], ["XI", 0.5]]``. A Pauli string names
qubit 0 last (Qiskit's order) and spans every qubit of the circuit. A coefficient is a number
or ``[real, imag]``; observables must be Hermitian, so a non-zero imaginary part (after equal
Pauli strings are added up) is refused. Several observables are either

* a list of observables, nested as deep as wanted: the nesting is the observables array's
  shape, broadcast against the parameter values' leading shape exactly as ``EstimatorV2``
  does (K observables at each of N points: ``[[obs1], [obs2]]``, shape (2, 1) against (N,)
  gives (2, N); a flat ``[obs1, obs2]`` pairs observable k with point k), or
* an object of named observables, ``{"energy": [...], "magnetisation": [...]}``: shape (K,),
  in the object's order, the names kept with the set.

**In the set**, ``inputs/observables.json`` holds each estimator PUB's observables flattened
(C order), each as its ``[pauli, coefficient]`` terms with real coefficients, as
``ObservablesArray`` simplified them; it is recorded with its digest, so that resume refuses a
changed file. Plain JSON: nothing is unpickled. This module imports no qiskit.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

from jobman.exceptions import InputError, UsageError

#: Where a set keeps its estimator PUBs' observables.
OBSERVABLES_FILE = "inputs/observables.json"
#: Letters of a Pauli string.
PAULI_LETTERS = frozenset("IXYZ")

#: One observable: its (pauli, real coefficient) terms.
Terms = tuple[tuple[str, float], ...]


# the JSON form ----------------------------------------------------------------------------
def read_observables_json(path: "str | os.PathLike[str]") -> tuple[Any, list[str] | None]:
    """The observables of ``--observables path`` as nested lists (the array's shape) of
    observables, each a list of ``(pauli, complex coefficient)``, and their names (the object
    form) or None. A UsageError says what is wrong with the file."""
    where = f"--observables {path}"
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not JSON ({exc})") from None
    return parse_observables(data, where)


def parse_observables(data: Any, where: str) -> tuple[Any, list[str] | None]:
    """Decoded JSON in the module's form as (nested observables, names or None)."""
    names = None
    if isinstance(data, dict):
        if not data:
            raise UsageError(f"{where}: no observables (an empty object)")
        names = [str(key) for key in data]
        data = list(data.values())
        nested = [_observable(item, f"{where} [{name}]") for name, item in zip(names, data)]
    else:
        nested = _array(data, where)
    widths = {len(label) for terms in _flat(nested) for label, _ in terms}
    if len(widths) > 1:
        raise UsageError(f"{where}: Pauli strings of different widths ({', '.join(map(str, sorted(widths)))} "
                         "qubits); every one spans all the circuit's qubits")
    return nested, names


def _is_observable(item: Any) -> bool:
    return isinstance(item, list) and bool(item) and isinstance(item[0], list) and len(item[0]) == 2 \
        and isinstance(item[0][0], str)


def _array(data: Any, where: str) -> Any:
    if _is_observable(data):
        return _observable(data, where)
    if not isinstance(data, list) or not data:
        raise UsageError(f"{where}: give an observable as a list of [pauli, coefficient] pairs "
                         f"(e.g. [[\"ZZ\", 1.0], [\"XI\", 0.5]]), a list of them, or an object of named "
                         f"ones; not {_shown(data)}")
    items = [_array(item, f"{where} [{k}]") for k, item in enumerate(data)]
    shapes = {_shape(item) for item in items}
    if len(shapes) > 1:
        raise UsageError(f"{where}: nested lists of different lengths (not an array of observables)")
    return items


def _observable(data: Any, where: str) -> list[tuple[str, complex]]:
    if not _is_observable(data):
        raise UsageError(f"{where}: an observable is a non-empty list of [pauli, coefficient] pairs, "
                         f"not {_shown(data)}")
    terms = []
    for k, pair in enumerate(data):
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str):
            raise UsageError(f"{where}: term {k} is not a [pauli, coefficient] pair: {_shown(pair)}")
        label, coeff = pair
        if not label or not set(label) <= PAULI_LETTERS:
            raise UsageError(f"{where}: term {k}: {label!r} is not a Pauli string (letters I, X, Y, Z)")
        terms.append((label, _coefficient(coeff, f"{where}: term {k} ({label})")))
    return terms


def _coefficient(value: Any, where: str) -> complex:
    if isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value):
        number = complex(float(value[0]), float(value[1]))
    elif _is_number(value):
        number = complex(float(value), 0.0)
    else:
        raise UsageError(f"{where}: a coefficient is a number or [real, imag], not {_shown(value)}")
    if not (math.isfinite(number.real) and math.isfinite(number.imag)):
        raise UsageError(f"{where}: the coefficient must be finite")
    return number


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shape(item: Any) -> tuple[int, ...]:
    if item and isinstance(item[0], tuple):  # an observable: its terms
        return ()
    return (len(item), *_shape(item[0]))


def _flat(nested: Any) -> list[Any]:
    if nested and isinstance(nested[0], tuple):
        return [nested]
    return [terms for item in nested for terms in _flat(item)]


def _shown(value: Any) -> str:
    text = json.dumps(value)  # as the file writes it
    return text if len(text) <= 60 else text[:57] + "..."


# the file in the set ----------------------------------------------------------------------
def save_observables(path: Path, pubs: Sequence["list[Terms] | None"],
                     names: Sequence["list[str] | None"] | None = None) -> dict[str, Any]:
    """Write each PUB's flat observables (None for a Sampler PUB); the file's record (``path``
    relative to the set, ``sha256``, ``size``)."""
    data = {"version": 1, "pubs": [None if terms is None else
                                   {"terms": [[[label, float(coeff)] for label, coeff in obs] for obs in terms],
                                    "names": (names[p] if names is not None else None)}
                                   for p, terms in enumerate(pubs)]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":"), allow_nan=False), encoding="utf-8")
    sha256, size = _digest(path)
    return {"path": OBSERVABLES_FILE, "sha256": sha256, "size": size}


def load_observables(path: Path, record: dict[str, Any], pubs: Sequence[Any], *,
                     verify: bool = True) -> list["tuple[Terms, ...] | None"]:
    """Each PUB's flat observables (None for a Sampler PUB); InputError if the file changed or
    does not fit the PUBs (``PubRecord``s)."""
    data = read_observables_file(path, record, verify=verify)
    entries = data.get("pubs") if isinstance(data, dict) else None
    if not isinstance(entries, list) or len(entries) != len(pubs):
        raise InputError(f"{path}: does not hold the observables of the set's {len(pubs)} PUBs")
    found: list[tuple[Terms, ...] | None] = []
    for pub, entry in zip(pubs, entries):
        if pub.observables is None or entry is None:
            if pub.observables is not None or entry is not None:
                raise InputError(f"{path}: does not fit the set's PUBs")
            found.append(None)
            continue
        try:
            terms = tuple(tuple((str(label), float(coeff)) for label, coeff in obs) for obs in entry["terms"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: damaged observables ({exc})") from None
        if len(terms) != math.prod(pub.observables):
            raise InputError(f"{path}: {len(terms)} observables for a PUB of observables shape "
                             f"{pub.observables}")
        found.append(terms)
    return found


def read_observables_file(path: Path, record: dict[str, Any], *, verify: bool = True) -> Any:
    """The decoded observables file of a set; InputError if it is missing, changed or not JSON."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    if verify and _digest(path) != (record.get("sha256"), record.get("size")):
        raise InputError(f"observables changed since the job set was created: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read observables {path}: {exc}") from None


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256(path.read_bytes())
    return digest.hexdigest(), os.path.getsize(path)
