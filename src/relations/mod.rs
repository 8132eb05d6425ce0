//! The customer relation domain: relations, their history, and the rules of
//! the relation service's operations. Knows neither XML nor the database: the register
//! is read through [`CustomerDirectory`] and relations are kept through
//! [`RelationRepository`].

mod error;
mod model;
mod ports;
mod relation_rules;

pub use error::RelationError;
pub use model::{
    ChangeKind, ChangePage, CustomerRelation, NewCustomerRelation, ReferenceForms, ReferenceQuery,
    RelationChange, RelationHistory, RelationUpdate, Stamp, ValidRelation,
};
pub use ports::{CustomerDirectory, CustomerRecord, Inserted, Lock, RelationRepository, Updated};
pub use relation_rules::{
    create_relation, delete_relation, find_relations, relation, relation_changes, relation_history,
    relation_types, relations_of_customer, update_relation,
};

/// Limits of the create rules' step 3 (README, "The API"), in characters.
pub const REFERENCE_MAX_CHARS: usize = 400;
pub const ADDITIONAL_VALUE_MAX_CHARS: usize = 400;
pub const SOURCE_MAX_CHARS: usize = 100;

/// The change feed's page size when none is asked for, and the most a page
/// may have (README, "History and the change feed").
pub const CHANGES_DEFAULT_LIMIT: u32 = 100;
pub const CHANGES_MAX_LIMIT: u32 = 1_000;
