"""Starts the real service binary on port 0 with a fresh database and the
demo data, and gives tests a zeep client generated from the served WSDL."""

import os
import pathlib
import subprocess
import tempfile

import pytest
import zeep

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("CR_BINARY", str(ROOT / "target" / "debug" / "customer-relations"))


@pytest.fixture
def endpoint():
    with tempfile.TemporaryDirectory() as tmp:
        process = subprocess.Popen(
            [
                BINARY,
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database",
                f"sqlite://{tmp}/cr.db",
                "--demo",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            line = process.stdout.readline().strip()
            prefix = "customer-relations listening on "
            assert line.startswith(prefix), f"unexpected first line: {line!r}"
            yield line[len(prefix):]
        finally:
            process.terminate()
            process.wait(timeout=30)


def make_client(endpoint, soap12=False):
    client = zeep.Client(f"{endpoint}?wsdl")
    if soap12:
        return client.bind("CustomerRelationService", "CustomerRelationServiceSoap12")
    return client.service


@pytest.fixture
def service(endpoint):
    return make_client(endpoint)
