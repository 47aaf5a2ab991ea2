//! Chat webhooks (issue 22): one HTTP POST of a JSON payload to a Slack, Microsoft
//! Teams or Google Chat incoming webhook, with timeouts on the connection and on the
//! whole request, and what its answer means for the outbox ([`PostError::class`]).
//!
//! The webhook URL is a secret (whoever holds it can post to the channel): it is read
//! from the environment by the caller, held in a [`Webhook`] whose `Debug` hides it,
//! and never appears in an error — errors name the channel and the URL's origin
//! (`https://hooks.slack.com`) only, and anything the HTTP client says is scrubbed of
//! the URL ([`Webhook::redact`]). Imports `domain` and ureq only; never the ledger.

use std::io::Read;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::FailureClass;

/// The least time between two posts to one webhook, from each platform's documented
/// rate: Slack allows 1 message per second per incoming webhook (short bursts
/// tolerated); Google Chat 60 message writes per minute per space, shared by its
/// webhooks; Microsoft Teams 4 requests per second per incoming webhook (its connector
/// limits: also 60 per 30 s, 100 per hour — beyond that Teams answers 429, which waits
/// its `Retry-After`). One a second for Slack and Google Chat, one every half second
/// for Teams.
pub fn min_interval(kind: crate::domain::ChatKind) -> Duration {
    match kind {
        crate::domain::ChatKind::Slack | crate::domain::ChatKind::GoogleChat => Duration::from_secs(1),
        crate::domain::ChatKind::Teams => Duration::from_millis(500),
    }
}

/// Spaces the posts to each webhook within one delivery pass: remembers when the last
/// post to each [`Webhook`] ended (in memory only: the URL is never stored).
#[derive(Debug, Default)]
pub struct Pacer {
    last: Vec<(Webhook, std::time::Instant)>,
}

impl Pacer {
    /// How long to wait, from `now`, before the next post to `hook` keeps `gap` after
    /// the end of the last one (zero for a webhook not posted to yet).
    pub fn wait(&self, hook: &Webhook, gap: Duration, now: std::time::Instant) -> Duration {
        self.last
            .iter()
            .find(|(h, _)| h == hook)
            .map_or(Duration::ZERO, |(_, at)| (*at + gap).saturating_duration_since(now))
    }

    /// Records that a post to `hook` ended at `at`.
    pub fn posted(&mut self, hook: &Webhook, at: std::time::Instant) {
        match self.last.iter_mut().find(|(h, _)| h == hook) {
            Some(e) => e.1 = at,
            None => self.last.push((hook.clone(), at)),
        }
    }
}

/// An incoming-webhook URL, checked: `https://…`, or `http://` to a loopback host only
/// (a relay or a test server on this machine). `Debug` and `Display` show only its
/// origin.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    url: String,
    origin: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({}/…)", self.origin)
    }
}

impl Webhook {
    /// Checks `url`'s shape. Errors say what is wrong without repeating the URL
    /// (it may be a real secret pasted in the wrong place).
    pub fn parse(url: &str) -> Result<Webhook, String> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or("is not a URL (expected https://…)")?;
        let scheme = scheme.to_ascii_lowercase();
        let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host_port.is_empty() || host_port.contains('@') {
            return Err("has no host (or carries a user name): expected https://HOST/…".into());
        }
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
        };
        let loopback =
            host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        match scheme.as_str() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err("uses plain http to a remote host: webhooks must be https://".into()),
            _ => return Err(format!("has scheme '{scheme}': expected https://")),
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains spaces or control characters".into());
        }
        Ok(Webhook { url: url.to_string(), origin: format!("{scheme}://{host_port}") })
    }

    /// `scheme://host[:port]`: what errors and logs may name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `text` with the URL, and its path and query, replaced by `…` (`ORIGIN/…`), so
    /// that no error built from a client's message can leak it.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.replace(&self.url, &format!("{}/…", self.origin));
        let secret = &self.url[self.url.find("://").map_or(0, |i| i + 3)..];
        let path = secret.find(['/', '?']).map_or("", |i| &secret[i..]);
        if !secret.is_empty() {
            out = out.replace(secret, "…");
        }
        if path.len() > 1 {
            out = out.replace(path, "/…");
        }
        out
    }
}

/// Timeouts of one post (config `[[channels]] timeout_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostTimeouts {
    /// To open the TCP (and TLS) connection.
    pub connect: Duration,
    /// For the whole request: connection, sending, the answer and its body.
    pub whole: Duration,
}

/// A post that did not get a 2xx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostError {
    /// What happened, naming the channel, the platform and the webhook's origin, with
    /// the HTTP status and the answer's first 300 characters; never the URL.
    pub message: String,
    /// Retried with backoff (timeouts, network errors, 408, 429, 5xx) or dead (any
    /// other answer: 4xx, a redirect).
    pub retry: bool,
    /// The server's `Retry-After` (429, 503), at most an hour.
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl PostError {
    /// How the outbox treats it: [`FailureClass::Transient`] or [`FailureClass::Permanent`].
    pub fn class(&self) -> FailureClass {
        if self.retry { FailureClass::Transient } else { FailureClass::Permanent }
    }
}

