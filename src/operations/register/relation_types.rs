use super::register_operation;
use crate::register::{self, RelationTypeDraft};
use crate::relations::RelationType;
use crate::soap::register_messages as msg;

register_operation! {
    CreateRelationType(RelationTypeDraft) -> RelationType {
        decode: msg::decode_relation_type,
        execute: |store, draft| register::create_relation_type(store, draft),
        encode: |out, t| msg::write_relation_type(out, t),
    }
}

register_operation! {
    UpdateRelationType(RelationTypeDraft) -> RelationType {
        decode: msg::decode_relation_type,
        execute: |store, draft| register::update_relation_type(store, draft),
        encode: |out, t| msg::write_relation_type(out, t),
    }
}

register_operation! {
    DeleteRelationType(String) -> () {
        decode: msg::decode_code,
        execute: |store, code| register::delete_relation_type(store, &code),
        encode: |_out, ()| {},
    }
}

register_operation! {
    GetRelationType(String) -> RelationType {
        decode: msg::decode_code,
        execute: |store, code| register::get_relation_type(store, &code),
        encode: |out, t| msg::write_relation_type(out, t),
    }
}

register_operation! {
    ListRelationTypes(()) -> Vec<RelationType> {
        decode: msg::decode_nothing,
        execute: |store, ()| register::list_relation_types(store),
        encode: |out, types| msg::write_relation_types(out, types),
    }
}
