//! Which domain error becomes which typed fault, for both services: the
//! fault's name (its detail element), its detail fields and the namespace
//! they are in. The XML layer only renders what is decided here; internal
//! errors become a Server fault that names the request id, and the log line
//! with that id has the cause.

use super::Service;
use crate::register::{Entity, RegisterError};
use crate::relations::RelationError;
use crate::soap::{Detail, Fault, TypedFault};
use crate::vocabulary::{FieldError, InternalError};

pub const ENTITY_VALIDATION: &str = "EntityValidationFault";
pub const RELATION_TYPE_NOT_FOUND: &str = "RelationTypeNotFoundFault";
pub const RELATION_TYPE_ALREADY_EXISTS: &str = "RelationTypeAlreadyExistsFault";
pub const CUSTOMER_NOT_FOUND: &str = "CustomerNotFoundFault";
pub const CUSTOMER_ALREADY_EXISTS: &str = "CustomerAlreadyExistsFault";
pub const TITLE_NOT_FOUND: &str = "TitleNotFoundFault";
pub const TITLE_ALREADY_EXISTS: &str = "TitleAlreadyExistsFault";
pub const SUBSCRIPTION_NOT_FOUND: &str = "SubscriptionNotFoundFault";
pub const SUBSCRIPTION_ALREADY_EXISTS: &str = "SubscriptionAlreadyExistsFault";
pub const USER_NOT_FOUND: &str = "UserNotFoundFault";
pub const USER_ALREADY_EXISTS: &str = "UserAlreadyExistsFault";
pub const IN_USE: &str = "InUseFault";
pub const INVALID_REFERENCE: &str = "InvalidReferenceFault";
pub const CUSTOMER_RELATION_ALREADY_EXISTS: &str = "CustomerRelationAlreadyExistsFault";
pub const CUSTOMER_RELATION_NOT_FOUND: &str = "CustomerRelationNotFoundFault";
pub const CONCURRENCY: &str = "ConcurrencyFault";
/// Declared by every operation of both services (README, "Security").
pub const AUTHENTICATION: &str = "AuthenticationFault";
/// Declared by every operation of both services (README, "Security").
pub const ACCESS_DENIED: &str = "AccessDeniedFault";

/// The faults every operation may raise besides its own.
pub const EVERY_OPERATION: [&str; 2] = [AUTHENTICATION, ACCESS_DENIED];

/// Missing or refused credentials. The message is the same whatever was
/// wrong, so that it never tells whether a client name exists.
pub fn authentication_fault(service: Service, message: &str) -> Fault {
    typed(service, AUTHENTICATION, message.to_owned(), Vec::new())
}

/// An authenticated client that may not call the operation.
pub fn access_denied(service: Service, message: String, client: &str, operation: &str) -> Fault {
    typed(
        service,
        ACCESS_DENIED,
        message,
        vec![text("ClientName", client), text("Operation", operation)],
    )
}

/// An operation's error: either a typed fault for the client, or an
/// internal error that the client only learns the request id of.
pub trait IntoFault: From<InternalError> + Send + 'static {
    fn into_fault(self, request_id: &str) -> Fault;
}

/// The Server fault for an internal error; the cause goes to the log, with
/// the request id, and nowhere else. A request that gave up waiting for its
/// turn at the database is told that the service is busy (503).
pub fn server_fault(internal: InternalError, request_id: &str) -> Fault {
    if internal.is_busy() {
        log::info!("request_id={request_id} {internal}");
        return Fault::busy();
    }
    log::error!("request_id={request_id} internal error: {internal}");
    Fault::Server {
        request_id: request_id.to_owned(),
    }
}

fn text(name: &'static str, value: impl ToString) -> Detail {
    Detail::Text(name, value.to_string())
}

fn validation_errors(errors: Vec<FieldError>) -> Vec<Detail> {
    let errors = errors
        .into_iter()
        .map(|e| {
            Detail::Group(
                "ValidationError",
                vec![text("Field", e.field), text("Message", e.message)],
            )
        })
        .collect();
    vec![Detail::Group("ValidationErrors", errors)]
}

