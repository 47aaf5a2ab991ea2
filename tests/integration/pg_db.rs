//! A fresh PostgreSQL database per test, dropped when the test ends: the server is
//! `QUOTAD_TEST_PG` (default `postgres://quotad_test@127.0.0.1:5432/postgres`, a role
//! that may create databases), the password `PGPASSWORD`. `.ci/run` starts the server
//! and sets both. When no server answers, the test fails saying so, unless
//! `QUOTAD_ALLOW_SKIP=1` (then it prints SKIPPED and returns without testing).
//!
//! One file, compiled into both test crates: the integration binary (`mod pg_db` in
//! tests/integration/main.rs) and the library's unit tests (`#[path]` in src/store/pg.rs).

use std::sync::atomic::{AtomicU32, Ordering};

/// The server's admin URL for the tests (a database to connect to while creating one).
pub fn server_url() -> String {
    std::env::var("QUOTAD_TEST_PG").unwrap_or_else(|_| "postgres://quotad_test@127.0.0.1:5432/postgres".into())
}

/// One test's database: `url` names it; dropped (with its connections) on drop.
pub struct TestDb {
    /// `postgres://…/quotad_t_<pid>_<n>_<nanos>` on the test server, without password.
    pub url: String,
    /// The database's name.
    pub name: String,
}

fn admin_connect() -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = server_url().parse()?;
    if let Ok(pw) = std::env::var("PGPASSWORD") {
        config.password(pw);
    }
    config.connect_timeout(std::time::Duration::from_secs(5));
    config.connect(postgres::NoTls)
}

/// `url` with its database name replaced by `db` (the query string kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..].find('/').map(|i| scheme_end + i).unwrap_or(base.len());
    format!("{}/{db}{query}", &base[..host_end])
}

impl TestDb {
    /// Creates a database with a fresh name. `None` only with `QUOTAD_ALLOW_SKIP=1`
    /// when no server answers; otherwise that panics, naming the server and the fix.
    pub fn fresh() -> Option<TestDb> {
        static N: AtomicU32 = AtomicU32::new(0);
        let mut admin = match admin_connect() {
            Ok(c) => c,
            Err(e) => {
                let message = format!(
                    "no PostgreSQL server answers at {} ({e}): start one (`.ci/run` does: Debian's postgresql, role quotad_test) and set QUOTAD_TEST_PG and PGPASSWORD",
                    server_url()
                );
                if std::env::var("QUOTAD_ALLOW_SKIP").is_ok_and(|v| v == "1") {
                    eprintln!("SKIPPED (QUOTAD_ALLOW_SKIP=1): {message}");
                    return None;
                }
                panic!("{message}. To skip the tests that need it, set QUOTAD_ALLOW_SKIP=1");
            }
        };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("quotad_t_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        Some(TestDb { url: with_database(&server_url(), &name), name })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = admin_connect() {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}
