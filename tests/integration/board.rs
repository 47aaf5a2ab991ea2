//! The sales-floor board (issue 21): `quotad serve` with `[web] listen` on a free port
//! of 127.0.0.1, read by headless Chromium through chromedriver (WebDriver over HTTP,
//! one browser session for the whole browser test) and by a plain HTTP client.
//!
//! The fixture (March 2026, "now" Wednesday 18 March, 10:00 CDT) and its figures,
//! worked out by hand:
//!
//! | rep | team | quota | deals (close date: amount) | to 15 Mar | to 18 Mar |
//! | --- | --- | --- | --- | --- | --- |
//! | Ann Archer | North | 100,000 | 5 Mar: 60,000; 16 Mar: 39,950 | 60.0% | 99.95% → **99.9%**, no ✓ |
//! | Bob Baker | North | 200,000 | 3 Mar: 250,000 | 125.0% | 125.0% ✓ |
//! | Cy Cole | South | 50,000 | 10 Mar: 30,000; 17 Mar: 30,000 | 60.0% | 120.0% ✓ |
//! | Dee Dunn | South | 80,000 | 16 Mar: 40,000 | 0.0% | 50.0% |
//! | `<script>alert(1)</script>` | North | 100,000 | 6 Mar: 10,000 | 10.0% | 10.0% |
//!
//! Last week's ranking (ISO week 11, 1–15 March): Bob 1, Ann 2, Cy 2 (tied at 60.0%),
//! the script-named rep 4, Dee 5. The board on 18 March: Bob 1 (=), Cy 2 (=), Ann 3
//! (▼ 1), Dee 4 (▲ 1), the script-named rep 5 (▼ 1). Then a re-export adds Dee's 60,000
//! on 18 March: Dee 100,000 / 80,000 = 125.0%, tied first with Bob (alphabetical: Bob,
//! Dee), Cy 3, Ann 4, the script-named rep 5.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Env, config};

const TOKEN: &str = "tv-7f3a9c2e51d84b06a1e2";
const NOW: &str = "2026-03-18T15:00:00Z";
const SCRIPT_NAME: &str = "<script>alert(1)</script>";

const ROSTER: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R2,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active
R4,Dee Dunn,dee@example.com,South,Max Chief,max@example.com,2019-05-20,Active
R5,<script>alert(1)</script>,xss@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
";

const QUOTAS: &str = "Rep Email,Month,Revenue Quota
ann@example.com,2026-03,100000
bob@example.com,2026-03,200000
cy@example.com,2026-03,50000
dee@example.com,2026-03,80000
xss@example.com,2026-03,100000
";

const DEALS: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price
D1,ann@example.com,Closed Won,2026-03-05,60000
D2,ann@example.com,Closed Won,2026-03-16,39950
D3,bob@example.com,Closed Won,2026-03-03,250000
D4,cy@example.com,Closed Won,2026-03-10,30000
D5,cy@example.com,Closed Won,2026-03-17,30000
D6,dee@example.com,Closed Won,2026-03-16,40000
D7,xss@example.com,Closed Won,2026-03-06,10000
";

/// The daemon's config: the web face on a free port, a fast heartbeat and inbox, no
/// scheduled jobs (they would only record missed occurrences).
fn board_config() -> String {
    config(
        "[schedule]\nsettle_seconds = 1\nrescan_seconds = 1\nheartbeat_seconds = 1\n[schedule.quota_memo]\nenabled = false\n[schedule.weekly_ranking]\nenabled = false\n[schedule.one_on_one]\nenabled = false\n[web]\nlisten = \"127.0.0.1:0\"\nrefresh_seconds = 1\n",
    )
}

/// Writes `inbox/NAME` dated (modification time: the export's date) `when`.
fn put_at(env: &Env, name: &str, text: &str, when: &str) {
    env.put(name, text);
    let t: chrono::DateTime<chrono::Utc> = when.parse().unwrap();
    let f = std::fs::File::options().write(true).open(env.path("inbox").join(name)).unwrap();
    f.set_modified(std::time::SystemTime::from(t)).unwrap();
}

/// The fixture, imported by the CLI (exported 18 March, 09:00 CDT).
fn march() -> Env {
    let env = Env::new(&board_config());
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", QUOTAS);
    put_at(&env, "deals-1.csv", DEALS, "2026-03-18T14:00:00Z");
    let run = env.quotad(&["--now", NOW, "import"]);
    assert_eq!(run.code, 0, "{run:?}");
    env
}

pub(crate) fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}

