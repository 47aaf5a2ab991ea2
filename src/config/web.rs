//! `[web]`: the sales-floor board's web face (issue 21): where `quotad serve` listens
//! for HTTP (off by default), the environment variable holding the board's secret
//! token, how often an open board looks for new figures and rotates its side panel, and
//! how many reps the company board lists.
//!
//! Validates into [`WebSettings`]; imports serde/toml, nothing else. The token itself is
//! read from the environment by `quotad serve`, never from this file.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;

/// The web face's settings (config `[web]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    /// Where `quotad serve` answers HTTP (`web.listen`, e.g. `127.0.0.1:8080`; port 0 =
    /// any free port, printed at start); `None` (the default) = no web face.
    pub listen: Option<SocketAddr>,
    /// The environment variable holding the board's secret token (`web.token_env`,
    /// default `QUOTAD_BOARD_TOKEN`); the board's URLs need `?token=THAT`.
    pub token_env: String,
    /// How often an open board asks for new figures (`web.refresh_seconds`, default 3).
    pub refresh: Duration,
    /// How long each side panel (teams, celebrations) stays up (`web.rotate_seconds`,
    /// default 12).
    pub rotate: Duration,
    /// How many ranked reps the company board lists (`web.rows`, default 12: what a
    /// 1080p screen shows legibly from across a room); the rest are counted.
    pub rows: usize,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            listen: None,
            token_env: "QUOTAD_BOARD_TOKEN".into(),
            refresh: Duration::from_secs(3),
            rotate: Duration::from_secs(12),
            rows: 12,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawWeb {
    listen: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    refresh_seconds: Option<Spanned<u64>>,
    rotate_seconds: Option<Spanned<u64>>,
    rows: Option<Spanned<u64>>,
}

/// Validates `[web]`: `listen` an IP address and port (`127.0.0.1:8080`, `[::1]:8080`);
/// `token_env` a non-empty name of letters, digits and `_`; `refresh_seconds` 1 to 60;
/// `rotate_seconds` 3 to 600; `rows` 3 to 40.
pub(super) fn settings(
    raw: &RawWeb,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<WebSettings, ConfigError> {
    let mut s = WebSettings::default();
    if let Some(l) = &raw.listen {
        s.listen = Some(l.get_ref().trim().parse().map_err(|_| {
            err(
                l.span(),
                format!(
                    "web.listen: '{}' is not an IP address and port such as \"127.0.0.1:8080\" (a host name is not accepted)",
                    l.get_ref()
                ),
            )
        })?);
    }
    if let Some(t) = &raw.token_env {
        let v = t.get_ref();
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(err(
                t.span(),
                format!(
                    "web.token_env: '{v}' should name an environment variable (letters, digits, _), e.g. \"QUOTAD_BOARD_TOKEN\""
                ),
            ));
        }
        s.token_env = v.clone();
    }
    let ranged = |v: &Option<Spanned<u64>>, key: &str, lo: u64, hi: u64, default: u64| match v {
        None => Ok(default),
        Some(x) if (lo..=hi).contains(x.get_ref()) => Ok(*x.get_ref()),
        Some(x) => {
            Err(err(x.span(), format!("web.{key}: {} should be from {lo} to {hi} (default {default})", x.get_ref())))
        }
    };
    s.refresh = Duration::from_secs(ranged(&raw.refresh_seconds, "refresh_seconds", 1, 60, 3)?);
    s.rotate = Duration::from_secs(ranged(&raw.rotate_seconds, "rotate_seconds", 3, 600, 12)?);
    s.rows = ranged(&raw.rows, "rows", 3, 40, 12)? as usize;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, parse};

    #[test]
    fn web_is_off_by_default_and_validates() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.web, WebSettings::default());
        assert_eq!(c.web.listen, None);
        let c = parse(&format!(
            "{MINIMAL}\n[web]\nlisten = \"127.0.0.1:8080\"\ntoken_env = \"TV_TOKEN\"\nrefresh_seconds = 5\nrows = 20\n"
        ))
        .unwrap();
        assert_eq!(c.web.listen, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(c.web.token_env, "TV_TOKEN");
        assert_eq!(c.web.refresh, Duration::from_secs(5));
        assert_eq!(c.web.rows, 20);
        let e = parse(&format!("{MINIMAL}\n[web]\nlisten = \"localhost:8080\"\n")).unwrap_err();
        assert!(e.message.contains("web.listen: 'localhost:8080'"), "{e}");
        assert_eq!(e.line, Some(18));
        let e = parse(&format!("{MINIMAL}\n[web]\nrefresh_seconds = 0\n")).unwrap_err();
        assert!(e.message.contains("web.refresh_seconds: 0 should be from 1 to 60"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[web]\ntoken_env = \"my token\"\n")).unwrap_err();
        assert!(e.message.contains("web.token_env"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[web]\ntoken = \"secret\"\n")).unwrap_err();
        assert!(e.message.contains("unknown field `token`"), "{e}");
    }
}
