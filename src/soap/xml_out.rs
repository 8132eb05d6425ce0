//! Writing XML with quick-xml's writer, which escapes text and attributes.

use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::xml_tree::{is_xml_ascii, is_xml_char};

/// Text with every character XML does not allow replaced by U+FFFD, so that
/// no value (a quoted client string, say) can make a response ill-formed.
fn xml_safe(text: &str) -> Cow<'_, str> {
    if text.bytes().all(is_xml_ascii) || text.chars().all(is_xml_char) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(
            text.chars()
                .map(|c| {
                    if is_xml_char(c) {
                        c
                    } else {
                        char::REPLACEMENT_CHARACTER
                    }
                })
                .collect(),
        )
    }
}

fn start_tag<'a>(name: &'a str, attributes: &[(&str, &str)]) -> BytesStart<'a> {
    let mut start = BytesStart::new(name);
    for (key, value) in attributes {
        start.push_attribute((*key, xml_safe(value).as_ref()));
    }
    start
}

pub struct XmlOut {
    writer: Writer<Vec<u8>>,
}

impl Default for XmlOut {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlOut {
    /// Room for a Get of several relations (about 500 bytes each), and for
    /// the envelope `response_envelope` puts around them, without growing,
    /// which copies what is written so far each time.
    pub fn new() -> Self {
        Self {
            writer: Writer::new(Vec::with_capacity(4096)),
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
        self.write(Event::Start(start_tag(name, attributes)));
    }

    pub fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.write(Event::Empty(start_tag(name, attributes)));
    }

    pub fn close(&mut self, name: &str) {
        self.write(Event::End(BytesEnd::new(name)));
    }

    pub fn text_element(&mut self, name: &str, text: &str) {
        self.text_element_with(name, &[], text);
    }

    pub fn text_element_with(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        if attributes.is_empty() {
            // The bytes quick-xml's three events write (the same escaping),
            // without building the events: half the cost of a response's
            // values (README, "Performance").
            let out = self.writer.get_mut();
            for part in ["<", name, ">"] {
                out.extend_from_slice(part.as_bytes());
            }
            // Printable ASCII with nothing to escape, the usual value, in
            // one look at each byte; anything else as the events write it
            // (which also writes a carriage return as a reference, so that
            // a reader's line-end normalisation keeps it).
            let plain =
                |b: u8| is_xml_ascii(b) && !matches!(b, b'\r' | b'<' | b'>' | b'&' | b'\'' | b'"');
            if text.bytes().all(plain) {
                out.extend_from_slice(text.as_bytes());
            } else {
                out.extend_from_slice(quick_xml::escape::escape(xml_safe(text)).as_bytes());
            }
            for part in ["</", name, ">"] {
                out.extend_from_slice(part.as_bytes());
            }
            return;
        }
        self.open(name, attributes);
        self.write(Event::Text(BytesText::new(&xml_safe(text))));
        self.close(name);
    }

    /// `<name>n</name>`, the number written without an allocation.
    pub fn number_element(&mut self, name: &str, n: impl itoa::Integer) {
        self.text_element(name, itoa::Buffer::new().format(n));
    }

    /// Absent optional values are omitted, never written empty.
    pub fn optional_element(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text_element(name, text);
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.writer.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_element_is_written_as_quick_xmls_events_write_it() {
        let every_ascii: Vec<String> = (0u8..=0x7f)
            .map(|b| format!("a{}b", char::from(b)))
            .collect();
        let texts = every_ascii.iter().map(String::as_str).chain([
            "",
            "plain",
            "<&>'\"",
            "a & b < c > d 'e' \"f\"",
            "é ü ß 漢字 😀",
            "nul\u{0} bell\u{7} ffff\u{FFFF}",
            "&amp; already escaped",
            "  spaces\tand\nlines\r ",
        ]);
        for text in texts {
            let mut fast = XmlOut::new();
            fast.text_element("Reference", text);
            let mut events = XmlOut::new();
            events.open("Reference", &[]);
            events.write(Event::Text(BytesText::new(&xml_safe(text))));
            events.close("Reference");
            assert_eq!(fast.into_bytes(), events.into_bytes(), "{text:?}");
        }
    }

    #[test]
    fn the_ascii_shortcut_allows_what_xml_allows() {
        for b in 0u8..=0x7f {
            let c = char::from(b);
            assert_eq!(is_xml_ascii(b), is_xml_char(c), "{c:?}");
            let text = format!("a{c}b");
            let kept = matches!(xml_safe(&text), Cow::Borrowed(_));
            assert_eq!(kept, is_xml_char(c), "{c:?}");
        }
        // Bytes of longer UTF-8 sequences are left to the look at chars.
        assert!((0x80..=0xff).all(|b| !is_xml_ascii(b)));
    }

    #[test]
    fn characters_xml_does_not_allow_never_reach_the_output() {
        let mut out = XmlOut::new();
        out.text_element_with("a", &[("v", "x\u{1}y")], "nul\u{0} bell\u{7} <&> é");
        let xml = String::from_utf8(out.into_bytes()).unwrap();
        assert_eq!(
            xml,
            "<a v=\"x\u{FFFD}y\">nul\u{FFFD} bell\u{FFFD} &lt;&amp;&gt; é</a>"
        );
    }
}
