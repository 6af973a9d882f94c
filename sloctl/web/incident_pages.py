"""The incidents in the SRE UI: the list (open first), one incident with everything the store
holds about it, and the forms that act on it (acknowledge, mitigate, 3.2 update, resolve,
declare), which need a login and the session's CSRF token.

Every request opens the store and closes it before answering (read-only for pages; the daemon
checked it whole when it started). An action is the same function the command line calls
(:mod:`sloctl.daemon.actions`); it queues its notifications with the change, and the daemon's
delivery thread is woken to send them at once: nothing is sent from the request's thread.

The post-mortem draft shown here is the store's part of it: roles, timeline, notifications and
recorded changes. The error budget each SLO spent comes from Prometheus, which a page does not
query: ``sloctl incidents postmortem ID`` writes the draft with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sloctl.core.severity import Severity
from sloctl.core.slo import dependencies
from sloctl.daemon.actions import declare_incident, send_update, transition
from sloctl.daemon.incident_record import IncidentRecord, draft_context, gather, paged_text
from sloctl.errors import InvalidRequestError, StoreConflictError, StoreError
from sloctl.incidents.cadence import Status
from sloctl.incidents.lifecycle import ALLOWED, Incident, State
from sloctl.incidents.policy import Cause
from sloctl.incidents.postmortem import render as render_postmortem
from sloctl.incidents.roles import Role
from sloctl.notify.message import Sink
from sloctl.store.database import Store, open_store
from sloctl.web.request import Request
from sloctl.web.response import Response, redirect, text
from sloctl.web.sessions import Viewer
from sloctl.web.site import Route, route

if TYPE_CHECKING:
    from sloctl.web.ui import SreUi

RECENT_RESOLVED = 50
"""Resolved incidents the list shows after the open ones (``?all=1``: every one)."""
RECENT_SPAN = timedelta(days=30)
"""How far back the list looks for resolved incidents (``?all=1``: all the way)."""
MAX_NOTE = 1000
"""The longest note of an acknowledgement, mitigation or resolution (characters)."""
MAX_TEXT = 2000
"""The longest text of a 3.2 update."""
MAX_SUMMARY = 300
"""The longest summary of a declaration."""
MAX_ACTIONS = 20
"""The most current actions of one update (one per line), each at most MAX_ACTION long."""
MAX_ACTION = 300

ID = r"(?P<id>[A-Z]+-\d+)"
MOVES: Mapping[str, State] = {
    "acknowledge": State.ACKNOWLEDGED,
    "mitigate": State.MITIGATING,
    "resolve": State.RESOLVED,
}
"""The forms that move an incident, by the last part of their path."""

LIMITS = {"note": MAX_NOTE, "text": MAX_TEXT, "summary": MAX_SUMMARY}
"""The forms' ``maxlength``, from the same numbers the checks use."""

SEVERITY_CLASS = {Severity.P1: "crit", Severity.P2: "bad", Severity.P3: "warn", Severity.P4: "info"}


class Fields:
    """A posted form's fields, checked one by one; every problem is kept, one per field."""

    def __init__(self, request: Request, names: Sequence[str]) -> None:
        self.request = request
        self.errors: dict[str, str] = {}
        self.values = {name: request.field(name) for name in names}
        """What was sent, to fill the form in again."""

    def text(self, name: str, limit: int, *, required: str | None = None) -> str:
        value = self.request.field(name).strip()
        if required is not None and not value:
            self.errors[name] = required
        elif len(value) > limit:
            self.errors[name] = f"At most {limit} characters ({len(value)} given)."
        return value

    def choice(self, name: str, choices: Sequence[str], message: str) -> str:
        value = self.request.field(name).strip()
        if value not in choices:
            self.errors[name] = message
        return value

    def lines(self, name: str, most: int, limit: int) -> tuple[str, ...]:
        found = tuple(
            line.strip() for line in self.request.field(name).splitlines() if line.strip()
        )
        if len(found) > most:
            self.errors[name] = f"At most {most}, one per line."
        elif any(len(line) > limit for line in found):
            self.errors[name] = f"Each at most {limit} characters."
        return found


@dataclass(frozen=True)
class ListRow:
    incident: Incident
    commander: str
    paged: str


