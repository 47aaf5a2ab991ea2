//! Fuzzing the public ingest entry point (`quotad::ingest::read_file`) with proptest:
//! random bytes under every supported extension, and byte-mutated copies of small valid
//! files (xlsx, xls, ods, csv made here or committed, plus the public samples under
//! 300 KB in ../shared/samples/real, required like every real-sample test's). Mutations flip bytes, insert tokens
//! that matter to the readers (huge row numbers, repeat counts, quotes, tags), truncate,
//! and, for zip-based files, mutate one inflated entry and zip it again (so the XML
//! readers are reached, not only the zip checksum). Every case must end in `Ok` or an
//! error with a message: a panic fails the test, and so does a panic of quotad's own
//! code that the ingest guard caught ([`ingest::IngestError::Bug`]); only a panic raised
//! inside the spreadsheet readers (calamine) is tolerated, and counted.
//!
//! Bounded: `PROPTEST_CASES` cases (default 300) and at most `QUOTAD_FUZZ_SECONDS`
//! seconds (default 60; cases past the budget are skipped), so `cargo test` in CI
//! (.ci/run) runs it as an ordinary test.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use quotad::ingest;
use rust_xlsxwriter::Workbook;

use crate::quirks::{merged_deals_xlsx, ods, ods_row, parsed_config, plain_deals};

const EXTS: [&str; 6] = ["xlsx", "xls", "ods", "csv", "tsv", "xlsb"];

/// Tokens worth inserting: numbers that are limits or overflow, XML and CSV syntax.
const TOKENS: [&str; 12] = [
    "1048577",
    "99999999999999999999",
    "-1",
    "XFD1048576",
    "\"",
    "<",
    "/>",
    "&amp;",
    "\r\n",
    ";",
    "table:number-rows-repeated=\"1048576\" ",
    "#DIV/0!",
];

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut wb = Workbook::new();
    plain_deals(wb.add_worksheet().set_name("Deals").unwrap(), 5);
    out.push(("xlsx".to_string(), wb.save_to_buffer().unwrap()));
    out.push(("xlsx".to_string(), merged_deals_xlsx()));
    let rows = [
        ods_row(&["Deal ID", "Rep Email", "Stage", "Close Date", "Sale Price"], ""),
        ods_row(&["D1", "ann@example.com", "Closed Won", "d:2026-03-02", "n:1000"], ""),
        ods_row(&["D2", "bob@example.com", "span2:Closed Won", "n:2000"], r#" table:number-rows-repeated="3""#),
    ]
    .concat();
    out.push(("ods".to_string(), ods("Deals", &rows)));
    out.push((
        "csv".to_string(),
        b"Title\n\nDeal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,03/02/2026,\"$1,000.50\"\nD2,bob@example.com,Won,2026-03-03,#N/A\nTotal,,,,1000\n"
            .to_vec(),
    ));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    out.push(("xls".to_string(), std::fs::read(root.join("tests/fixtures/quirks/formula-dates.xls")).unwrap()));
    out.push(("xlsx".to_string(), std::fs::read(root.join("tests/fixtures/deals-1904.xlsx")).unwrap()));
    out.push(("ods".to_string(), std::fs::read(root.join("tests/fixtures/quirks/formula-dates.ods")).unwrap()));
    // The public samples under 300 KB are seeds too: missing, the fuzzing would quietly be
    // weaker, so the test fails instead (unless QUOTAD_ALLOW_SKIP=1, see inputs.rs).
    if let Some(real) = crate::inputs::sample("") {
        let mut files: Vec<_> = std::fs::read_dir(&real).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        for p in files {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            if std::fs::metadata(&p).map(|m| m.len() < 300_000).unwrap_or(false) && EXTS.contains(&ext.as_str()) {
                out.push((ext, std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// One mutation of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, usize),
    Truncate(usize),
}

fn mutate(bytes: &mut Vec<u8>, muts: &[Mutation]) {
    for m in muts {
        let n = bytes.len();
        match *m {
            Mutation::Set(at, b) if n > 0 => bytes[at % n] = b,
            Mutation::Insert(at, token) => {
                let at = at % (n + 1);
                bytes.splice(at..at, TOKENS[token % TOKENS.len()].bytes());
            }
            Mutation::Truncate(at) if n > 0 => bytes.truncate(at % n),
            _ => {}
        }
    }
}

/// Mutates one inflated entry of a zip (chosen by `which`) and zips it again; `None`
/// if `bytes` is not a readable zip.
fn mutate_inside(bytes: &[u8], which: usize, muts: &[Mutation]) -> Option<Vec<u8>> {
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let target = which % src.len().max(1);
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        let mut f = src.by_index(i).ok()?;
        let name = f.name().ok()?.to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).ok()?;
        if i == target {
            mutate(&mut data, muts);
        }
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).ok()?;
        out.write_all(&data).ok()?;
    }
    Some(out.finish().ok()?.into_inner())
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Set(a, b)),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

#[test]
fn random_and_mutated_files_end_in_ok_or_an_error_never_a_panic() {
    let cases: u32 = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let budget =
        Duration::from_secs(std::env::var("QUOTAD_FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60));
    let cfg = parsed_config("");
    let source = cfg.sources.iter().find(|s| s.name == "deals").unwrap();
    let seeds = seeds();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (ok, refused, skipped) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
    // Errors that are a reader panic caught by ingest (the daemon survives them; a
    // calamine bug on a damaged file, counted here to be seen).
    let caught = AtomicUsize::new(0);
    let mut runner = RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() };
    runner.max_shrink_iters = 200;
    let strategy = (
        0..seeds.len() + 1, // the last one: random bytes
        any::<bool>(),      // mutate inside the zip
        any::<usize>(),     // which entry / which extension
        proptest::collection::vec(mutation(), 1..12),
        proptest::collection::vec(any::<u8>(), 0..3000),
    );
    TestRunner::new(runner)
        .run(&strategy, |(seed, inside, which, muts, random)| {
            if started.elapsed() > budget {
                skipped.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            let (ext, bytes) = match seeds.get(seed) {
                None => (EXTS[which % EXTS.len()].to_string(), random),
                Some((ext, seed_bytes)) => {
                    let inner = if inside { mutate_inside(seed_bytes, which, &muts) } else { None };
                    let bytes = inner.unwrap_or_else(|| {
                        let mut b = seed_bytes.clone();
                        mutate(&mut b, &muts);
                        b
                    });
                    (ext.clone(), bytes)
                }
            };
            let path = dir.path().join(format!("deals.{ext}"));
            std::fs::write(&path, &bytes).unwrap();
            match ingest::read_file(&path, source, &cfg.ingest) {
                Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                Err(e) => {
                    prop_assert!(!e.to_string().trim().is_empty());
                    // quotad's own panic, caught by the ingest guard, is a bug: it fails the
                    // test. Only the readers' own (calamine's) are tolerated, and counted.
                    prop_assert!(!matches!(e, ingest::IngestError::Bug { .. }), "{e} (a .{ext} file)");
                    if e.to_string().contains("the spreadsheet reader failed") {
                        caught.fetch_add(1, Ordering::Relaxed);
                    }
                    refused.fetch_add(1, Ordering::Relaxed)
                }
            };
            Ok(())
        })
        .unwrap();
    eprintln!(
        "fuzz: {} seeds, {} cases in {:.1?}: {} read, {} refused with an error ({} of them a reader panic caught), {} skipped past the {:?} budget",
        seeds.len(),
        cases,
        started.elapsed(),
        ok.into_inner(),
        refused.into_inner(),
        caught.into_inner(),
        skipped.into_inner(),
        budget
    );
}
