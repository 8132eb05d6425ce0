//! Titles: create, rename, list and validity.

use crate::operations::faults::*;
use crate::operations::{Access, Declared, Operation, Role, Service};
use crate::register::{self, Title};
use crate::soap::{Fields, XmlOut, only_child};

pub(super) const OPERATIONS: &[Operation] = &[
    Operation {
        service: Service::Register,
        name: "CreateTitle",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, TITLE_ALREADY_EXISTS],
        example: "<Title><Code>SPORT</Code><Name>Sport</Name><Validity>Valid</Validity></Title>",
        handler: &Declared {
            decode: |element| {
                let fields =
                    Fields::read(only_child(element, "Title")?, &["Code", "Name", "Validity"])?;
                Ok((
                    fields.text("Code"),
                    fields.text("Name"),
                    fields.optional("Validity"),
                ))
            },
            execute: |store, (code, name, validity), _| {
                register::create_title(store, &code, &name, validity.as_deref())
            },
            encode: write_title,
        },
    },
    Operation {
        service: Service::Register,
        name: "UpdateTitle",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, TITLE_NOT_FOUND],
        example: "<Code>TECH</Code><Name>Technology</Name>",
        handler: &Declared {
            decode: |element| {
                let fields = Fields::read(element, &["Code", "Name"])?;
                Ok((fields.required("Code")?.to_owned(), fields.text("Name")))
            },
            execute: |store, (code, name), _| register::update_title(store, &code, &name),
            encode: write_title,
        },
    },
    Operation {
        service: Service::Register,
        name: "ListTitles",
        access: Access::Read,
        role: Role::Reader,
        faults: &[ENTITY_VALIDATION],
        example: "<Validity>Valid</Validity>",
        handler: &Declared {
            decode: |element| Ok(Fields::read(element, &["Validity"])?.optional("Validity")),
            execute: |store, validity, _| register::list_titles(store, validity.as_deref()),
            encode: |out, titles| write_titles(out, titles),
        },
    },
    Operation {
        service: Service::Register,
        name: "SetTitleValidity",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, TITLE_NOT_FOUND],
        example: "<Code>TECH</Code><Validity>Invalid</Validity>",
        handler: &Declared {
            decode: |element| {
                let fields = Fields::read(element, &["Code", "Validity"])?;
                Ok((fields.required("Code")?.to_owned(), fields.text("Validity")))
            },
            execute: |store, (code, validity), _| {
                register::set_title_validity(store, &code, &validity)
            },
            encode: write_title,
        },
    },
];

fn write_title(out: &mut XmlOut, title: &Title) {
    out.open("Title", &[]);
    out.text_element("Code", &title.code);
    out.text_element("Name", &title.name);
    out.text_element("Validity", title.validity.as_str());
    out.close("Title");
}

fn write_titles(out: &mut XmlOut, titles: &[Title]) {
    out.open("Titles", &[]);
    for title in titles {
        write_title(out, title);
    }
    out.close("Titles");
}
