//! Customers: create, update, read, validity and search.

use crate::operations::faults::*;
use crate::operations::{Access, Declared, Operation, Role, Service};
use crate::register::{self, Customer, CustomerFields, CustomerPage, CustomerSearch, NewCustomer};
use crate::soap::{DecodeError, Fields, XmlElement, XmlOut, only_child};

pub(super) const OPERATIONS: &[Operation] = &[
    Operation {
        service: Service::Register,
        name: "CreateCustomer",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, CUSTOMER_ALREADY_EXISTS],
        example: "<Customer><CustomerNumber>5000</CustomerNumber><Name>Fjord AS</Name>\
                  <Street>Kai 1</Street><Zip>9008</Zip><City>Tromsø</City>\
                  <Country>NO</Country><Url>https://f.example</Url><Comment>c</Comment>\
                  <Validity>Valid</Validity></Customer>",
        handler: &Declared {
            decode: decode_new_customer,
            execute: |store, request, _| register::create_customer(store, request),
            encode: write_customer,
        },
    },
    Operation {
        service: Service::Register,
        name: "UpdateCustomer",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, CUSTOMER_NOT_FOUND],
        example: "<Customer><CustomerNumber>1001</CustomerNumber><Name>Ola Nordmann</Name>\
                  <City>Bergen</City><Country>NO</Country></Customer>",
        handler: &Declared {
            decode: decode_customer_update,
            execute: |store, (number, fields), _| register::update_customer(store, number, fields),
            encode: write_customer,
        },
    },
    Operation {
        service: Service::Register,
        name: "GetCustomer",
        access: Access::Read,
        role: Role::Reader,
        faults: &[CUSTOMER_NOT_FOUND],
        example: "<CustomerNumber>1000</CustomerNumber>",
        handler: &Declared {
            decode: decode_customer_number,
            execute: |store, number, _| register::get_customer(store, number),
            encode: write_customer,
        },
    },
    Operation {
        service: Service::Register,
        name: "SetCustomerValidity",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, CUSTOMER_NOT_FOUND],
        example: "<CustomerNumber>1002</CustomerNumber><Validity>Invalid</Validity>",
        handler: &Declared {
            decode: |element| {
                let fields = Fields::read(element, &["CustomerNumber", "Validity"])?;
                Ok((
                    fields.integer("CustomerNumber", "xs:int")?,
                    fields.text("Validity"),
                ))
            },
            execute: |store, (number, validity), _| {
                register::set_customer_validity(store, number, &validity)
            },
            encode: write_customer,
        },
    },
    Operation {
        service: Service::Register,
        name: "SearchCustomers",
        access: Access::Read,
        role: Role::Reader,
        faults: &[ENTITY_VALIDATION],
        example: "<CustomerNumber>10*</CustomerNumber><Name>*nord*</Name><City>Oslo</City>\
                  <Zip>0*</Zip><Validity>Valid</Validity><SortBy>Name</SortBy>\
                  <SortDirection>Descending</SortDirection><Offset>1</Offset><Limit>10</Limit>",
        handler: &Declared {
            decode: decode_search,
            execute: |store, search, _| register::search_customers(store, search),
            encode: write_customer_page,
        },
    },
];

/// The fields that create and update share.
const CUSTOMER_FIELDS: [&str; 7] = ["Name", "Street", "Zip", "City", "Country", "Url", "Comment"];

fn customer_fields(fields: &Fields<'_>) -> CustomerFields {
    CustomerFields {
        name: fields.text("Name"),
        street: fields.optional("Street"),
        zip: fields.optional("Zip"),
        city: fields.optional("City"),
        country: fields.optional("Country"),
        url: fields.optional("Url"),
        comment: fields.optional("Comment"),
    }
}

fn decode_new_customer(element: &XmlElement) -> Result<NewCustomer, DecodeError> {
    let mut allowed = vec!["CustomerNumber", "Validity"];
    allowed.extend(CUSTOMER_FIELDS);
    let fields = Fields::read(only_child(element, "Customer")?, &allowed)?;
    Ok(NewCustomer {
        customer_number: fields.optional_integer("CustomerNumber", "xs:int")?,
        fields: customer_fields(&fields),
        validity: fields.optional("Validity"),
    })
}

fn decode_customer_update(element: &XmlElement) -> Result<(i32, CustomerFields), DecodeError> {
    let mut allowed = vec!["CustomerNumber"];
    allowed.extend(CUSTOMER_FIELDS);
    let fields = Fields::read(only_child(element, "Customer")?, &allowed)?;
    Ok((
        fields.integer("CustomerNumber", "xs:int")?,
        customer_fields(&fields),
    ))
}

/// A request of one `CustomerNumber`.
pub(super) fn decode_customer_number(element: &XmlElement) -> Result<i32, DecodeError> {
    Fields::read(element, &["CustomerNumber"])?.integer("CustomerNumber", "xs:int")
}

fn decode_search(element: &XmlElement) -> Result<CustomerSearch, DecodeError> {
    let fields = Fields::read(
        element,
        &[
            "CustomerNumber",
            "Name",
            "City",
            "Zip",
            "Validity",
            "SortBy",
            "SortDirection",
            "Offset",
            "Limit",
        ],
    )?;
    Ok(CustomerSearch {
        customer_number: fields.optional("CustomerNumber"),
        name: fields.optional("Name"),
        city: fields.optional("City"),
        zip: fields.optional("Zip"),
        validity: fields.optional("Validity"),
        sort_by: fields.optional("SortBy"),
        direction: fields.optional("SortDirection"),
        offset: fields
            .optional_integer::<i32>("Offset", "xs:int")?
            .map(i64::from),
        limit: fields
            .optional_integer::<i32>("Limit", "xs:int")?
            .map(i64::from),
    })
}

fn write_customer(out: &mut XmlOut, customer: &Customer) {
    let f = &customer.fields;
    out.open("Customer", &[]);
    out.number_element("CustomerNumber", customer.customer_number);
    out.text_element("Name", &f.name);
    out.optional_element("Street", f.street.as_deref());
    out.optional_element("Zip", f.zip.as_deref());
    out.optional_element("City", f.city.as_deref());
    out.optional_element("Country", f.country.as_deref());
    out.optional_element("Url", f.url.as_deref());
    out.optional_element("Comment", f.comment.as_deref());
    out.text_element("Validity", customer.validity.as_str());
    out.close("Customer");
}

fn write_customer_page(out: &mut XmlOut, page: &CustomerPage) {
    out.number_element("TotalCount", page.total_count);
    out.number_element("Offset", page.offset);
    out.open("Customers", &[]);
    for customer in &page.customers {
        write_customer(out, customer);
    }
    out.close("Customers");
}