/// The longest `Retry-After` honoured: a longer one waits an hour.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Reads a `Retry-After` value: delay-seconds, or an HTTP-date (RFC 9110 §10.2.3)
/// counted from `now`; capped at an hour. `None` if it is neither.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?;
    Some((at.with_timezone(&Utc) - now).to_std().unwrap_or_default().min(MAX_RETRY_AFTER))
}

/// POSTs `body` (JSON) to `hook` for channel `channel` on `platform` (e.g. "Slack"),
/// following no redirect. Ok on any 2xx.
///
/// Errors ([`PostError`]): 429 and 5xx (with `Retry-After` when given), 408, timeouts
/// and network errors are retried; any other status is dead at once, with the
/// answer's first 300 characters (Slack says e.g. `no_service` or `invalid_payload`).
pub fn post(
    hook: &Webhook,
    channel: &str,
    platform: &str,
    body: &[u8],
    timeouts: PostTimeouts,
    now: DateTime<Utc>,
) -> Result<(), PostError> {
    let who = format!("{platform} channel '{channel}' ({}/…)", hook.origin());
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(timeouts.connect))
        .timeout_global(Some(timeouts.whole))
        .user_agent(concat!("quotad/", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let answer = agent.post(hook.url.as_str()).header("Content-Type", "application/json; charset=utf-8").send(body);
    let mut response = match answer {
        Ok(r) => r,
        Err(e) => {
            let what = match &e {
                ureq::Error::Timeout(_) => format!(
                    "no answer within {} s (connect {} s)",
                    timeouts.whole.as_secs(),
                    timeouts.connect.as_secs()
                ),
                other => hook.redact(&other.to_string()),
            };
            return Err(PostError { message: format!("{who}: {what}"), retry: true, retry_after: None });
        }
    };
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| retry_after(v, now));
    let mut text = String::new();
    let _ = response.body_mut().as_reader().take(4096).read_to_string(&mut text);
    let text: String = hook.redact(text.trim()).chars().take(300).collect();
    let said = if text.is_empty() { String::new() } else { format!(": {text}") };
    let retry = status == 429 || status == 408 || status >= 500;
    let why = match status {
        429 => " (rate limited)",
        300..=399 => " (a redirect: the webhook URL is out of date)",
        404 | 410 => " (the webhook or its channel is gone)",
        _ => "",
    };
    Err(PostError { message: format!("{who}: HTTP {status}{why}{said}"), retry, retry_after: after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_spaces_posts_to_one_webhook_only() {
        let a = Webhook::parse("https://hooks.slack.com/services/A").unwrap();
        let b = Webhook::parse("https://hooks.slack.com/services/B").unwrap();
        let t0 = std::time::Instant::now();
        let mut p = Pacer::default();
        let gap = min_interval(crate::domain::ChatKind::Slack);
        assert_eq!(p.wait(&a, gap, t0), Duration::ZERO);
        p.posted(&a, t0);
        assert_eq!(p.wait(&a, gap, t0 + Duration::from_millis(300)), Duration::from_millis(700));
        assert_eq!(p.wait(&b, gap, t0), Duration::ZERO, "another webhook does not wait");
        assert_eq!(p.wait(&a, gap, t0 + Duration::from_secs(2)), Duration::ZERO);
        assert_eq!(min_interval(crate::domain::ChatKind::Teams), Duration::from_millis(500));
        assert_eq!(min_interval(crate::domain::ChatKind::GoogleChat), Duration::from_secs(1));
    }

    #[test]
    fn webhooks_are_https_or_loopback_http() {
        assert!(Webhook::parse("https://hooks.slack.com/services/T0/B0/XYZ").is_ok());
        assert!(Webhook::parse("http://127.0.0.1:8080/hook").is_ok());
        assert!(Webhook::parse("http://localhost/hook").is_ok());
        assert!(Webhook::parse("http://[::1]:9/x").is_ok());
        let e = Webhook::parse("http://hooks.slack.com/services/T0/B0/SECRET").unwrap_err();
        assert!(e.contains("https") && !e.contains("SECRET"), "{e}");
        assert!(Webhook::parse("hooks.slack.com/services/x").is_err());
        assert!(Webhook::parse("https://user@host/x").is_err());
        assert!(Webhook::parse("ftp://host/x").is_err());
    }

    #[test]
    fn redaction_removes_the_url_its_path_and_query() {
        let h = Webhook::parse("https://chat.googleapis.com/v1/spaces/AAA/messages?key=K1&token=T2").unwrap();
        assert_eq!(h.origin(), "https://chat.googleapis.com");
        assert_eq!(format!("{h:?}"), "Webhook(https://chat.googleapis.com/…)");
        let r = h.redact("bad uri: https://chat.googleapis.com/v1/spaces/AAA/messages?key=K1&token=T2 (x)");
        assert_eq!(r, "bad uri: https://chat.googleapis.com/… (x)");
        let r = h.redact("path /v1/spaces/AAA/messages?key=K1&token=T2 refused");
        assert_eq!(r, "path /… refused");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates_capped_at_an_hour() {
        let now = DateTime::parse_from_rfc3339("2026-11-09T08:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(retry_after("Mon, 09 Nov 2026 08:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Mon, 09 Nov 2026 07:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(retry_after("86400", now), Some(Duration::from_secs(3600)));
        assert_eq!(retry_after("soon", now), None);
    }
}
