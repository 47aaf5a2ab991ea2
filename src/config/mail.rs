//! `[mail]` and `[mail.smtp]`: sender, reply-to and admin addresses, the transport
//! (file or SMTP: host, port, TLS, AUTH user and the environment variable holding the
//! password, timeouts, rate) and the retry policy. The password itself is never read
//! from the config file.
//!
//! Validates into the deliver stage's own types ([`deliver::Settings`] pieces,
//! [`deliver::SmtpSettings`], [`deliver::RetryPolicy`]); imports `deliver`'s settings
//! types and serde/toml, nothing else.
//!
//! `Config::parse` checks `[mail]` in steps ([`addresses`], [`transport`], then after
//! the metrics and quota memo [`spare_smtp`] and [`retry_policy`]), the order in which
//! a file with several mistakes has always reported them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::deliver::{self, Mailbox, TransportKind};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    from: Spanned<String>,
    reply_to: Option<Spanned<String>>,
    admin: Option<Spanned<String>>,
    #[serde(default = "default_transport")]
    transport: Spanned<String>,
    #[serde(default = "default_max_attempts")]
    max_attempts: Spanned<u32>,
    #[serde(default = "default_retry_initial")]
    retry_initial_seconds: Spanned<u64>,
    #[serde(default = "default_retry_max")]
    retry_max_seconds: Spanned<u64>,
    smtp: Option<Spanned<RawSmtp>>,
}

fn default_transport() -> Spanned<String> {
    Spanned::new(0..0, "file".into())
}
fn default_max_attempts() -> Spanned<u32> {
    Spanned::new(0..0, 5)
}
fn default_retry_initial() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}
fn default_retry_max() -> Spanned<u64> {
    Spanned::new(0..0, 600)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Spanned<String>,
    port: Option<Spanned<u16>>,
    #[serde(default = "default_tls")]
    tls: Spanned<String>,
    username: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    /// Only so that a password written here gets a precise error (never read).
    password: Option<Spanned<toml::Value>>,
    ca_file: Option<PathBuf>,
    #[serde(default = "default_connect_timeout")]
    connect_timeout_seconds: Spanned<u64>,
    #[serde(default = "default_command_timeout")]
    command_timeout_seconds: Spanned<u64>,
    #[serde(default)]
    max_per_minute: u32,
}

fn default_tls() -> Spanned<String> {
    Spanned::new(0..0, "starttls".into())
}
fn default_connect_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}
fn default_command_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 60)
}

