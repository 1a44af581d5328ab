"""A listing's filters are bounded: at most MAX_FILTER_TERMS variables or labels, each
label counted once; more is a 400 that says so."""

from __future__ import annotations

from craton.api.fields import MAX_FILTER_TERMS

from .conftest import build_fleet, ok


def test_too_many_variables_in_a_filter_are_refused(root):
    fleet = build_fleet(root)
    terms = ",".join(f"k{n}:{n}" for n in range(MAX_FILTER_TERMS + 1))
    answer = fleet["root"].get("/v1/hosts", query_string=f"vars={terms}")
    assert answer.status_code == 400, answer.text
    assert f"at most {MAX_FILTER_TERMS} variables in one filter, not " \
           f"{MAX_FILTER_TERMS + 1}" in answer.json["message"]
    enough = ",".join(f"k{n}:{n}" for n in range(MAX_FILTER_TERMS))
    assert ok(fleet["root"].get("/v1/hosts", query_string=f"vars={enough}"))["hosts"] == []


def test_too_many_labels_are_refused_and_a_label_given_twice_counts_once(root):
    fleet = build_fleet(root)
    host = fleet["host"]["id"]
    ok(fleet["root"].put(f"/v1/hosts/{host}/labels", json={"labels": ["gpu"]}))
    many = "&".join(f"label=l{n}" for n in range(MAX_FILTER_TERMS + 1))
    answer = fleet["root"].get("/v1/hosts", query_string=many)
    assert answer.status_code == 400, answer.text
    assert f"at most {MAX_FILTER_TERMS} labels in one filter" in answer.json["message"]
    repeated = "&".join(["label=gpu"] * 100)
    found = ok(fleet["root"].get("/v1/hosts", query_string=repeated))["hosts"]
    assert [h["id"] for h in found] == [host]
    answer = fleet["root"].get("/v1/ansible-inventory", query_string=many)
    assert answer.status_code == 400, answer.text
