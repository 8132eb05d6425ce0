//! Enumerations that travel as text: in the WSDL, in the database and in
//! fixture files, always as their variant's name.

/// An enumeration sent and stored as its variant's name: `as_str`,
/// `FromStr` (the error is a sentence for a field rule), `Display`, `ALL`.
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
