//! The relation service's messages: request elements to domain requests,
//! domain results to response elements. Requests are held to the WSDL's
//! schema: every child must be in its parent's (the service's) namespace,
//! known, and given once; a breach is a Client fault that names the element.

use super::XSI;
use super::xml_out::XmlOut;
use super::xml_tree::XmlElement;
use crate::relations::{CustomerRelation, NewCustomerRelation, RelationType};

/// The simple-valued children of a complex element, by name.
pub(super) struct Fields<'a> {
    parent: &'a XmlElement,
    values: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> Fields<'a> {
    /// Reads the children of `parent`, allowing only the names in `allowed`.
    /// An element with `xsi:nil="true"` reads as absent.
    pub(super) fn read(parent: &'a XmlElement, allowed: &[&'static str]) -> Result<Self, String> {
        if !parent.text.trim().is_empty() {
            return Err(format!("{} must not hold text.", parent.name));
        }
        let mut values: Vec<(&'a str, Option<&'a str>)> = Vec::new();
        for child in &parent.children {
            if child.namespace != parent.namespace {
                return Err(format!(
                    "{} holds the element {}, which is not in the namespace {}.",
                    parent.name,
                    child.qualified_name(),
                    parent.namespace.as_deref().unwrap_or_default()
                ));
            }
            let Some(name) = allowed.iter().find(|n| **n == child.name) else {
                return Err(format!(
                    "{} holds the unknown element {}; it may hold {}.",
                    parent.name,
                    child.name,
                    if allowed.is_empty() {
                        "nothing".to_owned()
                    } else {
                        allowed.join(", ")
                    }
                ));
            };
            if values.iter().any(|(n, _)| n == name) {
                return Err(format!("{} holds {} more than once.", parent.name, name));
            }
            if !child.children.is_empty() {
                return Err(format!(
                    "{}/{} must hold text, not elements.",
                    parent.name, name
                ));
            }
            let nil = matches!(
                child.attribute(Some(XSI), "nil").map(str::trim),
                Some("true" | "1")
            );
            values.push((name, (!nil).then_some(child.text.as_str())));
        }
        Ok(Self { parent, values })
    }

    pub(super) fn get(&self, name: &str) -> Option<&'a str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| *v)
    }

    pub(super) fn required(&self, name: &str) -> Result<&'a str, String> {
        self.get(name)
            .ok_or_else(|| format!("{} must hold {}.", self.parent.name, name))
    }

    /// An optional string; empty counts as absent (the service never sends
    /// empty strings, so it does not store them either).
    pub(super) fn optional(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    pub(super) fn integer<T: std::str::FromStr>(
        &self,
        name: &str,
        xs_type: &str,
    ) -> Result<T, String> {
        let raw = self.required(name)?;
        raw.trim()
            .parse()
            .map_err(|_| format!("{name} must be an {xs_type}; '{raw}' is not."))
    }

    /// An optional number; absent or empty is `None`, anything else must be
    /// a number of the type.
    pub(super) fn optional_integer<T: std::str::FromStr>(
        &self,
        name: &str,
        xs_type: &str,
    ) -> Result<Option<T>, String> {
        match self.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(_) => self.integer(name, xs_type).map(Some),
        }
    }
}

/// The one complex child a wrapper element must hold, in its namespace.
pub(super) fn only_child<'a>(parent: &'a XmlElement, name: &str) -> Result<&'a XmlElement, String> {
    if !parent.text.trim().is_empty() {
        return Err(format!("{} must not hold text.", parent.name));
    }
    let namespace = parent.namespace.as_deref().unwrap_or_default();
    match parent.children.as_slice() {
        [child] if child.is(namespace, name) => Ok(child),
        [] => Err(format!("{} must hold {name}.", parent.name)),
        [child] => Err(format!(
            "{} holds {} where {{{namespace}}}{name} is expected.",
            parent.name,
            child.qualified_name()
        )),
        _ => Err(format!("{} must hold exactly one {name}.", parent.name)),
    }
}

pub fn decode_create_customer_relation(
    element: &XmlElement,
) -> Result<NewCustomerRelation, String> {
    let relation = only_child(element, "CustomerRelation")?;
    let fields = Fields::read(
        relation,
        &[
            "CustomerNumber",
            "RelationTypeCode",
            "Reference",
            "TitleCode",
            "AdditionalValue",
            "Source",
        ],
    )?;
    Ok(NewCustomerRelation {
        customer_number: fields.integer("CustomerNumber", "xs:int")?,
        relation_type_code: fields.required("RelationTypeCode")?.trim().to_owned(),
        // Kept as given: whether it is blank is a field rule (EntityValidationFault).
        reference: fields.get("Reference").map(str::to_owned),
        title_code: fields
            .optional("TitleCode")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()),
        additional_value: fields.optional("AdditionalValue"),
        source: fields.optional("Source"),
    })
}

pub fn decode_get_customer_relations_by_customer(element: &XmlElement) -> Result<i32, String> {
    Fields::read(element, &["CustomerNumber"])?.integer("CustomerNumber", "xs:int")
}

pub fn decode_delete_customer_relation(element: &XmlElement) -> Result<i64, String> {
    Fields::read(element, &["Id"])?.integer("Id", "xs:long")
}

pub fn decode_get_relation_types(element: &XmlElement) -> Result<(), String> {
    Fields::read(element, &[]).map(drop)
}

/// `xs:dateTime` in UTC with `Z` and millisecond precision.
fn date_time(relation: &CustomerRelation) -> String {
    relation
        .created_at
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn write_relation(out: &mut XmlOut, relation: &CustomerRelation) {
    out.open("CustomerRelation", &[]);
    out.text_element("Id", &relation.id.to_string());
    out.text_element("CustomerNumber", &relation.customer_number.to_string());
    out.text_element("RelationTypeCode", &relation.relation_type_code);
    out.text_element("ReferenceType", relation.reference_type.as_str());
    out.text_element("Reference", &relation.reference);
    out.optional_element("TitleCode", relation.title_code.as_deref());
    out.optional_element("AdditionalValue", relation.additional_value.as_deref());
    out.optional_element("Source", relation.source.as_deref());
    out.open("Audit", &[]);
    out.text_element("CreatedAt", &date_time(relation));
    out.text_element("CreatedBy", &relation.created_by);
    out.close("Audit");
    out.close("CustomerRelation");
}

pub fn encode_create_customer_relation(out: &mut XmlOut, relation: &CustomerRelation) {
    write_relation(out, relation);
}

pub fn encode_get_customer_relations_by_customer(out: &mut XmlOut, relations: &[CustomerRelation]) {
    out.open("CustomerRelations", &[]);
    for relation in relations {
        write_relation(out, relation);
    }
    out.close("CustomerRelations");
}

pub fn encode_relation_types(out: &mut XmlOut, types: &[RelationType]) {
    out.open("RelationTypes", &[]);
    for t in types {
        write_relation_type(out, t);
    }
    out.close("RelationTypes");
}

/// A `RelationType`; both services' WSDLs give it the same shape.
pub fn write_relation_type(out: &mut XmlOut, t: &RelationType) {
    out.open("RelationType", &[]);
    out.text_element("Code", &t.code);
    out.text_element("Name", &t.name);
    out.text_element("ReferenceType", t.reference_type.as_str());
    out.text_element("TitleMode", t.title_mode.as_str());
    out.close("RelationType");
}
