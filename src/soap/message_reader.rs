//! Reading request messages against the WSDL's schema: every child must be
//! in its parent's (the service's) namespace, known, and given once; a
//! number or a date must be one. A breach is a [`DecodeError`], which the
//! endpoint sends as a Client fault naming the element.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use super::XSI;
use super::xml_tree::XmlElement;

/// How a request breaks the schema; its text is the Client fault's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{element} must not hold text.")]
    HoldsText { element: String },
    #[error("{parent} holds the element {child}, which is not in the namespace {namespace}.")]
    OtherNamespace {
        parent: String,
        child: String,
        namespace: String,
    },
    #[error("{parent} holds the unknown element {child}; it may hold {}.", may_hold(.allowed))]
    Unknown {
        parent: String,
        child: String,
        allowed: Vec<&'static str>,
    },
    #[error("{parent} holds {child} more than once.")]
    Repeated { parent: String, child: &'static str },
    #[error("{parent}/{child} must hold text, not elements.")]
    NotText { parent: String, child: &'static str },
    #[error("{parent} must hold {child}.")]
    Missing { parent: String, child: String },
    #[error("{parent} holds {found} where {{{namespace}}}{expected} is expected.")]
    Unexpected {
        parent: String,
        found: String,
        namespace: String,
        expected: String,
    },
    #[error("{parent} must hold exactly one {child}.")]
    NotOne { parent: String, child: String },
    #[error("{name} must be an {xs_type}; '{raw}' is not.")]
    NotA {
        name: String,
        xs_type: &'static str,
        raw: String,
    },
    #[error("The request must hold {name}.")]
    MissingValue { name: String },
}

fn may_hold(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "nothing".to_owned()
    } else {
        allowed.join(", ")
    }
}

/// The simple-valued children of a complex element, by name.
pub struct Fields<'a> {
    parent: &'a XmlElement,
    values: Vec<(&'static str, Option<&'a str>)>,
}

impl<'a> Fields<'a> {
    /// Reads the children of `parent`, allowing only the names in `allowed`.
    /// An element with `xsi:nil="true"` reads as absent.
    pub fn read(parent: &'a XmlElement, allowed: &[&'static str]) -> Result<Self, DecodeError> {
        if !parent.text.trim().is_empty() {
            return Err(DecodeError::HoldsText {
                element: parent.name.clone(),
            });
        }
        let mut values: Vec<(&'static str, Option<&'a str>)> = Vec::new();
        for child in &parent.children {
            let name = Self::allowed_child(parent, child, allowed)?;
            if values.iter().any(|(n, _)| *n == name) {
                return Err(DecodeError::Repeated {
                    parent: parent.name.clone(),
                    child: name,
                });
            }
            if !child.children.is_empty() {
                return Err(DecodeError::NotText {
                    parent: parent.name.clone(),
                    child: name,
                });
            }
            let nil = matches!(
                child.attribute(Some(XSI), "nil").map(str::trim),
                Some("true" | "1")
            );
            values.push((name, (!nil).then_some(child.text.as_str())));
        }
        Ok(Self { parent, values })
    }

    /// The child's name, if the schema allows it here.
    fn allowed_child(
        parent: &XmlElement,
        child: &XmlElement,
        allowed: &[&'static str],
    ) -> Result<&'static str, DecodeError> {
        if child.namespace != parent.namespace {
            return Err(DecodeError::OtherNamespace {
                parent: parent.name.clone(),
                child: child.qualified_name(),
                namespace: parent.namespace.clone().unwrap_or_default(),
            });
        }
        allowed
            .iter()
            .find(|n| **n == child.name)
            .copied()
            .ok_or_else(|| DecodeError::Unknown {
                parent: parent.name.clone(),
                child: child.name.clone(),
                allowed: allowed.to_vec(),
            })
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| *v)
    }

    pub fn required(&self, name: &str) -> Result<&'a str, DecodeError> {
        self.get(name).ok_or_else(|| DecodeError::Missing {
            parent: self.parent.name.clone(),
            child: name.to_owned(),
        })
    }

    /// A text the rules require: missing reads as empty, which they refuse
    /// as a field rule rather than as a schema breach.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// An optional string; empty counts as absent (the service never sends
    /// empty strings, so it does not store them either).
    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    pub fn integer<T: std::str::FromStr>(
        &self,
        name: &str,
        xs_type: &'static str,
    ) -> Result<T, DecodeError> {
        let raw = self.required(name)?;
        raw.trim().parse().map_err(|_| DecodeError::NotA {
            name: name.to_owned(),
            xs_type,
            raw: raw.to_owned(),
        })
    }

    /// An optional number; absent or empty is `None`, anything else must be
    /// a number of the type.
    pub fn optional_integer<T: std::str::FromStr>(
        &self,
        name: &str,
        xs_type: &'static str,
    ) -> Result<Option<T>, DecodeError> {
        match self.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(_) => self.integer(name, xs_type).map(Some),
        }
    }

    /// `xs:date`: `YYYY-MM-DD`, optionally with a time zone (`Z` or
    /// `±hh:mm`, at most 14:00 away), which is ignored: a date is a
    /// calendar day.
    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, DecodeError> {
        let Some(raw) = self.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        xs_date(raw).map(Some).ok_or_else(|| DecodeError::NotA {
            name: name.to_owned(),
            xs_type: "xs:date (YYYY-MM-DD)",
            raw: raw.to_owned(),
        })
    }

    pub fn required_date(&self, name: &str) -> Result<NaiveDate, DecodeError> {
        self.date(name)?.ok_or_else(|| DecodeError::MissingValue {
            name: name.to_owned(),
        })
    }
}

