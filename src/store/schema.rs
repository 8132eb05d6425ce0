// Diesel table definitions for migrations/sqlite.

diesel::table! {
    titles (code) {
        code -> Text,
        name -> Text,
        validity -> Text,
    }
}

diesel::table! {
    customers (customer_number) {
        customer_number -> Integer,
        name -> Text,
        validity -> Text,
        street -> Nullable<Text>,
        zip -> Nullable<Text>,
        city -> Nullable<Text>,
        country -> Nullable<Text>,
        url -> Nullable<Text>,
        comment -> Nullable<Text>,
        name_key -> Text,
        zip_key -> Nullable<Text>,
        city_key -> Nullable<Text>,
        live_relations -> Integer,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> BigInt,
        customer_number -> Integer,
        title_code -> Text,
        start_date -> Date,
        end_date -> Nullable<Date>,
    }
}

diesel::table! {
    users (email) {
        email -> Text,
        name -> Nullable<Text>,
        customer_number -> Nullable<Integer>,
        validity -> Text,
    }
}

diesel::table! {
    relation_types (code) {
        code -> Text,
        name -> Text,
        reference_type -> Text,
        title_mode -> Text,
    }
}

diesel::table! {
    customer_relations (id) {
        id -> BigInt,
        customer_number -> Integer,
        relation_type_code -> Text,
        reference -> Text,
        title_code -> Nullable<Text>,
        additional_value -> Nullable<Text>,
        source -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Text,
        version -> Integer,
        modified_at -> Nullable<Timestamp>,
        modified_by -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<Text>,
    }
}

diesel::table! {
    customer_relation_changes (id) {
        id -> BigInt,
        sequence -> Nullable<BigInt>,
        kind -> Text,
        relation_id -> BigInt,
        customer_number -> Integer,
        relation_type_code -> Text,
        reference -> Text,
        title_code -> Nullable<Text>,
        additional_value -> Nullable<Text>,
        source -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        created_by -> Text,
        modified_at -> Nullable<Timestamp>,
        modified_by -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<Text>,
    }
}

diesel::joinable!(customer_relation_changes -> relation_types (relation_type_code));
diesel::joinable!(customer_relations -> relation_types (relation_type_code));
diesel::joinable!(customer_relations -> customers (customer_number));
diesel::joinable!(subscriptions -> customers (customer_number));
diesel::joinable!(subscriptions -> titles (title_code));
diesel::joinable!(users -> customers (customer_number));

diesel::allow_tables_to_appear_in_same_query!(
    titles,
    customers,
    subscriptions,
    users,
    relation_types,
    customer_relations,
    customer_relation_changes,
);

diesel::table! {
    api_clients (name) {
        name -> Text,
        role -> Text,
        scope -> Nullable<Text>,
        validity -> Text,
        secret_digest -> Text,
        created_at -> Timestamp,
    }
}
