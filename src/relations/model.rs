use chrono::{DateTime, Utc};

use super::fields::CanonicalReference;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $(stringify!($variant) => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{other}' is not a {}; expected one of {}",
                        stringify!($name),
                        [$(stringify!($variant)),+].join(", ")
                    )),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use text_enum;

text_enum!(
    /// What a relation's reference points at; decides how it is checked.
    ReferenceType { External, Customer, Subscription, User }
);
text_enum!(
    /// Whether a relation of a type must, may or must not name a title.
    TitleMode { Required, Optional, Forbidden }
);
text_enum!(
    /// OTRS-style validity: register records are made invalid, never deleted.
    Validity { Valid, Invalid, InvalidTemporarily }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationType {
    pub code: String,
    pub name: String,
    pub reference_type: ReferenceType,
    pub title_mode: TitleMode,
}

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

/// Who is calling. Until authentication exists every caller is anonymous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(String);

impl Caller {
    pub fn anonymous() -> Self {
        Caller("anonymous".to_owned())
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}
