"""Starts the real service binary on port 0 with a fresh database and the
demo data, and gives tests a zeep client generated from the served WSDL."""

import contextlib
import os
import pathlib
import subprocess
import tempfile
import urllib.parse
import uuid

import pytest
import zeep
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("CR_BINARY", str(ROOT / "target" / "debug" / "customer-relations"))


@contextlib.contextmanager
def fresh_database(backend):
    """A new, empty database URL on `backend`, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite://{tmp}/cr.db"
        return
    admin_url = os.environ.get("TEST_POSTGRES_URL")
    if not admin_url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: set TEST_POSTGRES_URL so that the tests run on PostgreSQL too")
        pytest.skip("TEST_POSTGRES_URL is not set")
    name = f"cr_zeep_{uuid.uuid4().hex}"
    subprocess.run(["psql", admin_url, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    try:
        parts = urllib.parse.urlsplit(admin_url)
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        subprocess.run(["psql", admin_url, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True)


@contextlib.contextmanager
def running_service(database_url, demo=True):
    """The service binary on port 0 with `database_url`; its endpoint."""
    process = subprocess.Popen(
        [BINARY, "serve", "--bind", "127.0.0.1:0", "--database", database_url] + (["--demo"] if demo else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        prefix = "CustomerRelationService listening on "
        assert line.startswith(prefix), f"unexpected first line: {line!r}"
        yield line[len(prefix):]
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(params=["sqlite", "postgres"])
def endpoint(request):
    external = os.environ.get("CR_ENDPOINT")
    if external:
        # A service someone else started (packaging/docker-worked-cases.sh):
        # its own database, once.
        if request.param != "sqlite":
            pytest.skip("CR_ENDPOINT names one running service")
        yield external
        return
    with fresh_database(request.param) as database_url:
        with running_service(database_url) as endpoint:
            yield endpoint


@pytest.fixture(params=["sqlite", "postgres"])
def two_instances(request):
    """Two instances of the service on one database, as two nodes of a
    deployment: their endpoints."""
    if os.environ.get("CR_ENDPOINT"):
        pytest.skip("CR_ENDPOINT names one running service")
    with fresh_database(request.param) as database_url:
        with running_service(database_url) as first:
            # The second finds the demo data loaded and the migrations run.
            with running_service(database_url, demo=False) as second:
                yield first, second


# The demo clients (README, "Security"): name -> secret.
DEMO_SECRETS = {
    "demo-admin": "demo-admin-secret",
    "demo-bus": "demo-bus-secret",
    "demo-sso": "demo-sso-secret",
    "demo-reader": "demo-reader-secret",
}


def login(name="demo-admin", **token_options):
    """zeep's own WS-Security UsernameToken (PasswordText) for a demo client."""
    return UsernameToken(name, DEMO_SECRETS[name], **token_options)


def bounded_transport():
    """zeep waits for an answer without end unless told: 30 s at most."""
    return Transport(timeout=30, operation_timeout=30)


def make_client(endpoint, soap12=False, wsse=None):
    client = zeep.Client(f"{endpoint}?wsdl", wsse=wsse or login(), transport=bounded_transport())
    if soap12:
        return client.bind("CustomerRelationService", "CustomerRelationServiceSoap12")
    return client.service


def register_endpoint(endpoint):
    return endpoint.replace("/CustomerRelationService", "/CustomerRegisterService")


def make_register_client(endpoint, soap12=False, wsse=None):
    """A client of the register service generated from its own WSDL."""
    client = zeep.Client(
        f"{register_endpoint(endpoint)}?wsdl", wsse=wsse or login(), transport=bounded_transport()
    )
    if soap12:
        return client.bind("CustomerRegisterService", "CustomerRegisterServiceSoap12")
    return client.service


@pytest.fixture
def service(endpoint):
    return make_client(endpoint)
