"""Saving and loading fitted models safely.

Threat model
    Model files travel: a consultant fits the models, a mining company or a
    regulator re-applies them to new imagery.  A model file from someone else
    must therefore never be able to run code when it is opened - which a
    pickle (and joblib) file can.  We store models with ``skops.io``, whose
    loader rebuilds objects only from an explicit allow-list of types and never
    unpickles arbitrary objects; we pass *our* list (:data:`TRUSTED_TYPES`,
    scikit-learn's own estimators being trusted by skops already), never
    ``trusted=True``, and refuse a file that contains any other type.  XGBoost
    boosters inside are restored from XGBoost's own binary model format.

    Beside each ``<name>.skops`` a manifest ``<name>.json`` records the SHA-256
    and size of the model file, the feature names in order, the versions of
    minecarbon, scikit-learn, xgboost, skops and numpy, and what each model is
    for.  Loading verifies the checksum (a corrupted, truncated or swapped
    file is refused), warns when the library versions differ (predictions may
    change), and refuses a model whose features do not match the feature stack
    it is applied to.  The checksum is not a signature: whoever can replace the
    model can replace the manifest too - it protects against accidents, the
    type allow-list against code execution.  (Inside a pipeline run, the model
    stage's ``_manifest.json`` records the same checksum again.)
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import InputError, MinecarbonWarning, MissingInputError
from ..io.atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

FORMAT = "minecarbon-models/1"
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBRegressor",
    "minecarbon.model.selection.CorrelationSelector",
    "minecarbon.model.selection.ImportanceSelector",
)
"""Types beyond skops' defaults that a model file may contain; anything else is refused."""

_VERSIONED = ("minecarbon", "scikit-learn", "xgboost", "skops", "numpy", "scipy")


class ModelVersionWarning(MinecarbonWarning):
    """A model was saved with other library versions than those loading it."""


def _versions() -> dict[str, str]:
    out = {}
    for name in _VERSIONED:
        for dist in (name, f"{name}-cpu"):  # xgboost may be installed as the xgboost-cpu distribution
            try:
                out[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


def _skops():
    try:
        import skops.io as sio
    except ImportError:
        raise InputError("Saving and loading models needs the skops package, which is not installed "
                         "(pip install skops).") from None
    return sio


def manifest_path(path: str | Path) -> Path:
    """The manifest (``.json``) beside a model file."""
    return Path(path).with_suffix(".json")


def save_models(path: str | Path, models: Mapping[str, Any], feature_names: Sequence[str],
                info: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
    """Write fitted models (key -> estimator) to ``path`` (``.skops``) and its manifest, atomically.

    Parameters
    ----------
    path : model file, conventionally ``*.skops``.
    models : fitted estimators by key (e.g. ``"pooled"``, ``"type_1"``).
    feature_names : the features every model expects, in order.
    info : JSON-serialisable description stored in the manifest (learners, type map, ...).

    Returns
    -------
    (model path, manifest path)
    """
    sio = _skops()
    path = Path(path)
    blob = canonical_skops(sio.dumps(dict(models)))
    atomic_write_bytes(path, blob)
    man = {"format": FORMAT, "file": path.name, "sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob),
           "feature_names": list(feature_names), "models": sorted(models), "versions": _versions(),
           "info": dict(info or {})}
    mpath = manifest_path(path)
    atomic_write_text(mpath, json.dumps(man, indent=2, ensure_ascii=False, default=json_default))
    return path, mpath


def canonical_skops(blob: bytes) -> bytes:
    """The same skops archive with reproducible bytes.

    skops names the arrays of an archive by the memory address of the object
    (``__id__``, ``<id>.npy``) or a random UUID and stamps the zip entries with
    the current time, so saving the same model twice gives different files.
    Ids are renumbered 1, 2, ... and files ``0001.npy``, ... in the order they
    appear in ``schema.json``, and entries get a fixed date: a re-run of the
    pipeline then writes a byte-identical model file (and checksum).
    """
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(blob))
    schema = json.loads(src.read("schema.json"))
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def walk(node):
        if isinstance(node, dict):
            for key, val in node.items():
                if key == "__id__" and isinstance(val, int):
                    node[key] = ids.setdefault(val, len(ids) + 1)
                elif key == "file" and isinstance(val, str):
                    node[key] = files.setdefault(val, f"{len(files) + 1:06d}{Path(val).suffix}")
                else:
                    walk(val)
        elif isinstance(node, list):
            for val in node:
                walk(val)

    walk(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        def put(name: str, data: bytes) -> None:
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data)

        for old, new in sorted(files.items(), key=lambda kv: kv[1]):
            put(new, src.read(old))
        put("schema.json", json.dumps(schema, indent=1, sort_keys=True).encode())
    return out.getvalue()


def json_default(o):
    """``json.dumps(default=...)`` for numpy scalars and arrays (as Python numbers and lists)."""
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_manifest(path: str | Path) -> dict:
    """The manifest of a model file (not verified; see :func:`load_models`)."""
    mpath = manifest_path(path)
    if not mpath.is_file():
        raise MissingInputError(f"Model manifest {mpath} does not exist. A model file is only loaded with the "
                                f"manifest written beside it by minecarbon (checksum, features, versions).")
    try:
        man = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"Model manifest {mpath} cannot be read ({exc}). Re-run the model stage.") from None
    if man.get("format") != FORMAT:
        raise InputError(f"Model manifest {mpath} has format {man.get('format')!r}, expected {FORMAT!r}. Re-fit the "
                         f"model with this version of minecarbon.")
    return man


