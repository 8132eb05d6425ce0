//! What both domains speak: the failures every rule can have, the field
//! rules' collector, validity, codes, canonical references and relation
//! types. Below [`crate::relations`] and [`crate::register`], so that neither
//! imports the other for basics; knows neither XML nor the database.

mod caller;
mod codes;
mod enums;
mod errors;
mod relation_type;
mod timestamp;

pub use caller::{Caller, Role};
pub use codes::{CanonicalReference, CodeParseError, RegisterCode};
pub(crate) use enums::text_enum;
pub use enums::{ReferenceType, TitleMode, Validity};
pub use errors::{
    COME_BACK_AFTER, EMAIL_MAX_CHARS, FieldError, FieldErrors, InternalError, Invalid,
};
pub use relation_type::{RelationType, RelationTypes, sorted_by_code};
pub use timestamp::UtcText;
