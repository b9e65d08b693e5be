"""Live CloudTrail reads for one account: the documents describe-trails, get-event-selectors and
get-trail-status give, so live and offline scans share the logging evaluation.

Calls (all read-only, listed in docs/aws-permissions.json): ``cloudtrail:DescribeTrails`` once
(shadow trails included, so multi-region and organization trails homed elsewhere are seen from
one region), then per trail, in its home region, ``cloudtrail:GetTrailStatus`` and
``cloudtrail:GetEventSelectors``. A failed DescribeTrails fails CloudTrail for the account (one
error naming the account and the permission; the rest of the account is still collected); a failed
per-trail call leaves that trail's facts unknown and is a warning (a member account may not be
allowed to read an organization trail's status).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nhiscan.sources.aws.calls import Api, AwsCallError, client_config, json_safe
from nhiscan.sources.aws.exports import TRAIL_STATUS_KIND


class TrailReader:
    """CloudTrail clients per region for one session, and the three reads."""

    def __init__(self, session: Any, region: str, warn: Callable[[str], None]) -> None:
        self.session = session
        self.region = region
        self.warn = warn
        self._apis: dict[str, Api] = {}

    def api(self, region: str | None) -> Api:
        region = region or self.region
        if region not in self._apis:
            client = self.session.client("cloudtrail", region_name=region, config=client_config(4))
            self._apis[region] = Api(client, "cloudtrail")
        return self._apis[region]

    def read(self) -> list[tuple[str, Any]]:
        """(kind, data) documents; AwsCallError when DescribeTrails itself fails."""
        described = self.api(None).call("describe_trails", includeShadowTrails=True)
        trails = [t for t in json_safe(described.get("trailList") or []) if isinstance(t, dict)]
        docs: list[tuple[str, Any]] = [("aws-cloudtrail-trails", {"trailList": trails})]
        statuses: list[dict[str, Any]] = []
        for trail in trails:
            arn = str(trail.get("TrailARN") or "")
            if not arn:
                continue
            api = self.api(trail.get("HomeRegion"))
            try:
                status = json_safe(api.call("get_trail_status", Name=arn))
                statuses.append({"TrailARN": arn, **status})
            except AwsCallError as exc:
                self.warn(f"{exc.message}; whether trail {trail.get('Name')} is logging stays unknown")
            try:
                selectors = json_safe(api.call("get_event_selectors", TrailName=arn))
                selectors.setdefault("TrailARN", arn)
                selectors.setdefault("EventSelectors", [])
                docs.append(("aws-cloudtrail-event-selectors", selectors))
            except AwsCallError as exc:
                self.warn(f"{exc.message}; the events trail {trail.get('Name')} selects stay unknown")
        if statuses:
            docs.append(("aws-cloudtrail-trail-status", {"Kind": TRAIL_STATUS_KIND, "Trails": statuses}))
        return docs
