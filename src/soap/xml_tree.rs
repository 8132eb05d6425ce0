//! A namespace-resolved element tree, read with quick-xml's `NsReader`.
//! SOAP payloads are small; a tree keeps the message decoders simple. The
//! reader refuses DTDs, processing instructions and unknown entities, and
//! stops at the configured limits before doing any work.

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};
use quick_xml::name::PrefixDeclaration;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// XML 1.0's XMLDecl production (between `<?` and `?>`): `version`, then
/// optionally `encoding`, then optionally `standalone`, and nothing else.
static XML_DECLARATION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r#"^xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*("1\.[0-9]+"|'1\.[0-9]+')([ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*("[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?([ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*("(yes|no)"|'(yes|no)'))?[ \t\r\n]*$"#,
    )
    .expect("valid pattern")
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlAttribute {
    pub namespace: Option<String>,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlElement {
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: Vec<XmlAttribute>,
    pub children: Vec<XmlElement>,
    /// Character data directly inside this element, concatenated.
    pub text: String,
}

impl XmlElement {
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.namespace.as_deref() == Some(namespace) && self.name == name
    }

    pub fn attribute(&self, namespace: Option<&str>, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.namespace.as_deref() == namespace && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// `{namespace}name`, for messages.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Limits on what a request may hold.
#[derive(Debug, Clone)]
pub struct XmlLimits {
    pub max_depth: usize,
    pub max_elements: usize,
    pub max_attributes: usize,
    pub max_text_bytes: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_elements: 10_000,
            max_attributes: 64,
            max_text_bytes: 64 * 1024,
        }
    }
}

/// How the request's bytes were decoded, which decides the encodings its XML
/// declaration may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEncoding {
    Utf8,
    Utf16,
}

impl SourceEncoding {
    fn admits(self, declared: &str) -> bool {
        let declared = declared.to_ascii_lowercase();
        match self {
            Self::Utf8 => matches!(declared.as_str(), "utf-8" | "utf8"),
            Self::Utf16 => matches!(declared.as_str(), "utf-16" | "utf-16le" | "utf-16be"),
        }
    }
}

/// Whether the byte is an ASCII character XML allows (printable, tab,
/// line feed, carriage return): the usual text, checked a byte at a time
/// before the costlier look at each `char`.
pub fn is_xml_ascii(b: u8) -> bool {
    matches!(b, 0x20..=0x7f | b'\t' | b'\n' | b'\r')
}

