//! The customer relation domain: relation types, relations, and the rules of
//! CreateCustomerRelation. Knows neither XML nor the database: the register is
//! read through [`CustomerDirectory`] and relations are kept through
//! [`RelationRepository`].

mod error;
mod fields;
pub(crate) mod model;
mod ports;
mod relation_rules;

pub use error::{FieldError, InternalError, RelationError};
pub use fields::{CanonicalReference, CodeParseError, RegisterCode};
pub use model::{
    Caller, CustomerRelation, NewCustomerRelation, ReferenceType, RelationType, TitleMode,
    ValidRelation, Validity,
};
pub use ports::{CustomerDirectory, CustomerRecord, Inserted, RelationRepository};
pub use relation_rules::{create_relation, delete_relation, relation_types, relations_of_customer};

/// Limits of CONTRACT §4 step 3, in characters.
pub const REFERENCE_MAX_CHARS: usize = 400;
pub const ADDITIONAL_VALUE_MAX_CHARS: usize = 400;
pub const SOURCE_MAX_CHARS: usize = 100;
