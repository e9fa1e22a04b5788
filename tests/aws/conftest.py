"""A live Daphne on the test database, and real boto3 clients signed with issued keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from eventviz import stack
from flows.aws import credentials
from flows.aws.models import ApiKey
from flows.models import Topology
from tests import factories
from tests.stack.conftest import child_env, free_port

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def daphne_url(django_db_setup: None, django_db_blocker: Any, redis_url: str) -> Iterator[str]:
    """One Daphne per test module; each test's committed rows are what it reads."""
    with django_db_blocker.unblock():
        env = child_env()
    port = free_port()
    daphne = stack.spawn(stack.daphne_argv(host="127.0.0.1", port=port), env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        status = stack.wait_for_http(
            base + "/healthz", timeout=60, alive=lambda: daphne.poll() is None
        )
        assert status is not None, "daphne did not start"
        yield base
    finally:
        stack.stop(daphne)


@pytest.fixture
def topology(transactional_db: None) -> Topology:
    return factories.topology("shop")


@pytest.fixture
def issue(topology: Topology) -> Callable[..., tuple[ApiKey, str]]:
    def issue_key(read_only: bool = False, **kwargs: Any) -> tuple[ApiKey, str]:
        return credentials.apikey_issue(topology=topology, read_only=read_only, **kwargs)

    return issue_key


@pytest.fixture
def client_for(daphne_url: str) -> Callable[..., Any]:
    """``client_for("sqs", key, secret)``: a boto3 client of that service, no retries."""

    def make(service: str, key_id: str, secret: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=f"{daphne_url}/aws",
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    return make


@pytest.fixture
def clients(
    issue: Callable[..., tuple[ApiKey, str]], client_for: Callable[..., Any]
) -> Callable[[str], Any]:
    key, secret = issue()

    def make(service: str) -> Any:
        return client_for(service, key.access_key_id, secret)

    make.key = key  # type: ignore[attr-defined]
    return make


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker: Any, redis_url: str) -> Iterator[None]:
    """A Celery worker: it drives the runs the API starts (hops reach the database)."""
    with django_db_blocker.unblock():
        env = child_env()
    process = stack.spawn(
        stack.celery_worker_argv(concurrency=2, hostname=f"aws-{free_port()}@%h"), env=env
    )
    try:
        yield
    finally:
        stack.stop(process)


@pytest.fixture
def running(worker: None, topology: Topology) -> Iterator[Topology]:
    """The topology; its run (the API starts one) is stopped and forgotten afterwards."""
    yield topology
    from flows import services
    from flows.engine import keys
    from flows.models import Run, RunStatus
    from flows.redis_state import client

    for run in Run.objects.filter(topology=topology, status=RunStatus.RUNNING):
        services.run_stop(run=run)
    client().delete(keys.api_nodes(topology.pk), keys.api_edges(topology.pk))
