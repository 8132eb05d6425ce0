use super::register_operation;
use crate::register::{self, User, UserDraft};
use crate::soap::register_messages as msg;

register_operation! {
    CreateUser(UserDraft) -> User {
        decode: msg::decode_new_user,
        execute: |store, draft| register::create_user(store, draft),
        encode: |out, user| msg::write_user(out, user),
    }
}

register_operation! {
    UpdateUser(UserDraft) -> User {
        decode: msg::decode_user_update,
        execute: |store, draft| register::update_user(store, draft),
        encode: |out, user| msg::write_user(out, user),
    }
}

register_operation! {
    GetUser(String) -> User {
        decode: msg::decode_email,
        execute: |store, email| register::get_user(store, &email),
        encode: |out, user| msg::write_user(out, user),
    }
}

register_operation! {
    SetUserValidity((String, String)) -> User {
        decode: msg::decode_user_validity,
        execute: |store, (email, validity)| register::set_user_validity(store, &email, &validity),
        encode: |out, user| msg::write_user(out, user),
    }
}
