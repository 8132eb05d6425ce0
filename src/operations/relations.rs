//! The relation service's operations: Infosoft's Customer Relation API,
//! then the operations beyond it (README, "Beyond Infosoft's API"), which
//! answer with records of their own so that Infosoft's `CustomerRelation`
//! type stays exactly as clients generated from its WSDL know it.

use super::faults::*;
use super::{Access, Declared, Operation, Role, Service};
use crate::relations::{
    self, CHANGES_DEFAULT_LIMIT, ChangePage, CustomerRelation, NewCustomerRelation, ReferenceQuery,
    RelationChange, RelationHistory, RelationUpdate, Stamp,
};
use crate::soap::{DecodeError, Fields, XmlElement, XmlOut, only_child};
use crate::vocabulary::{RelationType, UtcText};

pub(super) const OPERATIONS: &[Operation] = &[
    Operation {
        service: Service::Relations,
        name: "CreateCustomerRelation",
        access: Access::Write,
        role: Role::Integration,
        faults: &[
            RELATION_TYPE_NOT_FOUND,
            CUSTOMER_NOT_FOUND,
            ENTITY_VALIDATION,
            INVALID_REFERENCE,
            CUSTOMER_RELATION_ALREADY_EXISTS,
        ],
        example: "<CustomerRelation><CustomerNumber>1000</CustomerNumber>\
                  <RelationTypeCode>SHARE</RelationTypeCode><Reference>1001</Reference>\
                  <TitleCode>DAILY</TitleCode><AdditionalValue>x</AdditionalValue>\
                  <Source>example</Source></CustomerRelation>",
        handler: &Declared {
            decode: decode_new_relation,
            execute: |store, request, caller| relations::create_relation(store, request, caller),
            encode: write_relation,
        },
    },
    Operation {
        service: Service::Relations,
        name: "GetCustomerRelationsByCustomer",
        access: Access::Read,
        role: Role::Reader,
        faults: &[CUSTOMER_NOT_FOUND],
        example: "<CustomerNumber>1000</CustomerNumber>",
        handler: &Declared {
            decode: |element| {
                Fields::read(element, &["CustomerNumber"])?.integer("CustomerNumber", "xs:int")
            },
            execute: |store, number, caller| {
                relations::relations_of_customer(store, number, caller)
            },
            encode: |out, relations| write_customer_relations(out, relations),
        },
    },
    Operation {
        service: Service::Relations,
        name: "GetRelationTypes",
        access: Access::Read,
        role: Role::Reader,
        faults: &[],
        example: "",
        handler: &Declared {
            decode: |element| Fields::read(element, &[]).map(drop),
            execute: |store, (), _| relations::relation_types(store),
            encode: |out, types| write_relation_types(out, types),
        },
    },
    Operation {
        service: Service::Relations,
        name: "FindCustomerRelationsByReference",
        access: Access::Read,
        role: Role::Reader,
        faults: &[RELATION_TYPE_NOT_FOUND, ENTITY_VALIDATION],
        example: "<Reference>sso-4711</Reference><RelationTypeCode>SSO</RelationTypeCode>",
        handler: &Declared {
            decode: |element| {
                let fields =
                    Fields::read(element, &["Reference", "RelationTypeCode", "TitleCode"])?;
                Ok(ReferenceQuery {
                    // Kept as given: whether it is blank is a field rule.
                    reference: fields.text("Reference"),
                    relation_type_code: trimmed_code(fields.optional("RelationTypeCode")),
                    title_code: trimmed_code(fields.optional("TitleCode")),
                })
            },
            execute: |store, query, caller| relations::find_relations(store, query, caller),
            encode: |out, found| write_relations(out, found, write_record),
        },
    },
    Operation {
        service: Service::Relations,
        name: "GetCustomerRelation",
        access: Access::Read,
        role: Role::Reader,
        faults: &[CUSTOMER_RELATION_NOT_FOUND],
        example: "<Id>1</Id>",
        handler: &Declared {
            decode: |element| Fields::read(element, &["Id"])?.integer("Id", "xs:long"),
            execute: |store, id, caller| relations::relation(store, id, caller),
            encode: |out, relation| write_record(out, relation),
        },
    },
    Operation {
        service: Service::Relations,
        name: "UpdateCustomerRelation",
        access: Access::Write,
        role: Role::Integration,
        faults: &[
            CUSTOMER_RELATION_NOT_FOUND,
            ENTITY_VALIDATION,
            INVALID_REFERENCE,
            CUSTOMER_RELATION_ALREADY_EXISTS,
            CONCURRENCY,
        ],
        example: "<Id>1</Id><Version>1</Version><Reference>1001</Reference>\
                  <TitleCode>DAILY</TitleCode><Source>example</Source>",
        handler: &Declared {
            decode: decode_update,
            execute: |store, update, caller| relations::update_relation(store, update, caller),
            encode: |out, relation| write_record(out, relation),
        },
    },
    Operation {
        service: Service::Relations,
        name: "GetCustomerRelationHistory",
        access: Access::Read,
        role: Role::Reader,
        faults: &[CUSTOMER_NOT_FOUND],
        example: "<CustomerNumber>1000</CustomerNumber>",
        handler: &Declared {
            decode: |element| {
                Fields::read(element, &["CustomerNumber"])?.integer("CustomerNumber", "xs:int")
            },
            execute: |store, number, caller| relations::relation_history(store, number, caller),
            encode: |out, histories| write_histories(out, histories),
        },
    },
    Operation {
        service: Service::Relations,
        name: "GetCustomerRelationChanges",
        access: Access::Read,
        role: Role::Reader,
        faults: &[ENTITY_VALIDATION],
        example: "<AfterSequence>0</AfterSequence><Limit>10</Limit>",
        handler: &Declared {
            decode: |element| {
                let fields = Fields::read(element, &["AfterSequence", "Limit"])?;
                Ok((
                    fields.integer::<i64>("AfterSequence", "xs:long")?,
                    fields
                        .optional_integer::<i32>("Limit", "xs:int")?
                        .map_or(i64::from(CHANGES_DEFAULT_LIMIT), i64::from),
                ))
            },
            execute: |store, (after, limit), caller| {
                relations::relation_changes(store, after, limit, caller)
            },
            encode: |out, page| write_change_page(out, page),
        },
    },
    // Last, so that the examples before it find relation 1 live.
    Operation {
        service: Service::Relations,
        name: "DeleteCustomerRelation",
        access: Access::Write,
        role: Role::Integration,
        faults: &[CUSTOMER_RELATION_NOT_FOUND],
        example: "<Id>1</Id>",
        handler: &Declared {
            decode: |element| Fields::read(element, &["Id"])?.integer("Id", "xs:long"),
            execute: |store, id, caller| relations::delete_relation(store, id, caller),
            // The response element is empty.
            encode: |_, ()| {},
        },
    },
];

