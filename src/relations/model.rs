use chrono::{DateTime, Utc};

use crate::vocabulary::{CanonicalReference, ReferenceType};

/// A create request as the client sent it: nothing checked yet beyond the
/// XML schema's types.
#[derive(Debug, Clone, Default)]
pub struct NewCustomerRelation {
    pub customer_number: i32,
    pub relation_type_code: String,
    pub reference: Option<String>,
    pub title_code: Option<String>,
    pub additional_value: Option<String>,
    pub source: Option<String>,
}

/// A relation that passed every rule and is ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRelation {
    pub customer_number: i32,
    pub relation_type_code: String,
    pub reference_type: ReferenceType,
    pub reference: CanonicalReference,
    pub title_code: Option<String>,
    pub additional_value: Option<String>,
    pub source: Option<String>,
    pub created_by: String,
}

/// A stored relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRelation {
    pub id: i64,
    pub customer_number: i32,
    pub relation_type_code: String,
    pub reference_type: ReferenceType,
    pub reference: String,
    pub title_code: Option<String>,
    pub additional_value: Option<String>,
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}
