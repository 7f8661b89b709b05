"""`train`, `infer` and `model_report` from the command line."""

import json
import re

import pytest
from django.core.management import CommandError, call_command

from mlops.models import ModelVersion, Run

SMALL = '{"epochs": 3, "dim": 16}'  # a tiny SASRec: these tests are about commands
pytestmark = pytest.mark.django_db(transaction=True)


def test_train_and_infer_wait_until_done(shop, capsys):
    call_command("train", "recommender", "--wait", "--options", SMALL)
    call_command("infer", "recommender", "--wait")

    out = capsys.readouterr().out
    assert "Training recommender" in out and "succeeded" in out
    assert ModelVersion.objects.filter(status="champion").count() == 1
    assert Run.objects.filter(type="infer", state="succeeded").count() == 1


def test_train_all_reports_each_kind_and_trains_what_it_can(shop, capsys):
    # The test shop has 60 days of history: too short for a 60-day churn horizon.
    call_command("train", "all", "--wait", "--options", SMALL)
    out = capsys.readouterr().out
    assert "Outcome by kind:" in out
    assert re.search(r"segments: not trained — RunRefused: Not enough purchase", out)
    assert re.search(r"recommender: succeeded", out)
    assert ModelVersion.objects.get(status="champion").kind == "recommender"


def test_train_all_fails_for_a_real_error(shop, capsys, monkeypatch):
    from recommender.mlkind import RecommenderKind

    def broken(self, context):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(RecommenderKind, "train", broken)
    with pytest.raises(CommandError, match="Training recommender .*ZeroDivisionError"):
        call_command("train", "all", "--wait", "--options", SMALL)
    assert re.search(r"recommender: failed", capsys.readouterr().out)


def test_wait_exits_non_zero_when_the_run_fails(db):
    with pytest.raises(CommandError, match="Not enough purchase history"):
        call_command("train", "recommender", "--wait", "--options", SMALL)


def test_infer_without_a_champion_fails_clearly(db):
    with pytest.raises(CommandError, match="No recommender champion"):
        call_command("infer", "recommender", "--wait")


@pytest.mark.parametrize(
    "args, message",
    [
        (["weather"], "invalid choice"),
        (["recommender", "--options", "[1]"], "must be a JSON object"),
        (["recommender", "--options", "{oops"], "not valid JSON"),
    ],
)
def test_bad_arguments_are_refused(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("train", *args)
    assert not Run.objects.exists()


def test_model_report_filters_by_kind(shop, capsys):
    call_command("train", "recommender", "--options", SMALL)
    capsys.readouterr()
    call_command("model_report", "--kind", "demand", "--json")
    assert json.loads(capsys.readouterr().out) == []
    call_command("model_report")
    listed = capsys.readouterr().out
    assert re.search(r"recommender v1 (sasrec|category-chain) \[", listed)
    assert "[champion]" in listed and "baseline popularity:" in listed
