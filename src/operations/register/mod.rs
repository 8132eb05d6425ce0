//! The register service's operations, one file per kind of record, as the
//! rules in `register/rules/`. Each file declares its operations in its own
//! `OPERATIONS` list; the service's list is theirs in this order.

mod customers;
mod relation_types;
mod subscriptions;
mod titles;
mod users;

use super::Operation;

pub(super) const OPERATIONS: &[&[Operation]] = &[
    relation_types::OPERATIONS,
    customers::OPERATIONS,
    titles::OPERATIONS,
    subscriptions::OPERATIONS,
    users::OPERATIONS,
];
