"""Security through zeep's own WS-Security support (README, "Security"): each
demo client may do what its role and scope allow and gets the typed fault for
the rest; timestamps are checked; PasswordDigest and anonymous calls are
refused with AuthenticationFault."""

import datetime

import pytest
import requests
import zeep.exceptions
from zeep.wsse.utils import WSU

from conftest import login, make_client, make_register_client
from test_worked_cases import create, detail_of, field

TNS = "urn:customer-relations:v1"


def expect_refusal(name, call, *args, **kwargs):
    with pytest.raises(zeep.exceptions.Fault) as raised:
        call(*args, **kwargs)
    detail = detail_of(raised.value)
    assert detail.tag.endswith("}" + name), detail.tag
    return detail


def timestamp(created_offset, lifetime=datetime.timedelta(minutes=5)):
    """A wsu:Timestamp created `created_offset` from now."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    created = now + created_offset
    token = WSU.Timestamp()
    token.append(WSU.Created(created.strftime("%Y-%m-%dT%H:%M:%SZ")))
    token.append(WSU.Expires((created + lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")))
    return token


def test_each_demo_client_does_what_its_role_and_scope_allow(endpoint):
    reader = make_client(endpoint, wsse=login("demo-reader"))
    bus = make_client(endpoint, wsse=login("demo-bus"))
    sso = make_client(endpoint, soap12=True, wsse=login("demo-sso"))

    assert len(reader.GetRelationTypes()) == 7
    detail = expect_refusal("AccessDeniedFault", create, reader, 1001, "FACEBOOK", "r")
    assert field(detail, "ClientName") == "demo-reader"
    assert field(detail, "Operation") == "CreateCustomerRelation"
    expect_refusal(
        "AccessDeniedFault",
        make_register_client(endpoint, wsse=login("demo-bus")).SetCustomerValidity,
        CustomerNumber=1000,
        Validity="Invalid",
    )

    share = create(bus, 1001, "PERSONAL", "1000")
    assert share.Audit.CreatedBy == "demo-bus"
    own = create(sso, 1001, "SSO", "zeep-sso")
    assert own.Audit.CreatedBy == "demo-sso"
    detail = expect_refusal("AccessDeniedFault", create, sso, 1001, "PERSONAL", "1002")
    assert field(detail, "RelationTypeCode") == "PERSONAL"
    seen = [r.RelationTypeCode for r in sso.GetCustomerRelationsByCustomer(1001)]
    assert seen == ["SSO"]
    expect_refusal("AccessDeniedFault", sso.DeleteCustomerRelation, share.Id)
    sso.DeleteCustomerRelation(own.Id)
    bus.DeleteCustomerRelation(share.Id)


def test_timestamps_are_checked(endpoint):
    fresh = make_client(endpoint, wsse=login("demo-bus", timestamp_token=timestamp(datetime.timedelta(0))))
    assert len(fresh.GetRelationTypes()) == 7
    expired = make_client(
        endpoint,
        wsse=login(
            "demo-bus",
            timestamp_token=timestamp(-datetime.timedelta(minutes=10), datetime.timedelta(minutes=1)),
        ),
    )
    detail = expect_refusal("AuthenticationFault", expired.GetRelationTypes)
    assert "expired" in field(detail, "Message")
    future = make_client(endpoint, wsse=login("demo-bus", timestamp_token=timestamp(datetime.timedelta(minutes=5))))
    detail = expect_refusal("AuthenticationFault", future.GetRelationTypes)
    assert "future" in field(detail, "Message")


def test_password_digest_and_wrong_secrets_are_refused(endpoint):
    digest = make_client(endpoint, wsse=login("demo-bus", use_digest=True))
    detail = expect_refusal("AuthenticationFault", digest.GetRelationTypes)
    assert "PasswordDigest is not supported" in field(detail, "Message")
    from zeep.wsse.username import UsernameToken

    wrong = make_client(endpoint, wsse=UsernameToken("demo-bus", "not-the-secret"))
    detail = expect_refusal("AuthenticationFault", wrong.GetRelationTypes)
    unknown = make_client(endpoint, wsse=UsernameToken("nobody", "not-the-secret"))
    same = expect_refusal("AuthenticationFault", unknown.GetRelationTypes)
    assert field(detail, "Message") == field(same, "Message")


def test_anonymous_calls_are_refused_with_a_challenge(endpoint):
    body = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        f'<GetRelationTypes xmlns="{TNS}"/></s:Body></s:Envelope>'
    )
    response = requests.post(endpoint, data=body, headers={"Content-Type": "text/xml"}, timeout=30)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert "AuthenticationFault" in response.text
    with_basic = requests.post(
        endpoint,
        data=body,
        headers={"Content-Type": "text/xml"},
        auth=("demo-reader", "demo-reader-secret"),
        timeout=30,
    )
    assert with_basic.status_code == 200, with_basic.text
