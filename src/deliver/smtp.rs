//! The SMTP transport: lettre's synchronous `SmtpConnection` over rustls.
//!
//! One connection is opened on the first message and reused for the whole batch; it is
//! reopened when the server drops it or after any failed transaction (lettre aborts
//! the session then). Connecting, the greeting, EHLO, STARTTLS and AUTH are each
//! bounded by the connect timeout; every reply during a message's transaction by the
//! command timeout.
//!
//! **Stopping.** Connecting and each transaction run on a helper thread while the
//! caller waits, watching the stop flag ([`super::open`]'s `stopping`). On a stop,
//! a wait for the connection, the greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT or DATA's
//! 354 is abandoned at once ([`DeliverError::Abandoned`]: nothing was handed over);
//! a message whose payload is being written is finished, its 250 awaited (each bounded
//! by the command timeout), so a stop never leaves a message the server may have but
//! the ledger does not record. The helper thread checks the flag once more just before
//! it writes the payload, so an abandoned transaction never sends it afterwards.
//!
//! The password is read once from the environment and only ever
//! handed to lettre's AUTH: it is in no error, no log line and no `Debug` output
//! (lettre's own `tracing` feature, which logs the AUTH exchange, is not enabled).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use super::{DeliverError, Queued, Refusal, SmtpSettings, TlsMode, Transport};

/// A connection is checked with NOOP before reuse when it has been idle this long.
const IDLE_CHECK: Duration = Duration::from_secs(20);

/// How often a wait looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(20);

/// A transaction's phase, shared by the waiting caller and the helper thread.
const PHASE_COMMANDS: u8 = 0;
/// The payload is being written (or its 250 awaited): finished even on a stop.
const PHASE_DATA: u8 = 1;
/// The caller gave up on a stop before the payload: the helper must not write it.
const PHASE_ABANDONED: u8 = 2;

