//! The web face of `quotad serve` (issue 21, config `[web]`, off by default): the
//! sales-floor board for the office TV, and the health and metrics endpoints an
//! operator's monitoring scrapes. Read-only: every answer comes from the state database
//! opened read-only through `pipeline` (the same computed standings as `quotad
//! standings` and the weekly ranking PDF); nothing here writes state.
//!
//! | path | what | token |
//! | --- | --- | --- |
//! | `/board` | the company board, month to date (HTML page) | yes |
//! | `/board/team/NAME` | one team's board | yes |
//! | `…/live` | the page's live part, fetched every `refresh_seconds` | yes |
//! | `…/data` | the board as JSON (the same view the page shows) | yes |
//! | `/board/app.js` | the page's script (static) | no |
//! | `/healthz` | 200 when the state opens and the heartbeat is recent, else 503 | no |
//! | `/metrics` | Prometheus text: jobs, outbox, dead letters, imports | no |
//!
//! A TV cannot log in, so the board's URLs carry a secret token (`?token=`, from the
//! environment variable `web.token_env`); a missing or wrong token gets the same 404
//! as a path that does not exist. The health and metrics endpoints show no names.
//!
//! Owns axum. Imports `pipeline`, `config` and `schedule` (the daemon's clock); no stage.
//! `cmd::serve` binds the listener and runs [`serve`] on the daemon's tokio runtime.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::config::Config;
use crate::pipeline::{self, BoardData, Templates};
use crate::schedule::Clock;

/// The board page's script.
const APP_JS: &str = include_str!("app.js");

/// What every request handler reads: the config, the daemon's clock, the token, the
/// templates, and the last computed standings (recomputed only when an import or the
/// day changed them).
pub struct Web {
    cfg: Config,
    clock: Arc<dyn Clock>,
    token: String,
    templates: Templates,
    cache: Mutex<Option<Arc<BoardData>>>,
}

impl Web {
    /// The web face's state. `token` is the board's secret (from the environment).
    ///
    /// Errors: the templates do not load (names the template).
    pub fn new(cfg: &Config, clock: Arc<dyn Clock>, token: String) -> anyhow::Result<Web> {
        Ok(Web { cfg: cfg.clone(), clock, token, templates: pipeline::load_templates(cfg)?, cache: Mutex::new(None) })
    }

    /// The board's standings now: the cached ones while no import and no new day changed
    /// them, else computed again.
    fn data(&self) -> anyhow::Result<Arc<BoardData>> {
        let now = self.clock.now();
        let key = pipeline::board_key(&self.cfg, now)?;
        if let Some(d) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && d.key == key
        {
            return Ok(d.clone());
        }
        let d = Arc::new(pipeline::board_data(&self.cfg, now)?);
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some(d.clone());
        Ok(d)
    }
}

/// Serves the web face on `listener` until `shutdown` completes, then finishes the
/// requests in flight.
///
/// Errors: the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    web: Arc<Web>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(web)).with_graceful_shutdown(shutdown).await
}

/// The routes (see the module's table).
pub fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/board", get(company_page))
        .route("/board/live", get(company_live))
        .route("/board/data", get(company_data))
        .route("/board/app.js", get(app_js))
        .route("/board/team/{name}", get(team_page))
        .route("/board/team/{name}/live", get(team_live))
        .route("/board/team/{name}/data", get(team_data))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { not_found() })
        .with_state(web)
}

type Params = Query<HashMap<String, String>>;

/// How a board is answered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Page,
    Live,
    Data,
}

async fn company_page(State(w): State<Arc<Web>>, Query(q): Params) -> Response {
    board(w, q, None, Part::Page).await
}
async fn company_live(State(w): State<Arc<Web>>, Query(q): Params) -> Response {
    board(w, q, None, Part::Live).await
}
async fn company_data(State(w): State<Arc<Web>>, Query(q): Params) -> Response {
    board(w, q, None, Part::Data).await
}
async fn team_page(State(w): State<Arc<Web>>, Path(name): Path<String>, Query(q): Params) -> Response {
    board(w, q, Some(name), Part::Page).await
}
async fn team_live(State(w): State<Arc<Web>>, Path(name): Path<String>, Query(q): Params) -> Response {
    board(w, q, Some(name), Part::Live).await
}
async fn team_data(State(w): State<Arc<Web>>, Path(name): Path<String>, Query(q): Params) -> Response {
    board(w, q, Some(name), Part::Data).await
}

