"""What a fitted router is, once written down: a :class:`RouterState` (JSON config + arrays).

Every router saves and restores itself through two methods of
:class:`~routerbench_core.routing.router.Router`: ``save_state() -> RouterState`` and
``load_state(state)``, called on a router built with the same context and parameters it was
fitted with. The state holds only JSON values and numpy arrays, so an artefact is written as
JSON + ``.npz`` and read back with ``allow_pickle=False``: loading a router never runs code
from the file (pickle, ``torch.load`` of a whole module and joblib all can).

Torch routers turn ``module.state_dict()`` into arrays with :func:`module_arrays` and back with
:func:`load_module_arrays`; the network's shape goes in ``config`` so ``load_state`` can rebuild
it before filling in the weights.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: The file names of a saved state inside an artefact directory.
STATE_JSON = "state.json"
STATE_ARRAYS = "arrays.npz"


class StateError(ValueError):
    """A saved router state is missing a piece or has the wrong shape; the message says which."""


@dataclass
class RouterState:
    """A fitted router: ``config`` (JSON-ready fitted choices) and ``arrays`` (name -> ndarray)."""

    config: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def array(self, name: str, *, ndim: int | None = None) -> np.ndarray:
        """The array ``name``, with a clear error when the state lacks it."""
        if name not in self.arrays:
            raise StateError(
                f"router state has no array {name!r} (it has: {', '.join(sorted(self.arrays)) or 'none'});"
                " was the artefact written by another version of this router?"
            )
        value = self.arrays[name]
        if ndim is not None and value.ndim != ndim:
            raise StateError(f"router state array {name!r} has {value.ndim} dimensions, expected {ndim}")
        return value

    def value(self, name: str) -> Any:
        """The config entry ``name``, with a clear error when the state lacks it."""
        if name not in self.config:
            raise StateError(
                f"router state has no config entry {name!r} (it has: "
                f"{', '.join(sorted(self.config)) or 'none'})"
            )
        return self.config[name]

    def optional(self, name: str) -> np.ndarray | None:
        """The array ``name``, or None where the router saved none (e.g. no cost table)."""
        return self.arrays.get(name)

    # -- files ---------------------------------------------------------------------------------

    def write(self, folder: str | Path) -> None:
        """Write ``state.json`` and ``arrays.npz`` into ``folder`` (which must exist)."""
        folder = Path(folder)
        bad = [k for k, v in self.arrays.items() if np.asarray(v).dtype == object]
        if bad:
            raise StateError(f"router state arrays {bad} hold Python objects; save numbers only")
        (folder / STATE_JSON).write_text(
            json.dumps(_jsonable(self.config), indent=1, sort_keys=True, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        with open(folder / STATE_ARRAYS, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in self.arrays.items()})

    @classmethod
    def read(cls, folder: str | Path) -> RouterState:
        """Read a state written by :meth:`write`; never unpickles anything."""
        folder = Path(folder)
        try:
            config = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StateError(f"{folder / STATE_JSON} not found: not a saved router state") from None
        except ValueError as exc:
            raise StateError(f"{folder / STATE_JSON} is not valid JSON: {exc}") from None
        arrays: dict[str, np.ndarray] = {}
        path = folder / STATE_ARRAYS
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as data:
                    arrays = {k: data[k] for k in data.files}
            except ValueError as exc:
                raise StateError(f"{path}: {exc} (object arrays are refused: no pickle)") from None
        return cls(config=_restore_floats(config), arrays=arrays)


def _jsonable(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, non-finite floats to tagged strings."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    return value


def _restore_floats(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _restore_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_floats(v) for v in value]
    return value


def module_arrays(module: Any, prefix: str = "net.") -> dict[str, np.ndarray]:
    """A torch module's ``state_dict`` as numpy arrays named ``prefix + key`` (CPU copies)."""
    return {prefix + k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def load_module_arrays(module: Any, state: RouterState, prefix: str = "net.") -> None:
    """Fill a torch module (already built with the saved shape) from ``state``'s arrays."""
    import torch

    wanted = module.state_dict()
    tensors = {}
    for key, current in wanted.items():
        arr = state.array(prefix + key)
        if tuple(arr.shape) != tuple(current.shape):
            raise StateError(
                f"router state array {prefix + key!r} has shape {arr.shape}, the network "
                f"expects {tuple(current.shape)}"
            )
        tensors[key] = torch.from_numpy(np.array(arr)).to(dtype=current.dtype,
                                                          device=current.device)
    module.load_state_dict(tensors)


def profile_arrays(profile: Any, prefix: str = "profile.") -> dict[str, np.ndarray]:
    """A :class:`~routerbench_core.routing.ml.ClusterProfile` as arrays (cluster routers)."""
    out = {prefix + "centroids": profile.centroids, prefix + "acc": profile.acc,
           prefix + "sizes": profile.sizes}
    if profile.cost is not None:
        out[prefix + "cost"] = profile.cost
    return out


def profile_from_state(state: RouterState, prefix: str = "profile.") -> Any:
    """The :class:`~routerbench_core.routing.ml.ClusterProfile` saved by :func:`profile_arrays`."""
    from routerbench_core.routing.ml import ClusterProfile

    centroids = state.array(prefix + "centroids", ndim=2)
    acc = state.array(prefix + "acc", ndim=2)
    if acc.shape[0] != centroids.shape[0]:
        raise StateError(f"router state: {acc.shape[0]} accuracy rows for "
                         f"{centroids.shape[0]} centroids")
    return ClusterProfile(centroids=centroids, acc=acc, cost=state.optional(prefix + "cost"),
                          sizes=state.array(prefix + "sizes", ndim=1))


def logistic_arrays(model: Any, prefix: str = "clf.") -> dict[str, np.ndarray]:
    """A :class:`~routerbench_core.routing.ml.SoftLogistic` as arrays (weights, or its constant)."""
    if model.model is None:
        return {prefix + "constant": np.array([model.constant], dtype=np.float64)}
    return {prefix + "coef": model.model.coef_, prefix + "intercept": model.model.intercept_,
            prefix + "classes": model.model.classes_}


def logistic_from_state(state: RouterState, prefix: str = "clf.") -> Any:
    """The SoftLogistic saved by :func:`logistic_arrays`, predicting exactly as before (a
    scikit-learn LogisticRegression given back its fitted coefficients)."""
    from routerbench_core.routing.ml import SoftLogistic

    constant = state.optional(prefix + "constant")
    if constant is not None:
        return SoftLogistic(None, float(constant[0]))
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression()
    model.coef_ = np.array(state.array(prefix + "coef", ndim=2))
    model.intercept_ = np.array(state.array(prefix + "intercept", ndim=1))
    model.classes_ = np.array(state.array(prefix + "classes", ndim=1))
    model.n_features_in_ = model.coef_.shape[1]
    return SoftLogistic(model, None)