/// Sends through an SMTP server (config `[mail.smtp]`). Connects lazily, on the first
/// [`Transport::send`].
pub struct SmtpTransport {
    settings: SmtpSettings,
    from: Address,
    credentials: Option<Credentials>,
    tls: Option<TlsParameters>,
    hello: ClientId,
    conn: Option<SmtpConnection>,
    last_start: Option<Instant>,
    last_used: Option<Instant>,
    stopping: Arc<AtomicBool>,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately without the credentials.
        f.debug_struct("SmtpTransport").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// Prepares a transport: reads the password from the environment variable named by
    /// `settings.password_env` and the extra CA from `settings.ca_file`. Errors:
    /// [`DeliverError::Password`] (variable unset), [`DeliverError::CaFile`],
    /// [`DeliverError::Connect`] (TLS settings rejected). `stopping` set (by a SIGTERM
    /// handler) abandons the waits that hand nothing over (see the module docs).
    pub fn new(
        settings: &SmtpSettings,
        from: &Mailbox,
        stopping: Arc<AtomicBool>,
    ) -> Result<SmtpTransport, DeliverError> {
        let credentials = match (&settings.username, &settings.password_env) {
            (Some(user), Some(var)) => {
                let password = std::env::var(var)
                    .map_err(|_| DeliverError::Password { var: var.clone(), username: user.clone() })?;
                Some(Credentials::new(user.clone(), password))
            }
            _ => None,
        };
        let tls = match settings.tls {
            TlsMode::None => None,
            TlsMode::StartTls | TlsMode::Tls => {
                let mut b = TlsParameters::builder(settings.host.clone());
                if let Some(path) = &settings.ca_file {
                    let ca_err = |detail: String| DeliverError::CaFile { path: path.clone(), detail };
                    let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
                    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                        return Err(ca_err("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into()));
                    }
                    let cert = Certificate::from_pem(&pem).map_err(|e| ca_err(e.to_string()))?;
                    b = b.add_root_certificate(cert);
                }
                Some(b.build_rustls().map_err(|e| DeliverError::Connect {
                    server: settings.server(),
                    detail: format!("TLS setup: {e}"),
                })?)
            }
        };
        Ok(SmtpTransport {
            settings: settings.clone(),
            from: from.email.clone(),
            credentials,
            tls,
            hello: ClientId::default(),
            conn: None,
            last_start: None,
            last_used: None,
            stopping,
        })
    }

    fn stop_requested(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Runs `work` on a helper thread and waits for it, looking at the stop flag every
    /// 20 ms; on a stop, `give_up()` decides whether to abandon the wait (`None`; the
    /// helper's result is then dropped when it comes).
    fn wait_on<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
        give_up: impl Fn() -> bool,
    ) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("quotad-smtp".into()).spawn(move || {
            let _ = tx.send(work());
        });
        if spawned.is_err() {
            return None;
        }
        loop {
            match rx.recv_timeout(STOP_POLL) {
                Ok(t) => return Some(t),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if self.stop_requested() && give_up() {
                        return None;
                    }
                }
            }
        }
    }

    fn abandoned(&self, step: &str) -> DeliverError {
        DeliverError::Abandoned { server: self.settings.server(), step: step.into() }
    }

    /// Opens a session on a helper thread ([`connect`]); a stop abandons the wait.
    fn connect(&self) -> Result<SmtpConnection, DeliverError> {
        if self.stop_requested() {
            return Err(self.abandoned("connecting"));
        }
        let (s, tls, hello, credentials) =
            (self.settings.clone(), self.tls.clone(), self.hello.clone(), self.credentials.clone());
        self.wait_on(move || connect(&s, tls.as_ref(), &hello, credentials.as_ref()), || true)
            .unwrap_or_else(|| Err(self.abandoned("connecting (greeting, EHLO, STARTTLS, AUTH)")))
    }

    /// Keeps the open session if it still answers (checked with NOOP after 20 s idle),
    /// else opens a new one.
    fn ensure_session(&mut self) -> Result<(), DeliverError> {
        if let Some(conn) = &mut self.conn {
            let idle = self.last_used.is_some_and(|t| t.elapsed() > IDLE_CHECK);
            if conn.has_broken() || (idle && !conn.test_connected()) {
                tracing::debug!(server = %self.settings.server(), "SMTP session lost; reconnecting");
                self.conn = None;
            } else if idle {
                self.last_used = Some(Instant::now());
            }
        }
        if self.conn.is_none() {
            self.conn = Some(self.connect()?);
            self.last_used = Some(Instant::now());
        }
        Ok(())
    }

    /// Waits so that message starts are at least 60 s / `max_per_minute` apart; a stop
    /// ends the wait ([`DeliverError::Abandoned`]).
    fn pace(&self) -> Result<(), DeliverError> {
        if self.settings.max_per_minute == 0 {
            return Ok(());
        }
        let gap = Duration::from_secs(60) / self.settings.max_per_minute;
        if let Some(last) = self.last_start {
            let until = last + gap;
            while Instant::now() < until {
                if self.stop_requested() {
                    return Err(self.abandoned("waiting for the rate limit (mail.smtp.max_per_minute)"));
                }
                std::thread::sleep((until - Instant::now()).min(STOP_POLL));
            }
        }
        Ok(())
    }
}

impl Transport for SmtpTransport {
    fn prepare(&mut self) -> Result<(), DeliverError> {
        self.pace()?;
        self.last_start = Some(Instant::now());
        self.ensure_session()
    }

