//! Deliver: rendered mail -> RFC 5322 messages (lettre) -> a transport (SMTP or files).
//!
//! Owns lettre. Imports `domain` only. The outbox ledger's rows live in `store`; the
//! pipeline records each message there before it calls [`Transport::send`], marks it
//! `sending` just before and `sent` just after, so a message is never sent twice
//! (the outbox ledger, `store::outbox`). This module decides what a failure means ([`FailureClass`])
//! and when to try again ([`RetryPolicy`]); it never touches the ledger.
//!
//! Transports: [`FileTransport`] writes one `.eml` file per message into the outbox
//! folder (the default, so quotad runs with no mail server at all); [`SmtpTransport`]
//! (in `smtp.rs`) speaks SMTP over rustls with STARTTLS, implicit TLS or (loopback
//! relays only) plain text, with AUTH, and keeps one connection for a whole batch.

pub mod chat;
mod smtp;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use lettre::Message;
pub use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart};

pub use smtp::SmtpTransport;

/// Delivery errors name the recipient, the file or the SMTP server (`host:port`).
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// lettre refused to build the message.
    #[error("cannot build the message to {to}: {detail}")]
    Build {
        /// The recipient.
        to: String,
        /// lettre's reason.
        detail: String,
    },
    /// A recipient address is not valid.
    #[error("'{address}' is not a valid e-mail address")]
    Address {
        /// The address.
        address: String,
    },
    /// Writing an .eml file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// No usable session with the SMTP server: it could not be reached, did not greet
    /// in time, or TLS or AUTH failed. Every message waiting is affected alike.
    #[error("SMTP server {server}: {detail}")]
    Connect {
        /// `host:port`.
        server: String,
        /// What failed, e.g. "no answer within 30 s (mail.smtp.connect_timeout_seconds)".
        detail: String,
    },
    /// The server answered the transaction for one message with a 4xx (transient) or
    /// 5xx (permanent) reply.
    #[error("SMTP server {server} refused the message to {to}: {detail}")]
    Refused {
        /// `host:port`.
        server: String,
        /// The recipient.
        to: String,
        /// The reply, e.g. "permanent error (550): mailbox unavailable".
        detail: String,
        /// A 5xx reply: trying again will not help.
        permanent: bool,
    },
    /// The connection broke or timed out during one message's transaction. If it broke
    /// after the final dot, the server may have the message (the duplicate window).
    #[error("SMTP server {server}: connection lost while sending to {to}: {detail}")]
    Network {
        /// `host:port`.
        server: String,
        /// The recipient.
        to: String,
        /// The network error.
        detail: String,
    },
    /// The environment variable named by `mail.smtp.password_env` is not set.
    #[error(
        "mail.smtp.password_env names the environment variable {var}, but it is not set (or is not UTF-8): set it to the SMTP password for {username}"
    )]
    Password {
        /// The variable's name (never its value).
        var: String,
        /// The SMTP user name.
        username: String,
    },
    /// A stop (SIGTERM/SIGINT) came while waiting for the server before anything of the
    /// message was handed over: the wait was given up. Not an attempt.
    #[error("SMTP server {server}: stopping; gave up waiting during {step} (nothing was handed over)")]
    Abandoned {
        /// `host:port`.
        server: String,
        /// What was being waited for.
        step: String,
    },
    /// The extra CA certificate file cannot be used.
    #[error("mail.smtp.ca_file {path}: {detail}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why: unreadable, or no PEM certificate in it.
        detail: String,
    },
}

/// What a failed send means for the message (see [`DeliverError::class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// No session could be opened: every waiting message is retried together.
    Connection,
    /// This message failed, and may succeed later: retried with backoff.
    Transient,
    /// This message can never succeed as it is (5xx, bad address): dead at once.
    Permanent,
    /// Stopping: nothing was handed over; the message stays as it was, not an attempt.
    Abandoned,
}

