use chrono::NaiveDate;

use crate::vocabulary::{Validity, text_enum};

/// A customer's descriptive fields (OTRS's customer company), trimmed, with
/// empty optional values as `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFields {
    pub name: String,
    pub street: Option<String>,
    pub zip: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2, upper-case.
    pub country: Option<String>,
    pub url: Option<String>,
    pub comment: Option<String>,
}

/// A customer of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub customer_number: i32,
    pub fields: CustomerFields,
    pub validity: Validity,
}

/// A create request as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    /// `None`: the service assigns the next free number.
    pub customer_number: Option<i32>,
    pub fields: CustomerFields,
    /// As sent; checked by the rules (`Valid` when absent).
    pub validity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title {
    pub code: String,
    pub name: String,
    pub validity: Validity,
}

text_enum!(
    /// Derived from the dates: before the start date Pending, from the start
    /// date until the day before the end date Active, from the end date on
    /// Ended.
    SubscriptionStatus { Pending, Active, Ended }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub customer_number: i32,
    pub title_code: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

impl Subscription {
    /// The status on `today`. The end date is the first day the subscription
    /// no longer runs.
    pub fn status_on(&self, today: NaiveDate) -> SubscriptionStatus {
        match self.end_date {
            Some(end) if end <= today => SubscriptionStatus::Ended,
            _ if today < self.start_date => SubscriptionStatus::Pending,
            _ => SubscriptionStatus::Active,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub customer_number: i32,
    pub title_code: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

/// A user of the user register. The e-mail address is its key, stored
/// trimmed and lower-cased, so it is unique ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub email: String,
    pub name: Option<String>,
    pub customer_number: Option<i32>,
    pub validity: Validity,
}

text_enum!(
    /// The fields customers can be sorted by.
    CustomerSortField { CustomerNumber, Name, Street, Zip, City, Country, Url, Comment, Validity }
);

text_enum!(SortDirection {
    Ascending,
    Descending
});

/// A search as the client sent it: patterns with `*` wildcards.
#[derive(Debug, Clone, Default)]
pub struct CustomerSearch {
    pub customer_number: Option<String>,
    pub name: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    /// Enumeration values as sent; checked by the rules.
    pub validity: Option<String>,
    pub sort_by: Option<String>,
    pub direction: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// How one text field is matched: exactly, or by a SQL LIKE pattern whose
/// escape character is `\`. Both are already folded (see [`search_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    Exact(String),
    Like(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberMatch {
    Exact(i32),
    /// A LIKE pattern over the number's decimal digits.
    Like(String),
}

/// A checked search, ready for the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerQuery {
    pub customer_number: Option<NumberMatch>,
    pub name: Option<TextMatch>,
    pub city: Option<TextMatch>,
    pub zip: Option<TextMatch>,
    pub validity: Option<Validity>,
    pub sort_by: CustomerSortField,
    pub direction: SortDirection,
    pub offset: i64,
    pub limit: i64,
}

/// One page of a search and the number of matches in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPage {
    pub total_count: i64,
    pub offset: i64,
    pub customers: Vec<Customer>,
}

/// The form a searchable text is compared in: Unicode lower case, so that
/// "ÅSE" finds "Åse" on every backend (SQLite's own `lower` and `LIKE` fold
/// ASCII only). Kept beside the text in its own column.
pub fn search_key(text: &str) -> String {
    text.to_lowercase()
}

/// A relation type's fields as a create or update request gives them.
#[derive(Debug, Clone, Default)]
pub struct RelationTypeDraft {
    pub code: String,
    pub name: String,
    pub reference_type: String,
    pub title_mode: String,
}
