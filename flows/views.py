from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from flows import coupling, health, selectors
from flows.models import Topology


@require_GET
def topology_list(request: HttpRequest) -> HttpResponse:
    topologies = selectors.topology_list()
    if not request.user.is_staff:
        topologies = topologies.filter(is_public=True)
    return render(request, "flows/topology_list.html", {"topologies": topologies})


@require_GET
def topology_detail(request: HttpRequest, slug: str) -> HttpResponse:
    topology = get_object_or_404(Topology, slug=slug)
    if not topology.is_public and not request.user.is_staff:
        raise Http404("No such topology")
    context = {"topology": topology, **selectors.topology_parts(topology)}
    # The dashboard's publish editor prefills a message from its type's schema.
    context["publish_types"] = [
        {"name": m.name, "kind": m.kind, "version": m.version, "schema": m.json_schema}
        for m in context["message_types"]
    ]
    return render(request, "flows/topology_detail.html", context)


@require_GET
def coupling_report(request: HttpRequest, slug: str) -> HttpResponse:
    """Five kinds of coupling for every producer -> consumer path, computed per request."""
    topology = get_object_or_404(Topology, slug=slug)
    if not topology.is_public and not request.user.is_staff:
        raise Http404("No such topology")
    context = {"topology": topology, **coupling.coupling_report(topology)}
    return render(request, "flows/coupling.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.health()
    return JsonResponse(report, status=200 if report["ok"] else 503)