fn typed(service: Service, name: &'static str, message: String, detail: Vec<Detail>) -> Fault {
    Fault::Typed(TypedFault {
        name,
        namespace: service.namespace(),
        message,
        detail,
    })
}

impl IntoFault for RelationError {
    fn into_fault(self, request_id: &str) -> Fault {
        let message = self.to_string();
        let (name, detail) = match self {
            RelationError::Internal(internal) => return server_fault(internal, request_id),
            RelationError::RelationTypeNotFound { code } => (
                RELATION_TYPE_NOT_FOUND,
                vec![text("RelationTypeCode", code)],
            ),
            RelationError::CustomerNotFound {
                customer_number, ..
            } => (
                CUSTOMER_NOT_FOUND,
                vec![text("CustomerNumber", customer_number)],
            ),
            RelationError::EntityValidation(errors) => {
                (ENTITY_VALIDATION, validation_errors(errors))
            }
            RelationError::InvalidReference {
                relation_type_code,
                reference_type,
                reference,
                ..
            } => (
                INVALID_REFERENCE,
                vec![
                    text("RelationTypeCode", relation_type_code),
                    text("ReferenceType", reference_type),
                    text("Reference", reference),
                ],
            ),
            RelationError::AlreadyExists { existing_id } => (
                CUSTOMER_RELATION_ALREADY_EXISTS,
                vec![text("ExistingId", existing_id)],
            ),
            RelationError::RelationNotFound { id } => {
                (CUSTOMER_RELATION_NOT_FOUND, vec![text("Id", id)])
            }
            RelationError::Concurrency {
                id,
                current_version,
            } => (
                CONCURRENCY,
                vec![text("Id", id), text("CurrentVersion", current_version)],
            ),
            RelationError::OutOfScope {
                client,
                operation,
                relation_type_code,
            } => (
                ACCESS_DENIED,
                vec![
                    text("ClientName", client),
                    text("Operation", operation),
                    text("RelationTypeCode", relation_type_code),
                ],
            ),
        };
        typed(Service::Relations, name, message, detail)
    }
}

impl IntoFault for RegisterError {
    fn into_fault(self, request_id: &str) -> Fault {
        let message = self.to_string();
        let (name, detail) = match self {
            RegisterError::Internal(internal) => return server_fault(internal, request_id),
            RegisterError::EntityValidation(errors) => {
                (ENTITY_VALIDATION, validation_errors(errors))
            }
            RegisterError::NotFound { entity, key } => {
                (not_found(entity), vec![text(key_element(entity), key)])
            }
            RegisterError::AlreadyExists { entity, key } => {
                (already_exists(entity), vec![text(key_element(entity), key)])
            }
            RegisterError::InUse {
                entity,
                key,
                references,
                ..
            } => (
                IN_USE,
                vec![
                    text("Entity", entity.name()),
                    text("Key", key),
                    text("ReferenceCount", references),
                ],
            ),
        };
        typed(Service::Register, name, message, detail)
    }
}

/// The detail element that carries a record's key.
fn key_element(entity: Entity) -> &'static str {
    match entity {
        Entity::RelationType => "RelationTypeCode",
        Entity::Customer => "CustomerNumber",
        Entity::Title => "TitleCode",
        Entity::Subscription => "SubscriptionId",
        Entity::User => "Email",
    }
}

fn not_found(entity: Entity) -> &'static str {
    match entity {
        Entity::RelationType => RELATION_TYPE_NOT_FOUND,
        Entity::Customer => CUSTOMER_NOT_FOUND,
        Entity::Title => TITLE_NOT_FOUND,
        Entity::Subscription => SUBSCRIPTION_NOT_FOUND,
        Entity::User => USER_NOT_FOUND,
    }
}

fn already_exists(entity: Entity) -> &'static str {
    match entity {
        Entity::RelationType => RELATION_TYPE_ALREADY_EXISTS,
        Entity::Customer => CUSTOMER_ALREADY_EXISTS,
        Entity::Title => TITLE_ALREADY_EXISTS,
        Entity::Subscription => SUBSCRIPTION_ALREADY_EXISTS,
        Entity::User => USER_ALREADY_EXISTS,
    }
}
