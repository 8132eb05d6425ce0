//! customer-relations: a SOAP service for customer relations, compatible
//! with Infosoft's Customer Relation API.
//!
//! - [`soap`] reads envelopes and writes responses and faults (XML only);
//! - [`relations`] holds the domain and its rules (neither XML nor database);
//! - [`register`] holds the customer register and the rules that manage it;
//! - [`store`] keeps the data with diesel (database only);
//! - [`operations`] wires the three together, one file per operation;
//! - [`endpoint`] and [`startup`] serve it all over HTTP with actix-web.

pub mod endpoint;
pub mod operations;
pub mod register;
pub mod relations;
pub mod settings;
pub mod soap;
pub mod startup;
pub mod store;
pub mod telemetry;
