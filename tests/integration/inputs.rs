//! Inputs a test needs that live outside the repository: the public samples in
//! `../shared/samples/real` (beside the clone) and system fonts. A test whose input is
//! missing fails, saying what is missing and how to get it, unless the environment
//! variable `QUOTAD_ALLOW_SKIP=1` allows the skip; only then does it pass without
//! running, and it says SKIPPED. CI (`.ci/run`) never sets it.
//!
//! One file, compiled into both test crates: the integration binary (`mod inputs` in
//! tests/integration/main.rs) and the library's unit tests (`#[path]` in src/ingest/).

use std::path::{Path, PathBuf};

/// The environment variable that turns a missing input from a failure into a skip.
pub const ALLOW_SKIP: &str = "QUOTAD_ALLOW_SKIP";

/// The public samples folder, `../shared/samples/real` beside the clone.
pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/real")
}

/// `path` if it exists. If not: panics with what is missing (`what`) and how to get
/// it (`how`), unless `QUOTAD_ALLOW_SKIP=1`; then prints SKIPPED and returns `None`,
/// and the caller returns without testing anything.
pub fn required(path: &Path, what: &str, how: &str) -> Option<PathBuf> {
    required_or_skip(path, what, how, std::env::var(ALLOW_SKIP).is_ok_and(|v| v == "1"))
}

/// [`required`] with the skip allowed or not by the caller (for its own test).
pub fn required_or_skip(path: &Path, what: &str, how: &str, allow_skip: bool) -> Option<PathBuf> {
    if path.exists() {
        return Some(path.to_path_buf());
    }
    let message = format!("{what} is missing: {} does not exist ({how})", path.display());
    if !allow_skip {
        panic!("{message}. This test needs it; to skip the tests that need it, set {ALLOW_SKIP}=1");
    }
    eprintln!("SKIPPED ({ALLOW_SKIP}=1): {message}");
    None
}

/// One public sample file (or the folder, with `""`), [`required`].
pub fn sample(name: &str) -> Option<PathBuf> {
    let p = if name.is_empty() { samples_dir() } else { samples_dir().join(name) };
    required(
        &p,
        if name.is_empty() { "the public samples folder" } else { "a public sample file" },
        "the public samples live in ../shared/samples/real beside the clone, as in CI",
    )
    .map(|p| p.canonicalize().unwrap_or(p))
}

#[test]
fn a_missing_input_fails_the_test_naming_it_unless_the_skip_is_allowed() {
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-input.xlsx");
    let failed = std::panic::catch_unwind(|| required_or_skip(&missing, "a test file", "made by nobody", false));
    let message = *failed.expect_err("a missing input must fail").downcast::<String>().unwrap();
    assert_eq!(
        message,
        format!(
            "a test file is missing: {} does not exist (made by nobody). This test needs it; to skip the tests that need it, set QUOTAD_ALLOW_SKIP=1",
            missing.display()
        )
    );
    assert_eq!(required_or_skip(&missing, "a test file", "made by nobody", true), None);
    let present = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    assert_eq!(required_or_skip(&present, "Cargo.toml", "", false), Some(present));
}
