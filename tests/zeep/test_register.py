"""The register service through zeep's generated client: a new user builds a
customer, a title, a subscription, a user and a relation type with it, and
relates them with the relation service; each refusal is a typed fault."""

import datetime

import pytest
import zeep.exceptions

from conftest import make_client, make_register_client

REGISTER = "urn:customer-relations:register:v1"


def expect_fault(name, call, *args, **kwargs):
    with pytest.raises(zeep.exceptions.Fault) as raised:
        call(*args, **kwargs)
    fault = raised.value
    assert fault.detail is not None, fault.message
    (detail,) = [child for child in fault.detail if isinstance(child.tag, str)]
    assert detail.tag == f"{{{REGISTER}}}{name}", detail.tag
    assert detail.find(f"{{{REGISTER}}}Message").text
    return detail


def text(detail, name):
    return detail.find(f"{{{REGISTER}}}{name}").text


def validation_fields(detail):
    return [e.find(f"{{{REGISTER}}}Field").text for e in detail.iter(f"{{{REGISTER}}}ValidationError")]


@pytest.mark.parametrize("soap12", [False, True], ids=["soap11", "soap12"])
def test_the_register_and_the_relation_service_together(endpoint, soap12):
    register = make_register_client(endpoint, soap12)
    relations = make_client(endpoint, soap12)

    siri = register.CreateCustomer(Customer={"Name": "Siri Strand", "City": "Bodø", "Country": "no"})
    assert siri.CustomerNumber == 1004, "the highest number plus one"
    assert (siri.Country, siri.Validity) == ("NO", "Valid")
    assert register.GetCustomer(CustomerNumber=siri.CustomerNumber).City == "Bodø"

    title = register.CreateTitle(Title={"Code": "SPORT", "Name": "Sport Daily"})
    assert title.Validity == "Valid"
    subscription = register.CreateSubscription(
        Subscription={"CustomerNumber": 1001, "TitleCode": "SPORT", "StartDate": datetime.date(2025, 1, 1)}
    )
    assert subscription.Status == "Active"
    assert subscription.StartDate == datetime.date(2025, 1, 1)
    user = register.CreateUser(User={"Email": "Siri@Example.com", "CustomerNumber": siri.CustomerNumber})
    assert user.Email == "siri@example.com"
    kind = register.CreateRelationType(
        RelationType={"Code": "SPORT-SHARE", "Name": "Shares Sport Daily", "ReferenceType": "Subscription", "TitleMode": "Required"}
    )
    assert kind.TitleMode == "Required"

    shared = relations.CreateCustomerRelation(
        CustomerRelation={"CustomerNumber": siri.CustomerNumber, "RelationTypeCode": "SPORT-SHARE", "Reference": "1001", "TitleCode": "SPORT"}
    )
    login = relations.CreateCustomerRelation(
        CustomerRelation={"CustomerNumber": 1000, "RelationTypeCode": "LOGIN", "Reference": "SIRI@example.com"}
    )
    assert (shared.Reference, login.Reference) == ("1001", "siri@example.com")

    page = register.SearchCustomers(Name="s*", SortBy="Name", SortDirection="Descending", Limit=10)
    assert page.TotalCount == 1
    assert [c.CustomerNumber for c in page.Customers.Customer] == [siri.CustomerNumber]

    # Refusals, each the typed fault the WSDL declares.
    detail = expect_fault("InUseFault", register.DeleteRelationType, Code="SPORT-SHARE")
    assert (text(detail, "Entity"), text(detail, "ReferenceCount")) == ("RelationType", "1")
    detail = expect_fault(
        "EntityValidationFault",
        register.CreateRelationType,
        RelationType={"Code": "LOOSE", "Name": "Loose share", "ReferenceType": "Subscription", "TitleMode": "Optional"},
    )
    assert validation_fields(detail) == ["TitleMode"]
    detail = expect_fault("CustomerNotFoundFault", register.GetCustomer, CustomerNumber=9999)
    assert text(detail, "CustomerNumber") == "9999"
    detail = expect_fault("UserAlreadyExistsFault", register.CreateUser, User={"Email": "SIRI@EXAMPLE.COM"})
    assert text(detail, "Email") == "siri@example.com"
    detail = expect_fault(
        "EntityValidationFault", register.CreateCustomer, Customer={"Name": "", "Country": "ZZ", "Url": "nope"}
    )
    assert validation_fields(detail) == ["Name", "Country", "Url"]
    expect_fault("TitleNotFoundFault", register.SetTitleValidity, Code="NOPE", Validity="Invalid")
    detail = expect_fault(
        "SubscriptionAlreadyExistsFault",
        register.CreateSubscription,
        Subscription={"CustomerNumber": 1001, "TitleCode": "SPORT", "StartDate": datetime.date(2025, 1, 1)},
    )
    assert text(detail, "SubscriptionId") == str(subscription.Id)

    # Made invalid, the customer can no longer own new relations.
    assert register.SetCustomerValidity(CustomerNumber=siri.CustomerNumber, Validity="Invalid").Validity == "Invalid"
    with pytest.raises(zeep.exceptions.Fault) as raised:
        relations.CreateCustomerRelation(
            CustomerRelation={"CustomerNumber": siri.CustomerNumber, "RelationTypeCode": "FACEBOOK", "Reference": "1"}
        )
    assert "CustomerNotFoundFault" in raised.value.detail[0].tag
    ended = register.EndSubscription(Id=subscription.Id)
    assert ended.Status == "Ended"
    assert [s.TitleCode for s in register.ListSubscriptionsByCustomer(CustomerNumber=1001)] == ["DAILY", "SPORT"]
