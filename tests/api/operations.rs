//! The operation declarations themselves: each operation's example request
//! is valid against its WSDL's schema and does what it says on the demo
//! data. (The WSDL test holds the declared faults to the WSDL; the helpers
//! hold every typed fault a test meets to its operation's declaration.)

use customer_relations::operations::Service;

use crate::helpers::{Soap, envelope, spawn_app};

on_both_backends! {
    async fn every_example_request_is_valid_and_answered(backend: Backend) {
        let app = spawn_app(&backend).await;
        for service in Service::ALL {
            let endpoint = format!("{}{}", app.address, service.path());
            for operation in service.operations() {
                // The first time on the demo data every example succeeds; the
                // second time some find what the first made or removed.
                for (round, version) in Soap::BOTH.into_iter().enumerate() {
                    let request = envelope(version, &operation.example_request());
                    crate::schema_check::assert_valid(&request);
                    let response = app
                        .post_to(&endpoint, version.content_type(), None, request)
                        .await;
                    if round == 0 {
                        assert_eq!(response.status, 200, "{operation:?}: {}", response.body);
                    } else if response.status != 200 {
                        let (name, _) = response
                            .detail_element()
                            .map(|(ns, name)| (name, ns))
                            .unwrap_or_else(|| panic!("{operation:?}: {}", response.body));
                        assert!(operation.faults().contains(&name.as_str()), "{operation:?}");
                    }
                }
            }
        }
    }
}
