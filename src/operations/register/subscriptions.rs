//! Subscriptions: create, end, and list a customer's; each answer carries
//! the status on today's date.

use super::customers::decode_customer_number;
use crate::operations::faults::*;
use crate::operations::{Access, Declared, Operation, Role, Service};
use crate::register::{self, NewSubscription, Subscription};
use crate::soap::{DecodeError, Fields, XmlElement, XmlOut, only_child};

pub(super) const OPERATIONS: &[Operation] = &[
    Operation {
        service: Service::Register,
        name: "CreateSubscription",
        access: Access::Write,
        role: Role::Admin,
        faults: &[
            ENTITY_VALIDATION,
            CUSTOMER_NOT_FOUND,
            TITLE_NOT_FOUND,
            SUBSCRIPTION_ALREADY_EXISTS,
        ],
        example: "<Subscription><CustomerNumber>1000</CustomerNumber><TitleCode>DAILY</TitleCode>\
                  <StartDate>2026-01-01</StartDate><EndDate>2027-01-01Z</EndDate></Subscription>",
        handler: &Declared {
            decode: decode_new_subscription,
            execute: |store, request, _| register::create_subscription(store, request),
            encode: write_subscription,
        },
    },
    Operation {
        service: Service::Register,
        name: "EndSubscription",
        access: Access::Write,
        role: Role::Admin,
        faults: &[ENTITY_VALIDATION, SUBSCRIPTION_NOT_FOUND],
        example: "<Id>1</Id><EndDate>2099-12-31</EndDate>",
        handler: &Declared {
            decode: |element| {
                let fields = Fields::read(element, &["Id", "EndDate"])?;
                Ok((fields.integer("Id", "xs:long")?, fields.date("EndDate")?))
            },
            execute: |store, (id, end_date), _| register::end_subscription(store, id, end_date),
            encode: write_subscription,
        },
    },
    Operation {
        service: Service::Register,
        name: "ListSubscriptionsByCustomer",
        access: Access::Read,
        role: Role::Reader,
        faults: &[CUSTOMER_NOT_FOUND],
        example: "<CustomerNumber>1001</CustomerNumber>",
        handler: &Declared {
            decode: decode_customer_number,
            execute: |store, number, _| register::subscriptions_of_customer(store, number),
            encode: |out, list| write_subscriptions(out, list),
        },
    },
];

fn decode_new_subscription(element: &XmlElement) -> Result<NewSubscription, DecodeError> {
    let fields = Fields::read(
        only_child(element, "Subscription")?,
        &["CustomerNumber", "TitleCode", "StartDate", "EndDate"],
    )?;
    Ok(NewSubscription {
        customer_number: fields.integer("CustomerNumber", "xs:int")?,
        title_code: fields.text("TitleCode"),
        start_date: fields.required_date("StartDate")?,
        end_date: fields.date("EndDate")?,
    })
}

/// With its status today (UTC).
fn write_subscription(out: &mut XmlOut, subscription: &Subscription) {
    let today = register::today();
    out.open("Subscription", &[]);
    out.number_element("Id", subscription.id);
    out.number_element("CustomerNumber", subscription.customer_number);
    out.text_element("TitleCode", &subscription.title_code);
    out.text_element("StartDate", &subscription.start_date.to_string());
    out.optional_element(
        "EndDate",
        subscription.end_date.map(|d| d.to_string()).as_deref(),
    );
    out.text_element("Status", subscription.status_on(today).as_str());
    out.close("Subscription");
}

fn write_subscriptions(out: &mut XmlOut, subscriptions: &[Subscription]) {
    out.open("Subscriptions", &[]);
    for subscription in subscriptions {
        write_subscription(out, subscription);
    }
    out.close("Subscriptions");
}