impl DeliverError {
    /// How the outbox should treat this failure.
    pub fn class(&self) -> FailureClass {
        match self {
            DeliverError::Connect { .. } | DeliverError::Password { .. } | DeliverError::CaFile { .. } => {
                FailureClass::Connection
            }
            DeliverError::Abandoned { .. } => FailureClass::Abandoned,
            DeliverError::Io { .. } | DeliverError::Network { .. } => FailureClass::Transient,
            DeliverError::Refused { permanent: false, .. } => FailureClass::Transient,
            DeliverError::Refused { permanent: true, .. }
            | DeliverError::Build { .. }
            | DeliverError::Address { .. } => FailureClass::Permanent,
        }
    }
}

/// How the SMTP connection is protected (config `mail.smtp.tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain connect, then STARTTLS (required: a server that does not offer it is an
    /// error). Default port 587.
    StartTls,
    /// TLS from the first byte ("implicit TLS", SMTPS). Default port 465.
    Tls,
    /// No encryption: only for a relay on this machine (127.0.0.1, ::1, localhost).
    /// Default port 25.
    None,
}

impl TlsMode {
    /// The port used when `mail.smtp.port` is not set: 587, 465 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }

    /// The config spelling: "starttls", "tls" or "none".
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::StartTls => "starttls",
            TlsMode::Tls => "tls",
            TlsMode::None => "none",
        }
    }
}

/// Whether `host` names this machine (127.0.0.0/8, ::1 or localhost): the only hosts
/// for which `tls = "none"` is allowed.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// SMTP settings (config `[mail.smtp]`). Holds the password's environment variable
/// name, never the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Server host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Connection security.
    pub tls: TlsMode,
    /// AUTH user name; `None` = no AUTH.
    pub username: Option<String>,
    /// Name of the environment variable holding the AUTH password (required with a
    /// user name).
    pub password_env: Option<String>,
    /// Extra trusted CA certificate(s), PEM, on top of the built-in Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// Limit for TCP connect plus greeting, EHLO, STARTTLS and AUTH, each step.
    pub connect_timeout: Duration,
    /// Limit for each reply during a message's transaction (MAIL, RCPT, DATA, the dot).
    pub command_timeout: Duration,
    /// At most this many messages per minute (spaced evenly); 0 = no limit.
    pub max_per_minute: u32,
}

impl SmtpSettings {
    /// The longest a stop (SIGTERM) can wait for this server: only a message whose
    /// payload is being written is finished, and writing it and waiting for its 250
    /// are each bounded by `command_timeout`, so twice that. Every other wait
    /// (connecting, the greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, the rate limit) is
    /// abandoned at once. With the defaults: 120 s, which the shipped systemd unit's
    /// `TimeoutStopSec` exceeds.
    pub fn longest_stop(&self) -> Duration {
        self.command_timeout * 2
    }

    /// `host:port`, as errors and logs show the server.
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Where messages go (config `mail.transport`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportKind {
    /// `.eml` files in the outbox folder.
    File,
    /// An SMTP server.
    Smtp(SmtpSettings),
}

/// When a failed message is tried again (config `mail.max_attempts`,
/// `mail.retry_initial_seconds`, `mail.retry_max_seconds`): exponential backoff,
/// doubling from `initial` and capped at `max`, for at most `max_attempts` attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a message is dead (at least 1).
    pub max_attempts: u32,
    /// Wait after the first failed attempt.
    pub initial: Duration,
    /// Longest wait between attempts.
    pub max: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempts_made` (1-based), or `None` when
    /// that was the last allowed attempt: initial × 2^(attempts_made − 1), at most `max`.
    pub fn backoff(&self, attempts_made: u32) -> Option<Duration> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let factor = 2u32.saturating_pow(attempts_made.saturating_sub(1));
        Some(self.initial.saturating_mul(factor).min(self.max))
    }
}

/// Delivery settings (config `[mail]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Sender, e.g. "Sales Operations <salesops@example.com>"; also the SMTP envelope sender.
    pub from: Mailbox,
    /// Reply-To, if set.
    pub reply_to: Option<Mailbox>,
    /// Gets one e-mail listing the dead letters of a delivery run, if set.
    pub admin: Option<Mailbox>,
    /// Where messages go.
    pub transport: TransportKind,
    /// Retries of failed messages.
    pub retry: RetryPolicy,
}

impl Settings {
    /// Settings with the file transport and the documented retry defaults (5 attempts,
    /// 30 s doubling to at most 10 min); for tests and examples.
    pub fn file(from: Mailbox) -> Settings {
        Settings {
            from,
            reply_to: None,
            admin: None,
            transport: TransportKind::File,
            retry: RetryPolicy { max_attempts: 5, initial: Duration::from_secs(30), max: Duration::from_secs(600) },
        }
    }
}

/// Parses "Name <addr@host>" or "addr@host"; the error says what was expected.
pub fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    s.parse::<Mailbox>()
        .map_err(|e| format!("'{s}' is not an e-mail address such as \"Sales Ops <salesops@example.com>\" ({e})"))
}

