from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from flows import health, selectors, services
from flows.coupling import store as coupling_store
from flows.formats import exports, imports
from flows.formats.report import IMPORTED, INFERRED, NOT_MODELLED, REFUSED, UNRESOLVED
from flows.forms import ImportForm
from flows.models import Topology


@require_GET
def topology_list(request: HttpRequest) -> HttpResponse:
    topologies = selectors.topology_list()
    if not request.user.is_staff:
        topologies = topologies.filter(is_public=True)
    return render(request, "flows/topology_list.html", {"topologies": topologies})


@require_GET
def topology_detail(request: HttpRequest, slug: str) -> HttpResponse:
    topology = _visible_or_404(request, slug)
    context = {"topology": topology, **selectors.topology_parts(topology)}
    # The dashboard's publish editor prefills a message from its type's schema.
    context["publish_types"] = [
        {
            "name": m.name,
            "kind": m.kind,
            "version": m.version,
            "source": m.source,
            "schema": m.json_schema,
        }
        for m in context["message_types"]
    ]
    return render(request, "flows/topology_detail.html", context)


@require_GET
def coupling_report(request: HttpRequest, slug: str) -> HttpResponse:
    """Five kinds of coupling for every producer -> consumer path, computed per request."""
    topology = _visible_or_404(request, slug)
    context = {"topology": topology, **coupling_store.coupling_report(topology)}
    return render(request, "flows/coupling.html", context)


@staff_member_required
@require_http_methods(["GET", "POST"])
def topology_import(request: HttpRequest) -> HttpResponse:
    """Upload a CloudFormation/SAM template or an AsyncAPI document; show the import report."""
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form, "max_bytes": form.max_bytes}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["document"]
            report = imports.import_document(
                data=upload.read(),
                origin=upload.name or "upload",
                fmt=form.cleaned_data["format"],
                slug=form.cleaned_data["slug"],
            )
            context["report"] = report
            context["groups"] = [
                {
                    "status": status_,
                    "slug": status_.replace(" ", "-"),
                    "entries": report.of(status_),
                }
                for status_ in (IMPORTED, INFERRED, NOT_MODELLED, UNRESOLVED, REFUSED)
                if report.of(status_)
            ]
            status = 200 if report.ok else 400
        else:
            too_large = any(
                e.code == "too_large" for e in form.errors.as_data().get("document", [])
            )
            status = 413 if too_large else 400
    return render(request, "flows/import.html", context, status=status)


@require_GET
def topology_export(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """The topology as an AsyncAPI, CloudFormation or Mermaid file (a download)."""
    topology = _visible_or_404(request, slug)
    if fmt not in exports.EXPORTERS:
        raise Http404("No such format")
    _, suffix, content_type = exports.EXPORTERS[fmt]
    response = HttpResponse(
        exports.export_text(topology, fmt), content_type=f"{content_type}; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{topology.slug}{suffix}"'
    return response


@staff_member_required
@require_POST
def run_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a run (the import report's button), then show the dashboard."""
    topology = _visible_or_404(request, slug)
    try:
        services.run_start(topology=topology)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    return redirect(topology.get_absolute_url())


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Up or down for anyone (a load balancer); which part is down only for staff."""
    report = health.health()
    body = report if request.user.is_staff else {"ok": report["ok"]}
    return JsonResponse(body, status=200 if report["ok"] else 503)


def _visible_or_404(request: HttpRequest, slug: str) -> Topology:
    topology = selectors.visible_topology(slug, request.user)
    if topology is None:
        raise Http404("No such topology")
    return topology
