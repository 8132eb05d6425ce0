//! The relation service's operations: Infosoft's Customer Relation API.

use super::faults::*;
use super::{Access, Declared, Operation, Role, Service};
use crate::relations::{self, CustomerRelation, NewCustomerRelation};
use crate::soap::{DecodeError, Fields, XmlElement, XmlOut, only_child};
use crate::vocabulary::RelationType;

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
            encode: |out, relations| write_relations(out, relations),
        },
    },
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
];

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
        title_code: fields
            .optional("TitleCode")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()),
        additional_value: fields.optional("AdditionalValue"),
        source: fields.optional("Source"),
    })
}

/// `xs:dateTime` in UTC with `Z` and millisecond precision.
fn date_time(relation: &CustomerRelation) -> String {
    relation
        .created_at
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn write_relation(out: &mut XmlOut, relation: &CustomerRelation) {
    out.open("CustomerRelation", &[]);
    out.text_element("Id", &relation.id.to_string());
    out.text_element("CustomerNumber", &relation.customer_number.to_string());
    out.text_element("RelationTypeCode", &relation.relation_type_code);
    out.text_element("ReferenceType", relation.reference_type.as_str());
    out.text_element("Reference", &relation.reference);
    out.optional_element("TitleCode", relation.title_code.as_deref());
    out.optional_element("AdditionalValue", relation.additional_value.as_deref());
    out.optional_element("Source", relation.source.as_deref());
    out.open("Audit", &[]);
    out.text_element("CreatedAt", &date_time(relation));
    out.text_element("CreatedBy", &relation.created_by);
    out.close("Audit");
    out.close("CustomerRelation");
}

fn write_relations(out: &mut XmlOut, relations: &[CustomerRelation]) {
    out.open("CustomerRelations", &[]);
    for relation in relations {
        write_relation(out, relation);
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