@dataclass(frozen=True)
class IncidentPages:
    ui: SreUi

    # --- What the pages read --------------------------------------------------------------

    @property
    def store_path(self) -> Path:
        config = self.ui.daemon.loaded.config
        return config.relative(config.spec.store)

    @property
    def services(self) -> list[str]:
        return sorted({slo.service for slo in self.ui.daemon.loaded.slos})

    def _reading(self) -> Store:
        return open_store(self.store_path, read_only=True, check=False)

    def _unavailable(self, request: Request, exc: StoreError) -> Response:
        self.ui.daemon.logger.warning("ui_store_unavailable", error=str(exc))
        return self.ui.render(
            request,
            "incident_list.html",
            status=503,
            rows=[],
            everything=False,
            problem="The incident store cannot be read right now (see sloctl's log).",
        )

    # --- The list ---------------------------------------------------------------------------

    def listing(self, request: Request, _match: re.Match[str]) -> Response:
        everything = request.arg("all") == "1"
        now = self.ui.clock()
        try:
            store = self._reading()
        except StoreError as exc:
            if not self.store_path.exists():
                return self.ui.render(
                    request, "incident_list.html", rows=[], everything=everything, problem=None
                )
            return self._unavailable(request, exc)
        try:
            found = (
                store.incidents()
                if everything
                else store.incidents(resolved_after=now - RECENT_SPAN)
            )
            commanders = store.commanders()
        finally:
            store.close()
        opened = [i for i in found if i.open]
        resolved = sorted(
            (i for i in found if not i.open),
            key=lambda i: i.resolved_at or i.detected_at,
            reverse=True,
        )
        if not everything:
            resolved = resolved[:RECENT_RESOLVED]
        opened.sort(key=lambda i: (list(Severity).index(i.severity), i.detected_at))
        rows = [ListRow(i, commanders.get(i.id, ""), paged_text(i)) for i in opened + resolved]
        return self.ui.render(
            request,
            "incident_list.html",
            rows=rows,
            everything=everything,
            problem=None,
            open_count=len(opened),
            recent=RECENT_RESOLVED,
            severity_class=SEVERITY_CLASS,
        )

    # --- One incident -----------------------------------------------------------------------

    def _detail(
        self,
        request: Request,
        incident_id: str,
        *,
        status: int = 200,
        form: str = "",
        errors: Mapping[str, str] | None = None,
        message: str = "",
        values: Mapping[str, str] | None = None,
    ) -> Response:
        try:
            store = self._reading()
        except StoreError as exc:
            return self._unavailable(request, exc)
        now = self.ui.clock()
        try:
            try:
                record = gather(store, incident_id, self.ui.daemon.loaded.config.drafts)
            except InvalidRequestError:
                return self.ui.render(
                    request, "incident_missing.html", status=404, incident_id=incident_id
                )
            context = draft_context(store, record, dependencies(self.ui.daemon.loaded.slos), now)
        finally:
            store.close()
        draft = render_postmortem(record.incident, None, now, context)
        return self.ui.render(
            request,
            "incident_detail.html",
            status=status,
            record=record,
            incident=record.incident,
            roles=[(role, record.roles[role]) for role in Role if role in record.roles],
            paged=paged_text(record.incident),
            postmortem=draft,
            statuses=[s.value for s in Status],
            form=form,
            errors=errors or {},
            message=message,
            values=values or {},
            severity_class=SEVERITY_CLASS,
            can_move=self._can_move(record),
            limits=LIMITS,
        )

    @staticmethod
    def _can_move(record: IncidentRecord) -> dict[str, bool]:
        incident = record.incident
        return {
            "acknowledge": incident.open and incident.acknowledged_at is None,
            "mitigate": State.MITIGATING in ALLOWED[incident.state],
            "resolve": incident.open,
            "update": incident.open,
        }

    def detail(self, request: Request, match: re.Match[str]) -> Response:
        return self._detail(request, match["id"])

    # --- Acting on it -----------------------------------------------------------------------

    def _allowed(self, request: Request) -> Viewer | Response:
        """The logged-in viewer of a state-changing request, or the refusal to answer."""
        viewer = self.ui.sessions.viewer(request)
        if viewer is None:
            return text("log in to act on incidents (/login)", 403)
        refused = self.ui.sessions.forged(request, viewer)
        if refused is not None:
            self.ui.daemon.logger.warning(
                "ui_request_refused", name=viewer.name, client=request.client, reason=refused
            )
            return text(refused, 403)
        return viewer

    def _writing(self) -> Store:
        return open_store(self.store_path, check=False)

    def _acted(self, incident_id: str) -> Response:
        self.ui.daemon.delivery.wake.set()  # the daemon's courier sends what was queued
        return redirect(f"/incidents/{incident_id}")

    def _sinks(self) -> Mapping[str, Sink]:
        """The sinks the daemon delivers to (as its last cycle configured them)."""
        return self.ui.daemon.delivery.courier.sinks

    def move(self, request: Request, match: re.Match[str]) -> Response:
        viewer = self._allowed(request)
        if isinstance(viewer, Response):
            return viewer
        incident_id, form = match["id"], match["action"]
        fields = Fields(request, ("note",))
        note = fields.text("note", MAX_NOTE)
        if fields.errors:
            return self._detail(
                request,
                incident_id,
                status=400,
                form=form,
                errors=fields.errors,
                values=fields.values,
            )
        return self._attempt(
            request,
            incident_id,
            form,
            fields.values,
            lambda store, now: (
                transition(
                    store,
                    self._sinks(),
                    incident_id,
                    MOVES[form],
                    person=viewer.name,
                    note=note,
                    now=now,
                    drafts=self.ui.daemon.loaded.config.drafts,
                ).incident
            ),
        )

    def update(self, request: Request, match: re.Match[str]) -> Response:
        viewer = self._allowed(request)
        if isinstance(viewer, Response):
            return viewer
        incident_id = match["id"]
        fields = Fields(request, ("status", "text", "actions"))
        status = fields.choice("status", [s.value for s in Status], "Choose the update's status.")
        said = fields.text("text", MAX_TEXT, required="Say what has changed since the last update.")
        actions = fields.lines("actions", MAX_ACTIONS, MAX_ACTION)
        if fields.errors:
            return self._detail(
                request,
                incident_id,
                status=400,
                form="update",
                errors=fields.errors,
                values=fields.values,
            )
        return self._attempt(
            request,
            incident_id,
            "update",
            fields.values,
            lambda store, now: (
                send_update(
                    store,
                    self._sinks(),
                    incident_id,
                    status=Status(status),
                    text=said,
                    actions=actions,
                    person=viewer.name,
                    now=now,
                ).incident
            ),
        )

    def _attempt(
        self,
        request: Request,
        incident_id: str,
        form: str,
        values: Mapping[str, str],
        act: Callable[[Store, datetime], Incident],
    ) -> Response:
        """Run ``act`` on a store opened for writing; a refusal re-renders the incident with
        its reason at the form."""
        try:
            store = self._writing()
        except StoreError as exc:
            return self._unavailable(request, exc)
        try:
            changed = act(store, self.ui.clock())
        except StoreConflictError:
            return self._detail(
                request,
                incident_id,
                status=409,
                form=form,
                values=values,
                message="The incident changed while this was sent: look again and retry.",
            )
        except InvalidRequestError as exc:
            return self._detail(
                request, incident_id, status=409, form=form, values=values, message=str(exc)
            )
        finally:
            store.close()
        self.ui.daemon.logger.info(
            "ui_incident_action", incident=changed.id, action=form, state=changed.state.value
        )
        return self._acted(changed.id)

    # --- Declaring one ----------------------------------------------------------------------

    def _declare_form(
        self,
        request: Request,
        *,
        status: int = 200,
        errors: Mapping[str, str] | None = None,
        message: str = "",
        values: Mapping[str, str] | None = None,
    ) -> Response:
        return self.ui.render(
            request,
            "incident_declare.html",
            status=status,
            services=self.services,
            severities=[s.value for s in Severity],
            causes=[c.value for c in Cause],
            errors=errors or {},
            message=message,
            values=values or {},
            limits=LIMITS,
        )

    def declare_form(self, request: Request, _match: re.Match[str]) -> Response:
        return self._declare_form(request)

    def declare(self, request: Request, _match: re.Match[str]) -> Response:
        viewer = self._allowed(request)
        if isinstance(viewer, Response):
            return viewer
        fields = Fields(request, ("service", "severity", "cause", "summary"))
        service = fields.choice("service", self.services, "Choose one of the configured services.")
        severity = fields.choice(
            "severity", [s.value for s in Severity], "Choose P1, P2, P3 or P4."
        )
        cause = fields.choice("cause", [c.value for c in Cause], "Choose what it is about.")
        summary = fields.text(
            "summary", MAX_SUMMARY, required="Say what is happening, in one line."
        )
        values = fields.values
        if fields.errors:
            return self._declare_form(request, status=400, errors=fields.errors, values=values)
        try:
            store = self._writing()
        except StoreError as exc:
            return self._unavailable(request, exc)
        try:
            declared = declare_incident(
                store,
                self._sinks(),
                self.ui.daemon.loaded.schedule,
                service=service,
                severity=Severity(severity),
                cause=Cause(cause),
                summary=" ".join(summary.split()),
                person=viewer.name,
                now=self.ui.clock(),
            )
        except StoreConflictError:
            return self._declare_form(
                request,
                status=409,
                values=values,
                message="The store changed while this was sent: look again and retry.",
            )
        except InvalidRequestError as exc:
            return self._declare_form(request, status=409, values=values, message=str(exc))
        finally:
            store.close()
        self.ui.daemon.logger.info(
            "ui_incident_declared", incident=declared.incident.id, by=viewer.name
        )
        return self._acted(declared.incident.id)


def routes(ui: SreUi) -> Sequence[Route]:
    pages = IncidentPages(ui)
    return (
        route("GET", r"/incidents", pages.listing),
        route("GET", r"/incidents/declare", pages.declare_form),
        route("POST", r"/incidents/declare", pages.declare),
        route("GET", rf"/incidents/{ID}", pages.detail),
        route("POST", rf"/incidents/{ID}/(?P<action>acknowledge|mitigate|resolve)", pages.move),
        route("POST", rf"/incidents/{ID}/update", pages.update),
    )