def load_models(path: str | Path, feature_names: Sequence[str] | None = None) -> tuple[dict[str, Any], dict]:
    """Load models saved by :func:`save_models`, verifying checksum, types, versions and features.

    Parameters
    ----------
    path : the ``.skops`` file.
    feature_names : features of the stack the models will be applied to (in
        order); the models' features must be the same (as a set - the stack is
        reordered by name when only the order differs).

    Returns
    -------
    (models by key, manifest)

    Raises
    ------
    MissingInputError
        The file or its manifest is missing.
    InputError
        Checksum mismatch, a type outside :data:`TRUSTED_TYPES`, unreadable
        file, or features that do not match ``feature_names``.
    """
    sio = _skops()
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"Model file {path} does not exist. Run the model stage (minecarbon run PROJECT "
                                f"--stages model) or check the path.")
    man = read_manifest(path)
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != man.get("sha256") or len(blob) != man.get("size"):
        raise InputError(f"Model file {path} does not match the checksum in its manifest {manifest_path(path).name} "
                         f"(sha256 {digest[:12]}... vs {str(man.get('sha256'))[:12]}...): it was modified, truncated or "
                         f"replaced after it was saved. Re-run the model stage or obtain the original file.")
    if feature_names is not None:
        want = list(man.get("feature_names", []))
        missing = [n for n in want if n not in feature_names]
        extra = [n for n in feature_names if n not in want]
        if missing or extra:
            raise InputError(f"Model {path} was trained on features {', '.join(want)}; the stack lacks "
                             f"{', '.join(missing) or 'none'} and has extra {', '.join(extra) or 'none'}. Refusing to "
                             f"apply it: compute the same features (see [features] in the project file) or re-fit.")
    try:
        untrusted = sio.get_untrusted_types(data=blob)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise InputError(f"Model file {path} cannot be read as a skops file ({type(exc).__name__}: {exc}). "
                         f"Re-run the model stage.") from None
    bad = [t for t in untrusted if t not in TRUSTED_TYPES]
    if bad:
        raise InputError(f"Model file {path} contains type(s) outside minecarbon's allow-list: {', '.join(bad)}. "
                         f"It was not written by minecarbon or was tampered with; refusing to load it.")
    models = sio.loads(blob, trusted=list(untrusted))
    saved = man.get("versions", {})
    now = _versions()
    diff = [f"{k} {saved[k]} -> {now.get(k)}" for k in ("scikit-learn", "xgboost")
            if k in saved and saved[k].split(".")[:2] != str(now.get(k, "")).split(".")[:2]]
    if diff:
        msg = (f"Model {path} was saved with other library versions ({'; '.join(diff)}); predictions may differ "
               f"slightly. Re-fit to be safe.")
        log.warning(msg)
        warnings.warn(msg, ModelVersionWarning, stacklevel=2)
    if not isinstance(models, dict):
        raise InputError(f"Model file {path} does not hold a dict of models. Re-run the model stage.")
    return models, man
