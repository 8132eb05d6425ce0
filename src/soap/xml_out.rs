//! Writing XML with quick-xml's writer, which escapes text and attributes.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

pub struct XmlOut {
    writer: Writer<Vec<u8>>,
}

impl Default for XmlOut {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlOut {
    pub fn new() -> Self {
        Self {
            writer: Writer::new(Vec::with_capacity(1024)),
        }
    }

    fn write(&mut self, event: Event<'_>) {
        self.writer
            .write_event(event)
            .expect("writing to a Vec cannot fail");
    }

    pub fn declaration(&mut self) {
        self.write(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
    }

    /// Opens an element with the given attributes (namespace declarations
    /// included).
    pub fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        let mut start = BytesStart::new(name);
        for attribute in attributes {
            start.push_attribute(*attribute);
        }
        self.write(Event::Start(start));
    }

    pub fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        let mut start = BytesStart::new(name);
        for attribute in attributes {
            start.push_attribute(*attribute);
        }
        self.write(Event::Empty(start));
    }

    pub fn close(&mut self, name: &str) {
        self.write(Event::End(BytesEnd::new(name)));
    }

    pub fn text_element(&mut self, name: &str, text: &str) {
        self.open(name, &[]);
        self.write(Event::Text(BytesText::new(text)));
        self.close(name);
    }

    pub fn text_element_with(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.open(name, attributes);
        self.write(Event::Text(BytesText::new(text)));
        self.close(name);
    }

    /// Absent optional values are omitted, never written empty.
    pub fn optional_element(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text_element(name, text);
        }
    }

    /// Appends XML that another writer produced.
    pub fn append(&mut self, other: XmlOut) {
        self.writer.get_mut().extend_from_slice(&other.into_bytes());
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.writer.into_inner()
    }
}
