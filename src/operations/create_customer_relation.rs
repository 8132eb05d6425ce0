use super::{Operation, SoapOperation};
use crate::relations::{self, Caller, CustomerRelation, NewCustomerRelation, RelationError};
use crate::soap::{self, XmlElement, XmlOut};
use crate::store::Session;

pub struct CreateCustomerRelation;

impl SoapOperation for CreateCustomerRelation {
    const OPERATION: Operation = Operation::CreateCustomerRelation;
    type Request = NewCustomerRelation;
    type Error = RelationError;
    type Response = CustomerRelation;

    fn decode(element: &XmlElement) -> Result<Self::Request, String> {
        soap::decode_create_customer_relation(element)
    }

    fn execute(
        session: &mut Session,
        request: Self::Request,
        caller: &Caller,
    ) -> Result<Self::Response, Self::Error> {
        relations::create_relation(session.store(), request, caller)
    }

    fn encode(out: &mut XmlOut, response: &Self::Response) {
        soap::encode_create_customer_relation(out, response)
    }
}
