//! Micro-benchmarks of the SOAP layer, without a database (README,
//! "Performance"): parsing an envelope, decoding each operation's request,
//! and writing a response and a fault. A regression here shows without
//! the noise of a load test.
//!
//!   cargo bench --bench soap

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use customer_relations::operations::{Service, write_customer_relations};
use customer_relations::relations::CustomerRelation;
use customer_relations::soap::{
    Envelope, Fault, SoapError, SoapVersion, SourceEncoding, XmlLimits, XmlOut, response_envelope,
};
use customer_relations::vocabulary::ReferenceType;

const GET: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetCustomerRelationsByCustomer xmlns="urn:customer-relations:v1"><CustomerNumber>1001</CustomerNumber></GetCustomerRelationsByCustomer></s:Body></s:Envelope>"#;

fn envelope_of(payload: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{payload}</s:Body></s:Envelope>"#
    )
}

fn parse(xml: &str) -> Envelope {
    Envelope::parse(
        xml,
        SourceEncoding::Utf8,
        &XmlLimits::default(),
        SoapVersion::V11,
    )
    .expect("a valid envelope")
}

fn envelope_parsing(c: &mut Criterion) {
    c.bench_function("parse the envelope of a Get", |b| {
        b.iter(|| parse(black_box(GET)))
    });
}

fn decoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for service in Service::ALL {
        for operation in service.operations() {
            let envelope = parse(&envelope_of(&operation.example_request()));
            operation
                .check_request(&envelope.operation)
                .expect("the example decodes");
            group.bench_function(operation.name(), |b| {
                b.iter(|| operation.check_request(black_box(&envelope.operation)))
            });
        }
    }
    group.finish();
}

fn relations(n: i64) -> Vec<CustomerRelation> {
    (1..=n)
        .map(|id| CustomerRelation {
            id,
            customer_number: 1001,
            relation_type_code: "FACEBOOK".into(),
            reference_type: ReferenceType::External,
            reference: format!("seed-{id}"),
            title_code: None,
            additional_value: None,
            source: None,
            created_at: Utc.with_ymd_and_hms(2026, 12, 4, 18, 1, 50).unwrap(),
            created_by: "demo-bus".into(),
            version: 1,
            modified: None,
            deleted: None,
        })
        .collect()
}

fn writing(c: &mut Criterion) {
    let five = relations(5);
    c.bench_function("write a Get response of 5 relations", |b| {
        b.iter(|| {
            let mut out = XmlOut::new();
            out.open(
                "GetCustomerRelationsByCustomerResponse",
                &[("xmlns", Service::Relations.namespace())],
            );
            write_customer_relations(&mut out, black_box(&five));
            out.close("GetCustomerRelationsByCustomerResponse");
            response_envelope(SoapVersion::V11, out)
        })
    });
    c.bench_function("write a Client fault", |b| {
        b.iter(|| {
            SoapError::new(
                SoapVersion::V11,
                Fault::client(black_box("CustomerNumber is required.")),
            )
            .to_xml()
        })
    });
}

criterion_group!(benches, envelope_parsing, decoding, writing);
criterion_main!(benches);
