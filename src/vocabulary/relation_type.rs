//! Relation types: kept by the register, read by the relation rules.

use super::{InternalError, ReferenceType, TitleMode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationType {
    pub code: String,
    pub name: String,
    pub reference_type: ReferenceType,
    pub title_mode: TitleMode,
}

/// Reading relation types: what both services' ports share.
pub trait RelationTypes {
    fn relation_type(&mut self, code: &str) -> Result<Option<RelationType>, InternalError>;
    /// Every relation type, in no particular order.
    fn relation_types(&mut self) -> Result<Vec<RelationType>, InternalError>;
}

/// Ordered by code: by bytes, here rather than in SQL, so that the order
/// does not depend on the database's collation.
pub fn sorted_by_code(mut types: Vec<RelationType>) -> Vec<RelationType> {
    types.sort_by(|a, b| a.code.cmp(&b.code));
    types
}