/// One recipient of a message: a display name (from a spreadsheet: control characters
/// are removed; may be empty) and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee {
    /// Display name.
    pub name: String,
    /// Address.
    pub email: String,
}

impl Addressee {
    /// `name <email>`.
    pub fn new(name: &str, email: &str) -> Addressee {
        Addressee { name: name.to_string(), email: email.to_string() }
    }
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The To recipients (at least one).
    pub to: Vec<Addressee>,
    /// The Cc recipients (a team's manager on the team's ranking), often none.
    pub cc: Vec<Addressee>,
    /// Subject (one line).
    pub subject: String,
    /// text/plain body.
    pub text: String,
    /// text/html body.
    pub html: String,
    /// Message-ID including angle brackets (see [`message_id`]).
    pub message_id: String,
    /// Date header.
    pub date: DateTime<Utc>,
    /// Files attached after the text/HTML part (none for a plain memo).
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to a message.
#[derive(Debug, Clone)]
pub struct MailAttachment {
    /// File name as the recipient sees it; non-ASCII names are encoded per RFC 2231.
    /// Path separators and control characters are replaced (see [`attachment_name`]).
    pub file_name: String,
    /// MIME type, e.g. "application/pdf".
    pub content_type: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// A file name safe to attach or write: path separators (`/`, `\`), control characters
/// and the characters Windows forbids (`: * ? " < > |`) become `_`; leading dots are
/// dropped, so a name from a spreadsheet can never point into another folder. Letters
/// of any script are kept ("Zoë Ødegaard" stays readable).
pub fn attachment_name(name: &str) -> String {
    let cleaned: String =
        name.chars()
            .map(|c| {
                if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                    '_'
                } else {
                    c
                }
            })
            .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() { "document".into() } else { cleaned }
}

/// A Message-ID derived from an idempotency key, so every attempt to send the same
/// message carries the same ID: `<{16 hex of SHA-256(key)}.quotad@{domain of from}>`.
pub fn message_id(key: &str, from: &Mailbox) -> String {
    format!("<{}.quotad@{}>", &crate::domain::sha256_hex(key.as_bytes())[..16], from.email.domain())
}

/// Replaces CR, LF, other control characters and the Unicode line and paragraph
/// separators with spaces, so a value from a spreadsheet can never start a new header
/// line; runs of ASCII spaces become one. A no-break space is kept: "1.234.500 €" and
/// "110,0 %" (de-DE) must not break between the figure and its sign.
fn one_line(s: &str) -> String {
    let cleaned: String =
        s.chars().map(|c| if c.is_control() || c == '\u{2028}' || c == '\u{2029}' { ' ' } else { c }).collect();
    cleaned.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

impl Outgoing {
    /// "ann@example.com", or "ann@example.com and 3 more", for errors.
    pub fn describe_to(&self) -> String {
        let first = self.to.first().or(self.cc.first()).map(|a| a.email.as_str()).unwrap_or("nobody");
        match self.to.len() + self.cc.len() {
            0 | 1 => first.to_string(),
            n => format!("{first} and {} more", n - 1),
        }
    }

    /// The envelope recipients: To then Cc, each address once.
    pub fn envelope(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.to
            .iter()
            .chain(&self.cc)
            .map(|a| a.email.clone())
            .filter(|e| seen.insert(e.to_ascii_lowercase()))
            .collect()
    }
}

fn mailbox(a: &Addressee) -> Result<Mailbox, DeliverError> {
    let addr = a.email.parse().map_err(|_| DeliverError::Address { address: a.email.clone() })?;
    Ok(Mailbox::new(Some(one_line(&a.name)).filter(|n| !n.is_empty()), addr))
}

/// Builds the multipart/alternative (text + HTML) message and returns its bytes.
/// Non-ASCII display names and subjects are RFC 2047-encoded by lettre; a long To or Cc
/// list is folded onto several lines.
pub fn build(settings: &Settings, m: &Outgoing) -> Result<Vec<u8>, DeliverError> {
    if m.to.is_empty() {
        return Err(DeliverError::Build { to: m.describe_to(), detail: "no To recipient".into() });
    }
    let mut b = Message::builder().from(settings.from.clone());
    for a in &m.to {
        b = b.to(mailbox(a)?);
    }
    for a in &m.cc {
        b = b.cc(mailbox(a)?);
    }
    let mut b = b
        .subject(one_line(&m.subject))
        .message_id(Some(m.message_id.clone()))
        .date(SystemTime::from(m.date))
        .user_agent(format!("quotad {}", env!("CARGO_PKG_VERSION")));
    if let Some(r) = &settings.reply_to {
        b = b.reply_to(r.clone());
    }
    let body = MultiPart::alternative_plain_html(m.text.clone(), m.html.clone());
    let body = if m.attachments.is_empty() {
        body
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in &m.attachments {
            let ct = ContentType::parse(&a.content_type).map_err(|e| DeliverError::Build {
                to: m.describe_to(),
                detail: format!("content type {}: {e}", a.content_type),
            })?;
            mixed = mixed.singlepart(Attachment::new(attachment_name(&a.file_name)).body(a.bytes.clone(), ct));
        }
        mixed
    };
    let msg = b.multipart(body).map_err(|e| DeliverError::Build { to: m.describe_to(), detail: e.to_string() })?;
    Ok(msg.formatted())
}

/// One recorded message, as a transport receives it.
#[derive(Debug, Clone, Copy)]
pub struct Queued<'a> {
    /// A stable, filesystem-safe label (the file transport's file name, without `.eml`).
    pub name: &'a str,
    /// The envelope recipients to deliver to this time (SMTP RCPT TO): all of the
    /// message's, or those a server refused before.
    pub recipients: &'a [&'a str],
    /// The formatted message.
    pub message: &'a [u8],
}

