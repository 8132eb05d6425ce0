//! customer-relations: a SOAP service for customer relations, compatible
//! with Infosoft's Customer Relation API.
//!
//! From the bottom up:
//! - [`vocabulary`] is what both domains share (validity, codes, field
//!   rules, relation types, internal errors);
//! - [`relations`] holds the relation domain and its rules, [`register`] the
//!   customer register and the rules that manage it, [`auth`] the API
//!   clients and the authentication of their credentials (neither XML nor
//!   database; each reaches its data through ports);
//! - [`soap`] reads envelopes and writes responses and faults (XML only);
//! - [`store`] implements the ports with diesel (database only);
//! - [`operations`] declares each SOAP operation (decoder, rule, encoder,
//!   faults) and maps domain errors to typed faults; [`import`] loads CSV
//!   fixtures through the same rules;
//! - [`endpoint`] and [`startup`] serve it all over HTTP with actix-web,
//!   with [`tls`], [`compression`], [`telemetry`] (request spans and log
//!   lines), [`monitoring`] (`/metrics`) and [`service_page`] (the HTML
//!   pages); [`config`] merges `serve`'s settings from file, environment
//!   and flags into [`settings`].

pub mod auth;
pub mod compression;
pub mod config;
pub mod endpoint;
pub mod import;
pub mod log_writer;
pub mod monitoring;
pub mod operations;
pub mod register;
pub mod relations;
pub mod service_page;
pub mod settings;
pub mod soap;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod vocabulary;
