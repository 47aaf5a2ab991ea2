//! quotad's one integration-test binary: the real `quotad` executable on real files
//! (generated spreadsheets, the bundled sample, the public samples in
//! ../shared/samples/real), a real SQLite file, and the .eml files it writes.

mod cli;
mod documents;
mod harness;
mod ingest_cases;
mod real_samples;
mod robustness;
mod sample_memos;
mod trust;