/// A recipient the server refused at RCPT TO while it took the message for the others.
#[derive(Debug)]
pub struct Refusal {
    /// The address.
    pub recipient: String,
    /// The reply ([`DeliverError::Refused`]: 4xx transient, 5xx permanent).
    pub error: DeliverError,
}

/// A way to hand a formatted message to the world.
pub trait Transport {
    /// Gets ready for the next message: waits for its turn under a rate limit and opens
    /// (or checks) the session, so that the message's own transaction starts at once.
    /// Errors are [`FailureClass::Connection`] failures. The file transport has nothing to do.
    fn prepare(&mut self) -> Result<(), DeliverError> {
        Ok(())
    }
    /// Delivers one message to `m.recipients`. `Ok(refusals)`: the far side accepted it
    /// (SMTP 250, or the file is in place) for every recipient but those refused at RCPT
    /// TO, listed with their replies (all of them refused: nothing was delivered).
    /// `Err`: the whole transaction failed for every recipient; [`DeliverError::class`]
    /// says what to do.
    fn send(&mut self, m: &Queued) -> Result<Vec<Refusal>, DeliverError>;
    /// Where messages go, for people: "var/outbox" or "SMTP smtp.example.com:587 (STARTTLS)".
    fn describe(&self) -> String;
    /// Ends the session politely (SMTP QUIT); sending again reconnects.
    fn close(&mut self) {}
}