/// A board: 404 without the right token or for a team not in this month's standings.
async fn board(w: Arc<Web>, q: HashMap<String, String>, team: Option<String>, part: Part) -> Response {
    if !token_matches(&w.token, q.get("token").map(String::as_str)) {
        return not_found();
    }
    let answer = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<(String, bool)>> {
        let data = w.data()?;
        let Some(view) = pipeline::board_page(&w.cfg, &data, team.as_deref()) else { return Ok(None) };
        if part == Part::Data {
            return Ok(Some((serde_json::to_string(&view)?, false)));
        }
        let live_url = match &team {
            None => format!("/board/live?token={}", encode(&w.token)),
            Some(t) => format!("/board/team/{}/live?token={}", encode(t), encode(&w.token)),
        };
        Ok(Some((pipeline::render_board(&w.cfg, &w.templates, &view, &live_url, part == Part::Page)?, true)))
    })
    .await;
    match answer {
        Ok(Ok(Some((body, html)))) => {
            let kind = if html { "text/html; charset=utf-8" } else { "application/json" };
            with_headers((StatusCode::OK, body).into_response(), kind)
        }
        Ok(Ok(None)) => not_found(),
        Ok(Err(e)) => {
            tracing::warn!("web: the board cannot be computed: {e:#}");
            with_headers(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The board's figures cannot be read now; see quotad serve's log.\n",
                )
                    .into_response(),
                "text/plain; charset=utf-8",
            )
        }
        Err(e) => {
            tracing::warn!("web: the board's worker failed: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn app_js() -> Response {
    with_headers(APP_JS.into_response(), "text/javascript; charset=utf-8")
}

async fn healthz(State(w): State<Arc<Web>>) -> Response {
    let h = tokio::task::spawn_blocking(move || pipeline::health(&w.cfg, w.clock.now())).await;
    let (code, text) = match h {
        Ok(h) => (
            if h.ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE },
            format!("{}\n{}\n", if h.ok { "ok" } else { "unhealthy" }, h.lines.join("\n")),
        ),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy\n{e}\n")),
    };
    with_headers((code, text).into_response(), "text/plain; charset=utf-8")
}

async fn metrics(State(w): State<Arc<Web>>) -> Response {
    match tokio::task::spawn_blocking(move || pipeline::prometheus(&w.cfg, w.clock.now())).await {
        Ok(Ok(text)) => with_headers(text.into_response(), "text/plain; version=0.0.4; charset=utf-8"),
        Ok(Err(e)) => {
            tracing::warn!("web: metrics cannot be read: {e:#}");
            (StatusCode::INTERNAL_SERVER_ERROR, "metrics cannot be read; see quotad serve's log\n").into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn not_found() -> Response {
    with_headers((StatusCode::NOT_FOUND, "Not Found\n").into_response(), "text/plain; charset=utf-8")
}

/// Sets the content type, and headers for a page whose URL holds a secret: never cached,
/// never sent as a referrer, never framed; scripts only from this server (a name that
/// is markup is text anyway: the templates escape it).
fn with_headers(mut r: Response, content_type: &'static str) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    r
}

/// Whether `given` is the token, compared in constant time (no early exit on the first
/// different byte).
fn token_matches(token: &str, given: Option<&str>) -> bool {
    let Some(g) = given else { return false };
    let (a, b) = (token.as_bytes(), g.as_bytes());
    !a.is_empty() && a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Percent-encodes `s` for a URL path segment or query value (RFC 3986 unreserved
/// characters stay).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_must_match_whole() {
        assert!(token_matches("s3cret-token-0123", Some("s3cret-token-0123")));
        assert!(!token_matches("s3cret-token-0123", Some("s3cret-token-012")));
        assert!(!token_matches("s3cret-token-0123", Some("s3cret-token-0124")));
        assert!(!token_matches("s3cret-token-0123", None));
        assert!(!token_matches("", Some("")));
    }

    #[test]
    fn urls_are_percent_encoded() {
        assert_eq!(encode("North Division"), "North%20Division");
        assert_eq!(encode("Zoë/<x>"), "Zo%C3%AB%2F%3Cx%3E");
    }
}
