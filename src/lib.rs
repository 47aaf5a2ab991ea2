//! quotad (under construction)
pub mod domain;
pub mod ingest;
pub mod store;
pub mod metrics;