    fn send(&mut self, m: &Queued) -> Result<Vec<Refusal>, DeliverError> {
        let label = m.recipients.join(", ");
        let to = m
            .recipients
            .iter()
            .map(|r| r.parse::<Address>().map_err(|_| DeliverError::Address { address: r.to_string() }))
            .collect::<Result<Vec<_>, _>>()?;
        self.ensure_session()?;
        let mut conn = self.conn.take().expect("ensure_session opened a session");
        let data = dot_stuffed(m.message);
        if data.is_none() && !conn.server_info().supports_feature(Extension::EightBitMime) {
            self.conn = Some(conn);
            return Err(DeliverError::Build {
                to: label,
                detail: format!("the message is not 7-bit and {} does not offer 8BITMIME", self.settings.server()),
            });
        }
        // On a helper thread: a stop before the payload abandons the transaction (the
        // helper then drops the connection without writing it); a stop after, waits.
        let phase = Arc::new(AtomicU8::new(PHASE_COMMANDS));
        let (helper_phase, message, from) = (phase.clone(), m.message.to_vec(), self.from.clone());
        let outcome = self.wait_on(
            move || {
                let r = transaction(&mut conn, &from, &to, &message, data, &helper_phase);
                if !matches!(r, Some(Ok(_))) {
                    conn.abort();
                }
                (conn, r)
            },
            || phase.compare_exchange(PHASE_COMMANDS, PHASE_ABANDONED, Ordering::SeqCst, Ordering::SeqCst).is_ok(),
        );
        self.last_used = Some(Instant::now());
        let result = match outcome {
            Some((conn, Some(result))) => {
                if result.is_ok() {
                    self.conn = Some(conn);
                }
                result
            }
            _ => return Err(self.abandoned("the transaction (MAIL, RCPT, DATA), before the message was written")),
        };
        let refused = |to: &str, e: &lettre::transport::smtp::Error| DeliverError::Refused {
            server: self.settings.server(),
            to: to.into(),
            detail: e.to_string(),
            permanent: e.is_permanent(),
        };
        match result {
            Ok(refusals) => {
                tracing::debug!(
                    server = %self.settings.server(),
                    to = %label,
                    refused = refusals.len(),
                    "SMTP accepted {}",
                    m.name
                );
                Ok(refusals
                    .into_iter()
                    .map(|(i, e)| Refusal {
                        recipient: m.recipients[i].to_string(),
                        error: refused(m.recipients[i], &e),
                    })
                    .collect())
            }
            // The session is aborted (QUIT and shutdown): the next message reconnects.
            Err(e) if e.is_permanent() || e.is_transient() => Err(refused(&label, &e)),
            Err(e) => Err(DeliverError::Network {
                server: self.settings.server(),
                to: label,
                detail: describe(
                    "the transaction",
                    &e,
                    self.settings.command_timeout,
                    "mail.smtp.command_timeout_seconds",
                ),
            }),
        }
    }

    fn describe(&self) -> String {
        let how = match self.settings.tls {
            TlsMode::StartTls => "STARTTLS",
            TlsMode::Tls => "implicit TLS",
            TlsMode::None => "unencrypted, local relay",
        };
        format!("SMTP {} ({how})", self.settings.server())
    }

    fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.quit();
        }
    }
}

impl Drop for SmtpTransport {
    fn drop(&mut self) {
        self.close();
    }
}

/// Opens a session: TCP, greeting, EHLO, then STARTTLS (for "starttls") and AUTH (with
/// a user name), each bounded by the connect timeout; afterwards replies are bounded by
/// the command timeout.
fn connect(
    s: &SmtpSettings,
    tls: Option<&TlsParameters>,
    hello: &ClientId,
    credentials: Option<&Credentials>,
) -> Result<SmtpConnection, DeliverError> {
    let fail = |step: &str, e: lettre::transport::smtp::Error| DeliverError::Connect {
        server: s.server(),
        detail: describe(step, &e, s.connect_timeout, "mail.smtp.connect_timeout_seconds"),
    };
    let wrapper = if s.tls == TlsMode::Tls { tls } else { None };
    let step = if wrapper.is_some() { "connect (implicit TLS)" } else { "connect" };
    let mut conn = SmtpConnection::connect((s.host.as_str(), s.port), Some(s.connect_timeout), hello, wrapper, None)
        .map_err(|e| fail(step, e))?;
    if s.tls == TlsMode::StartTls {
        if !conn.can_starttls() {
            conn.abort();
            return Err(DeliverError::Connect {
                server: s.server(),
                detail: "the server does not offer STARTTLS, which mail.smtp.tls = \"starttls\" requires".into(),
            });
        }
        let params = tls.expect("TLS parameters exist for starttls");
        conn.starttls(params, hello).map_err(|e| fail("STARTTLS", e))?;
    }
    if let Some(c) = credentials {
        conn.auth(&[Mechanism::Plain, Mechanism::Login], c).map_err(|e| fail("AUTH", e))?;
    }
    conn.set_timeout(Some(s.command_timeout)).map_err(|e| DeliverError::Connect {
        server: s.server(),
        detail: format!("cannot set the command timeout: {e}"),
    })?;
    tracing::debug!(
        server = %s.server(),
        tls = s.tls.as_str(),
        encrypted = conn.is_encrypted(),
        user = s.username.as_deref().unwrap_or("(no AUTH)"),
        "SMTP session open"
    );
    Ok(conn)
}

