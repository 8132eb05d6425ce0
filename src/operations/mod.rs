//! The operations of the relation API: one file each, wired here. An
//! operation decodes its request (soap), runs its rule (relations) on a
//! database session (store) off the async workers, and encodes its response.

mod create_customer_relation;
mod delete_customer_relation;
mod get_customer_relations_by_customer;
mod get_relation_types;

use actix_web::web;

use crate::relations::{Caller, InternalError, RelationError};
use crate::soap::{Fault, TNS, XmlElement, XmlOut};
use crate::store::{Database, Session};

/// The operations the service dispatches. The WSDL names the same ones; a
/// test fails if the two disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateCustomerRelation,
    GetCustomerRelationsByCustomer,
    DeleteCustomerRelation,
    GetRelationTypes,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::CreateCustomerRelation,
        Operation::GetCustomerRelationsByCustomer,
        Operation::DeleteCustomerRelation,
        Operation::GetRelationTypes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CreateCustomerRelation => "CreateCustomerRelation",
            Self::GetCustomerRelationsByCustomer => "GetCustomerRelationsByCustomer",
            Self::DeleteCustomerRelation => "DeleteCustomerRelation",
            Self::GetRelationTypes => "GetRelationTypes",
        }
    }

    /// The operation whose request element has this (namespace, local name).
    pub fn for_element(namespace: Option<&str>, name: &str) -> Option<Self> {
        if namespace != Some(TNS) {
            return None;
        }
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The SOAPAction the WSDL declares.
    pub fn soap_action(self) -> String {
        format!("{TNS}/{}", self.name())
    }

    /// Whether a SOAPAction a client sent agrees with this operation: empty,
    /// the declared action, or any URI whose last segment is the operation's
    /// name (clients differ in how they build it).
    pub fn accepts_action(self, action: &str) -> bool {
        let action = action.trim().trim_matches('"').trim();
        if action.is_empty() || action == self.soap_action() {
            return true;
        }
        let last = action.rsplit(['/', '#', ':']).next().unwrap_or(action);
        last == self.name()
    }

    pub async fn run(
        self,
        context: &OperationContext,
        element: &XmlElement,
    ) -> Result<XmlOut, Fault> {
        match self {
            Self::CreateCustomerRelation => {
                run::<create_customer_relation::CreateCustomerRelation>(context, element).await
            }
            Self::GetCustomerRelationsByCustomer => {
                run::<get_customer_relations_by_customer::GetCustomerRelationsByCustomer>(
                    context, element,
                )
                .await
            }
            Self::DeleteCustomerRelation => {
                run::<delete_customer_relation::DeleteCustomerRelation>(context, element).await
            }
            Self::GetRelationTypes => {
                run::<get_relation_types::GetRelationTypes>(context, element).await
            }
        }
    }
}

/// What an operation needs besides its request.
pub struct OperationContext {
    pub database: Database,
    pub caller: Caller,
    pub request_id: String,
}

trait SoapOperation {
    const OPERATION: Operation;
    type Request: Send + 'static;
    type Response: Send + 'static;

    fn decode(element: &XmlElement) -> Result<Self::Request, String>;
    fn execute(
        session: &mut Session,
        request: Self::Request,
        caller: &Caller,
    ) -> Result<Self::Response, RelationError>;
    fn encode(out: &mut XmlOut, response: &Self::Response);
}

async fn run<O: SoapOperation>(
    context: &OperationContext,
    element: &XmlElement,
) -> Result<XmlOut, Fault> {
    let request = O::decode(element).map_err(Fault::client)?;
    let database = context.database.clone();
    let caller = context.caller.clone();
    let outcome = web::block(move || {
        let mut session = database.session()?;
        O::execute(&mut session, request, &caller)
    })
    .await
    .unwrap_or_else(|blocking| {
        Err(RelationError::Internal(InternalError::new(
            blocking.to_string(),
        )))
    });
    let response = outcome.map_err(|e| Fault::from_relation_error(e, &context.request_id))?;

    let name = format!("{}Response", O::OPERATION.name());
    let mut out = XmlOut::new();
    out.open(&name, &[("xmlns", TNS)]);
    O::encode(&mut out, &response);
    out.close(&name);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_actions_may_be_quoted_empty_or_name_the_operation() {
        let op = Operation::CreateCustomerRelation;
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
}
