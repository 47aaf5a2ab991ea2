//! quotad's one integration-test binary: the real `quotad` executable on real files
//! (generated spreadsheets, the bundled sample, the public samples in
//! ../shared/samples/real), a real SQLite file, the .eml files it writes, and a real
//! SMTP server on 127.0.0.1 (tests/smtp_sink.py, started by `smtp_server`).

mod approval;
mod board;
mod cancellations;
mod chat;
mod chat_jobs;
mod cli;
mod dead_letters;
mod delivery;
mod distribution;
mod documents;
mod durable;
mod failover;
mod fiscal;
mod fuzz;
mod gen_crm;
mod harness;
mod holds;
mod ingest_cases;
mod inputs;
mod languages;
mod locales;
mod mappings;
mod memos;
mod operator_truth;
mod pg_db;
mod pg_state;
mod quirks;
mod real_calamine;
mod real_samples;
mod robustness;
mod roster_dated;
mod sample_memos;
mod scripts;
mod serve;
mod smtp_server;
mod sums;
mod trust;
mod trust_figures;
mod weekly;
mod xlsx_out;