/// A code as the rules compare it; blank counts as absent.
fn trimmed_code(code: Option<String>) -> Option<String> {
    code.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty())
}

fn decode_update(element: &XmlElement) -> Result<RelationUpdate, DecodeError> {
    let fields = Fields::read(
        element,
        &[
            "Id",
            "Version",
            "Reference",
            "TitleCode",
            "AdditionalValue",
            "Source",
        ],
    )?;
    Ok(RelationUpdate {
        id: fields.integer("Id", "xs:long")?,
        version: fields.integer("Version", "xs:int")?,
        // Kept as given: whether it is blank is a field rule (EntityValidationFault).
        reference: fields.get("Reference").map(str::to_owned),
        title_code: trimmed_code(fields.optional("TitleCode")),
        additional_value: fields.optional("AdditionalValue"),
        source: fields.optional("Source"),
    })
}

fn decode_new_relation(element: &XmlElement) -> Result<NewCustomerRelation, DecodeError> {
    let relation = only_child(element, "CustomerRelation")?;
    let fields = Fields::read(
        relation,
        &[
            "CustomerNumber",
            "RelationTypeCode",
            "Reference",
            "TitleCode",
            "AdditionalValue",
            "Source",
        ],
    )?;
    Ok(NewCustomerRelation {
        customer_number: fields.integer("CustomerNumber", "xs:int")?,
        relation_type_code: fields.required("RelationTypeCode")?.trim().to_owned(),
        // Kept as given: whether it is blank is a field rule (EntityValidationFault).
        reference: fields.get("Reference").map(str::to_owned),
        title_code: trimmed_code(fields.optional("TitleCode")),
        additional_value: fields.optional("AdditionalValue"),
        source: fields.optional("Source"),
    })
}

