//! The customer relation domain: relations and the rules of
//! CreateCustomerRelation. Knows neither XML nor the database: the register
//! is read through [`CustomerDirectory`] and relations are kept through
//! [`RelationRepository`].

mod error;
mod model;
mod ports;
mod relation_rules;

pub use error::RelationError;
pub use model::{CustomerRelation, NewCustomerRelation, ValidRelation};
pub use ports::{CustomerDirectory, CustomerRecord, Inserted, RelationRepository};
pub use relation_rules::{create_relation, delete_relation, relation_types, relations_of_customer};

/// Limits of the create rules' step 3 (README, "The API"), in characters.
pub const REFERENCE_MAX_CHARS: usize = 400;
pub const ADDITIONAL_VALUE_MAX_CHARS: usize = 400;
pub const SOURCE_MAX_CHARS: usize = 100;
