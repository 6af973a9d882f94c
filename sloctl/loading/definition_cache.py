"""Validated SLO definitions kept between runs, so that unchanged files are not validated again.

Validating definitions takes PyYAML and pydantic, whose imports and model building are most of
what ``sloctl report`` spends before its first query (bench/README.md, "Start-up"). What a
validation produced is kept as JSON, one file per definitions path, under a key: the digest
of every definition file (its path as given, its size and its bytes), of the sloctl code that
validates them (the sources of ``sloctl/core``, ``sloctl/loading`` and ``sloctl/errors.py``)
and of the libraries it validates with (where their packages lie, and their ``__init__``
files' size and modification time). A command that finds the same key reads the SLOs back;
in every other case (no file, another key, a file that cannot be read, or one that does not
hold exactly what this code writes) the files are validated as usual and, when valid, the
result is kept. Problems are never kept: invalid definitions are validated, and reported, on
every run.

The file is plain JSON read back into the same frozen values, field by field, with every type
checked: nothing in it is executed. The directory is made readable by its owner only; a
cache that cannot be read or written is passed over silently (the result is the same, only
slower).

Where it lies: ``$SLOCTL_CACHE_DIR``, or no cache at all when that is set but empty; else
``$XDG_CACHE_HOME/sloctl``; else ``~/.cache/sloctl``.
"""

# ruff: noqa: PLC0415 - the validation (pydantic, PyYAML) is imported only when it must run

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any, cast

from sloctl.core.selector import Matcher, MatchOp, Selector
from sloctl.core.slo import (
    CalendarWindow,
    Indicator,
    LatencyIndicator,
    RatioIndicator,
    RollingWindow,
    Slo,
    Timeslices,
    Window,
)
from sloctl.loading.files import MAX_FILE_BYTES, definition_files

CACHE_ENV = "SLOCTL_CACHE_DIR"
FORMAT = "sloctl validated definitions 1"
"""Written into every key: changed whenever the form below changes."""
VALIDATING_CODE = ("core", "loading")
"""The packages of sloctl whose code decides what a definition file validates into."""
VALIDATING_LIBRARIES = ("pydantic", "pydantic_core", "yaml")
OPS: frozenset[str] = frozenset(("=", "!=", "=~", "!~"))
KEPT_MAX_BYTES = 8 * MAX_FILE_BYTES
"""The largest kept file read back; a larger validation is not kept (it could not be read)."""

Form = dict[str, Any]


class _NotKeptError(Exception):
    """What the cache holds is not what this code would have written: validate instead."""


def cache_directory(env: Mapping[str, str]) -> Path | None:
    """Where validated definitions are kept, from the environment; None for no cache."""
    if CACHE_ENV in env:
        chosen = env[CACHE_ENV]
        return Path(chosen) if chosen else None
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "sloctl"
    if env.get("HOME"):
        return Path(env["HOME"]) / ".cache" / "sloctl"
    return None


def load_validated(definitions: Path, cache: Path | None) -> tuple[Slo, ...]:
    """The SLOs of ``definitions``, as :func:`~sloctl.loading.definitions.load_definitions`
    makes them (and raising what it raises), read from ``cache`` when these very files were
    validated by this very code before."""
    files = definition_files(definitions)
    key = None if cache is None else definitions_key(files, code_digest())
    if cache is not None and key is not None:
        try:
            return read_kept(kept_file(cache, definitions), key)
        except (OSError, _NotKeptError):
            pass
    from sloctl.loading.definitions import load_definitions

    slos = load_definitions(definitions)
    if cache is not None and key is not None:
        keep(kept_file(cache, definitions), key, slos)
    return slos


def kept_file(cache: Path, definitions: Path) -> Path:
    """The one file kept for ``definitions`` (a later validation replaces it)."""
    where = os.path.abspath(definitions).encode("utf-8", "surrogateescape")
    return cache / f"definitions-{hashlib.sha256(where).hexdigest()[:32]}.json"


def definitions_key(files: Sequence[Path], code: str) -> str | None:
    """The digest naming exactly these files' contents, read by ``code``; None when a file
    cannot be read or is larger than any definition may be (the validation says why)."""
    digest = hashlib.sha256(f"{FORMAT}\0{code}\0".encode())
    for path in files:
        try:
            with path.open("rb") as stream:
                data = stream.read(MAX_FILE_BYTES + 1)
        except OSError:
            return None
        if len(data) > MAX_FILE_BYTES:
            return None
        name = str(path).encode("utf-8", "surrogateescape")
        digest.update(b"%d:%s%d:" % (len(name), name, len(data)))
        digest.update(data)
    return digest.hexdigest()


def code_digest(root: Path | None = None) -> str:
    """The digest of the code that validates definitions: sloctl's own sources (under
    ``root``, the sloctl package) and where and when the validating libraries were installed."""
    package = root or Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    sources = [package / "errors.py"]
    for name in VALIDATING_CODE:
        sources.extend(sorted((package / name).glob("*.py")))
    for source in sources:
        try:
            data = source.read_bytes()
        except OSError:
            data = b"unreadable"
        digest.update(b"%s\0%d:" % (source.name.encode(), len(data)))
        digest.update(data)
    for library in VALIDATING_LIBRARIES:
        spec = PathFinder.find_spec(library)  # on sys.path, as importing it would look
        origin = None if spec is None else spec.origin
        try:
            stat = os.stat(origin) if origin else None
        except OSError:
            stat = None
        shown = "absent" if stat is None else f"{origin}:{stat.st_size}:{stat.st_mtime_ns}"
        digest.update(f"{library}={shown}\0".encode())
    return digest.hexdigest()


