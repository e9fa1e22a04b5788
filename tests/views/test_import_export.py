"""The upload form (staff only, CSRF, size limit, a report for a broken file) and exports."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from flows.formats.imports import MAX_UPLOAD_BYTES, detect
from flows.formats.scenario import scenario_load_file
from flows.models import Run, Topology
from tests import factories as f

pytestmark = pytest.mark.django_db

CFN = Path(__file__).parent.parent / "formats" / "cloudformation" / "fixtures"
ASYNCAPI = Path(__file__).parent.parent / "formats" / "asyncapi" / "fixtures"


def upload(client: Client, name: str, content: bytes, **fields: str):
    data = {"document": SimpleUploadedFile(name, content), "format": "auto", **fields}
    return client.post("/import/", data)


def test_the_index_links_staff_to_the_upload_form(client: Client, admin_client: Client) -> None:
    assert "/import/" in admin_client.get("/").content.decode()
    assert "/import/" not in client.get("/").content.decode()


def test_the_upload_form_is_for_staff_only(client: Client) -> None:
    assert client.get("/import/").status_code == 302  # to the login page
    User.objects.create_user("reader", password="pw-reader-1234")
    client.login(username="reader", password="pw-reader-1234")
    response = client.post(
        "/import/", {"document": SimpleUploadedFile("t.yaml", b"x"), "format": "auto"}
    )
    assert response.status_code == 302
    assert not Topology.objects.exists()


def test_the_upload_needs_the_csrf_token(admin_user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    page = client.get("/import/")
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    text = (ASYNCAPI / "signup-2.6.yaml").read_bytes()
    refused = upload(client, "signup.yaml", text)
    assert refused.status_code == 403
    assert not Topology.objects.exists()


def test_a_sam_template_is_detected_imported_and_reported(admin_client: Client) -> None:
    response = upload(admin_client, "shop-sam.yaml", (CFN / "shop-sam.yaml").read_bytes())
    assert response.status_code == 200
    body = response.content.decode()
    topology = Topology.objects.get(slug="shop-sam")
    assert "Created topology" in body
    assert f'href="{topology.get_absolute_url()}"' in body  # the dashboard
    assert "Start run" in body and f"/topologies/{topology.slug}/run/" in body
    assert "Inferred (" in body and "OrderService" in body  # the same report as importcfn


def test_an_asyncapi_document_is_detected_and_imported_under_the_chosen_slug(
    admin_client: Client,
) -> None:
    text = (ASYNCAPI / "orders-3.0.yaml").read_bytes()
    response = upload(admin_client, "orders.yaml", text, slug="my-orders")
    assert response.status_code == 200, response.content.decode()[:2000]
    body = response.content.decode()
    assert Topology.objects.filter(slug="my-orders").exists()
    assert "Not modelled (" in body and "servers.production" in body
    assert "Refused (" in body
    again = upload(admin_client, "orders.yaml", text, slug="my-orders")
    assert "Updated topology" in again.content.decode()


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("broken.yaml", b"Resources: {Queue: {Type: AWS::SQS::Queue\n", "not valid YAML"),
        ("binary.yaml", b"\xff\xfe\x00garbage", "not UTF-8"),
        ("notes.txt", b"just some notes\n", "choose the format"),
        ("empty.json", b"{}", "choose the format"),
        ("bad.yaml", b"asyncapi: 9.9.9\n", "reads AsyncAPI"),
        ("alias-bomb.yaml", b"Resources: &a [*a]\n", "recursive alias"),
    ],
)
def test_a_broken_file_gets_the_report_not_a_500(
    admin_client: Client, name: str, content: bytes, why: str
) -> None:
    response = upload(admin_client, name, content)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing imported" in body and why in body
    assert not Topology.objects.exists()


def test_a_file_over_the_size_limit_is_refused_with_a_clear_message(admin_client: Client) -> None:
    big = b"# padding\n" * (MAX_UPLOAD_BYTES // 10 + 1)
    response = upload(admin_client, "big.yaml", big)
    assert response.status_code == 413
    assert f"at most {MAX_UPLOAD_BYTES:,} are read" in response.content.decode()
    assert not Topology.objects.exists()


def test_a_chosen_format_overrides_detection(admin_client: Client) -> None:
    text = (ASYNCAPI / "signup-2.6.yaml").read_bytes()
    response = admin_client.post(
        "/import/",
        {"document": SimpleUploadedFile("s.yaml", text), "format": "cloudformation"},
    )
    assert response.status_code == 400
    assert "no Resources" in response.content.decode()


def test_detect_tells_the_formats_apart() -> None:
    assert detect("asyncapi: 3.0.0\n") == "asyncapi"
    assert detect('{"asyncapi": "2.6.0"}') == "asyncapi"
    assert detect("AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n") == "cloudformation"
    assert detect("Transform: AWS::Serverless-2016-10-31\n") == "cloudformation"
    assert detect("hello: world\n") is None


def test_start_run_from_the_report_starts_a_run_and_opens_the_dashboard(
    admin_client: Client,
) -> None:
    topology = scenario_load_file("commands-on-a-queue")
    response = admin_client.post(f"/topologies/{topology.slug}/run/")
    assert response.status_code == 302 and response["Location"] == topology.get_absolute_url()
    run = Run.objects.get(topology=topology)
    from flows import services

    services.run_stop(run=run)
    assert run.pk


def test_start_run_is_for_staff_with_a_post(client: Client, admin_client: Client) -> None:
    topology = scenario_load_file("commands-on-a-queue")
    assert client.post(f"/topologies/{topology.slug}/run/").status_code == 302
    assert admin_client.get(f"/topologies/{topology.slug}/run/").status_code == 405
    assert not Run.objects.exists()


# --- exports -------------------------------------------------------------------------------


def test_topology_page_links_each_export(client: Client) -> None:
    scenario_load_file("shop")
    body = client.get("/topologies/shop/").content.decode()
    for fmt in ("asyncapi", "cloudformation", "mermaid"):
        assert f"/topologies/shop/export/{fmt}/" in body


@pytest.mark.parametrize(
    ("fmt", "filename", "first"),
    [
        ("asyncapi", "shop.asyncapi.yaml", "asyncapi: 3.0.0"),
        ("cloudformation", "shop.cfn.yaml", "AWSTemplateFormatVersion"),
        ("mermaid", "shop.mmd", "flowchart LR"),
    ],
)
def test_an_export_is_served_as_a_download(
    client: Client, fmt: str, filename: str, first: str
) -> None:
    scenario_load_file("shop")
    response = client.get(f"/topologies/shop/export/{fmt}/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    text = response.content.decode()
    assert text.startswith(first)
    if fmt != "mermaid":
        assert isinstance(yaml.safe_load(text), dict)


def test_exports_of_private_topologies_and_unknown_formats_are_404(
    client: Client, admin_client: Client
) -> None:
    f.topology("secret", name="Secret", is_public=False)
    assert client.get("/topologies/secret/export/asyncapi/").status_code == 404
    assert admin_client.get("/topologies/secret/export/asyncapi/").status_code == 200
    assert admin_client.get("/topologies/secret/export/pdf/").status_code == 404


def test_rows_an_upload_creates_name_the_uploader_in_their_history(
    admin_client: Client, admin_user: User
) -> None:
    text = (ASYNCAPI / "signup-2.6.yaml").read_bytes()
    assert upload(admin_client, "signup.yaml", text).status_code == 200
    from flows.models import Subscription

    records = Subscription.history.filter(channel__topology__slug="signup")
    assert records.exists()
    assert {r.history_user for r in records} == {admin_user}