/// Whether XML 1.0 allows the character in a document (production `Char`).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Parses a whole document into its root element. The error is a sentence
/// fit for a Client fault.
pub fn parse_document(
    xml: &str,
    source: SourceEncoding,
    limits: &XmlLimits,
) -> Result<XmlElement, String> {
    // A document with a character XML does not allow is not well-formed; it
    // is refused before anything in it can be quoted back.
    if !xml.bytes().all(is_xml_ascii)
        && let Some(at) = xml.chars().position(|c| !is_xml_char(c))
    {
        return Err(format!(
            "The request is not well-formed XML: character {at} is not allowed in XML."
        ));
    }
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().check_end_names = true;
    reader.config_mut().expand_empty_elements = true;
    let mut tree = TreeBuilder::new(limits);
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(not_well_formed)?;
        // An element's namespace, kept with it. An end tag has its start
        // tag's name (check_end_names), whose prefix was resolved already.
        let namespace = match event {
            Event::Start(_) => namespace_of(resolved)?,
            _ => None,
        };
        match event {
            Event::Start(start) => {
                tree.open()?;
                let element = read_start(&reader, namespace, &start, limits)?;
                tree.push(element);
            }
            Event::End(_) => tree.close(),
            Event::Text(text) => tree.text(&text.xml10_content())?,
            Event::CData(data) => tree.text(&data.xml10_content())?,
            Event::GeneralRef(reference) => tree.text(&resolve_reference(&reference)?)?,
            Event::DocType(_) => {
                return Err("The request has a DOCTYPE: DTDs are not accepted.".into());
            }
            Event::PI(_) => {
                return Err(
                    "The request has a processing instruction; they are not accepted.".into(),
                );
            }
            Event::Decl(decl) => check_declaration(&decl, source)?,
            // expand_empty_elements turns <a/> into Start and End.
            Event::Empty(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    tree.finish()
}

fn not_well_formed(error: impl std::fmt::Display) -> String {
    format!("The request is not well-formed XML: {error}.")
}

/// The namespace a name resolved to; an undeclared prefix is not
/// well-formed.
fn namespace_of(resolved: ResolveResult<'_>) -> Result<Option<String>, String> {
    match resolved {
        ResolveResult::Bound(ns) => Ok(Some(ns.into_inner().to_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(format!(
            "The request is not well-formed XML: the prefix '{prefix}' is not declared."
        )),
    }
}

/// The elements read so far: the open ones, and the root once it closed.
struct TreeBuilder<'a> {
    limits: &'a XmlLimits,
    stack: Vec<XmlElement>,
    root: Option<XmlElement>,
    elements: usize,
}

impl<'a> TreeBuilder<'a> {
    fn new(limits: &'a XmlLimits) -> Self {
        Self {
            limits,
            stack: Vec::new(),
            root: None,
            elements: 0,
        }
    }

    /// Whether another element may start here, within the limits.
    fn open(&mut self) -> Result<(), String> {
        if self.root.is_some() {
            return Err("The request has content after its root element.".into());
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(format!(
                "The request has more than {} elements.",
                self.limits.max_elements
            ));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(format!(
                "The request nests elements deeper than {} levels.",
                self.limits.max_depth
            ));
        }
        Ok(())
    }

    fn push(&mut self, element: XmlElement) {
        self.stack.push(element);
    }

    fn close(&mut self) {
        let element = self.stack.pop().expect("check_end_names pairs every end");
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
    }

    fn text(&mut self, text: &str) -> Result<(), String> {
        match self.stack.last_mut() {
            Some(element) => {
                if element.text.len() + text.len() > self.limits.max_text_bytes {
                    return Err(format!(
                        "An element of the request holds more than {} bytes of text.",
                        self.limits.max_text_bytes
                    ));
                }
                element.text.push_str(text);
                Ok(())
            }
            None if text.trim().is_empty() => Ok(()),
            None => Err("The request has text outside its root element.".into()),
        }
    }

    fn finish(self) -> Result<XmlElement, String> {
        if !self.stack.is_empty() {
            return Err("The request is not well-formed XML: it ends inside an element.".into());
        }
        self.root
            .ok_or_else(|| "The request has no XML element.".into())
    }
}

/// A start tag as an element: its name, namespace and attributes (not the
/// namespace declarations, which the reader resolved).
fn read_start(
    reader: &NsReader<&[u8]>,
    namespace: Option<String>,
    start: &BytesStart<'_>,
    limits: &XmlLimits,
) -> Result<XmlElement, String> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(not_well_formed)?;
        if let Some(declaration) = attribute.key.as_namespace_binding() {
            // Namespaces in XML 1.0: a prefix has a name and is bound to a
            // namespace name (`xmlns:=".."` and `xmlns:p=""` are errors).
            if let PrefixDeclaration::Named(prefix) = declaration
                && (prefix.is_empty() || attribute.value.is_empty())
            {
                return Err(not_well_formed(
                    "a namespace prefix without a name or a namespace",
                ));
            }
            continue;
        }
        if attributes.len() >= limits.max_attributes {
            return Err(format!(
                "An element of the request has more than {} attributes.",
                limits.max_attributes
            ));
        }
        let (ns, local) = reader.resolver().resolve_attribute(attribute.key);
        let namespace = namespace_of(ns)?;
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(not_well_formed)?
            .into_owned();
        attributes.push(XmlAttribute {
            namespace,
            name: local.into_inner().to_owned(),
            value,
        });
    }
    Ok(XmlElement {
        namespace,
        name: start.name().local_name().into_inner().to_owned(),
        attributes,
        children: Vec::new(),
        text: String::new(),
    })
}

/// A character or predefined entity reference as its text; any other
/// entity is refused (there are no DTDs).
fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, String> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) if is_xml_char(c) => Ok(c.to_string()),
        Ok(Some(_)) => Err(format!(
            "The request is not well-formed XML: '&{};' refers to a character XML does not allow.",
            &**reference
        )),
        Ok(None) => resolve_predefined_entity(reference)
            .map(str::to_owned)
            .ok_or_else(|| {
                format!(
                    "The request refers to the entity '&{};', which is not defined: DTDs and entities are not accepted.",
                    &**reference
                )
            }),
        Err(e) => Err(not_well_formed(e)),
    }
}