def read_kept(path: Path, key: str) -> tuple[Slo, ...]:
    """The SLOs kept in ``path`` under ``key``; _NotKeptError when it holds anything else."""
    with path.open("rb") as stream:
        raw = stream.read(KEPT_MAX_BYTES + 1)
    try:
        kept = json.loads(raw)
    except ValueError as exc:
        raise _NotKeptError("not JSON") from exc
    if not isinstance(kept, dict) or kept.get("key") != key:
        raise _NotKeptError("another key")
    return tuple(slo_from_form(form) for form in _list(kept.get("slos")))


def keep(path: Path, key: str, slos: Sequence[Slo]) -> None:
    """Write ``slos`` under ``key`` into ``path`` whole (a reader never sees half a file);
    a directory that cannot be written leaves the cache as it was."""
    import tempfile  # only when writing: it costs more to import than a read takes

    text = json.dumps({"key": key, "slos": [slo_form(slo) for slo in slos]}, sort_keys=True)
    if len(text.encode()) > KEPT_MAX_BYTES:
        return  # read back, it would be cut short and validated again every time
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, staged = tempfile.mkstemp(dir=path.parent, prefix=".definitions-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(staged, path)
        except BaseException:
            Path(staged).unlink(missing_ok=True)
            raise
    except OSError:
        return


# The JSON form of a validated SLO, and its exact reading back.


def slo_form(slo: Slo) -> Form:
    return {
        "service": slo.service,
        "name": slo.name,
        "indicator": _indicator_form(slo.indicator),
        "target": str(slo.target),
        "window": _window_form(slo.window),
        "timeslices": None
        if slo.timeslices is None
        else {
            "target": str(slo.timeslices.target),
            "slice_seconds": slo.timeslices.slice_seconds,
        },
        "description": slo.description,
        "source": slo.source,
        "scrape_seconds": slo.scrape_seconds,
        "depends_on": list(slo.depends_on),
    }


def slo_from_form(form: Any) -> Slo:
    """The SLO :func:`slo_form` wrote; _NotKeptError for anything else."""
    found = _dict(form)
    timeslices = found.get("timeslices")
    return Slo(
        service=_text(found, "service"),
        name=_text(found, "name"),
        indicator=_indicator(_dict(found.get("indicator"))),
        target=_decimal(found.get("target")),
        window=_window(_dict(found.get("window"))),
        timeslices=None
        if timeslices is None
        else Timeslices(
            _decimal(_dict(timeslices).get("target")), _whole(timeslices, "slice_seconds")
        ),
        description=_text(found, "description"),
        source=_text(found, "source"),
        scrape_seconds=_whole(found, "scrape_seconds"),
        depends_on=tuple(_texts(found.get("depends_on"))),
    )


def _indicator_form(indicator: Indicator) -> Form:
    if isinstance(indicator, LatencyIndicator):
        return {
            "latency": _selector_form(indicator.histogram),
            "threshold_seconds": str(indicator.threshold_seconds),
        }
    return {
        "total": _selector_form(indicator.total),
        "bad": None if indicator.bad is None else _selector_form(indicator.bad),
        "good": None if indicator.good is None else _selector_form(indicator.good),
    }


def _indicator(form: Form) -> Indicator:
    if "latency" in form:
        return LatencyIndicator(_selector(form["latency"]), _decimal(form.get("threshold_seconds")))
    bad, good = form.get("bad"), form.get("good")
    return RatioIndicator(
        total=_selector(form.get("total")),
        bad=None if bad is None else _selector(bad),
        good=None if good is None else _selector(good),
    )


def _window_form(window: Window) -> Form:
    if isinstance(window, RollingWindow):
        return {"rolling": window.seconds}
    return {"calendar": window.timezone}


def _window(form: Form) -> Window:
    if "rolling" in form:
        return RollingWindow(_whole(form, "rolling"))
    return CalendarWindow(_text(form, "calendar"))


def _selector_form(selector: Selector) -> Form:
    return {
        "metric": selector.metric,
        "matchers": [[m.label, m.op, m.value] for m in selector.matchers],
    }


def _selector(form: Any) -> Selector:
    found = _dict(form)
    matchers = []
    for item in _list(found.get("matchers")):
        parts = _texts(item)
        if len(parts) != 3 or parts[1] not in OPS:
            raise _NotKeptError("not a matcher")
        matchers.append(Matcher(parts[0], cast(MatchOp, parts[1]), parts[2]))
    return Selector(_text(found, "metric"), tuple(matchers))


def _dict(value: Any) -> Form:
    if not isinstance(value, dict):
        raise _NotKeptError("not an object")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _NotKeptError("not a list")
    return value


def _text(form: Form, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        raise _NotKeptError(f"{name} is not text")
    return value


def _texts(value: Any) -> list[str]:
    items = _list(value)
    if not all(isinstance(item, str) for item in items):
        raise _NotKeptError("not a list of text")
    return items


def _whole(form: Any, name: str) -> int:
    value = _dict(form).get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _NotKeptError(f"{name} is not a whole number")
    return value


def _decimal(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise _NotKeptError("not a number written as text")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise _NotKeptError("not a number") from exc
    if not number.is_finite():
        raise _NotKeptError("not a finite number")
    return number
