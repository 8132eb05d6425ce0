//! Black-box tests: each starts the real server on port 0 with a fresh
//! database and speaks SOAP over HTTP to it.

#[macro_use]
mod helpers;

mod bounds;
mod browser;
pub mod cli;
mod compression;
mod concurrency;
mod durability;
mod envelopes;
mod failover;
mod fuzz_properties;
mod history;
mod import;
mod limits;
mod metrics;
mod operations;
mod outage;
pub mod overload;
mod register;
mod schema_check;
mod security;
mod server_faults;
mod timeouts;
mod worked_cases;
mod wsdl_contract;
