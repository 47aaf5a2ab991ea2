//! Test harness: a temporary working folder with a config, an inbox and the real
//! `quotad` binary; helpers to read the .eml files it writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use mail_parser::{MessageParser, MimeHeaders};

/// A config with the three sources reading `deals*`, `quotas*` and `roster*`; `extra`
/// is appended (e.g. an `[ingest]` table).
pub fn config(extra: &str) -> String {
    format!(
        r#"[org]
name = "Test Homes"
time_zone = "America/Chicago"

[sources.deals]
kind = "deals"
files = ["deals*"]

[sources.quotas]
kind = "quotas"
files = ["quotas*"]

[sources.roster]
kind = "roster"
files = ["roster*"]

[mail]
from = "Sales Ops <ops@test-homes.com>"

{extra}
"#
    )
}

/// The standard roster used by the generated-file tests: Ann (North), Bob (North),
/// Cy (South), all active.
pub const ROSTER: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R2,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active
";

/// One working folder.
pub struct Env {
    pub dir: tempfile::TempDir,
    /// The outbox folder, relative to `dir`.
    pub outbox: &'static str,
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A parsed .eml file.
#[derive(Debug)]
pub struct Email {
    pub file: String,
    pub to_name: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub raw: String,
    /// Attachments: (file name, bytes).
    pub attachments: Vec<(String, Vec<u8>)>,
}

impl Env {
    /// A fresh folder with `quotad.toml` = `config` and an empty `inbox/`.
    pub fn new(config: &str) -> Env {
        let env = Env { dir: tempfile::tempdir().unwrap(), outbox: "outbox" };
        std::fs::create_dir_all(env.path("inbox")).unwrap();
        std::fs::write(env.path("quotad.toml"), config).unwrap();
        env
    }

    /// The shipped config/quotad.toml on the committed sample inbox (kept in place:
    /// after_import = "keep"), with its output folders inside the test's folder.
    pub fn sample() -> Env {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let cfg = std::fs::read_to_string(root.join("config/quotad.toml")).unwrap();
        assert!(cfg.contains("after_import = \"keep\""));
        let cfg = cfg
            .replace(
                "inbox = \"sample-inbox\"",
                &format!("inbox = {:?}", root.join("config/sample-inbox").display().to_string()),
            )
            .replace("\"../var/", "\"var/");
        Env { outbox: "var/outbox", ..Env::new(&cfg) }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `bytes` to `inbox/name`.
    pub fn put(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path("inbox").join(name), bytes).unwrap();
    }

    /// Runs `quotad --config quotad.toml ARGS` in the folder.
    pub fn quotad(&self, args: &[&str]) -> Run {
        run_quotad(self.dir.path(), &[&["--config", "quotad.toml"], args].concat())
    }

    /// The reps' quota memos in the outbox (`*_rep-memo_*.eml`), sorted by file name.
    pub fn emails(&self) -> Vec<Email> {
        self.all_emails().into_iter().filter(|e| e.file.contains("_rep-memo_")).collect()
    }

    /// Every .eml in the outbox (rep memos, manager memos, corrections, notices).
    pub fn all_emails(&self) -> Vec<Email> {
        read_emails(&self.path(self.outbox))
    }

    /// The email to `addr`.
    pub fn email_to(&self, addr: &str) -> Email {
        self.emails().into_iter().find(|e| e.to == addr).unwrap_or_else(|| panic!("no memo to {addr}"))
    }

    /// Opens the state database through the library.
    pub fn store(&self) -> quotad::store::Store {
        quotad::store::Store::open(&self.path("quotad.sqlite")).unwrap()
    }

    /// Names of files in a folder, sorted.
    pub fn files_in(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path(rel))
            .map(|rd| rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Env {
    /// Runs `quotad --config quotad.toml ARGS` with extra environment variables.
    pub fn quotad_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        run_quotad_env(self.dir.path(), &[&["--config", "quotad.toml"], args].concat(), vars)
    }

    /// Starts `quotad --config quotad.toml ARGS` without waiting; its stdout and stderr
    /// go to `NAME.out` / `NAME.err` in the folder.
    pub fn spawn(&self, name: &str, args: &[&str], vars: &[(&str, &str)]) -> std::process::Child {
        let out = std::fs::File::create(self.path(&format!("{name}.out"))).unwrap();
        let err = std::fs::File::create(self.path(&format!("{name}.err"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_quotad"))
            .args(["--config", "quotad.toml"])
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("QUOTAD_CONFIG")
            .envs(vars.iter().copied())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start quotad")
    }
}

pub fn run_quotad(cwd: &Path, args: &[&str]) -> Run {
    run_quotad_env(cwd, args, &[])
}

pub fn run_quotad_env(cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_quotad"))
        .args(args)
        .current_dir(cwd)
        .env_remove("QUOTAD_CONFIG")
        .env_remove("RUST_LOG")
        .envs(vars.iter().copied())
        .output()
        .expect("run quotad");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "quotad panicked: {run:?}");
    run
}

pub fn read_emails(dir: &Path) -> Vec<Email> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().map(|p| parse_email(p)).collect()
}

/// Parses one .eml file (mail-parser).
pub fn parse_email(p: &Path) -> Email {
    let raw = std::fs::read(p).unwrap();
    let m = MessageParser::default().parse(&raw).expect("parseable .eml");
    let to = m.to().and_then(|a| a.first()).expect("a To address");
    Email {
        file: p.file_name().unwrap().to_string_lossy().into_owned(),
        to_name: to.name().unwrap_or_default().to_string(),
        to: to.address().unwrap_or_default().to_string(),
        subject: m.subject().unwrap_or_default().to_string(),
        text: m.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
        html: m.body_html(0).unwrap_or_default().into_owned(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        raw: String::from_utf8_lossy(&raw).into_owned(),
        attachments: m
            .attachments()
            .map(|a| (a.attachment_name().unwrap_or_default().to_string(), a.contents().to_vec()))
            .collect(),
    }
}

/// The value after `label` on its line of a memo's text ("Revenue", "Attainment", …),
/// whitespace-trimmed.
pub fn line_value(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| {
            l.trim_start().strip_prefix(label).filter(|rest| rest.starts_with("  ")).map(|r| r.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no line '{label}' in:\n{text}"))
}

/// Writes an xlsx file with rust_xlsxwriter: rows of cells, where a cell is text,
/// a number, a date (yyyy-mm-dd formatted) or empty.
pub enum X {
    S(&'static str),
    N(f64),
    D(&'static str),
    E,
}

pub fn xlsx(rows: &[Vec<X>]) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet().set_name("Closed Sales").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                X::S(s) => {
                    ws.write_string(r, c, *s).unwrap();
                }
                X::N(n) => {
                    ws.write_number(r, c, *n).unwrap();
                }
                X::D(d) => {
                    ws.write_datetime_with_format(r, c, ExcelDateTime::parse_from_str(d).unwrap(), &date).unwrap();
                }
                X::E => {}
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

/// `pdftotext -layout FILE -`: the text a reader copies out of the PDF (poppler-utils,
/// which .ci/run installs).
pub fn pdftotext(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", &path.display().to_string(), "-"])
        .output()
        .expect("pdftotext is needed by the PDF tests (apt-get install poppler-utils)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}