/// `YYYY-MM-DD` with an optional time zone, read by pattern and chrono
/// (never by slicing bytes, so any text is safe to give it).
fn xs_date(raw: &str) -> Option<NaiveDate> {
    static XS_DATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(Z|[+-]([0-9]{2}):([0-9]{2}))?$")
            .expect("valid pattern")
    });
    let parts = XS_DATE.captures(raw)?;
    if let (Some(hours), Some(minutes)) = (parts.get(3), parts.get(4)) {
        let hours: u32 = hours.as_str().parse().ok()?;
        let minutes: u32 = minutes.as_str().parse().ok()?;
        if minutes > 59 || hours * 60 + minutes > 14 * 60 {
            return None;
        }
    }
    NaiveDate::parse_from_str(&parts[1], "%Y-%m-%d").ok()
}

/// The one complex child a wrapper element must hold, in its namespace.
pub fn only_child<'a>(parent: &'a XmlElement, name: &str) -> Result<&'a XmlElement, DecodeError> {
    if !parent.text.trim().is_empty() {
        return Err(DecodeError::HoldsText {
            element: parent.name.clone(),
        });
    }
    let namespace = parent.namespace.as_deref().unwrap_or_default();
    match parent.children.as_slice() {
        [child] if child.is(namespace, name) => Ok(child),
        [] => Err(DecodeError::Missing {
            parent: parent.name.clone(),
            child: name.to_owned(),
        }),
        [child] => Err(DecodeError::Unexpected {
            parent: parent.name.clone(),
            found: child.qualified_name(),
            namespace: namespace.to_owned(),
            expected: name.to_owned(),
        }),
        _ => Err(DecodeError::NotOne {
            parent: parent.name.clone(),
            child: name.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_whatever_the_text() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 1);
        for good in [
            "2024-01-01",
            "2024-01-01Z",
            "2024-01-01+14:00",
            "2024-01-01-09:30",
        ] {
            assert_eq!(xs_date(good), day, "{good}");
        }
        for bad in [
            "2024-01-0é",
            "2024-01-01+0é00",
            "2024-01-01+99:99",
            "2024-01-01+14:01",
            "2024-01-01+01:60",
            "2024-02-30",
            "2024-1-1",
            "é",
            "2024-01-01T00:00:00",
            "",
        ] {
            assert_eq!(xs_date(bad), None, "{bad}");
        }
    }
}