/// A running `quotad serve` with its web face; SIGTERM on drop.
pub(crate) struct Daemon<'a> {
    env: &'a Env,
    child: Child,
    /// `http://127.0.0.1:PORT`, as the daemon printed it.
    base: String,
}

impl<'a> Daemon<'a> {
    pub(crate) fn start(env: &'a Env, args: &[&str], vars: &[(&str, &str)]) -> Daemon<'a> {
        let child = env.spawn("serve", args, vars);
        let mut d = Daemon { env, child, base: String::new() };
        assert!(wait_for(Duration::from_secs(60), || d.out().contains("  web: board at http://")), "{}", d.err());
        let out = d.out();
        let at = out.split("  web: board at http://").nth(1).unwrap();
        d.base = format!("http://{}", &at[..at.find('/').unwrap()]);
        assert!(d.base.starts_with("http://127.0.0.1:"), "{}", d.base);
        d
    }

    pub(crate) fn out(&self) -> String {
        std::fs::read_to_string(self.env.path("serve.out")).unwrap_or_default()
    }

    fn err(&self) -> String {
        std::fs::read_to_string(self.env.path("serve.err")).unwrap_or_default()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Daemon<'_> {
    fn drop(&mut self) {
        let _ = Command::new("sh").args(["-c", &format!("kill -TERM {}", self.child.id())]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// GET `url`: (status, content type, body).
pub(crate) fn get(url: &str) -> (u16, String, String) {
    let mut r = agent().get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let kind = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (r.status().as_u16(), kind, r.body_mut().read_to_string().unwrap())
}

// ---------------------------------------------------------------------------------
// WebDriver: chromedriver and one headless Chromium session.

/// A chromedriver process and one Chromium session; both end on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The path of `name` on PATH.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session with a fresh
    /// profile and a 1920×1080 window. `None` (skipped) only with QUOTAD_ALLOW_SKIP=1
    /// when chromium or chromedriver is missing; else a missing one fails the test.
    fn start() -> Option<Browser> {
        let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
            crate::inputs::required(
                Path::new("/usr/bin/chromedriver"),
                "chromium and chromium-driver",
                "Debian packages chromium and chromium-driver; .ci/run installs them",
            )?;
            return None;
        };
        let port = free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        assert!(
            wait_for(Duration::from_secs(30), || agent()
                .get(&format!("{base}/status"))
                .call()
                .is_ok_and(|mut r| r.body_mut().read_to_string().is_ok_and(|b| b.contains("\"ready\":true")))),
            "chromedriver did not become ready on {base}"
        );
        let profile = tempfile::tempdir().unwrap();
        let caps = serde_json::json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-proxy-server", "--hide-scrollbars", "--window-size=1920,1080",
                        format!("--user-data-dir={}", profile.path().display()),
                    ]
                }
            }}
        });
        let mut b = Browser { driver, base, session: String::new(), _profile: profile };
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
        // The page's viewport is exactly a 1080p TV's (a headless window's size includes
        // its frame): Chrome's device metrics, through chromedriver's DevTools command.
        b.call(
            "POST",
            &b.session("/goog/cdp/execute"),
            Some(serde_json::json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": { "width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": false }
            })),
        );
        Some(b)
    }

    /// One WebDriver command; returns its `value`.
    fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let url = format!("{}{path}", self.base);
        let a = agent();
        let r = match (method, body) {
            ("GET", _) => a.get(&url).call(),
            ("DELETE", _) => a.delete(&url).call(),
            (_, b) => a
                .post(&url)
                .header("Content-Type", "application/json")
                .send(b.unwrap_or_else(|| serde_json::json!({})).to_string()),
        };
        let mut r = r.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = r.status().as_u16();
        let text = r.body_mut().with_config().limit(64 << 20).read_to_string().unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn session(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    fn open(&self, url: &str) {
        self.call("POST", &self.session("/url"), Some(serde_json::json!({ "url": url })));
    }

    /// Runs `script` (a function body) in the page; returns what it returns.
    fn js(&self, script: &str) -> serde_json::Value {
        self.call("POST", &self.session("/execute/sync"), Some(serde_json::json!({ "script": script, "args": [] })))
    }

    /// The page's board rows as the DOM holds them: [rank, movement, name, team,
    /// revenue, attainment, ✓, ★].
    fn rows(&self) -> Vec<Vec<String>> {
        let v = self.js("return Array.from(document.querySelectorAll('#board tbody tr.rep')).map(function (r) {
               var t = function (sel) { var e = r.querySelector(sel); return e ? e.textContent.trim() : ''; };
               return [t('.rank'), t('.move'), t('.rep-name'), t('td.team'), t('td.revenue'), t('.pct'),
                       r.querySelector('.check') ? '✓' : '', r.querySelector('.star') ? '★' : ''];
             });");
        serde_json::from_value(v).unwrap()
    }

    /// A screenshot of the window, PNG bytes.
    fn screenshot(&self) -> Vec<u8> {
        let v = self.call("GET", &self.session("/screenshot"), None);
        base64_decode(v.as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = agent().delete(&format!("{}/session/{}", self.base, self.session)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let v: Vec<u32> = chunk.iter().map(|c| val(*c) as u32).collect();
        let n = v.iter().enumerate().fold(0u32, |acc, (i, x)| acc | (x << (18 - 6 * i)));
        out.push((n >> 16) as u8);
        if v.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if v.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// A PNG's width and height (its IHDR chunk).
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------

/// The board in Chromium: the hand-worked ranks and figures; the same as `quotad
/// standings --format json` and the weekly ranking PDF of the same days; a new export
/// dropped in the inbox changes a rank on the open page without a reload; a script as a
/// name is text; no e-mail address or flag anywhere; a 1920×1080 screenshot.
#[test]
fn the_board_in_chromium_shows_the_standings_and_follows_an_import_without_a_reload() {
    let Some(browser) = Browser::start() else { return };
    let env = march();
    // The weekly ranking PDF and `quotad standings` for the same days (week 12 ranks
    // 1–22 March; nothing closes after the 18th), before the daemon holds the state.
    let pdf = env.quotad(&["--now", NOW, "preview", "weekly-ranking", "--week", "2026-W12", "--out", "p"]);
    assert_eq!(pdf.code, 0, "{pdf:?}");
    let standings = env.quotad(&["--now", NOW, "standings", "--period", "2026-03", "--format", "json"]);
    assert_eq!(standings.code, 0, "{standings:?}");
    let json: Vec<serde_json::Value> = serde_json::from_str(&standings.stdout).unwrap();

    let d = Daemon::start(&env, &["--now", NOW, "serve"], &[("QUOTAD_BOARD_TOKEN", TOKEN)]);
    browser.open(&d.url(&format!("/board?token={TOKEN}")));
    let expected = vec![
        row(&["1", "=", "Bob Baker", "North", "$250,000", "125.0%", "✓", ""]),
        row(&["2", "=", "Cy Cole", "South", "$60,000", "120.0%", "✓", ""]),
        row(&["3", "▼ 1", "Ann Archer", "North", "$99,950", "99.9%", "", ""]),
        row(&["4", "▲ 1", "Dee Dunn", "South", "$40,000", "50.0%", "", ""]),
        row(&["5", "▼ 1", SCRIPT_NAME, "North", "$10,000", "10.0%", "", ""]),
    ];
    assert_eq!(browser.rows(), expected);
    let header = browser.js("return document.querySelector('.top').innerText;");
    let header = header.as_str().unwrap();
    assert!(header.contains("Company board"), "{header}");
    assert!(header.contains("March 2026 to date") && header.contains("Mar 1 – Mar 18"), "{header}");
    assert!(header.contains("Preliminary") && header.contains("as of March 18, 2026"), "{header}");

    // The same ranks and figures as `quotad standings --format json` (revenue there in
    // exact currency units, "99950"; on the board "$99,950").
    let from_json: Vec<[String; 5]> = json
        .iter()
        .filter(|r| r["rank"].is_u64())
        .map(|r| {
            let pct = format!("{}%", r["attainment_pct"].as_str().unwrap());
            let team = r["team"].as_str().unwrap().to_string();
            let revenue = r["revenue"].as_str().unwrap().to_string();
            [r["rank"].to_string(), r["name"].as_str().unwrap().to_string(), team, revenue, pct]
        })
        .collect();
    let from_dom: Vec<[String; 5]> = browser
        .rows()
        .into_iter()
        .map(|r| [r[0].clone(), r[2].clone(), r[3].clone(), r[4].replace(['$', ','], ""), r[5].clone()])
        .collect();
    assert_eq!(from_dom, from_json);
    // The same order and attainments as the weekly ranking PDF of those days.
    let text = crate::documents::pages(&env.path("p/ranking_2026-W12.pdf")).join("\n");
    let mut last = 0;
    for r in &expected {
        let at = text[last..].find(&r[2]).unwrap_or_else(|| panic!("{} not after {last} in the PDF:\n{text}", r[2]));
        last += at + r[2].len();
        assert!(text[last..].contains(&r[5]), "{} {} in the PDF:\n{text}", r[2], r[5]);
    }
    assert!(!text.contains("100.0%") && !browser.js("return document.body.innerText;").to_string().contains("100.0%"));

    // A script as a name is text: no alert, one text node with the markup in it.
    let scripts = browser.js("return document.querySelectorAll('script').length;");
    assert_eq!(scripts, 1, "only the page's own script");
    let html = browser.js("return document.documentElement.outerHTML;").as_str().unwrap().to_string();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(!html.contains("<script>alert(1)</script>"));
    // Never an e-mail address, a manager or a flag on the board: page, live part, JSON.
    let (_, _, json_board) = get(&d.url(&format!("/board/data?token={TOKEN}")));
    for text in [&html, &json_board] {
        for private in ["@", "Mia Boss", "Max Chief", "below target", "off pace", "needs attention", "missed"] {
            assert!(!text.contains(private), "'{private}' on the board:\n{text}");
        }
    }

    // The side panel: the teams (North 359,950 / 400,000 = 89.9875% → 90.0%; South
    // 100,000 / 130,000 = 76.92% → 76.9%) and who is at quota.
    let teams = browser.js("return document.querySelector('[data-panel=teams]').textContent;");
    let teams = teams.as_str().unwrap();
    assert!(teams.contains("90.0%") && teams.contains("76.9%"), "{teams}");
    // One side panel is up at a time (they take turns every rotate_seconds).
    assert_eq!(browser.js("return document.querySelectorAll('.panel.shown').length;"), 1);
    assert_eq!(browser.js("return document.querySelectorAll('.panel').length;"), 2);
    let cheers = browser.js("return document.querySelector('[data-panel=celebrations]').textContent;");
    assert!(cheers.as_str().unwrap().contains("At quota: Bob Baker, Cy Cole"), "{cheers}");

    // A screenshot at 1920×1080, kept for people to look at.
    let png = browser.screenshot();
    assert_eq!(png_size(&png), (1920, 1080));
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("board-1920x1080.png");
    std::fs::write(&shot, &png).unwrap();
    eprintln!("board screenshot: {}", shot.display());

    // A re-export with Dee's 60,000 on the 18th lands in the inbox: the open page
    // changes Dee's rank from 4 to 1 (tied with Bob) by itself, without a reload.
    browser.js("window.notReloaded = 'yes'; return null;");
    put_at(
        &env,
        "deals-2.csv",
        &format!("{DEALS}D8,dee@example.com,Closed Won,2026-03-18,60000\n"),
        "2026-03-18T14:30:00Z",
    );
    let after = vec![
        row(&["1", "=", "Bob Baker", "North", "$250,000", "125.0%", "✓", ""]),
        row(&["1", "▲ 4", "Dee Dunn", "South", "$100,000", "125.0%", "✓", ""]),
        row(&["3", "▼ 1", "Cy Cole", "South", "$60,000", "120.0%", "✓", ""]),
        row(&["4", "▼ 2", "Ann Archer", "North", "$99,950", "99.9%", "", ""]),
        row(&["5", "▼ 1", SCRIPT_NAME, "North", "$10,000", "10.0%", "", ""]),
    ];
    let mut seen = Vec::new();
    assert!(
        wait_for(Duration::from_secs(60), || {
            seen = browser.rows();
            seen == after
        }),
        "the open board did not change within 60 s: {seen:?}\n{}",
        d.out()
    );
    assert_eq!(browser.js("return window.notReloaded || 'reloaded';"), "yes");
    let header = browser.js("return document.querySelector('.top').innerText;");
    assert!(header.as_str().unwrap().contains("as of March 18, 2026"), "{header}");
}

/// A team's board ranks within the team; a team not in the month is a 404.
#[test]
fn a_team_board_ranks_the_team_and_an_unknown_team_is_not_found() {
    let env = march();
    let d = Daemon::start(&env, &["--now", NOW, "serve"], &[("QUOTAD_BOARD_TOKEN", TOKEN)]);
    let (code, kind, json) = get(&d.url(&format!("/board/team/south/data?token={TOKEN}")));
    assert_eq!((code, kind.as_str()), (200, "application/json"), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["title"], "Team South");
    let names: Vec<(u64, &str, &str)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rank"].as_u64().unwrap(), r["name"].as_str().unwrap(), r["attainment"].as_str().unwrap()))
        .collect();
    assert_eq!(names, vec![(1, "Cy Cole", "120.0%"), (2, "Dee Dunn", "50.0%")]);
    let (code, _, page) = get(&d.url(&format!("/board/team/South?token={TOKEN}")));
    assert_eq!(code, 200);
    assert!(page.contains("data-live=\"/board/team/South/live?token="), "{page}");
    assert_eq!(get(&d.url(&format!("/board/team/West?token={TOKEN}"))).0, 404);
}

/// Without the token, or with a wrong one, every board URL is a 404 (the same as a path
/// that does not exist); health and metrics need none.
#[test]
fn the_wrong_token_gets_404_and_metrics_parse_as_prometheus_text() {
    let env = march();
    let d = Daemon::start(&env, &["--now", NOW, "serve"], &[("QUOTAD_BOARD_TOKEN", TOKEN)]);
    for path in [
        "/board".to_string(),
        "/board?token=".to_string(),
        format!("/board?token={}", &TOKEN[..TOKEN.len() - 1]),
        format!("/board?token={TOKEN}x"),
        "/board/live?token=wrong".into(),
        "/board/data".into(),
        "/board/team/North?token=nope".into(),
        "/nothing-here".into(),
    ] {
        let (code, _, body) = get(&d.url(&path));
        assert_eq!((code, body.as_str()), (404, "Not Found\n"), "{path}");
    }
    let (code, _, page) = get(&d.url(&format!("/board?token={TOKEN}")));
    assert_eq!(code, 200);
    assert!(page.contains("Bob Baker"));

    let (code, kind, health) = get(&d.url("/healthz"));
    assert_eq!((code, kind.as_str()), (200, "text/plain; charset=utf-8"), "{health}");
    assert!(health.starts_with("ok\nstate database: ok\nheartbeat: ok:"), "{health}");

    let (code, kind, text) = get(&d.url("/metrics"));
    assert_eq!(code, 200);
    assert_eq!(kind, "text/plain; version=0.0.4; charset=utf-8");
    let samples = parse_prometheus(&text);
    let value = |name: &str| samples.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    assert_eq!(value("quotad_healthy"), Some(1.0), "{text}");
    assert_eq!(value("quotad_outbox_messages{state=\"dead\"}"), Some(0.0), "{text}");
    assert_eq!(value("quotad_dead_letters"), Some(0.0), "{text}");
    assert_eq!(value("quotad_last_import_rows_rejected"), Some(0.0), "{text}");
    assert_eq!(value("quotad_last_import_quarantined"), Some(0.0), "{text}");
    assert!(value("quotad_heartbeat_age_seconds").is_some_and(|a| (0.0..30.0).contains(&a)), "{text}");
    assert!(!text.contains('@'), "{text}");
}

/// The Prometheus text exposition format (0.0.4), strictly: every line a `# HELP` or
/// `# TYPE` comment or a sample `name{label="value",…} number`; each family's TYPE
/// before its samples, once. Returns (name with labels, value) per sample.
pub(crate) fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
    };
    let mut typed = std::collections::HashSet::new();
    let mut out = Vec::new();
    assert!(text.ends_with('\n'), "the last line ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(is_name(name), "bad metric name in: {line}");
            match kw {
                "HELP" => {}
                "TYPE" => {
                    assert!(["gauge", "counter", "untyped"].contains(&parts.next().unwrap_or("")), "{line}");
                    assert!(typed.insert(name.to_string()), "TYPE twice: {line}");
                }
                _ => panic!("unknown comment: {line}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(is_name(name), "bad metric name in: {line}");
        assert!(typed.contains(name), "sample before its TYPE: {line}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels.strip_prefix('{').and_then(|l| l.strip_suffix('}')).unwrap_or_else(|| panic!("{line}"));
            for pair in inner.split("\",") {
                let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("bad label in: {line}"));
                assert!(is_name(k), "bad label name in: {line}");
                assert!(!v.trim_end_matches('"').contains('"'), "unescaped quote in: {line}");
            }
        }
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        out.push((series.to_string(), v));
    }
    out
}

/// /healthz says 503 once the heartbeat stalls: here the daemon's clock runs an hour a
/// second (`--speed 3600`) while it looks at the calendar once a second, so by its clock
/// the last look is always more than the limit (3 heartbeats + 30 s) ago.
#[test]
fn health_reflects_a_stalled_heartbeat() {
    let env = march();
    let d = Daemon::start(&env, &["--now", NOW, "serve", "--speed", "3600"], &[("QUOTAD_BOARD_TOKEN", TOKEN)]);
    let mut last = (0, String::new());
    assert!(
        wait_for(Duration::from_secs(30), || {
            let (code, _, body) = get(&d.url("/healthz"));
            last = (code, body);
            last.0 == 503
        }),
        "{last:?}"
    );
    assert!(
        last.1.starts_with("unhealthy\nstate database: ok\nheartbeat: STALLED: last looked at the calendar"),
        "{}",
        last.1
    );
    assert!(last.1.contains("limit 33 s"), "{}", last.1);
    // /metrics says the same (read again if a request lands in the few milliseconds of
    // real time right after a look, when the daemon's clock has not yet run past the limit).
    let mut text = String::new();
    assert!(
        wait_for(Duration::from_secs(10), || {
            text = get(&d.url("/metrics")).2;
            text.contains("\nquotad_healthy 0\n")
        }),
        "{text}"
    );
}

/// `[web] listen` without the token in the environment refuses to start, naming the
/// variable; a port already taken is named too.
#[test]
fn serve_refuses_to_start_the_web_face_without_a_token() {
    let env = march();
    let run = env.quotad_env(&["--now", NOW, "serve"], &[("QUOTAD_BOARD_TOKEN", "")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("the environment variable QUOTAD_BOARD_TOKEN (web.token_env) is not set"),
        "{}",
        run.stderr
    );
    let run = env.quotad_env(&["--now", NOW, "serve"], &[("QUOTAD_BOARD_TOKEN", "short")]);
    assert!(run.stderr.contains("is shorter than 16 characters"), "{}", run.stderr);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let cfg = board_config().replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    let run = env.quotad_env(&["--now", NOW, "serve"], &[("QUOTAD_BOARD_TOKEN", TOKEN)]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains(&format!("web.listen: cannot listen on 127.0.0.1:{port}")), "{}", run.stderr);
    drop(taken);
}

/// Where nobody has a quota, the board ranks on results (revenue), as the weekly
/// ranking PDF does. Only Ann's and Bob's deals (D1–D3): Bob 250,000 → 1, Ann
/// 99,950 → 2, the other three tied 3rd at $0 (listed alphabetically) and given no
/// bronze; no ✓ (no quota), attainment "no quota".
#[test]
fn a_company_without_quotas_is_ranked_on_results() {
    let env = Env::new(&board_config());
    env.put("roster.csv", ROSTER);
    put_at(&env, "deals-1.csv", &DEALS.lines().take(4).collect::<Vec<_>>().join("\n"), "2026-03-18T14:00:00Z");
    let run = env.quotad(&["--now", NOW, "import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let d = Daemon::start(&env, &["--now", NOW, "serve"], &[("QUOTAD_BOARD_TOKEN", TOKEN)]);
    let (code, _, json) = get(&d.url(&format!("/board/data?token={TOKEN}")));
    assert_eq!(code, 200, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows: Vec<(u64, &str, &str, &str, bool)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rank"].as_u64().unwrap(),
                r["name"].as_str().unwrap(),
                r["revenue"].as_str().unwrap(),
                r["attainment"].as_str().unwrap(),
                r["at_quota"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "Bob Baker", "$250,000", "no quota", false),
            (2, "Ann Archer", "$99,950", "no quota", false),
            (3, SCRIPT_NAME, "$0", "no quota", false),
            (3, "Cy Cole", "$0", "no quota", false),
            (3, "Dee Dunn", "$0", "no quota", false),
        ]
    );
    // Nobody is celebrated for $0: third place at $0 gets no bronze.
    let medals: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|r| r["medal"].as_str().unwrap()).collect();
    assert_eq!(medals, ["gold", "silver", "", "", ""]);
}

/// `quotad check` says where the board will answer, and fails (exit 1) while the
/// token's variable is not set.
#[test]
fn check_names_the_web_face_and_its_token() {
    let env = Env::new(&board_config());
    let run = env.quotad_env(&["check"], &[("QUOTAD_BOARD_TOKEN", TOKEN)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "  web: the board at http://127.0.0.1:0/board?token=$QUOTAD_BOARD_TOKEN, /healthz, /metrics; token from $QUOTAD_BOARD_TOKEN (set)"
        ),
        "{}",
        run.stdout
    );
    let run = env.quotad_env(&["check"], &[("QUOTAD_BOARD_TOKEN", "")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("but $QUOTAD_BOARD_TOKEN is NOT SET"), "{}", run.stdout);
}
