//! Deliver: rendered mail -> RFC 5322 messages (lettre) -> a transport.
//!
//! Owns lettre. Imports `domain` only. The outbox ledger's rows live in `store`; the
//! pipeline records each message there as pending before calling [`Transport::send`]
//! and marks it sent after, so a message is never sent twice (DESIGN.md "Delivery").
//! The file transport writes one `.eml` file per message into the outbox folder: the
//! default, so quotad runs with no mail server at all.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use sha2::{Digest, Sha256};

/// Delivery errors name the recipient or file.
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
}

/// Where messages go (config `mail.transport`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportKind {
    /// `.eml` files in the outbox folder.
    File,
}

/// Delivery settings (config `[mail]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Sender, e.g. "Sales Operations <salesops@example.com>".
    pub from: Mailbox,
    /// Reply-To, if set.
    pub reply_to: Option<Mailbox>,
    /// Where messages go.
    pub transport: TransportKind,
}

/// Parses "Name <addr@host>" or "addr@host"; the error says what was expected.
pub fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    s.parse::<Mailbox>()
        .map_err(|e| format!("'{s}' is not an e-mail address such as \"Sales Ops <salesops@example.com>\" ({e})"))
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Recipient's display name (from a spreadsheet: control characters are removed).
    pub to_name: String,
    /// Recipient's address.
    pub to_email: String,
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
    let hash = Sha256::digest(key.as_bytes());
    let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("<{hex}.quotad@{}>", from.email.domain())
}

/// Replaces CR, LF and other control characters with spaces, so a value from a
/// spreadsheet can never start a new header line.
fn one_line(s: &str) -> String {
    let cleaned: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Builds the multipart/alternative (text + HTML) message and returns its bytes.
/// Non-ASCII display names and subjects are RFC 2047-encoded by lettre.
pub fn build(settings: &Settings, m: &Outgoing) -> Result<Vec<u8>, DeliverError> {
    let to_addr = m.to_email.parse().map_err(|_| DeliverError::Address { address: m.to_email.clone() })?;
    let to = Mailbox::new(Some(one_line(&m.to_name)).filter(|n| !n.is_empty()), to_addr);
    let mut b = Message::builder()
        .from(settings.from.clone())
        .to(to)
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
                to: m.to_email.clone(),
                detail: format!("content type {}: {e}", a.content_type),
            })?;
            mixed = mixed.singlepart(Attachment::new(attachment_name(&a.file_name)).body(a.bytes.clone(), ct));
        }
        mixed
    };
    let msg = b.multipart(body).map_err(|e| DeliverError::Build { to: m.to_email.clone(), detail: e.to_string() })?;
    Ok(msg.formatted())
}

/// A way to hand a formatted message to the world.
pub trait Transport {
    /// Sends `message` (formatted bytes); `name` is a stable, filesystem-safe label
    /// for the message (used by the file transport as the file name).
    fn send(&self, name: &str, message: &[u8]) -> Result<(), DeliverError>;
}

/// Writes each message as `<outbox>/<name>.eml`, atomically (a temporary file, then a
/// rename), so a crash never leaves half a message.
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
    fn send(&self, name: &str, message: &[u8]) -> Result<(), DeliverError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DeliverError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.dir.join(format!("{name}.eml"));
        let tmp = self.dir.join(format!(".{name}.eml.tmp"));
        std::fs::write(&tmp, message).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(())
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
    let hash = Sha256::digest(unique.as_bytes());
    format!("{name}_{}", hash.iter().take(4).map(|b| format!("{b:02x}")).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_encoded_and_injection_proof() {
        let settings = Settings {
            from: parse_mailbox("Sales Ops <ops@example.com>").unwrap(),
            reply_to: None,
            transport: TransportKind::File,
        };
        let m = Outgoing {
            to_name: "Núñez, José\r\nBcc: evil@example.com".into(),
            to_email: "jose@example.com".into(),
            subject: "Your März quota\nBcc: evil@example.com".into(),
            text: "hi".into(),
            html: "<p>hi</p>".into(),
            message_id: message_id("quota-memo/2026-11/jose@example.com/rep-memo", &settings.from),
            date: "2026-11-01T13:00:00Z".parse().unwrap(),
            attachments: Vec::new(),
        };
        let raw = String::from_utf8(build(&settings, &m).unwrap()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc")), "{headers}");
        assert!(headers.contains("Subject: Your =?utf-8?b?"), "{headers}");
        assert!(headers.contains("<jose@example.com>"), "{headers}");
        assert!(headers.contains(&format!("Message-ID: {}", m.message_id)), "{headers}");
        assert_eq!(m.message_id, message_id("quota-memo/2026-11/jose@example.com/rep-memo", &settings.from));
        assert!(m.message_id.ends_with(".quotad@example.com>"));
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
}
