use chrono::NaiveDate;

use super::register_operation;
use crate::register::{self, NewSubscription, Subscription};
use crate::soap::register_messages as msg;

register_operation! {
    CreateSubscription(NewSubscription) -> Subscription {
        decode: msg::decode_new_subscription,
        execute: |store, request| register::create_subscription(store, request),
        encode: |out, s| msg::write_subscription(out, s, register::today()),
    }
}

register_operation! {
    EndSubscription((i64, Option<NaiveDate>)) -> Subscription {
        decode: msg::decode_end_subscription,
        execute: |store, (id, end_date)| register::end_subscription(store, id, end_date),
        encode: |out, s| msg::write_subscription(out, s, register::today()),
    }
}

register_operation! {
    ListSubscriptionsByCustomer(i32) -> Vec<Subscription> {
        decode: msg::decode_customer_number,
        execute: |store, number| register::subscriptions_of_customer(store, number),
        encode: |out, list| msg::write_subscriptions(out, list, register::today()),
    }
}