/// One message's SMTP transaction: MAIL, one RCPT per recipient, DATA, then the
/// dot-stuffed message and its terminating `CRLF . CRLF` in a single write. (lettre's
/// `SmtpConnection::send` writes the terminator separately; with Nagle's algorithm and
/// the server's delayed ACK that stalls every message about 40 ms, and widens the crash
/// window by as much; it also gives up at the first refused recipient.) A recipient
/// refused at RCPT (4xx or 5xx) is returned with its index and the others still get the
/// message; when every one is refused, RSET ends the transaction and nothing is sent.
/// `data` is the dot-stuffed 7-bit message ([`dot_stuffed`]); `None` sends `message`
/// as 8BITMIME, which the caller has checked the server offers.
///
/// `phase` goes from commands to data just before the payload is written; `None` when
/// the waiting caller had abandoned the transaction first (the payload was not written).
fn transaction(
    conn: &mut SmtpConnection,
    from: &Address,
    recipients: &[Address],
    message: &[u8],
    data: Option<String>,
    phase: &AtomicU8,
) -> Option<Result<Vec<(usize, lettre::transport::smtp::Error)>, lettre::transport::smtp::Error>> {
    let to_data = || phase.compare_exchange(PHASE_COMMANDS, PHASE_DATA, Ordering::SeqCst, Ordering::SeqCst).is_ok();
    let options = match data {
        Some(_) => vec![],
        None => vec![MailParameter::Body(MailBodyParameter::EightBitMime)],
    };
    // MAIL, every RCPT, then DATA (or RSET when nobody was accepted): `true` when the
    // server waits for the payload.
    let commands = || -> Result<_, lettre::transport::smtp::Error> {
        conn.command(Mail::new(Some(from.clone()), options))?;
        let mut refused = Vec::new();
        for (i, to) in recipients.iter().enumerate() {
            match conn.command(Rcpt::new(to.clone(), vec![])) {
                Ok(_) => {}
                Err(e) if e.is_permanent() || e.is_transient() => refused.push((i, e)),
                Err(e) => return Err(e),
            }
        }
        if refused.len() == recipients.len() {
            conn.command(Rset)?;
            return Ok((refused, false));
        }
        conn.command(Data)?;
        Ok((refused, true))
    };
    let refused = match commands() {
        Err(e) => return Some(Err(e)),
        Ok((refused, false)) => return Some(Ok(refused)),
        Ok((refused, true)) => refused,
    };
    if !to_data() {
        return None;
    }
    let written = match data {
        Some(d) => conn.command(d),
        None => conn.message(message),
    };
    Some(written.map(|_| refused))
}

/// The DATA payload of a 7-bit message: a line that starts with "." gets another
/// (RFC 5321 §4.5.2), then `CRLF . CRLF`. `None` for a message that is not 7-bit.
fn dot_stuffed(message: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(message).ok().filter(|t| t.is_ascii())?;
    let mut out = String::with_capacity(text.len() + 64);
    let mut line_start = true;
    for c in text.chars() {
        if line_start && c == '.' {
            out.push('.');
        }
        out.push(c);
        line_start = c == '\n';
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    Some(out)
}

/// A lettre error as one phrase; a read or write that ran out of time says which limit
/// (and which config key) it hit.
fn describe(step: &str, e: &lettre::transport::smtp::Error, limit: Duration, key: &str) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        {
            return format!("no answer within {} s during {step} ({key})", limit.as_secs_f64());
        }
        source = s.source();
    }
    format!("{step} failed: {e}")
}

#[cfg(test)]
mod tests {
    use super::dot_stuffed;

    #[test]
    fn dot_stuffing_and_the_terminator() {
        assert_eq!(dot_stuffed(b"a\r\n.b\r\n..c\r\nd.e").unwrap(), "a\r\n..b\r\n...c\r\nd.e\r\n.\r\n");
        assert_eq!(dot_stuffed(b".x\r\n").unwrap(), "..x\r\n.\r\n");
        assert_eq!(dot_stuffed("Søren".as_bytes()), None);
    }
}
