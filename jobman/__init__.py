"""jobman: run huge lists of quantum circuits as managed, persisted, resumable job sets.

    >>> from jobman import JobManager
    >>> job_set = JobManager().run("circuits.qpy", backend="aer", shots=1000)
    >>> job_set.results().get_counts(42)
    >>> jobman.Sampler(backend="aer", name="sweep", seed=7).run([(ansatz, values)]).result()

Names are imported lazily so that ``jobman status`` never pays for qiskit.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["JobManager", "ManagedJobSet", "ManagedResult", "JobStatus", "SetState", "JobmanError",
           "Sampler", "SamplerJob", "Estimator", "EstimatorJob", "__version__"]

_LAZY = {
    "JobManager": "jobman.manager",
    "ManagedJobSet": "jobman.job_set",
    "ManagedResult": "jobman.result",
    "JobStatus": "jobman.status",
    "SetState": "jobman.status",
    "JobmanError": "jobman.exceptions",
    "Sampler": "jobman.sampler",  # a qiskit.primitives.BaseSamplerV2: imports qiskit when asked for
    "SamplerJob": "jobman.sampler",
    "Estimator": "jobman.estimator",  # a qiskit.primitives.BaseEstimatorV2 over the Sampler
    "EstimatorJob": "jobman.estimator",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'jobman' has no attribute {name!r}")
