//! The operations of both services, wired here: the relation API's one file
//! each, the register's one file per kind of record. An
//! operation decodes its request (soap), runs its rule (relations) on a
//! database session (store) off the async workers, and encodes its response.

mod create_customer_relation;
mod delete_customer_relation;
mod get_customer_relations_by_customer;
mod get_relation_types;
mod register;

use actix_web::web;

use crate::relations::{Caller, InternalError};
use crate::soap::{
    Fault, IntoFault, REGISTER_TNS, TNS, XmlElement, XmlOut, register_wsdl_template,
    relation_wsdl_template,
};
use crate::store::{Database, Session};

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

    /// The namespace of the service's messages and types.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::Relations => TNS,
            Self::Register => REGISTER_TNS,
        }
    }

    /// The WSDL as it is kept in `wsdl/`.
    pub fn wsdl_template(self) -> &'static str {
        match self {
            Self::Relations => relation_wsdl_template(),
            Self::Register => register_wsdl_template(),
        }
    }

    pub fn operations(self) -> impl Iterator<Item = Operation> {
        Operation::ALL
            .iter()
            .copied()
            .filter(move |op| op.service() == self)
    }
}

/// Declares the operations once: the enum, their names, their services and
/// the dispatch to each one's [`SoapOperation`].
macro_rules! operations {
    ($($service:ident { $($op:ident => $handler:ty),+ $(,)? })+) => {
        /// The operations the services dispatch. Each service's WSDL names
        /// the same ones; a test fails if they disagree.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($($op),+),+
        }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$($(Operation::$op),+),+];

            pub fn name(self) -> &'static str {
                match self {
                    $($(Self::$op => stringify!($op)),+),+
                }
            }

            pub fn service(self) -> Service {
                match self {
                    $($(Self::$op => Service::$service),+),+
                }
            }

            pub async fn run(
                self,
                context: &OperationContext,
                element: &XmlElement,
            ) -> Result<XmlOut, Fault> {
                match self {
                    $($(Self::$op => run::<$handler>(context, element).await),+),+
                }
            }
        }
    };
}

operations! {
    Relations {
        CreateCustomerRelation => create_customer_relation::CreateCustomerRelation,
        GetCustomerRelationsByCustomer =>
            get_customer_relations_by_customer::GetCustomerRelationsByCustomer,
        DeleteCustomerRelation => delete_customer_relation::DeleteCustomerRelation,
        GetRelationTypes => get_relation_types::GetRelationTypes,
    }
    Register {
        CreateRelationType => register::relation_types::CreateRelationType,
        UpdateRelationType => register::relation_types::UpdateRelationType,
        DeleteRelationType => register::relation_types::DeleteRelationType,
        GetRelationType => register::relation_types::GetRelationType,
        ListRelationTypes => register::relation_types::ListRelationTypes,
        CreateCustomer => register::customers::CreateCustomer,
        UpdateCustomer => register::customers::UpdateCustomer,
        GetCustomer => register::customers::GetCustomer,
        SetCustomerValidity => register::customers::SetCustomerValidity,
        SearchCustomers => register::customers::SearchCustomers,
        CreateTitle => register::titles::CreateTitle,
        UpdateTitle => register::titles::UpdateTitle,
        ListTitles => register::titles::ListTitles,
        SetTitleValidity => register::titles::SetTitleValidity,
        CreateSubscription => register::subscriptions::CreateSubscription,
        EndSubscription => register::subscriptions::EndSubscription,
        ListSubscriptionsByCustomer => register::subscriptions::ListSubscriptionsByCustomer,
        CreateUser => register::users::CreateUser,
        UpdateUser => register::users::UpdateUser,
        GetUser => register::users::GetUser,
        SetUserValidity => register::users::SetUserValidity,
    }
}

impl Operation {
    /// The operation of `service` whose request element has this
    /// (namespace, local name).
    pub fn for_element(service: Service, namespace: Option<&str>, name: &str) -> Option<Self> {
        if namespace != Some(service.namespace()) {
            return None;
        }
        service.operations().find(|op| op.name() == name)
    }

    /// The SOAPAction the WSDL declares.
    pub fn soap_action(self) -> String {
        format!("{}/{}", self.service().namespace(), self.name())
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
    /// The service's error: its typed faults, or an internal error.
    type Error: IntoFault;

    fn decode(element: &XmlElement) -> Result<Self::Request, String>;
    fn execute(
        session: &mut Session,
        request: Self::Request,
        caller: &Caller,
    ) -> Result<Self::Response, Self::Error>;
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
    .unwrap_or_else(|blocking| Err(InternalError::new(blocking.to_string()).into()));
    let response = outcome.map_err(|e| e.into_fault(&context.request_id))?;

    let name = format!("{}Response", O::OPERATION.name());
    let mut out = XmlOut::new();
    out.open(&name, &[("xmlns", O::OPERATION.service().namespace())]);
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
