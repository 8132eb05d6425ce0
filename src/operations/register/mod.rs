//! The register service's operations, one file per kind of record. Each is
//! declared with [`register_operation!`]: how its request is decoded, which
//! rule runs, and how its response is encoded.

pub mod customers;
pub mod relation_types;
pub mod subscriptions;
pub mod titles;
pub mod users;

/// Declares one register operation as a [`super::SoapOperation`].
macro_rules! register_operation {
    (
        $(#[$meta:meta])*
        $op:ident($request:ty) -> $response:ty {
            decode: $decode:path,
            execute: |$store:ident, $req:pat_param| $execute:expr,
            encode: |$out:ident, $resp:pat_param| $encode:expr $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $op;

        impl $crate::operations::SoapOperation for $op {
            const OPERATION: $crate::operations::Operation = $crate::operations::Operation::$op;
            type Request = $request;
            type Response = $response;
            type Error = $crate::register::RegisterError;

            fn decode(element: &$crate::soap::XmlElement) -> Result<Self::Request, String> {
                $decode(element)
            }

            fn execute(
                session: &mut $crate::store::Session,
                request: Self::Request,
                _caller: &$crate::relations::Caller,
            ) -> Result<Self::Response, Self::Error> {
                let $store = session.store();
                let $req = request;
                $execute
            }

            fn encode(out: &mut $crate::soap::XmlOut, response: &Self::Response) {
                let $out = out;
                let $resp = response;
                $encode
            }
        }
    };
}

use register_operation;
