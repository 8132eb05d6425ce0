"""A client generated from Infosoft's WSDL as it was before the operations
beyond Infosoft's API (tests/compat/, README "Compatibility"), in zeep's
default strict mode, still passes the worked cases against today's service:
nothing it knows has changed, and no answer has an element it does not know."""

import pathlib

import pytest
import zeep

from conftest import bounded_transport, login
from test_worked_cases import run_worked_cases

ROOT = pathlib.Path(__file__).resolve().parents[2]
OLD_WSDL = ROOT / "tests" / "compat" / "CustomerRelationService-infosoft.wsdl"
TNS = "urn:customer-relations:v1"


def old_client(endpoint, binding):
    client = zeep.Client(str(OLD_WSDL), wsse=login(), transport=bounded_transport())
    assert client.settings.strict, "zeep's default is strict"
    operations = {op.name for op in client.wsdl.bindings[f"{{{TNS}}}{binding}"].all().values()}
    assert "UpdateCustomerRelation" not in operations, "the old WSDL, without the new operations"
    return client.create_service(f"{{{TNS}}}{binding}", endpoint)


@pytest.mark.parametrize("binding", ["CustomerRelationServiceSoap", "CustomerRelationServiceSoap12"])
def test_a_client_of_the_old_wsdl_passes_the_worked_cases(endpoint, binding):
    run_worked_cases(old_client(endpoint, binding))
