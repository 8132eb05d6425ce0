use super::{Operation, SoapOperation};
use crate::relations::{self, Caller, RelationError};
use crate::soap::{self, XmlElement, XmlOut};
use crate::store::Session;

pub struct DeleteCustomerRelation;

impl SoapOperation for DeleteCustomerRelation {
    const OPERATION: Operation = Operation::DeleteCustomerRelation;
    type Request = i64;
    type Error = RelationError;
    type Response = ();

    fn decode(element: &XmlElement) -> Result<Self::Request, String> {
        soap::decode_delete_customer_relation(element)
    }

    fn execute(
        session: &mut Session,
        id: Self::Request,
        _caller: &Caller,
    ) -> Result<Self::Response, Self::Error> {
        relations::delete_relation(session.store(), id)
    }

    /// The response element is empty.
    fn encode(_out: &mut XmlOut, _response: &Self::Response) {}
}
