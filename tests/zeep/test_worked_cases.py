"""The worked cases (README, "Tests") through zeep's generated operations: the WSDL loads, each call
works, and each refusal is the typed fault the WSDL declares."""

import pytest
import zeep.exceptions

from conftest import make_client

TNS = "urn:customer-relations:v1"


def create(service, customer, type_code, reference, **optional):
    return service.CreateCustomerRelation(
        CustomerRelation={
            "CustomerNumber": customer,
            "RelationTypeCode": type_code,
            "Reference": reference,
            **optional,
        }
    )


def detail_of(fault):
    """The typed detail element of a zeep Fault."""
    assert fault.detail is not None, f"no detail in fault: {fault.message}"
    elements = [child for child in fault.detail if isinstance(child.tag, str)]
    assert len(elements) == 1, fault.detail
    return elements[0]


def field(detail, name):
    node = detail.find(f"{{{TNS}}}{name}")
    assert node is not None, f"{name} missing in {detail.tag}"
    return node.text


def expect_fault(name, call, *args, **kwargs):
    with pytest.raises(zeep.exceptions.Fault) as raised:
        call(*args, **kwargs)
    detail = detail_of(raised.value)
    assert detail.tag == f"{{{TNS}}}{name}", detail.tag
    assert field(detail, "Message")
    return detail


def validation_fields(detail):
    return [e.find(f"{{{TNS}}}Field").text for e in detail.iter(f"{{{TNS}}}ValidationError")]


def run_worked_cases(service):
    created = []

    # 1, 2
    facebook = create(service, 1000, "FACEBOOK", "20531316728")
    assert facebook.Reference == "20531316728" and facebook.ReferenceType == "External"
    assert facebook.TitleCode is None and facebook.Audit.CreatedBy == "demo-admin"
    created.append(facebook.Id)
    d = expect_fault("CustomerRelationAlreadyExistsFault", create, service, 1000, "FACEBOOK", "20531316728")
    assert int(field(d, "ExistingId")) == facebook.Id

    # 3
    d = expect_fault("EntityValidationFault", create, service, 1000, "FACEBOOK", "x", TitleCode="DAILY")
    assert validation_fields(d) == ["TitleCode"]

    # 4, 5
    sister = create(service, 1000, "PERSONAL", "1001", AdditionalValue="SISTER")
    assert sister.AdditionalValue == "SISTER" and sister.ReferenceType == "Customer"
    created.append(sister.Id)
    d = expect_fault(
        "CustomerRelationAlreadyExistsFault", create, service, 1000, "PERSONAL", "01001", AdditionalValue="BROTHER"
    )
    assert int(field(d, "ExistingId")) == sister.Id

    # 6
    for reference in ["abc", "99999", "1003"]:
        d = expect_fault("InvalidReferenceFault", create, service, 1000, "PERSONAL", reference)
        assert field(d, "Reference") == reference and field(d, "ReferenceType") == "Customer"

    # 7
    for customer in [99999, 1003]:
        d = expect_fault("CustomerNotFoundFault", create, service, customer, "FACEBOOK", "x")
        assert int(field(d, "CustomerNumber")) == customer

    # 8, 9, 10, 11, 12, 13
    created.append(create(service, 1000, "SHARE", "1001", TitleCode="DAILY").Id)
    created.append(create(service, 1000, "SHARE", "1002", TitleCode="WEEKLY").Id)
    expect_fault("InvalidReferenceFault", create, service, 1000, "SHARE", "1002", TitleCode="DAILY")
    d = expect_fault("EntityValidationFault", create, service, 1000, "SHARE", "1001")
    assert validation_fields(d) == ["TitleCode"]
    expect_fault("InvalidReferenceFault", create, service, 1000, "SHARE-OPT", "1001")
    expect_fault("EntityValidationFault", create, service, 1000, "SHARE-NONE", "1001", TitleCode="DAILY")
    expect_fault("InvalidReferenceFault", create, service, 1000, "SHARE-NONE", "1001")

    # 14, 15, 16
    login = create(service, 1000, "LOGIN", "ola@example.com")
    created.append(login.Id)
    d = expect_fault("CustomerRelationAlreadyExistsFault", create, service, 1000, "LOGIN", "OLA@Example.com ")
    assert int(field(d, "ExistingId")) == login.Id
    for reference in ["nobody@example.com", "not-an-email"]:
        expect_fault("InvalidReferenceFault", create, service, 1000, "LOGIN", reference)

    # 17, 18, 19
    sso = create(service, 1000, "SSO", "abc")
    created.append(sso.Id)
    created.append(create(service, 1000, "SSO", "abc", TitleCode="DAILY").Id)
    d = expect_fault("CustomerRelationAlreadyExistsFault", create, service, 1000, "SSO", "abc")
    assert int(field(d, "ExistingId")) == sso.Id
    d = expect_fault("EntityValidationFault", create, service, 1000, "SSO", "abc", TitleCode="NOPE")
    assert validation_fields(d) == ["TitleCode"]

    # 20, 21
    created.append(create(service, 1000, "SSO", "r" * 400).Id)
    d = expect_fault("EntityValidationFault", create, service, 1000, "SSO", "r" * 401, Source="s" * 101)
    assert validation_fields(d) == ["Reference", "Source"]

    # 22
    d = expect_fault("RelationTypeNotFoundFault", create, service, 1000, "NOPE", "x")
    assert field(d, "RelationTypeCode") == "NOPE"

    # 23
    listed = service.GetCustomerRelationsByCustomer(CustomerNumber=1000)
    assert [r.Id for r in listed] == created
    expect_fault("CustomerNotFoundFault", service.GetCustomerRelationsByCustomer, CustomerNumber=99999)
    # zeep reads an empty <CustomerRelations/> as None.
    assert (service.GetCustomerRelationsByCustomer(CustomerNumber=1003) or []) == []

    # 24
    assert service.DeleteCustomerRelation(Id=facebook.Id) is None
    d = expect_fault("CustomerRelationNotFoundFault", service.DeleteCustomerRelation, Id=facebook.Id)
    assert int(field(d, "Id")) == facebook.Id


# zeep flattens the ArrayOf... wrappers into plain lists.


def test_worked_cases_over_soap_11(service):
    run_worked_cases(service)


def test_worked_cases_over_soap_12(endpoint):
    run_worked_cases(make_client(endpoint, soap12=True))


def test_relation_types_are_listed_by_code(service):
    types = service.GetRelationTypes()
    assert [t.Code for t in types] == [
        "FACEBOOK", "LOGIN", "PERSONAL", "SHARE", "SHARE-NONE", "SHARE-OPT", "SSO",
    ]
    share = next(t for t in types if t.Code == "SHARE")
    assert (share.ReferenceType, share.TitleMode) == ("Subscription", "Required")
