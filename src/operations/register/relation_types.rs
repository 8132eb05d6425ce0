//! Relation types: the register's side of them (the relation service only
//! lists them).

use crate::operations::faults::*;
use crate::operations::relations::{write_relation_type, write_relation_types};
use crate::operations::{Access, Declared, Operation, Role, Service};
use crate::register::{self, RelationTypeDraft};
use crate::soap::{DecodeError, Fields, XmlElement, only_child};

pub(super) const OPERATIONS: &[Operation] = &[
    Operation {
        service: Service::Register,
        name: "CreateRelationType",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, RELATION_TYPE_ALREADY_EXISTS],
        example: "<RelationType><Code>PARTNER</Code><Name>Partner</Name>\
                  <ReferenceType>Customer</ReferenceType><TitleMode>Forbidden</TitleMode>\
                  </RelationType>",
        handler: &Declared {
            decode: decode_relation_type,
            execute: |store, draft, _| register::create_relation_type(store, draft),
            encode: write_relation_type,
        },
    },
    Operation {
        service: Service::Register,
        name: "UpdateRelationType",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, RELATION_TYPE_NOT_FOUND, IN_USE],
        example: "<RelationType><Code>SSO</Code><Name>SSO</Name>\
                  <ReferenceType>User</ReferenceType><TitleMode>Optional</TitleMode>\
                  </RelationType>",
        handler: &Declared {
            decode: decode_relation_type,
            execute: |store, draft, _| register::update_relation_type(store, draft),
            encode: write_relation_type,
        },
    },
    Operation {
        service: Service::Register,
        name: "DeleteRelationType",
        access: Access::Write,
        role: Role::Admin,
        faults: &[RELATION_TYPE_NOT_FOUND, IN_USE],
        example: "<Code>SHARE-NONE</Code>",
        handler: &Declared {
            decode: decode_code,
            execute: |store, code, _| register::delete_relation_type(store, &code),
            encode: |_, ()| {},
        },
    },
    Operation {
        service: Service::Register,
        name: "GetRelationType",
        access: Access::Read,
        role: Role::Reader,
        faults: &[RELATION_TYPE_NOT_FOUND],
        example: "<Code>SSO</Code>",
        handler: &Declared {
            decode: decode_code,
            execute: |store, code, _| register::get_relation_type(store, &code),
            encode: write_relation_type,
        },
    },
    Operation {
        service: Service::Register,
        name: "ListRelationTypes",
        access: Access::Read,
        role: Role::Reader,
        faults: &[],
        example: "",
        handler: &Declared {
            decode: |element| Fields::read(element, &[]).map(drop),
            execute: |store, (), _| register::list_relation_types(store),
            encode: |out, types| write_relation_types(out, types),
        },
    },
];

fn decode_relation_type(element: &XmlElement) -> Result<RelationTypeDraft, DecodeError> {
    let fields = Fields::read(
        only_child(element, "RelationType")?,
        &["Code", "Name", "ReferenceType", "TitleMode"],
    )?;
    Ok(RelationTypeDraft {
        code: fields.text("Code"),
        name: fields.text("Name"),
        reference_type: fields.text("ReferenceType"),
        title_mode: fields.text("TitleMode"),
    })
}

fn decode_code(element: &XmlElement) -> Result<String, DecodeError> {
    let fields = Fields::read(element, &["Code"])?;
    Ok(fields.required("Code")?.trim().to_owned())
}
