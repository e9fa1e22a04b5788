"""An imported SAM template runs on the real stack (Celery worker, Daphne) and the law holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from flows import services
from flows.formats.cloudformation import cfn_import
from flows.models import Hop, Run
from tests.stack.test_simulation import drain_and_check, wait_until

pytestmark = pytest.mark.stack

SAM = Path(__file__).parent.parent / "formats" / "cloudformation" / "fixtures" / "shop-sam.yaml"


def test_an_imported_sam_template_routes_messages_and_the_law_holds(live_stack) -> None:
    report = cfn_import(text=SAM.read_text(), origin=SAM.name, slug="imported-shop")
    assert report.ok and report.of("inferred"), report.text()
    topology = report.topology
    run = services.run_start(topology=topology, seed=7)

    def routed() -> bool:
        stages = set(Hop.objects.filter(run=run).values_list("stage", flat=True).distinct())
        # Inferred producers send events each rule matches, and one that no rule matches.
        return {"published", "processed", "unmatched"} <= stages

    wait_until(routed, 60, "the imported architecture to route and process messages")
    totals = drain_and_check(Run.objects.get(pk=run.pk))
    assert totals["processed"] > 0 and totals["unmatched"] > 0
    call_command("runcheck", topology.slug)
