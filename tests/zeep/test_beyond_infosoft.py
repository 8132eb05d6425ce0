"""The operations beyond Infosoft's API (README, "Beyond Infosoft's API")
through zeep's generated operations: an SSO id finds its customer, an update
with a stale version is a ConcurrencyFault that changes nothing, a deleted
relation shows in the history with who deleted it, and the change feed
replays to the live state while two instances on one database take writes."""

import threading

import pytest

from conftest import login, make_client
from test_worked_cases import create, expect_fault, field

TNS = "urn:customer-relations:v1"


def items(value):
    """A response's only element, an ArrayOf...: zeep reads it as a list,
    or None when empty."""
    return list(value or [])


def array(value, name):
    """An ArrayOf... inside a record: its `name` children."""
    return list(getattr(value, name) or []) if value is not None else []


@pytest.mark.parametrize("soap12", [False, True])
def test_find_read_update_delete_and_history(endpoint, soap12):
    service = make_client(endpoint, soap12=soap12)

    # An SSO id finds its customer.
    sso = create(service, 1001, "SSO", "Sso-4711", Source="idp")
    found = items(service.FindCustomerRelationsByReference(Reference="Sso-4711", RelationTypeCode="SSO"))
    assert [(r.Id, r.CustomerNumber, r.Version) for r in found] == [(sso.Id, 1001, 1)]
    assert items(service.FindCustomerRelationsByReference(Reference="sso-4711")) == []
    d = expect_fault("RelationTypeNotFoundFault", service.FindCustomerRelationsByReference, Reference="x", RelationTypeCode="NOPE")
    assert field(d, "RelationTypeCode") == "NOPE"
    expect_fault("EntityValidationFault", service.FindCustomerRelationsByReference, Reference="  ")
    # " 01001 " is customer 1001 to the Customer and Subscription types.
    personal = create(service, 1000, "PERSONAL", "1001")
    share = create(service, 1002, "SHARE", "1001", TitleCode="DAILY")
    by_customer = items(service.FindCustomerRelationsByReference(Reference=" 01001 "))
    assert [r.Id for r in by_customer] == [personal.Id, share.Id]

    # Read, then update against the version read.
    read = service.GetCustomerRelation(Id=sso.Id)
    assert (read.Version, read.Audit.ModifiedAt, read.Audit.DeletedAt) == (1, None, None)
    updated = service.UpdateCustomerRelation(Id=sso.Id, Version=read.Version, Reference="Sso-4711", TitleCode="DAILY")
    assert (updated.Version, updated.TitleCode, updated.Source) == (2, "DAILY", None)
    assert updated.Audit.ModifiedBy == "demo-admin" and updated.Audit.CreatedAt == read.Audit.CreatedAt

    # A second writer with the version it read before: refused, nothing changes.
    d = expect_fault("ConcurrencyFault", service.UpdateCustomerRelation, Id=sso.Id, Version=1, Reference="stale")
    assert (int(field(d, "Id")), int(field(d, "CurrentVersion"))) == (sso.Id, 2)
    assert service.GetCustomerRelation(Id=sso.Id) == updated
    brother = create(service, 1000, "PERSONAL", "1002")
    d = expect_fault("CustomerRelationAlreadyExistsFault", service.UpdateCustomerRelation, Id=brother.Id, Version=1, Reference="01001")
    assert int(field(d, "ExistingId")) == personal.Id
    d = expect_fault("InvalidReferenceFault", service.UpdateCustomerRelation, Id=brother.Id, Version=1, Reference="1003")
    assert field(d, "Reference") == "1003"
    assert service.GetCustomerRelation(Id=brother.Id).Version == 1
    expect_fault("CustomerRelationNotFoundFault", service.UpdateCustomerRelation, Id=999999, Version=1, Reference="x")

    # Deleted by another client: it stays in the history, with who did it.
    bus = make_client(endpoint, soap12=soap12, wsse=login("demo-bus"))
    assert bus.DeleteCustomerRelation(Id=sso.Id) is None
    assert items(service.FindCustomerRelationsByReference(Reference="Sso-4711")) == []
    deleted = service.GetCustomerRelation(Id=sso.Id)
    assert deleted.Audit.DeletedBy == "demo-bus" and deleted.Version == 2
    histories = items(service.GetCustomerRelationHistory(CustomerNumber=1001))
    [history] = [h for h in histories if h.CustomerRelation.Id == sso.Id]
    changes = array(history.Changes, "Change")
    assert [(c.Kind, c.By) for c in changes] == [("Created", "demo-admin"), ("Updated", "demo-admin"), ("Deleted", "demo-bus")]
    assert [c.CustomerRelation.Version for c in changes] == [1, 2, 2]
    assert changes[0].CustomerRelation.Source == "idp" and changes[1].CustomerRelation.Source is None
    assert changes[2].At == deleted.Audit.DeletedAt
    # An identical relation may be created again, with a new Id.
    assert create(service, 1001, "SSO", "Sso-4711", Source="idp").Id > sso.Id

    # Who may do what: a reader reads but does not update; a scoped client
    # does not see another type.
    reader = make_client(endpoint, soap12=soap12, wsse=login("demo-reader"))
    assert reader.GetCustomerRelation(Id=personal.Id).Id == personal.Id
    expect_fault("AccessDeniedFault", reader.UpdateCustomerRelation, Id=personal.Id, Version=1, Reference="1001")
    scoped = make_client(endpoint, soap12=soap12, wsse=login("demo-sso"))
    expect_fault("AccessDeniedFault", scoped.GetCustomerRelation, Id=personal.Id)


