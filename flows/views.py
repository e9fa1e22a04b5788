from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from flows import health, selectors
from flows.coupling import store as coupling_store
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
