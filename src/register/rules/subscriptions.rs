//! Subscriptions: a customer's subscription to a title, from a start date
//! to an optional end date; the status is derived from the dates.

use chrono::{NaiveDate, Utc};

use super::customers::get_customer;
use super::inserted;
use crate::register::ports::RegisterRepository;
use crate::register::{Entity, NewSubscription, RegisterError, Subscription};
use crate::vocabulary::{FieldErrors, Validity};

/// Today in UTC: the day subscription statuses and default end dates use.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn end_after_start(errors: &mut FieldErrors, start: NaiveDate, end: Option<NaiveDate>) {
    if let Some(end) = end.filter(|end| *end < start) {
        errors.add(
            "EndDate",
            format!("EndDate {end} is before the StartDate {start}."),
        );
    }
}

pub fn create_subscription<S: RegisterRepository + ?Sized>(
    store: &mut S,
    request: NewSubscription,
) -> Result<Subscription, RegisterError> {
    let mut errors = FieldErrors::default();
    errors.positive("CustomerNumber", request.customer_number);
    let title_code = errors.code("TitleCode", &request.title_code);
    end_after_start(&mut errors, request.start_date, request.end_date);
    let title_code = errors.finish(|| title_code.expect("checked"))?;

    let customer = get_customer(store, request.customer_number)?;
    let title = store
        .title(&title_code)?
        .ok_or_else(|| RegisterError::not_found(Entity::Title, &title_code))?;
    let mut errors = FieldErrors::default();
    if customer.validity != Validity::Valid {
        errors.add(
            "CustomerNumber",
            format!(
                "Customer {} is {}; only valid customers can subscribe.",
                customer.customer_number, customer.validity
            ),
        );
    }
    if title.validity != Validity::Valid {
        errors.add(
            "TitleCode",
            format!(
                "Title '{}' is {}; only valid titles can be subscribed to.",
                title.code, title.validity
            ),
        );
    }
    errors.finish(|| ())?;

    let subscription = NewSubscription {
        title_code,
        ..request
    };
    inserted(
        store.insert_subscription(&subscription)?,
        Entity::Subscription,
    )
}

/// Ends a subscription on `end_date` (today when not given). A subscription
/// that has already ended cannot be ended again.
pub fn end_subscription<S: RegisterRepository + ?Sized>(
    store: &mut S,
    id: i64,
    end_date: Option<NaiveDate>,
) -> Result<Subscription, RegisterError> {
    let not_found = || RegisterError::not_found(Entity::Subscription, id);
    let already_ended = |ended: NaiveDate| {
        RegisterError::invalid("Id", format!("Subscription {id} already ended on {ended}."))
    };
    let subscription = store.subscription(id)?.ok_or_else(not_found)?;
    let today = today();
    let end_date = end_date.unwrap_or(today);
    let mut errors = FieldErrors::default();
    if let Some(ended) = subscription.end_date.filter(|end| *end <= today) {
        return Err(already_ended(ended));
    }
    end_after_start(&mut errors, subscription.start_date, Some(end_date));
    errors.finish(|| ())?;
    match store.set_subscription_end(id, end_date, today)? {
        Some(ended) => Ok(ended),
        // Another request ended it since it was read.
        None => match store.subscription(id)?.and_then(|s| s.end_date) {
            Some(ended) => Err(already_ended(ended)),
            None => Err(not_found()),
        },
    }
}

pub fn subscriptions_of_customer<S: RegisterRepository + ?Sized>(
    store: &mut S,
    customer_number: i32,
) -> Result<Vec<Subscription>, RegisterError> {
    get_customer(store, customer_number)?;
    Ok(store.subscriptions_of_customer(customer_number)?)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use crate::register::{Subscription, SubscriptionStatus};

    #[test]
    fn status_follows_the_dates() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        let s = Subscription {
            id: 1,
            customer_number: 1,
            title_code: "T".into(),
            start_date: day(10),
            end_date: Some(day(20)),
        };
        assert_eq!(s.status_on(day(9)), SubscriptionStatus::Pending);
        assert_eq!(s.status_on(day(10)), SubscriptionStatus::Active);
        assert_eq!(s.status_on(day(19)), SubscriptionStatus::Active);
        assert_eq!(s.status_on(day(20)), SubscriptionStatus::Ended);
    }
}