def live_state(service):
    """Every live relation of the demo customers, by Id (Version included)."""
    live = {}
    for customer in (1000, 1001, 1002):
        for history in items(service.GetCustomerRelationHistory(CustomerNumber=customer)):
            record = history.CustomerRelation
            if record.Audit.DeletedAt is None:
                live[record.Id] = (record.Reference, record.Version)
    return live


def test_the_feed_replays_to_the_live_state_under_writers_on_two_instances(two_instances):
    first, second = two_instances
    errors = []
    writing = threading.Event()
    writing.set()

    def writer(w):
        try:
            services = [make_client(first), make_client(second)]
            for n in range(8):
                mine, other = services[(w + n) % 2], services[(w + n + 1) % 2]
                relation = create(mine, 1000 + (w + n) % 3, "SSO", f"zeep-{w}-{n}")
                other.UpdateCustomerRelation(Id=relation.Id, Version=1, Reference=f"zeep-{w}-{n}-new")
                if n % 3 == 0:
                    mine.DeleteCustomerRelation(Id=relation.Id)
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)

    seen = []

    def reader():
        try:
            services = [make_client(first, wsse=login("demo-reader")), make_client(second, wsse=login("demo-reader"))]
            after, turn = 0, 0
            while True:
                still_writing = writing.is_set()
                page = services[turn % 2].GetCustomerRelationChanges(AfterSequence=after, Limit=50)
                turn += 1
                changes = array(page.Changes, "Change")
                if not changes and not still_writing:
                    return
                for change in changes:
                    assert change.Sequence > after, (change.Sequence, after)
                    after = change.Sequence
                    seen.append(change)
                assert page.LastSequence == after
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    reading = threading.Thread(target=reader)
    reading.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    writing.clear()
    reading.join(timeout=120)
    assert not errors, errors

    # 48 creates, 48 updates, 18 deletes (n = 0, 3, 6), each seen once, in order.
    assert len(seen) == 48 + 48 + 18
    replay = {}
    for change in seen:
        record = change.CustomerRelation
        if change.Kind == "Deleted":
            del replay[record.Id]
        else:
            replay[record.Id] = (record.Reference, record.Version)
    assert replay == live_state(make_client(first))