/// The XML declaration holds what XML allows, and the encoding it names is
/// the one the request was sent in.
fn check_declaration(decl: &BytesDecl<'_>, source: SourceEncoding) -> Result<(), String> {
    if !XML_DECLARATION.is_match(decl.as_ref()) {
        return Err(
            "The request is not well-formed XML: its XML declaration may hold only version, encoding and standalone, in that order.".into(),
        );
    }
    if let Some(encoding) = decl.encoding() {
        let encoding = encoding.map_err(not_well_formed)?;
        if !source.admits(&encoding) {
            return Err(format!(
                "The request declares the encoding '{encoding}' but is sent in {}; send UTF-8 or UTF-16.",
                match source {
                    SourceEncoding::Utf8 => "UTF-8",
                    SourceEncoding::Utf16 => "UTF-16",
                }
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Result<XmlElement, String> {
        parse_document(xml, SourceEncoding::Utf8, &XmlLimits::default())
    }

    #[test]
    fn the_xml_declaration_holds_only_what_xml_allows() {
        for good in [
            r#"<?xml version="1.0"?><a/>"#,
            r#"<?xml version='1.0' encoding='UTF-8'?><a/>"#,
            "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\" ?><a/>",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
        for bad in [
            r#"<?xml version="1.0" enloding="utf-8"?><a/>"#,
            r#"<?xml encoding="utf-8" version="1.0"?><a/>"#,
            r#"<?xml version="1.0" standalone="maybe"?><a/>"#,
            r#"<?xml version="2.0"?><a/>"#,
            r#"<?xml?><a/>"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolves_namespaces_whatever_the_prefix() {
        for xml in [
            r#"<a:R xmlns:a="urn:x"><a:C>1</a:C></a:R>"#,
            r#"<R xmlns="urn:x"><C>1</C></R>"#,
            r#"<b:R xmlns:b="urn:x"><C xmlns="urn:x">1</C></b:R>"#,
        ] {
            let root = parse(xml).unwrap();
            assert!(root.is("urn:x", "R"), "{xml}");
            assert!(root.children[0].is("urn:x", "C"), "{xml}");
            assert_eq!(root.children[0].text, "1");
        }
    }

    #[test]
    fn resolves_predefined_and_character_references() {
        let root = parse("<r>a &amp; b &#x41;&#66; &lt;&gt;<![CDATA[<c>]]></r>").unwrap();
        assert_eq!(root.text, "a & b AB <><c>");
    }

    #[test]
    fn refuses_dtds_entities_and_processing_instructions() {
        assert!(
            parse(r#"<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>"#)
                .unwrap_err()
                .contains("DOCTYPE")
        );
        assert!(parse("<r>&x;</r>").unwrap_err().contains("entity"));
        assert!(
            parse("<?pi x?><r/>")
                .unwrap_err()
                .contains("processing instruction")
        );
    }

    #[test]
    fn refuses_characters_xml_does_not_allow() {
        assert!(parse("<r>\u{0}</r>").unwrap_err().contains("not allowed"));
        assert!(parse("<r>\u{1}</r>").is_err());
        assert!(parse("<r>\u{FFFE}</r>").is_err());
        assert!(parse("<r>&#1;</r>").is_err());
        assert!(parse("<r>&#xFFFF;</r>").is_err());
        assert!(parse("<r>\t\n&#9;&#x10000;</r>").is_ok());
    }

    #[test]
    fn refuses_malformed_documents() {
        for broken in [r#"<R xmlns:="urn:x"/>"#, r#"<p:R xmlns:p=""/>"#] {
            assert!(parse(broken).is_err(), "{broken}");
        }
        assert!(parse("<r><a></r>").is_err());
        assert!(parse("<p:r/>").unwrap_err().contains("prefix"));
        assert!(parse("<r/><r/>").is_err());
        assert!(parse("").is_err());
        assert!(parse(r#"<?xml version="1.0" encoding="ISO-8859-1"?><r/>"#).is_err());
        assert!(parse(r#"<?xml version="1.0" encoding="UTF-16"?><r/>"#).is_err());
        let utf16 = r#"<?xml version="1.0" encoding="UTF-16"?><r/>"#;
        assert!(parse_document(utf16, SourceEncoding::Utf16, &XmlLimits::default()).is_ok());
    }

    #[test]
    fn stops_at_the_limits() {
        let limits = XmlLimits {
            max_depth: 3,
            max_elements: 5,
            max_attributes: 2,
            max_text_bytes: 4,
        };
        assert!(parse_document("<a><b><c/></b></a>", SourceEncoding::Utf8, &limits).is_ok());
        assert!(
            parse_document("<a><b><c><d/></c></b></a>", SourceEncoding::Utf8, &limits).is_err()
        );
        assert!(parse_document("<a><b/><b/><b/><b/></a>", SourceEncoding::Utf8, &limits).is_ok());
        assert!(
            parse_document("<a><b/><b/><b/><b/><b/></a>", SourceEncoding::Utf8, &limits).is_err()
        );
        assert!(parse_document(r#"<a x="1" y="2"/>"#, SourceEncoding::Utf8, &limits).is_ok());
        assert!(
            parse_document(r#"<a x="1" y="2" z="3"/>"#, SourceEncoding::Utf8, &limits).is_err()
        );
        assert!(parse_document("<a>1234</a>", SourceEncoding::Utf8, &limits).is_ok());
        assert!(parse_document("<a>12345</a>", SourceEncoding::Utf8, &limits).is_err());
    }
}
