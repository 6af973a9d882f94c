"""SLO definition files: their schema, validation and loading into frozen :class:`Slo` values.

A file describes one service::

    service: api
    slos:
      - name: availability
        indicator:
          ratio:
            total: http_requests_total{service="api"}
            bad: http_requests_total{service="api",code=~"5.."}
        objective: {target: 99.9%, budget: 43.2m}
        window: {rolling: 30d}

Every problem in every file is collected and raised together as one DefinitionError.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from sloctl.core.budget import minutes
from sloctl.core.conventions import BUCKET_LABEL
from sloctl.core.durations import (
    amount_resolution_minutes,
    parse_amount_minutes,
    parse_duration,
    parse_seconds,
)
from sloctl.core.selector import Selector, parse_selector
from sloctl.core.slo import (
    DEFAULT_SCRAPE_SECONDS,
    DEFAULT_WINDOW,
    CalendarWindow,
    LatencyIndicator,
    RatioIndicator,
    RollingWindow,
    Slo,
    Timeslices,
    Window,
)
from sloctl.errors import DefinitionError, Problem, YamlError
from sloctl.loading.files import definition_files
from sloctl.loading.yaml_document import Document, Location, load_yaml

MAX_NUMBER_TEXT = 40
MAX_TARGET_DIGITS = 20
EXACT = Context(prec=60, traps=[InvalidOperation, Overflow, DivisionByZero])


def parse_ratio(value: Any) -> Decimal:
    """A target as a fraction (``0.999``) or a percentage string (``"99.9%"``), exactly."""
    if isinstance(value, bool):
        raise ValueError("expected a number such as 0.999 or a percentage such as 99.9%")
    if isinstance(value, int):
        if not 0 <= value <= 1:
            raise ValueError(f"{value} is above 1; write a fraction (0.999) or 99.9%")
        number = Decimal(value)
    elif isinstance(value, float):
        text = repr(value)
        if not math.isfinite(value):
            raise ValueError(f"{text} is not a number; write a fraction (0.999) or 99.9%")
        if value > 1:
            raise ValueError(f"{text} is above 1; write a fraction (0.999) or a percentage (99.9%)")
        number = Decimal(text)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT:
            raise ValueError(f"{text[:20]}... is too long for a target")
        try:
            if text.endswith("%"):
                number = EXACT.divide(Decimal(text[:-1].strip()), 100)
            else:
                number = Decimal(text)
        except ArithmeticError as exc:
            raise ValueError(f"{value!r} is not a number or percentage") from exc
        if not number.is_finite() or (not text.endswith("%") and number > 1):
            raise ValueError(f"{value!r}: write a fraction (0.999) or a percentage (99.9%)")
    else:
        raise ValueError("expected a number such as 0.999 or a percentage such as 99.9%")
    return checked_target(number, repr(value))


def checked_target(number: Decimal, shown: str) -> Decimal:
    """``number`` if it lies strictly between 0 and 1 and is written with at most 20 digits."""
    if not 0 < number < 1:
        raise ValueError(f"{shown} must lie strictly between 0% and 100%")
    normal = EXACT.normalize(number)
    if len(normal.as_tuple().digits) > MAX_TARGET_DIGITS or not 0 < normal < 1:
        raise ValueError(f"{shown} has more than {MAX_TARGET_DIGITS} significant digits")
    return normal


def _selector(value: Any) -> Selector:
    if not isinstance(value, str):
        raise ValueError('expected a PromQL selector string such as metric{label="value"}')
    return parse_selector(value)


def _window_seconds(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30d")
    return parse_duration(value)


def _amount(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected an amount of time such as 43.2m or 3.6h")
    parse_amount_minutes(value)
    return value.strip()


def _latency(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("expected a latency such as 200ms or 2.5s")
    return parse_seconds(value if isinstance(value, str) else repr(value))


SelectorText = Annotated[Selector, BeforeValidator(_selector)]
RatioValue = Annotated[Decimal, BeforeValidator(parse_ratio)]
WindowSeconds = Annotated[int, BeforeValidator(_window_seconds)]
AmountText = Annotated[str, BeforeValidator(_amount)]
LatencySeconds = Annotated[Decimal, BeforeValidator(_latency)]
Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class RatioSpec(_Spec):
    total: SelectorText
    bad: SelectorText | None = None
    good: SelectorText | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Self:
        if (self.bad is None) == (self.good is None):
            raise ValueError("give exactly one of 'bad' or 'good' beside 'total'")
        return self


class LatencySpec(_Spec):
    histogram: SelectorText
    threshold: LatencySeconds

    @model_validator(mode="after")
    def _base_name(self) -> Self:
        if self.histogram.metric.endswith(("_bucket", "_count", "_sum")):
            raise ValueError(
                "name the histogram without its _bucket/_count/_sum suffix, "
                'such as http_request_duration_seconds{service="api"}'
            )
        if any(m.label == BUCKET_LABEL for m in self.histogram.matchers):
            raise ValueError("do not match 'le' yourself; sloctl picks the bucket from 'threshold'")
        return self


class IndicatorSpec(_Spec):
    ratio: RatioSpec | None = None
    latency: LatencySpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.ratio is None) == (self.latency is None):
            raise ValueError("give exactly one indicator: 'ratio' or 'latency'")
        return self


class ObjectiveSpec(_Spec):
    target: RatioValue | None = None
    budget: AmountText | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.target is None and self.budget is None:
            raise ValueError("give a 'target' (99.9%) or a 'budget' (43.2m), or both")
        return self


class WindowSpec(_Spec):
    rolling: WindowSeconds | None = None
    calendar: Literal["month"] | None = None
    timezone: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.rolling is None) == (self.calendar is None):
            raise ValueError("give exactly one of 'rolling: 30d' or 'calendar: month'")
        if self.timezone is not None:
            if self.calendar is None:
                raise ValueError("'timezone' applies to calendar windows only")
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
                raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        return self

    def to_window(self) -> Window:
        if self.rolling is not None:
            return RollingWindow(self.rolling)
        return CalendarWindow(self.timezone or "UTC")


class SloSpec(_Spec):
    name: Name
    description: str = ""
    indicator: IndicatorSpec
    objective: ObjectiveSpec
    window: WindowSpec | None = None
    budgeting_method: Literal["Occurrences", "Timeslices"] = Field(
        "Occurrences", alias="budgetingMethod"
    )
    time_slice_target: RatioValue | None = Field(None, alias="timeSliceTarget")
    time_slice_window: WindowSeconds | None = Field(None, alias="timeSliceWindow")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    @model_validator(mode="after")
    def _method_fields(self) -> Self:
        sliced = self.budgeting_method == "Timeslices"
        given = self.time_slice_target is not None, self.time_slice_window is not None
        if sliced and not all(given):
            raise ValueError("Timeslices needs both 'timeSliceTarget' and 'timeSliceWindow'")
        if not sliced and any(given):
            raise ValueError(
                "'timeSliceTarget' and 'timeSliceWindow' need budgetingMethod: Timeslices"
            )
        if self.time_slice_window is not None and not 60 <= self.time_slice_window <= 3600:
            raise ValueError("'timeSliceWindow' must be from 1m to 1h")
        return self


class ServiceSpec(_Spec):
    service: str = Field(min_length=1, max_length=256)
    description: str = ""
    scrape_interval: WindowSeconds = Field(DEFAULT_SCRAPE_SECONDS, alias="scrapeInterval")
    depends_on: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        [], alias="dependsOn"
    )
    slos: list[SloSpec] = Field(min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    @model_validator(mode="after")
    def _scrape(self) -> Self:
        if self.scrape_interval > 600:
            raise ValueError("'scrapeInterval' above 10m leaves 5-minute rates without samples")
        return self

    def dependency_problems(self, document: Document, source: str) -> list[Problem]:
        """A service naming itself, or one service twice, in ``dependsOn``."""
        problems = []
        seen: set[str] = set()
        for index, name in enumerate(self.depends_on):
            loc = ("dependsOn", index)
            if name == self.service:
                message = f"{self.service!r} cannot depend on itself"
            elif name in seen:
                message = f"{name!r} is listed twice"
            else:
                seen.add(name)
                continue
            problems.append(Problem(source, _location_text(loc), message, document.line_of(loc)))
        return problems


def _location_text(location: Iterable[str | int]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _target_of(spec: SloSpec, window: Window) -> Decimal:
    """The target, derived from the budget where only the budget is given.

    Raises ValueError naming the inconsistency when both are given and disagree beyond the
    precision the budget was written with (``4.3m`` for 99.99% over 30 days is fine).
    """
    objective = spec.objective
    if objective.budget is None:
        if objective.target is None:
            raise ValueError("the objective needs a target or a budget")
        return objective.target
    if not isinstance(window, RollingWindow):
        raise ValueError(
            "a budget in minutes needs a rolling window (a calendar month varies in length); "
            "give a target instead"
        )
    window_minutes = minutes(timedelta(seconds=window.seconds))
    budget = parse_amount_minutes(objective.budget)
    if budget >= window_minutes:
        raise ValueError(f"budget {objective.budget} is not shorter than the window")
    if objective.target is None:
        derived = 1 - EXACT.divide(budget, window_minutes)
        return checked_target(derived.quantize(Decimal(10) ** -MAX_TARGET_DIGITS), objective.budget)
    implied = (1 - objective.target) * window_minutes
    if abs(implied - budget) > amount_resolution_minutes(objective.budget):
        raise ValueError(
            f"budget {objective.budget} disagrees with target "
            f"{format((objective.target * 100).normalize(), 'f')}%: "
            f"that target allows {format(implied.normalize(), 'f')} min over the window"
        )
    return objective.target


def _to_slo(service: ServiceSpec, spec: SloSpec, source: str) -> Slo:
    window = spec.window.to_window() if spec.window is not None else DEFAULT_WINDOW
    target = _target_of(spec, window)
    indicator: RatioIndicator | LatencyIndicator
    ratio, latency = spec.indicator.ratio, spec.indicator.latency
    if ratio is not None:
        indicator = RatioIndicator(total=ratio.total, bad=ratio.bad, good=ratio.good)
    elif latency is not None:
        indicator = LatencyIndicator(latency.histogram, latency.threshold)
    else:
        raise ValueError("the indicator needs a ratio or a latency")
    timeslices = None
    if spec.time_slice_target is not None and spec.time_slice_window is not None:
        timeslices = Timeslices(spec.time_slice_target, spec.time_slice_window)
        if isinstance(window, RollingWindow) and window.seconds % spec.time_slice_window:
            raise ValueError("the window must be a whole number of time slices")
    return Slo(
        service=service.service,
        name=spec.name,
        indicator=indicator,
        target=target,
        window=window,
        timeslices=timeslices,
        description=spec.description,
        source=source,
        scrape_seconds=service.scrape_interval,
        depends_on=tuple(service.depends_on),
    )


def _message(error: Any, unknown_key: str) -> str:
    text = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if error["type"] == "extra_forbidden":
        text = unknown_key
    return text


def validation_problems(
    error: ValidationError,
    document: Document,
    source: str,
    unknown_key: str = "unknown key (check the spelling)",
) -> list[Problem]:
    """Every problem pydantic found in ``document``, with its location and line."""
    located = []
    for item in error.errors():
        loc: Location = tuple(item["loc"])
        located.append(
            Problem(source, _location_text(loc), _message(item, unknown_key), document.line_of(loc))
        )
    return located


def read_document(path: Path, error: type[DefinitionError] = DefinitionError) -> Document:
    """``path`` parsed as safe YAML; ``error`` (the kind of file it is) when it cannot be."""
    try:
        return load_yaml(path)
    except YamlError as exc:
        raise error([Problem(str(path), "", str(exc), exc.line)]) from exc
    except OSError as exc:
        raise error([Problem(str(path), "", f"cannot read: {exc.strerror}")]) from exc


Model = TypeVar("Model", bound=BaseModel)


def read_validated(
    path: Path, model: type[Model], error: type[DefinitionError]
) -> tuple[Model, Document]:
    """``path`` read as safe YAML and validated as ``model`` (an empty file is an empty
    mapping); ``error`` (the kind of file it is) with every located problem when it is not."""
    document = read_document(path, error)
    try:
        return model.model_validate(document.data or {}), document
    except ValidationError as exc:
        raise error(validation_problems(exc, document, str(path))) from exc


def parse_definition(document: Document, source: str) -> tuple[list[Slo], list[Problem]]:
    """Validate one parsed file; returns its SLOs and every problem found in it."""
    try:
        spec = ServiceSpec.model_validate(document.data)
    except ValidationError as exc:
        hint = "unknown key (check the spelling; see slo-definitions/README.md)"
        return [], validation_problems(exc, document, source, hint)
    slos: list[Slo] = []
    problems: list[Problem] = spec.dependency_problems(document, source)
    for index, slo_spec in enumerate(spec.slos):
        loc = ("slos", index)
        try:
            slos.append(_to_slo(spec, slo_spec, source))
        except ValueError as exc:
            problems.append(Problem(source, _location_text(loc), str(exc), document.line_of(loc)))
    return slos, problems


def load_definitions(directory: Path) -> tuple[Slo, ...]:
    """Load and validate every definition under ``directory`` (or one file).

    Raises DefinitionError listing every problem in every file.
    """
    slos: list[Slo] = []
    problems: list[Problem] = []
    documents: dict[str, Document] = {}
    for path in definition_files(directory):
        try:
            document = read_document(path)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        documents[str(path)] = document
        found, file_problems = parse_definition(document, str(path))
        slos.extend(found)
        problems.extend(file_problems)
    problems.extend(dependency_graph_problems(slos, documents))
    seen: dict[str, str] = {}
    for slo in slos:
        if slo.key in seen:
            problems.append(
                Problem(slo.source, "", f"SLO {slo.key!r} is also defined in {seen[slo.key]}")
            )
        seen.setdefault(slo.key, slo.source)
    if problems:
        raise DefinitionError(problems)
    return tuple(slos)


def dependency_graph_problems(
    slos: Sequence[Slo], documents: Mapping[str, Document]
) -> list[Problem]:
    """``dependsOn`` naming a service no definition describes, and dependency cycles, each
    located at the entry that names it."""
    declared: dict[str, tuple[tuple[str, ...], str]] = {}
    for slo in slos:
        declared.setdefault(slo.service, (slo.depends_on, slo.source))
    problems: list[Problem] = []

    def problem(service: str, index: int, message: str) -> Problem:
        source = declared[service][1]
        loc = ("dependsOn", index)
        document = documents.get(source)
        line = None if document is None else document.line_of(loc)
        return Problem(source, _location_text(loc), message, line)

    graph: dict[str, list[str]] = {}
    for service, (depends, _) in declared.items():
        for index, name in enumerate(depends):
            if name == service:
                continue  # reported with its file
            if name not in declared:
                text = f"unknown service {name!r}: no definition describes it"
                problems.append(problem(service, index, text))
                continue
            graph.setdefault(service, []).append(name)
    reported: set[frozenset[str]] = set()

    def walk(path: list[str]) -> None:
        for name in graph.get(path[-1], ()):
            if name not in path:
                walk([*path, name])
                continue
            cycle = path[path.index(name) :]
            if frozenset(cycle) in reported:
                continue
            reported.add(frozenset(cycle))
            start = cycle.index(min(cycle))
            loop = [*cycle[start:], *cycle[:start]]
            index = declared[loop[0]][0].index(loop[1] if len(loop) > 1 else loop[0])
            text = "dependency cycle: " + " -> ".join([*loop, loop[0]])
            problems.append(problem(loop[0], index, text))

    for service in sorted(graph):
        walk([service])
    return problems
