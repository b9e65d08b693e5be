"""Rule parameters: every rule file declares each parameter's type and range (param_spec), and the
catalog refuses a rule whose spec is missing, malformed or does not fit its own default."""

from __future__ import annotations

from typing import Any

import pytest

from nhiscan.analyze.rules import ParamSpec, load_catalog, parse_rule
from nhiscan.errors import NhiscanError

BASE: dict[str, Any] = {
    "id": "x-rule",
    "title": "t",
    "severity": "low",
    "owasp_nhi": ["NHI1:2025"],
    "why": "w",
    "remediation": "r",
}


def test_every_shipped_parameter_has_a_spec_its_default_fits() -> None:
    with_params = [r for r in load_catalog() if r.params]
    assert len(with_params) >= 10
    for rule in with_params:
        assert set(rule.param_spec) == set(rule.params), rule.id
        for name, value in rule.params.items():
            assert rule.param_spec[name].problem(value) is None, (rule.id, name)


@pytest.mark.parametrize(
    ("params", "spec", "message"),
    [
        ({"days": 5}, None, "same parameters"),
        ({"days": 5}, {"days": {"type": "float"}}, "needs type"),
        ({"days": 5}, {"days": {"type": "integer", "min": "1"}}, "min and max"),
        ({"days": 0}, {"days": {"type": "integer", "min": 1}}, "default does not fit"),
        ({"tags": ["a"]}, {"tags": {"type": "string-list", "unit": "x"}}, "needs type"),
    ],
)
def test_a_bad_spec_is_refused(params: dict[str, Any], spec: dict[str, Any] | None, message: str) -> None:
    data = {**BASE, "params": params, **({"param_spec": spec} if spec is not None else {})}
    with pytest.raises(NhiscanError, match=message):
        parse_rule(data, "rules/x-rule.yaml")


@pytest.mark.parametrize(
    ("spec", "value", "problem"),
    [
        (ParamSpec("integer", 1, 10), 10, None),
        (ParamSpec("integer", 1, 10), 11, "got 11"),
        (ParamSpec("integer", 1, 10), True, "boolean"),
        (ParamSpec("integer", 1, 10), 2.0, "decimal"),
        (ParamSpec("integer", 1, 10), "5", "string"),
        (ParamSpec("string", choices=("a", "b")), "c", "one of a, b"),
        (ParamSpec("string-list", 1), [], "0 item"),
        (ParamSpec("string-list", 1), ["ok", ""], "list"),
        (ParamSpec("string-list"), ["ok"], None),
        (ParamSpec("boolean"), True, None),
        (ParamSpec("boolean"), "yes", "true or false"),
        (ParamSpec("boolean"), 1, "true or false"),
    ],
)
def test_values_are_checked_against_the_spec(spec: ParamSpec, value: Any, problem: str | None) -> None:
    found = spec.problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found), found
