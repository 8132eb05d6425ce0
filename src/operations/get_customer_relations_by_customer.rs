use super::{Operation, SoapOperation};
use crate::relations::{self, Caller, CustomerRelation, RelationError};
use crate::soap::{self, XmlElement, XmlOut};
use crate::store::Session;

pub struct GetCustomerRelationsByCustomer;

impl SoapOperation for GetCustomerRelationsByCustomer {
    const OPERATION: Operation = Operation::GetCustomerRelationsByCustomer;
    type Request = i32;
    type Error = RelationError;
    type Response = Vec<CustomerRelation>;

    fn decode(element: &XmlElement) -> Result<Self::Request, String> {
        soap::decode_get_customer_relations_by_customer(element)
    }

    fn execute(
        session: &mut Session,
        customer_number: Self::Request,
        _caller: &Caller,
    ) -> Result<Self::Response, Self::Error> {
        relations::relations_of_customer(session.store(), customer_number)
    }

    fn encode(out: &mut XmlOut, response: &Self::Response) {
        soap::encode_get_customer_relations_by_customer(out, response)
    }
}