/// `mail.from`, `mail.reply_to` and `mail.admin` as mailboxes.
pub(super) fn addresses(
    raw: &RawMail,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<(Mailbox, Option<Mailbox>, Option<Mailbox>), ConfigError> {
    let mail_err = |s: &Spanned<String>, key: &str, m: String| err(s.span(), format!("mail.{key}: {m}"));
    let from = deliver::parse_mailbox(raw.from.get_ref()).map_err(|m| mail_err(&raw.from, "from", m))?;
    let reply_to = raw
        .reply_to
        .as_ref()
        .map(|r| deliver::parse_mailbox(r.get_ref()).map_err(|m| mail_err(r, "reply_to", m)))
        .transpose()?;
    let admin = raw
        .admin
        .as_ref()
        .map(|r| deliver::parse_mailbox(r.get_ref()).map_err(|m| mail_err(r, "admin", m)))
        .transpose()?;
    Ok((from, reply_to, admin))
}

/// `mail.transport`: "file", or "smtp" with a valid `[mail.smtp]` table.
pub(super) fn transport(
    raw: &RawMail,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
    abs: &dyn Fn(&Path) -> PathBuf,
) -> Result<TransportKind, ConfigError> {
    let mail_err = |s: &Spanned<String>, key: &str, m: String| err(s.span(), format!("mail.{key}: {m}"));
    Ok(match raw.transport.get_ref().as_str() {
        "file" => TransportKind::File,
        "smtp" => match &raw.smtp {
            Some(smtp) => TransportKind::Smtp(smtp_settings(smtp, err, abs)?),
            None => {
                return Err(mail_err(
                    &raw.transport,
                    "transport",
                    "\"smtp\" needs a [mail.smtp] table with at least host = \"smtp.example.com\"".into(),
                ));
            }
        },
        other => {
            return Err(mail_err(&raw.transport, "transport", format!("'{other}' must be \"file\" or \"smtp\"")));
        }
    })
}

/// A `[mail.smtp]` table the file transport does not use is still validated, so that
/// switching transport later cannot surprise.
pub(super) fn spare_smtp(
    raw: &RawMail,
    transport: &TransportKind,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
    abs: &dyn Fn(&Path) -> PathBuf,
) -> Result<(), ConfigError> {
    if let (TransportKind::File, Some(smtp)) = (transport, &raw.smtp) {
        smtp_settings(smtp, err, abs)?;
    }
    Ok(())
}

/// `mail.max_attempts`, `mail.retry_initial_seconds` and `mail.retry_max_seconds`.
pub(super) fn retry_policy(
    raw: &RawMail,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<deliver::RetryPolicy, ConfigError> {
    let attempts = &raw.max_attempts;
    if *attempts.get_ref() == 0 {
        return Err(err(attempts.span(), "mail.max_attempts: must be at least 1 (the first attempt counts)".into()));
    }
    for (v, key) in
        [(&raw.retry_initial_seconds, "retry_initial_seconds"), (&raw.retry_max_seconds, "retry_max_seconds")]
    {
        if *v.get_ref() == 0 {
            return Err(err(v.span(), format!("mail.{key}: must be at least 1 second")));
        }
    }
    Ok(deliver::RetryPolicy {
        max_attempts: *attempts.get_ref(),
        initial: Duration::from_secs(*raw.retry_initial_seconds.get_ref()),
        max: Duration::from_secs(*raw.retry_max_seconds.get_ref()),
    })
}

/// Whether `s` can be an environment variable's name: ASCII letters, digits and `_`,
/// not starting with a digit.
fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Validates `[mail.smtp]`. `err` makes an error at a span; `abs` resolves a path
/// against the config file's folder.
fn smtp_settings(
    raw: &Spanned<RawSmtp>,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
    abs: &dyn Fn(&Path) -> PathBuf,
) -> Result<deliver::SmtpSettings, ConfigError> {
    let r = raw.get_ref();
    if let Some(p) = &r.password {
        return Err(err(
            p.span(),
            "mail.smtp.password: the password never goes in the config file; put it in an environment variable and name that variable with password_env = \"QUOTAD_SMTP_PASSWORD\"".into(),
        ));
    }
    let host = r.host.get_ref().trim().to_string();
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
        return Err(err(
            r.host.span(),
            format!("mail.smtp.host: '{host}' should be a host name or IP address such as \"smtp.example.com\""),
        ));
    }
    let tls = match r.tls.get_ref().as_str() {
        "starttls" => deliver::TlsMode::StartTls,
        "tls" => deliver::TlsMode::Tls,
        "none" => deliver::TlsMode::None,
        other => {
            return Err(err(
                r.tls.span(),
                format!(
                    "mail.smtp.tls: '{other}' must be \"starttls\" (port 587), \"tls\" (implicit TLS, port 465) or \"none\" (a relay on this machine only)"
                ),
            ));
        }
    };
    if tls == deliver::TlsMode::None && !deliver::is_loopback(&host) {
        return Err(err(
            r.tls.span(),
            format!(
                "mail.smtp.tls: \"none\" would send mail (and any password) unencrypted, so it is allowed only for a relay on this machine (host = \"127.0.0.1\", \"::1\" or \"localhost\"), not for host = \"{host}\"; use \"starttls\" or \"tls\""
            ),
        ));
    }
    let username = r.username.as_ref().map(|u| u.get_ref().clone());
    let password_env = match (&r.username, &r.password_env) {
        (Some(_), Some(var)) => {
            if !is_env_name(var.get_ref()) {
                // Not echoed: it may be the password itself, written in the wrong key.
                return Err(err(
                    var.span(),
                    "mail.smtp.password_env: must be the NAME of an environment variable (letters, digits and _, e.g. \"QUOTAD_SMTP_PASSWORD\"), not the password".into(),
                ));
            }
            Some(var.get_ref().clone())
        }
        (Some(u), None) => {
            return Err(err(
                u.span(),
                "mail.smtp.username: AUTH needs a password: add password_env = \"QUOTAD_SMTP_PASSWORD\" (the name of an environment variable holding it)".into(),
            ));
        }
        (None, Some(var)) => {
            return Err(err(var.span(), "mail.smtp.password_env: set username too (AUTH needs both)".into()));
        }
        (None, None) => None,
    };
    for (v, key) in [
        (&r.connect_timeout_seconds, "connect_timeout_seconds"),
        (&r.command_timeout_seconds, "command_timeout_seconds"),
    ] {
        if *v.get_ref() == 0 {
            return Err(err(v.span(), format!("mail.smtp.{key}: must be at least 1 second")));
        }
    }
    let port = match &r.port {
        Some(p) if *p.get_ref() == 0 => return Err(err(p.span(), "mail.smtp.port: must be 1 to 65535".into())),
        Some(p) => *p.get_ref(),
        None => tls.default_port(),
    };
    Ok(deliver::SmtpSettings {
        host,
        port,
        tls,
        username,
        password_env,
        ca_file: r.ca_file.as_deref().map(abs),
        connect_timeout: Duration::from_secs(*r.connect_timeout_seconds.get_ref()),
        command_timeout: Duration::from_secs(*r.command_timeout_seconds.get_ref()),
        max_per_minute: r.max_per_minute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::tests::{MINIMAL, parse};

    const SMTP: &str = r#"
[mail.smtp]
host = "smtp.example.com"
username = "quotad@example.com"
password_env = "QUOTAD_SMTP_PASSWORD"
"#;

    fn with_smtp(smtp: &str) -> Result<Config, ConfigError> {
        parse(&format!("{}\n{smtp}", MINIMAL.replace("[mail]", "[mail]\ntransport = \"smtp\"")))
    }

    #[test]
    fn smtp_defaults_and_retry_defaults() {
        let c = with_smtp(SMTP).unwrap();
        let TransportKind::Smtp(s) = &c.mail.transport else { panic!("smtp expected") };
        assert_eq!(s.host, "smtp.example.com");
        assert_eq!(s.port, 587);
        assert_eq!(s.tls, deliver::TlsMode::StartTls);
        assert_eq!(s.username.as_deref(), Some("quotad@example.com"));
        assert_eq!(s.password_env.as_deref(), Some("QUOTAD_SMTP_PASSWORD"));
        assert_eq!(s.connect_timeout, Duration::from_secs(30));
        assert_eq!(s.command_timeout, Duration::from_secs(60));
        assert_eq!(s.max_per_minute, 0);
        assert_eq!(s.ca_file, None);
        assert_eq!(
            c.mail.retry,
            deliver::RetryPolicy { max_attempts: 5, initial: Duration::from_secs(30), max: Duration::from_secs(600) }
        );
        let c = with_smtp(&format!("{SMTP}tls = \"tls\"\nca_file = \"certs/ca.pem\"\n")).unwrap();
        let TransportKind::Smtp(s) = &c.mail.transport else { panic!("smtp expected") };
        assert_eq!(s.port, 465);
        assert_eq!(s.ca_file, Some(PathBuf::from("/srv/quotad/certs/ca.pem")));
        // The file transport stays the default even with a [mail.smtp] table.
        assert_eq!(parse(&format!("{MINIMAL}{SMTP}")).unwrap().mail.transport, TransportKind::File);
    }

    #[test]
    fn unencrypted_smtp_only_for_a_relay_on_this_machine() {
        // Line 21 of MINIMAL + transport line + blank + [mail.smtp] + host: tls is on line 22.
        let e = with_smtp("[mail.smtp]\nhost = \"smtp.example.com\"\ntls = \"none\"\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.tls: \"none\""), "{e}");
        assert!(e.message.contains("smtp.example.com"), "{e}");
        assert_eq!(e.line, Some(20), "{e}");
        for host in ["127.0.0.1", "localhost", "::1"] {
            let c = with_smtp(&format!("[mail.smtp]\nhost = \"{host}\"\ntls = \"none\"\n")).unwrap();
            let TransportKind::Smtp(s) = &c.mail.transport else { panic!("smtp expected") };
            assert_eq!((s.tls, s.port), (deliver::TlsMode::None, 25));
        }
    }

    #[test]
    fn smtp_errors_name_the_key_and_never_echo_a_password() {
        let e = with_smtp("[mail.smtp]\nhost = \"smtp.example.com\"\npassword = \"hunter2\"\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.password: the password never goes in the config file"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert_eq!(e.line, Some(20));
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\nusername = \"u\"\npassword_env = \"hunter2!\"\n")
            .unwrap_err();
        assert!(e.message.starts_with("mail.smtp.password_env: must be the NAME"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\nusername = \"u\"\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.username: AUTH needs a password"), "{e}");
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\ntls = \"ssl\"\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.tls: 'ssl' must be"), "{e}");
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\nconnect_timeout_seconds = 0\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.connect_timeout_seconds"), "{e}");
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\npasword_env = \"X\"\n").unwrap_err();
        assert!(e.message.contains("unknown field `pasword_env`"), "{e}");
        let e = with_smtp("").unwrap_err();
        assert!(e.message.starts_with("mail.transport: \"smtp\" needs a [mail.smtp] table"), "{e}");
        let e = parse(&MINIMAL.replace("[mail]", "[mail]\nmax_attempts = 0")).unwrap_err();
        assert!(e.message.starts_with("mail.max_attempts"), "{e}");
        let e = parse(&MINIMAL.replace("[mail]", "[mail]\nadmin = \"nobody\"")).unwrap_err();
        assert!(e.message.starts_with("mail.admin:"), "{e}");
    }
}
