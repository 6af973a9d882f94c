"""sloctl: SLO and error-budget monitoring that follows an incident-response runbook."""

__version__ = "0.1.0"
