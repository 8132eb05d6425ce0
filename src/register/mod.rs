//! The customer register that relations are checked against: relation
//! types, customers, titles, subscriptions and users, and the rules of the
//! register service that manages them. Knows neither XML nor the database:
//! records are kept through [`RegisterRepository`].

mod error;
mod model;
mod ports;
mod rules;

pub use error::{Entity, RegisterError};
pub use model::{
    Customer, CustomerFields, CustomerPage, CustomerQuery, CustomerSearch, CustomerSortField,
    NewCustomer, NewSubscription, NumberMatch, RelationTypeDraft, SortDirection, Subscription,
    SubscriptionStatus, TextMatch, Title, User, search_key,
};
pub use ports::{Guarded, Insert, RegisterLoader, RegisterRepository};
pub use rules::*;