/// Opens the configured transport. Nothing connects yet; SMTP reads the password from
/// the environment variable named by `mail.smtp.password_env` and the CA file now, so
/// a missing variable or a bad file is reported before any message is attempted.
/// `stopping`, once set, abandons waits for the server that hand nothing over
/// ([`DeliverError::Abandoned`]); a message being written is finished.
pub fn open(
    settings: &Settings,
    outbox: &Path,
    stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Result<Box<dyn Transport>, DeliverError> {
    Ok(match &settings.transport {
        TransportKind::File => Box::new(FileTransport::new(outbox)),
        TransportKind::Smtp(smtp) => Box::new(SmtpTransport::new(smtp, &settings.from, stopping)?),
    })
}

/// Writes each message as `<outbox>/<name>.eml`, atomically (a temporary file, then a
/// rename), so a crash never leaves half a message: one file per message, whatever its
/// number of recipients (they are in its To and Cc headers).
pub struct FileTransport {
    dir: PathBuf,
}

impl FileTransport {
    /// Writes into `dir`, creating it if needed.
    pub fn new(dir: &Path) -> FileTransport {
        FileTransport { dir: dir.into() }
    }
}

impl Transport for FileTransport {
    fn send(&mut self, m: &Queued) -> Result<Vec<Refusal>, DeliverError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DeliverError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.dir.join(format!("{}.eml", m.name));
        let tmp = self.dir.join(format!(".{}.eml.tmp", m.name));
        std::fs::write(&tmp, m.message).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(Vec::new())
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}

/// A filesystem-safe, unique file name for a message: ASCII letters, digits and
/// `. - _ @ +` are kept; if anything else had to be replaced by `_`, 8 hex digits of the
/// SHA-256 of `unique` are appended, so two recipients can never share a file.
pub fn safe_name(readable: &str, unique: &str) -> String {
    let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+');
    let name: String = readable.chars().map(|c| if keep(c) { c } else { '_' }).collect();
    if readable.chars().all(keep) {
        return name;
    }
    format!("{name}_{}", &crate::domain::sha256_hex(unique.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_value_is_one_line_and_keeps_its_no_break_spaces() {
        // Issue 20: de-DE money and percents keep the no-break space before € and %.
        assert_eq!(one_line("Deine Quote: 1.234.500\u{a0}€"), "Deine Quote: 1.234.500\u{a0}€");
        assert_eq!(one_line("1\u{202f}234\u{202f}500\u{a0}€"), "1\u{202f}234\u{202f}500\u{a0}€");
        // A new header line can never start: CR, LF, tabs and the Unicode separators go.
        assert_eq!(one_line("a\r\nBcc: x@y\t  z\u{2028}w\u{85}v"), "a Bcc: x@y z w v");
    }
    use mail_parser::{HeaderValue, MessageParser};

    fn settings() -> Settings {
        Settings::file(parse_mailbox("Sales Ops <ops@example.com>").unwrap())
    }

    fn outgoing(to_name: &str, subject: &str, html: String) -> Outgoing {
        let from = parse_mailbox("Sales Ops <ops@example.com>").unwrap();
        Outgoing {
            to: vec![Addressee::new(to_name, "soren@example.com")],
            cc: Vec::new(),
            subject: subject.into(),
            text: "hi".into(),
            html,
            message_id: message_id("quota-memo/2026-11/soren@example.com/rep-memo", &from),
            date: "2026-11-01T13:00:00Z".parse().unwrap(),
            attachments: Vec::new(),
        }
    }

    fn headers(raw: &str) -> &str {
        raw.split("\r\n\r\n").next().unwrap()
    }

    #[test]
    fn headers_are_encoded_and_injection_proof() {
        let settings = settings();
        let m = Outgoing {
            to: vec![Addressee::new("Núñez, José\r\nBcc: evil@example.com", "jose@example.com")],
            cc: Vec::new(),
            subject: "Your März quota\nBcc: evil@example.com".into(),
            text: "hi".into(),
            html: "<p>hi</p>".into(),
            message_id: message_id("quota-memo/2026-11/jose@example.com/rep-memo", &settings.from),
            date: "2026-11-01T13:00:00Z".parse().unwrap(),
            attachments: Vec::new(),
        };
        let raw = String::from_utf8(build(&settings, &m).unwrap()).unwrap();
        let headers = headers(&raw);
        assert!(!headers.lines().any(|l| l.starts_with("Bcc")), "{headers}");
        assert!(headers.contains("Subject: Your =?utf-8?b?"), "{headers}");
        assert!(headers.contains("<jose@example.com>"), "{headers}");
        assert!(headers.contains(&format!("Message-ID: {}", m.message_id)), "{headers}");
        // By hand: `printf %s quota-memo/2026-11/jose@example.com/rep-memo | sha256sum` begins
        // 13e53d0192e87210; the domain is the sender's.
        assert_eq!(m.message_id, "<13e53d0192e87210.quotad@example.com>");
        assert!(raw.lines().all(|l| l.len() <= 998));
    }

    #[test]
    fn attachment_names_cannot_leave_the_folder() {
        assert_eq!(attachment_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(attachment_name("1on1 Zoë Ødegaard.pdf"), "1on1 Zoë Ødegaard.pdf");
        assert_eq!(attachment_name("a\\b:c\n.pdf"), "a_b_c_.pdf");
        assert_eq!(attachment_name("..."), "document");
    }

    #[test]
    fn safe_names_are_unique() {
        assert_eq!(safe_name("quota-memo_2026-11_pat+sales@x.com", "k1"), "quota-memo_2026-11_pat+sales@x.com");
        let a = safe_name("quota-memo_2026-11_jo sé@x.com", "quota-memo/2026-11/jo sé@x.com/rep-memo");
        let b = safe_name("quota-memo_2026-11_jo_s_@x.com", "quota-memo/2026-11/jo_s_@x.com/rep-memo");
        assert!(a.starts_with("quota-memo_2026-11_jo_s_@x.com_") && a.len() == b.len() + 9, "{a} {b}");
        assert_ne!(a, b);
    }

    #[test]
    fn a_non_ascii_display_name_with_a_comma_and_a_non_ascii_subject_round_trip() {
        let m = outgoing("Søren Müller, Sales West", "Rangliste März – Woche 12 ✓", "<p>hi</p>".into());
        let bytes = build(&settings(), &m).unwrap();
        let raw = String::from_utf8(bytes.clone()).unwrap();
        let h = headers(&raw);
        // Every header is 7-bit: the name and the subject are RFC 2047 encoded words; the
        // address is never encoded.
        assert!(h.is_ascii(), "{h}");
        let to = h.lines().find(|l| l.starts_with("To: ")).unwrap();
        assert!(to.starts_with("To: =?utf-8?"), "{to}");
        assert!(to.ends_with(" <soren@example.com>"), "{to}");
        // lettre encodes only the words that need it: "Rangliste =?utf-8?b?...?= Woche 12 =?utf-8?b?...?=".
        let subject = h.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(subject.starts_with("Subject: Rangliste =?utf-8?b?") && subject.ends_with("?="), "{subject}");
        let parsed = MessageParser::default().parse(&bytes).unwrap();
        let addr = parsed.to().unwrap().first().unwrap();
        assert_eq!(addr.name(), Some("Søren Müller, Sales West"));
        assert_eq!(addr.address(), Some("soren@example.com"));
        assert_eq!(parsed.subject(), Some("Rangliste März – Woche 12 ✓"));
        assert_eq!(parsed.to().unwrap().iter().count(), 1, "the comma must not split the name into two addresses");

        // An ASCII name with a comma is protected too: lettre writes it as an encoded
        // word (RFC 2047 allows either that or a quoted string), never as a bare comma that
        // would split it into two addresses.
        let m = outgoing("Archer, Ann", "Quota", "<p>hi</p>".into());
        let raw = String::from_utf8(build(&settings(), &m).unwrap()).unwrap();
        assert!(headers(&raw).contains("To: =?utf-8?b?QXJjaGVyLCBBbm4=?= <soren@example.com>"), "{raw}");
        let parsed = MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert!(matches!(parsed.header("To"), Some(HeaderValue::Address(_))));
        assert_eq!(parsed.to().unwrap().iter().count(), 1);
        assert_eq!(parsed.to().unwrap().first().unwrap().name(), Some("Archer, Ann"));
    }

    #[test]
    fn no_line_exceeds_998_octets_even_for_a_huge_one_line_html_table() {
        // 4,000 table rows on one line: about 300 KB without a single line break.
        let row = "<tr><td>Søren Müller</td><td style=\"text-align: right;\">$1,234,567</td><td>123.4%</td></tr>";
        let html = format!("<table>{}</table>", row.repeat(4000));
        assert!(html.len() > 300_000 && !html.contains('\n'));
        let m = outgoing("Søren Müller, Sales West", "Rangliste März – Woche 12 ✓", html.clone());
        let bytes = build(&settings(), &m).unwrap();
        let longest = bytes.split(|&b| b == b'\n').map(|l| l.len()).max().unwrap();
        assert!(longest <= 998, "longest line {longest} octets");
        // ... and the HTML part decodes back byte for byte.
        let parsed = MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(parsed.body_html(0).unwrap(), html);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let p = RetryPolicy { max_attempts: 6, initial: Duration::from_secs(30), max: Duration::from_secs(100) };
        let waits: Vec<Option<u64>> = (1..=7).map(|n| p.backoff(n).map(|d| d.as_secs())).collect();
        assert_eq!(waits, vec![Some(30), Some(60), Some(100), Some(100), Some(100), None, None]);
        let once = RetryPolicy { max_attempts: 1, ..p };
        assert_eq!(once.backoff(1), None);
    }

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1", "127.3.4.5", "localhost", "LOCALHOST", "::1", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["smtp.example.com", "10.0.0.1", "192.168.1.1", "localhost.example.com", "0.0.0.0"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn failure_classes() {
        let refused = |permanent| DeliverError::Refused {
            server: "smtp.example.com:587".into(),
            to: "ann@example.com".into(),
            detail: "x".into(),
            permanent,
        };
        assert_eq!(refused(true).class(), FailureClass::Permanent);
        assert_eq!(refused(false).class(), FailureClass::Transient);
        let e = DeliverError::Connect { server: "smtp.example.com:587".into(), detail: "connection refused".into() };
        assert_eq!(e.class(), FailureClass::Connection);
        assert_eq!(e.to_string(), "SMTP server smtp.example.com:587: connection refused");
    }

    #[test]
    fn a_team_message_has_every_rep_in_to_and_the_manager_in_cc_folded_under_998_octets() {
        // 300 recipients: a To header of about 15,000 octets before folding.
        let mut m = outgoing("x", "Weekly ranking", "<p>hi</p>".into());
        m.to = (0..300)
            .map(|i| Addressee::new(&format!("Agent Müller {i:03}, Sales"), &format!("agent{i}@example.com")))
            .collect();
        m.cc = vec![Addressee::new("Mia Boss", "mia@example.com"), Addressee::new("", "AGENT7@example.com")];
        let bytes = build(&settings(), &m).unwrap();
        let longest = bytes.split(|&b| b == b'\n').map(|l| l.len()).max().unwrap();
        assert!(longest <= 998, "longest line {longest} octets");
        let parsed = MessageParser::default().parse(&bytes).unwrap();
        let to: Vec<&str> = parsed.to().unwrap().iter().filter_map(|a| a.address()).collect();
        assert_eq!(to.len(), 300);
        assert_eq!(to[7], "agent7@example.com");
        assert_eq!(parsed.to().unwrap().iter().nth(7).unwrap().name(), Some("Agent Müller 007, Sales"));
        let cc: Vec<&str> = parsed.cc().unwrap().iter().filter_map(|a| a.address()).collect();
        assert_eq!(cc, ["mia@example.com", "AGENT7@example.com"]);
        // The envelope has each address once (case-insensitively), To first.
        let env = m.envelope();
        assert_eq!(env.len(), 301);
        assert_eq!((env[0].as_str(), env[300].as_str()), ("agent0@example.com", "mia@example.com"));
        assert_eq!(m.describe_to(), "agent0@example.com and 301 more");
    }
}
