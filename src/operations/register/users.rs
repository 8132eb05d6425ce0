//! Users of the user register: create, update, read and validity.

use crate::operations::faults::*;
use crate::operations::{Access, Declared, Operation, Role, Service};
use crate::register::{self, User, UserDraft};
use crate::soap::{DecodeError, Fields, XmlElement, XmlOut, only_child};

pub(super) const OPERATIONS: &[Operation] = &[
    Operation {
        service: Service::Register,
        name: "CreateUser",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, CUSTOMER_NOT_FOUND, USER_ALREADY_EXISTS],
        example: "<User><Email>a@example.com</Email><Name>A</Name>\
                  <CustomerNumber>1000</CustomerNumber></User>",
        handler: &Declared {
            decode: |element| user_draft(element, &["Email", "Name", "CustomerNumber", "Validity"]),
            execute: |store, draft, _| register::create_user(store, draft),
            encode: write_user,
        },
    },
    Operation {
        service: Service::Register,
        name: "UpdateUser",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, USER_NOT_FOUND, CUSTOMER_NOT_FOUND],
        example: "<User><Email>ola@example.com</Email><Name>Ola N.</Name>\
                  <CustomerNumber>1001</CustomerNumber></User>",
        handler: &Declared {
            decode: |element| user_draft(element, &["Email", "Name", "CustomerNumber"]),
            execute: |store, draft, _| register::update_user(store, draft),
            encode: write_user,
        },
    },
    Operation {
        service: Service::Register,
        name: "GetUser",
        access: Access::Read,
        role: Role::Reader,
        faults: &[USER_NOT_FOUND],
        example: "<Email>Kari@Example.com</Email>",
        handler: &Declared {
            decode: |element| {
                Ok(Fields::read(element, &["Email"])?
                    .required("Email")?
                    .to_owned())
            },
            execute: |store, email, _| register::get_user(store, &email),
            encode: write_user,
        },
    },
    Operation {
        service: Service::Register,
        name: "SetUserValidity",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, USER_NOT_FOUND],
        example: "<Email>ola@example.com</Email><Validity>InvalidTemporarily</Validity>",
        handler: &Declared {
            decode: |element| {
                let fields = Fields::read(element, &["Email", "Validity"])?;
                Ok((
                    fields.required("Email")?.to_owned(),
                    fields.text("Validity"),
                ))
            },
            execute: |store, (email, validity), _| {
                register::set_user_validity(store, &email, &validity)
            },
            encode: write_user,
        },
    },
];

fn user_draft(element: &XmlElement, allowed: &[&'static str]) -> Result<UserDraft, DecodeError> {
    let fields = Fields::read(only_child(element, "User")?, allowed)?;
    Ok(UserDraft {
        email: fields.text("Email"),
        name: fields.optional("Name"),
        customer_number: fields.optional_integer("CustomerNumber", "xs:int")?,
        validity: fields.optional("Validity"),
    })
}

fn write_user(out: &mut XmlOut, user: &User) {
    out.open("User", &[]);
    out.text_element("Email", &user.email);
    out.optional_element("Name", user.name.as_deref());
    out.optional_element(
        "CustomerNumber",
        user.customer_number.map(|n| n.to_string()).as_deref(),
    );
    out.text_element("Validity", user.validity.as_str());
    out.close("User");
}
