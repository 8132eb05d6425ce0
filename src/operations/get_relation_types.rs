use super::{Operation, SoapOperation};
use crate::relations::{self, Caller, RelationError, RelationType};
use crate::soap::{self, XmlElement, XmlOut};
use crate::store::Session;

pub struct GetRelationTypes;

impl SoapOperation for GetRelationTypes {
    const OPERATION: Operation = Operation::GetRelationTypes;
    type Request = ();
    type Error = RelationError;
    type Response = Vec<RelationType>;

    fn decode(element: &XmlElement) -> Result<Self::Request, String> {
        soap::decode_get_relation_types(element)
    }

    fn execute(
        session: &mut Session,
        _request: Self::Request,
        _caller: &Caller,
    ) -> Result<Self::Response, Self::Error> {
        relations::relation_types(session.store())
    }

    fn encode(out: &mut XmlOut, response: &Self::Response) {
        soap::encode_relation_types(out, response)
    }
}