/// `<name>` with `at` as an `xs:dateTime` in UTC with `Z` and millisecond
/// precision: the usual years digit by digit without an allocation
/// (`UtcText`), the others by `wide_date_time`.
fn date_time_element(out: &mut XmlOut, name: &str, at: &chrono::DateTime<chrono::Utc>) {
    match UtcText::new(at, 3) {
        Some(text) => out.text_element(name, text.as_str()),
        None => out.text_element(name, &wide_date_time(at)),
    }
}

/// An `xs:dateTime` of a year `UtcText` does not write (before 0 or after
/// 9999): at least four digits, a sign only before the year 0.
fn wide_date_time(at: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let year = at.year();
    let sign = if year < 0 { "-" } else { "" };
    format!(
        "{sign}{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        year.unsigned_abs(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.timestamp_subsec_millis().min(999),
    )
}

/// The content of a `GetCustomerRelationsByCustomerResponse`: the
/// relations as Infosoft's `CustomerRelation`s. Public for the
/// micro-benchmarks of response writing (`benches/soap.rs`).
pub fn write_customer_relations(out: &mut XmlOut, relations: &[CustomerRelation]) {
    write_relations(out, relations, write_relation);
}

/// Infosoft's `CustomerRelation`, exactly.
fn write_relation(out: &mut XmlOut, relation: &CustomerRelation) {
    out.open("CustomerRelation", &[]);
    write_values(out, relation);
    out.open("Audit", &[]);
    date_time_element(out, "CreatedAt", &relation.created_at);
    out.text_element("CreatedBy", &relation.created_by);
    out.close("Audit");
    out.close("CustomerRelation");
}

/// The fields both `CustomerRelation` and `CustomerRelationRecord` start
/// with, in their order.
fn write_values(out: &mut XmlOut, relation: &CustomerRelation) {
    out.number_element("Id", relation.id);
    out.number_element("CustomerNumber", relation.customer_number);
    out.text_element("RelationTypeCode", &relation.relation_type_code);
    out.text_element("ReferenceType", relation.reference_type.as_str());
    out.text_element("Reference", &relation.reference);
    out.optional_element("TitleCode", relation.title_code.as_deref());
    out.optional_element("AdditionalValue", relation.additional_value.as_deref());
    out.optional_element("Source", relation.source.as_deref());
}

/// A `CustomerRelationRecord`, in a `CustomerRelation` element: Infosoft's
/// fields, then the version and the whole audit.
fn write_record(out: &mut XmlOut, relation: &CustomerRelation) {
    out.open("CustomerRelation", &[]);
    write_values(out, relation);
    out.number_element("Version", relation.version);
    out.open("Audit", &[]);
    date_time_element(out, "CreatedAt", &relation.created_at);
    out.text_element("CreatedBy", &relation.created_by);
    write_stamp(
        out,
        ["ModifiedAt", "ModifiedBy"],
        relation.modified.as_ref(),
    );
    write_stamp(out, ["DeletedAt", "DeletedBy"], relation.deleted.as_ref());
    out.close("Audit");
    out.close("CustomerRelation");
}

/// The stamp's `…At` and `…By` elements, when there is a stamp.
fn write_stamp(out: &mut XmlOut, [at, by]: [&str; 2], stamp: Option<&Stamp>) {
    if let Some(stamp) = stamp {
        date_time_element(out, at, &stamp.at);
        out.text_element(by, &stamp.by);
    }
}

