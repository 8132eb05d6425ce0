//! The operations of both services. Each is declared once, in the file of
//! its service (`relations.rs`) or of its kind of record (`register/`): its
//! name, the typed faults it may raise, an example request, and a
//! [`Declared`] handler holding its request decoder, the rule it runs and
//! its response encoder. [`Service::operations`] is the one list that the
//! endpoint dispatches from and that the WSDL test, the property tests and
//! the fuzz target read.
//!
//! An operation decodes its request (soap), runs its rule (relations,
//! register) on a database session (store) off the async workers, and
//! encodes its response; a domain error becomes its typed fault in
//! [`faults`].

pub mod faults;
mod register;
mod relations;
pub use relations::write_customer_relations;

use crate::soap::{
    DecodeError, Fault, XmlElement, XmlOut, register_wsdl_template, relation_wsdl_template,
};
pub use crate::store::Access;
use crate::store::{Database, RelationStore};
use crate::telemetry::CarriedRequest;
use crate::vocabulary::InternalError;
pub use crate::vocabulary::{Caller, Role};
use faults::{EVERY_OPERATION, IntoFault, server_fault};

/// The two SOAP services: each has its endpoint, namespace and WSDL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Infosoft's Customer Relation API.
    Relations,
    /// The register the relations are checked against.
    Register,
}

impl Service {
    pub const ALL: [Service; 2] = [Service::Relations, Service::Register];

    pub fn name(self) -> &'static str {
        match self {
            Self::Relations => "CustomerRelationService",
            Self::Register => "CustomerRegisterService",
        }
    }

    /// The endpoint's path; the WSDL is at `{path}?wsdl`.
    pub fn path(self) -> &'static str {
        match self {
            Self::Relations => "/CustomerRelationService",
            Self::Register => "/CustomerRegisterService",
        }
    }

    /// The namespace of the service's messages, types and fault details.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::Relations => "urn:customer-relations:v1",
            Self::Register => "urn:customer-relations:register:v1",
        }
    }

    /// The WSDL as it is kept in `wsdl/`.
    pub fn wsdl_template(self) -> &'static str {
        match self {
            Self::Relations => relation_wsdl_template(),
            Self::Register => register_wsdl_template(),
        }
    }

    /// Every operation of the service, in the order of its declarations.
    pub fn operations(self) -> impl Iterator<Item = &'static Operation> {
        let lists: &'static [&'static [Operation]] = match self {
            Self::Relations => &[relations::OPERATIONS],
            Self::Register => register::OPERATIONS,
        };
        lists.iter().flat_map(|list| list.iter())
    }

    /// The operation whose request element has this (namespace, local name).
    pub fn operation_for(self, namespace: Option<&str>, name: &str) -> Option<&'static Operation> {
        if namespace != Some(self.namespace()) {
            return None;
        }
        self.operations().find(|op| op.name == name)
    }
}

/// One SOAP operation, as declared in its file.
pub struct Operation {
    service: Service,
    name: &'static str,
    /// Whether it changes anything: a write runs in a transaction whose
    /// commit is checked.
    access: Access,
    /// The least role that may call it (README, "Security").
    role: Role,
    /// The typed faults of its own that it may raise; with
    /// [`EVERY_OPERATION`]'s, those its WSDL declares.
    faults: &'static [&'static str],
    /// The children of a valid request element, in the service namespace
    /// (the demo data makes it meaningful).
    example: &'static str,
    handler: &'static dyn Handler,
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Operation {
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn service(&self) -> Service {
        self.service
    }

    pub fn access(&self) -> Access {
        self.access
    }

    /// The least role that may call it.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the caller's role allows it.
    pub fn allows(&self, caller: &Caller) -> bool {
        caller.role() >= self.role
    }

    /// The typed faults it may raise (the names of their detail elements),
    /// the authentication faults every operation has included.
    pub fn faults(&self) -> Vec<&'static str> {
        self.faults.iter().copied().chain(EVERY_OPERATION).collect()
    }

    /// A whole valid request element, e.g. to start a property test from.
    pub fn example_request(&self) -> String {
        format!(
            r#"<{name} xmlns="{ns}">{example}</{name}>"#,
            name = self.name,
            ns = self.service.namespace(),
            example = self.example
        )
    }

    /// The SOAPAction the WSDL declares.
    pub fn soap_action(&self) -> String {
        format!("{}/{}", self.service.namespace(), self.name)
    }

    /// Whether a SOAPAction a client sent agrees with this operation: empty,
    /// the declared action, or any URI whose last segment is the operation's
    /// name (clients differ in how they build it).
    pub fn accepts_action(&self, action: &str) -> bool {
        let action = action.trim().trim_matches('"').trim();
        // The declared action ends in the name too.
        if action.is_empty() {
            return true;
        }
        let last = action.rsplit(['/', '#', ':']).next().unwrap_or(action);
        last == self.name
    }

    /// Decodes a request element without running anything: whether it
    /// meets the schema.
    pub fn check_request(&self, element: &XmlElement) -> Result<(), DecodeError> {
        self.handler.prepare(element).map(drop)
    }

    /// Runs the operation: decodes the request, runs the rule on a database
    /// session where the store runs it (`Database::run`; a write in a transaction of its own,
    /// committed only when the rule succeeds, and confirmed only when the
    /// commit is), and returns the response element.
    pub async fn run(
        &self,
        context: &OperationContext,
        element: &XmlElement,
    ) -> Result<XmlOut, Fault> {
        let work = tracing::debug_span!("decode").in_scope(|| self.handler.prepare(element))?;
        let database = context.database.clone();
        let caller = context.caller.clone();
        let id = context.request_id.clone();
        let access = self.access;
        let deadline = std::time::Instant::now() + context.deadline;
        #[cfg(debug_assertions)]
        let panic_on_database = context.panic_on_database;
        let database_span = tracing::debug_span!("database", access = ?access);
        // What the work logs is in the request's span, on whichever thread.
        let request = CarriedRequest::current();
        let ran = database.run(access, deadline, {
            let database_span = database_span.clone();
            move |store| {
                // Inside the database work: for a write on SQLite, in the
                // group-commit writer.
                #[cfg(debug_assertions)]
                if panic_on_database {
                    panic!("X-Test-Panic: database");
                }
                // On another thread the span's parent is named, not taken
                // from the thread.
                request.in_scope(|| {
                    tracing::debug_span!(parent: &database_span, "rule")
                        .in_scope(|| work(store, &caller, &id))
                })
            }
        });
        // A database that stops answering must not hold the client: past
        // the deadline the answer is a Server fault. (The work may still
        // finish; a write confirmed by nobody is what a retried create
        // finds as already there.)
        let encode = match actix_web::rt::time::timeout(
            context.deadline,
            tracing::Instrument::instrument(ran, database_span),
        )
        .await
        {
            Ok(Ok(outcome)) => outcome?,
            Ok(Err(error)) => return Err(server_fault(error, &context.request_id)),
            Err(_) => {
                return Err(server_fault(
                    InternalError::new(format!(
                        "the database did not answer within {} s",
                        context.deadline.as_secs_f64()
                    )),
                    &context.request_id,
                ));
            }
        };

        // Encoded here, after the transaction, so that no writer waits for it.
        let name = [self.name, "Response"].concat();
        let mut out = XmlOut::new();
        out.open(&name, &[("xmlns", self.service.namespace())]);
        encode(&mut out);
        out.close(&name);
        Ok(out)
    }
}

