"""The notification sinks and the delivery policy, built from the configuration's plain
settings: the daemon's, and those of ``sloctl incidents --config``."""

from __future__ import annotations

from collections.abc import Mapping

from requests.utils import DEFAULT_CA_BUNDLE_PATH

from sloctl.loading.config import Config, delivery_settings
from sloctl.loading.secrets import secret_from_env
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import Sink
from sloctl.notify.outbox import DeliveryPolicy
from sloctl.notify.pagerduty import PAGERDUTY_URL, PagerDutySink
from sloctl.notify.slack import SlackSink

SLACK = "SLOCTL_SLACK_WEBHOOK_URL"
PAGERDUTY = "SLOCTL_PAGERDUTY_ROUTING_KEY"
PAGERDUTY_EVENTS_URL = "SLOCTL_PAGERDUTY_EVENTS_URL"
ALERTMANAGER = "SLOCTL_ALERTMANAGER_URL"


def sinks(config: Config, env: Mapping[str, str]) -> dict[str, Sink]:
    """The notification sinks: those the config's ``notifications`` section names (secrets
    read now), else whatever the SLOCTL_* environment variables set up."""
    settings = config.sink_settings(env)
    if settings is None:
        return sinks_from_env(env)
    found: dict[str, Sink] = {}
    if settings.slack_webhook_url is not None:
        found["slack"] = SlackSink(settings.slack_webhook_url)
    if settings.pagerduty_routing_key is not None:
        url = settings.pagerduty_events_url or PAGERDUTY_URL
        found["pagerduty"] = PagerDutySink(settings.pagerduty_routing_key, url)
    if settings.alertmanager_url is not None:
        found["alertmanager"] = AlertmanagerSink(settings.alertmanager_url)
    return found


def delivery_policy(config: Config | None) -> DeliveryPolicy:
    """How notifications are retried and coalesced: the config's settings, or the defaults."""
    settings = delivery_settings(config)
    return DeliveryPolicy(
        max_delay=settings.max_delay,
        max_age=settings.max_age,
        coalesce=settings.coalesce,
        send_timeout=settings.send_timeout,
    )


def webhook_verify(config: Config | None) -> str:
    """The CA file every notification request is checked against (passed per request)."""
    ca_file = delivery_settings(config).ca_file
    return DEFAULT_CA_BUNDLE_PATH if ca_file is None else str(ca_file)


def sinks_from_env(env: Mapping[str, str]) -> dict[str, Sink]:
    """The sinks whose secrets are set, from variables or ``<NAME>_FILE`` files."""
    sinks: dict[str, Sink] = {}
    if (url := secret_from_env(env, SLACK)) is not None:
        sinks["slack"] = SlackSink(url)
    if (key := secret_from_env(env, PAGERDUTY)) is not None:
        sinks["pagerduty"] = PagerDutySink(key, env.get(PAGERDUTY_EVENTS_URL) or PAGERDUTY_URL)
    if (base := secret_from_env(env, ALERTMANAGER)) is not None:
        sinks["alertmanager"] = AlertmanagerSink(base)
    return sinks