/// A `CustomerRelationChange`: its sequence (in the feed), its kind, when
/// and by whom, and the relation after it.
fn write_change(out: &mut XmlOut, change: &RelationChange) {
    out.open("Change", &[]);
    if let Some(sequence) = change.sequence {
        out.number_element("Sequence", sequence);
    }
    out.text_element("Kind", change.kind.as_str());
    date_time_element(out, "At", &change.stamp.at);
    out.text_element("By", &change.stamp.by);
    write_record(out, &change.relation);
    out.close("Change");
}

fn write_histories(out: &mut XmlOut, histories: &[RelationHistory]) {
    out.open("RelationHistories", &[]);
    for history in histories {
        out.open("RelationHistory", &[]);
        write_record(out, history.relation());
        out.open("Changes", &[]);
        for change in history.changes() {
            write_change(out, change);
        }
        out.close("Changes");
        out.close("RelationHistory");
    }
    out.close("RelationHistories");
}

fn write_change_page(out: &mut XmlOut, page: &ChangePage) {
    out.open("Changes", &[]);
    for change in &page.changes {
        write_change(out, change);
    }
    out.close("Changes");
    out.number_element("LastSequence", page.last_sequence);
}

/// `CustomerRelations`, each relation written by `write` (Infosoft's type
/// or the record).
fn write_relations(
    out: &mut XmlOut,
    relations: &[CustomerRelation],
    write: fn(&mut XmlOut, &CustomerRelation),
) {
    out.open("CustomerRelations", &[]);
    for relation in relations {
        write(out, relation);
    }
    out.close("CustomerRelations");
}

/// `RelationTypes/RelationType*`; both services' WSDLs give it this shape.
pub(super) fn write_relation_types(out: &mut XmlOut, types: &[RelationType]) {
    out.open("RelationTypes", &[]);
    for t in types {
        write_relation_type(out, t);
    }
    out.close("RelationTypes");
}

/// A `RelationType`; both services' WSDLs give it this shape.
pub(super) fn write_relation_type(out: &mut XmlOut, t: &RelationType) {
    out.open("RelationType", &[]);
    out.text_element("Code", &t.code);
    out.text_element("Name", &t.name);
    out.text_element("ReferenceType", t.reference_type.as_str());
    out.text_element("TitleMode", t.title_mode.as_str());
    out.close("RelationType");
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::{XmlOut, date_time_element};

    /// What `date_time_element` writes between its tags.
    fn date_time(at: &chrono::DateTime<Utc>) -> String {
        let mut out = XmlOut::new();
        date_time_element(&mut out, "At", at);
        let element = String::from_utf8(out.into_bytes()).unwrap();
        element
            .strip_prefix("<At>")
            .and_then(|rest| rest.strip_suffix("</At>"))
            .unwrap_or_else(|| panic!("{element}"))
            .to_owned()
    }

    /// Years from 0 to 9999 are `UtcText`'s (tested there); the rest is
    /// written here.
    #[test]
    fn date_times_are_xs_date_times_whatever_the_year() {
        let at = Utc.timestamp_opt(1_796_000_123, 7_000_000).unwrap();
        assert_eq!(
            date_time(&at),
            at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        );
        // Beyond four digits chrono writes a `+`, which xs:dateTime does
        // not allow; before the year 0, four digits after the sign.
        assert_eq!(
            date_time(&Utc.with_ymd_and_hms(12345, 6, 7, 8, 9, 10).unwrap()),
            "12345-06-07T08:09:10.000Z"
        );
        assert_eq!(
            date_time(&Utc.with_ymd_and_hms(-1, 6, 7, 8, 9, 10).unwrap()),
            "-0001-06-07T08:09:10.000Z"
        );
        // A leap second, which xs:dateTime cannot write (chrono: 59:60.500).
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap()
            .and_utc();
        assert_eq!(date_time(&leap), "2016-12-31T23:59:59.999Z");
    }
}
