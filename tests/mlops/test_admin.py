"""The registry and runs in the admin."""

import pytest
from django.urls import reverse

from mlops.models import ModelVersion, RegistryEvent, Run
from tests.mlops.test_registry import outcome, register

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["run", "modelversion", "registryevent", "servedbatch"]
)
def test_changelists_render(admin_client, model):
    register(outcome(0.3, 0.2))
    response = admin_client.get(reverse(f"admin:mlops_{model}_changelist"))
    assert response.status_code == 200


def test_run_list_shows_a_progress_bar_and_the_resulting_version(admin_client):
    version = register(outcome(0.3, 0.2))
    Run.objects.filter(pk=version.run_id).update(progress=42.0, state="running")

    page = admin_client.get(reverse("admin:mlops_run_changelist")).content.decode()

    assert '<progress value="42.0" max="100"' in page
    assert reverse("admin:mlops_modelversion_change", args=[version.pk]) in page


def test_version_page_shows_metrics_next_to_baselines(admin_client):
    version = register(outcome(0.3, 0.2))
    page = admin_client.get(
        reverse("admin:mlops_modelversion_change", args=[version.pk])
    ).content.decode()
    assert "0.3000" in page and "0.2000" in page and "popularity" in page


def test_promote_from_the_admin_needs_a_reason_and_is_audited(admin_client, admin_user):
    first = register(outcome(0.30, 0.20))
    second = register(outcome(0.25, 0.20, champion_ndcg=0.30))
    url = reverse("admin:mlops_modelversion_promote", args=[second.pk])

    assert admin_client.post(url, {"reason": ""}).status_code == 200  # form error
    assert ModelVersion.objects.get(status="champion") == first

    response = admin_client.post(url, {"reason": "wins the online test"})
    assert response.status_code == 302
    assert ModelVersion.objects.get(status="champion") == second
    event = RegistryEvent.objects.get(
        version=second, action="promoted", user=admin_user
    )
    assert "wins the online test" in event.reason

    rollback = reverse("admin:mlops_modelversion_rollback", args=[second.pk])
    admin_client.post(rollback, {"reason": "complaints"})
    assert ModelVersion.objects.get(status="champion") == first


def test_staff_without_permission_cannot_promote(client, django_user_model):
    register(outcome(0.30, 0.20))
    second = register(outcome(0.25, 0.20, champion_ndcg=0.30))
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)
    url = reverse("admin:mlops_modelversion_promote", args=[second.pk])
    assert client.post(url, {"reason": "sneaky"}).status_code == 403
    second.refresh_from_db()
    assert second.status == "challenger"
