use super::register_operation;
use crate::register::{self, Customer, CustomerFields, CustomerPage, CustomerSearch, NewCustomer};
use crate::soap::register_messages as msg;

register_operation! {
    CreateCustomer(NewCustomer) -> Customer {
        decode: msg::decode_new_customer,
        execute: |store, request| register::create_customer(store, request),
        encode: |out, customer| msg::write_customer(out, customer),
    }
}

register_operation! {
    UpdateCustomer((i32, CustomerFields)) -> Customer {
        decode: msg::decode_customer_update,
        execute: |store, (number, fields)| register::update_customer(store, number, fields),
        encode: |out, customer| msg::write_customer(out, customer),
    }
}

register_operation! {
    GetCustomer(i32) -> Customer {
        decode: msg::decode_customer_number,
        execute: |store, number| register::get_customer(store, number),
        encode: |out, customer| msg::write_customer(out, customer),
    }
}

register_operation! {
    SetCustomerValidity((i32, String)) -> Customer {
        decode: msg::decode_customer_validity,
        execute: |store, (number, validity)| register::set_customer_validity(store, number, &validity),
        encode: |out, customer| msg::write_customer(out, customer),
    }
}

register_operation! {
    SearchCustomers(CustomerSearch) -> CustomerPage {
        decode: msg::decode_search_customers,
        execute: |store, search| register::search_customers(store, search),
        encode: |out, page| msg::write_customer_page(out, page),
    }
}
