//! A real SMTP server on 127.0.0.1, started by the test itself: `tests/smtp_sink.py`
//! (aiosmtpd 1.4.6) with STARTTLS (or implicit TLS) on a certificate made here by
//! openssl with basicConstraints CA:FALSE, AUTH required after TLS. It writes each
//! message as `mail/new/*.eml` plus a `.json` envelope. Killed on drop.
//!
//! Python comes from `QUOTAD_TEST_PYTHON`, else `<repo>/.venv-smtp/bin/python`, which
//! `.ci/run` creates. Without it these tests fail, saying how to create it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::{Email, parse_email};

/// The AUTH user name the server accepts.
pub const USER: &str = "quotad-test";

/// The environment variable quotad reads the password from in these tests.
pub const PASSWORD_ENV: &str = "QUOTAD_TEST_SMTP_PASSWORD";

/// A password unlikely to appear anywhere by chance, different in every test.
pub fn password() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("Pw-{nanos:09}-zq7X")
}

/// The Python that has aiosmtpd, or a panic saying how to get one.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("QUOTAD_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-smtp/bin/python");
    assert!(
        venv.exists(),
        "the SMTP tests need Python with aiosmtpd: run\n    python3 -m venv .venv-smtp && .venv-smtp/bin/pip install -r tests/smtp-requirements.txt\nin {} (as .ci/run does), or set QUOTAD_TEST_PYTHON to a Python that has aiosmtpd==1.4.6",
        env!("CARGO_MANIFEST_DIR")
    );
    venv
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A self-signed certificate for localhost and 127.0.0.1, made by openssl, that is not
/// a CA (rustls refuses a CA certificate as a server's own: CaUsedAsEndEntity).
pub struct Certs {
    /// The certificate, PEM (give it to quotad as `ca_file`).
    pub cert: PathBuf,
    key: PathBuf,
    _dir: tempfile::TempDir,
}

impl Certs {
    /// Makes a fresh key and certificate in a temporary folder.
    pub fn new() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = make_cert(dir.path());
        Certs { cert, key, _dir: dir }
    }
}

fn make_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "keyUsage=digitalSignature,keyEncipherment"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the SMTP tests need the openssl command (apt-get install openssl)");
    assert!(out.status.success(), "openssl req failed: {}", String::from_utf8_lossy(&out.stderr));
    (cert, key)
}

/// One message as the server received it.
#[derive(Debug)]
pub struct Received {
    /// The envelope sender (MAIL FROM).
    pub mail_from: String,
    /// The envelope recipients (RCPT TO).
    pub rcpt_tos: Vec<String>,
    /// Whether the session was encrypted.
    pub tls: bool,
    /// The AUTH login, "" without AUTH.
    pub login: String,
    /// The message, parsed by mail-parser.
    pub email: Email,
}

/// A running sink; its folder holds the received mail.
pub struct SmtpSink {
    child: Child,
    /// The port it listens on, at 127.0.0.1.
    pub port: u16,
    /// Its certificate.
    pub certs: std::rc::Rc<Certs>,
    mail: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts a sink on a free port with a fresh certificate. `tls`: "starttls",
    /// "implicit" or "none".
    pub fn start(tls: &str, password: &str) -> SmtpSink {
        SmtpSink::start_with(free_port(), std::rc::Rc::new(Certs::new()), tls, password, &[])
    }

    /// Whether the sink is holding a reply (`kind` "rcpt" or "reply", see
    /// `--hold-rcpt` / `--hold-reply` in tests/smtp_sink.py).
    pub fn holding(&self, kind: &str) -> bool {
        self.mail.join(format!("holding-{kind}")).exists()
    }

    /// The certificate quotad should trust.
    pub fn cert(&self) -> &Path {
        &self.certs.cert
    }

    /// Starts a sink on `port` with `certs`; returns once it printed READY (within 20 s).
    pub fn start_on(port: u16, certs: std::rc::Rc<Certs>, tls: &str, password: &str) -> SmtpSink {
        SmtpSink::start_with(port, certs, tls, password, &[])
    }

    /// Like [`SmtpSink::start_on`], with extra arguments for the sink script.
    pub fn start_with(port: u16, certs: std::rc::Rc<Certs>, tls: &str, password: &str, extra: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (certs.cert.clone(), certs.key.clone());
        let mail = dir.path().join("mail");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(&script)
            .args(["--port", &port.to_string(), "--tls", tls, "--user", USER])
            .arg("--dir")
            .arg(&mail)
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(extra)
            .env("SMTP_SINK_PASSWORD", password)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python().display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = rx.recv_timeout(Duration::from_secs(20));
        if !matches!(&ready, Ok(l) if l.starts_with("READY ")) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the SMTP sink did not start ({ready:?}): {}\n(it needs aiosmtpd==1.4.6: python3 -m venv .venv-smtp && .venv-smtp/bin/pip install -r tests/smtp-requirements.txt)",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        SmtpSink { child, port, certs, mail, _dir: dir }
    }

    /// How many messages it has received so far (cheap: counts envelope files).
    pub fn count(&self) -> usize {
        std::fs::read_dir(self.mail.join("new"))
            .map(|rd| {
                rd.filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))).count()
            })
            .unwrap_or(0)
    }

    /// Every message received, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        let mut envelopes: Vec<PathBuf> = std::fs::read_dir(self.mail.join("new"))
            .map(|rd| rd.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect())
            .unwrap_or_default();
        envelopes.sort();
        envelopes
            .iter()
            .map(|j| {
                let v: serde_json::Value = serde_json::from_slice(&std::fs::read(j).unwrap()).unwrap();
                Received {
                    mail_from: v["mail_from"].as_str().unwrap().to_string(),
                    rcpt_tos: v["rcpt_tos"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect(),
                    tls: v["tls"].as_bool().unwrap(),
                    login: v["login"].as_str().unwrap().to_string(),
                    email: parse_email(&j.with_extension("eml")),
                }
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `[mail]` lines that send through `sink` (STARTTLS unless `tls` says otherwise),
/// with AUTH whose password comes from [`PASSWORD_ENV`]; `mail_extra` goes in `[mail]`,
/// `smtp_extra` in `[mail.smtp]`.
pub fn smtp_config(port: u16, cert: &Path, tls: &str, mail_extra: &str, smtp_extra: &str) -> String {
    format!(
        "transport = \"smtp\"\n{mail_extra}\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\nusername = \"{USER}\"\npassword_env = \"{PASSWORD_ENV}\"\nca_file = {:?}\nconnect_timeout_seconds = 10\ncommand_timeout_seconds = 10\n{smtp_extra}\n",
        cert.display().to_string()
    )
}