/// What an operation needs besides its request.
pub struct OperationContext {
    pub database: Database,
    pub caller: Caller,
    pub request_id: String,
    /// How long it may spend on the database in all.
    pub deadline: std::time::Duration,
    /// Debug builds only: panic in the database work (see
    /// `Settings::panic_trigger`).
    #[cfg(debug_assertions)]
    pub panic_on_database: bool,
}

/// The rule's work on a session, given the caller and the request id; its
/// result is how to write the response element's content, or the fault.
type Work = Box<dyn FnOnce(&mut dyn RelationStore, &Caller, &str) -> Result<Encode, Fault> + Send>;

/// Writes a response's content.
type Encode = Box<dyn FnOnce(&mut XmlOut) + Send>;

/// An operation's request handling, whatever its types.
trait Handler: Sync {
    fn prepare(&self, element: &XmlElement) -> Result<Work, DecodeError>;
}

/// An operation's three parts: the decoder of its request element, the rule
/// it runs, and the encoder of its response's content. `E` is its service's
/// error, which [`faults`] maps to typed faults.
pub struct Declared<Request, Response, E> {
    pub decode: fn(&XmlElement) -> Result<Request, DecodeError>,
    pub execute: fn(&mut dyn RelationStore, Request, &Caller) -> Result<Response, E>,
    pub encode: fn(&mut XmlOut, &Response),
}

impl<Request, Response, E> Handler for Declared<Request, Response, E>
where
    Request: Send + 'static,
    Response: Send + 'static,
    E: IntoFault,
{
    fn prepare(&self, element: &XmlElement) -> Result<Work, DecodeError> {
        let request = (self.decode)(element)?;
        let (execute, encode) = (self.execute, self.encode);
        Ok(Box::new(move |store, caller, request_id| {
            let response = execute(store, request, caller).map_err(|e| e.into_fault(request_id))?;
            Ok(Box::new(move |out: &mut XmlOut| encode(out, &response)) as Encode)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_actions_may_be_quoted_empty_or_name_the_operation() {
        let op = Service::Relations
            .operation_for(Some("urn:customer-relations:v1"), "CreateCustomerRelation")
            .unwrap();
        for ok in [
            "",
            "\"\"",
            "\"urn:customer-relations:v1/CreateCustomerRelation\"",
            "urn:customer-relations:v1/CreateCustomerRelation",
            "urn:customer-relations:v1#CreateCustomerRelation",
            "http://tempuri.org/ICustomerRelationService/CreateCustomerRelation",
        ] {
            assert!(op.accepts_action(ok), "{ok}");
        }
        for refused in [
            "urn:customer-relations:v1/DeleteCustomerRelation",
            "\"DeleteCustomerRelation\"",
            "urn:customer-relations:v1/CreateCustomerRelationX",
        ] {
            assert!(!op.accepts_action(refused), "{refused}");
        }
    }

    #[test]
    fn each_operation_is_declared_once_in_its_service() {
        for service in Service::ALL {
            let names: Vec<_> = service.operations().map(Operation::name).collect();
            let mut unique = names.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(names.len(), unique.len(), "{service:?}");
            assert!(service.operations().all(|op| op.service == service));
        }
    }
}
