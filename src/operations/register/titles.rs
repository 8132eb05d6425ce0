use super::register_operation;
use crate::register::{self, Title};
use crate::soap::register_messages as msg;

register_operation! {
    CreateTitle((String, String, Option<String>)) -> Title {
        decode: msg::decode_new_title,
        execute: |store, (code, name, validity)| {
            register::create_title(store, &code, &name, validity.as_deref())
        },
        encode: |out, title| msg::write_title(out, title),
    }
}

register_operation! {
    UpdateTitle((String, String)) -> Title {
        decode: msg::decode_title_update,
        execute: |store, (code, name)| register::update_title(store, &code, &name),
        encode: |out, title| msg::write_title(out, title),
    }
}

register_operation! {
    ListTitles(Option<String>) -> Vec<Title> {
        decode: msg::decode_list_titles,
        execute: |store, validity| register::list_titles(store, validity.as_deref()),
        encode: |out, titles| msg::write_titles(out, titles),
    }
}

register_operation! {
    SetTitleValidity((String, String)) -> Title {
        decode: msg::decode_title_validity,
        execute: |store, (code, validity)| register::set_title_validity(store, &code, &validity),
        encode: |out, title| msg::write_title(out, title),
    }
}
