//! Chat posts (issue 22): the weekly ranking as a post — title, subtitle, sections of
//! lines — built from the same views as its e-mails (figures formatted with the org's
//! locale and the display rule of docs/definitions.md, never an e-mail address nor a
//! flag), then written as each platform's own JSON: Slack Block Kit, a Microsoft Teams
//! Adaptive Card, Google Chat cards v2, within each platform's limits (a long table
//! ends "…and 12 more").

use serde_json::{Value, json};

use super::{Format, TeamRankingMailView};
use crate::domain::{ChatKind, MonthStandings};

/// A post before it is written for a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatPost {
    /// E.g. "Weekly ranking 2026-W45 · North".
    pub title: String,
    /// E.g. "November 2026 to date (1–8 Nov) · preliminary · as of 8 November 2026".
    pub subtitle: String,
    /// Headed lists of lines, in order.
    pub sections: Vec<ChatSection>,
    /// A last line, e.g. where the PDF went; empty for none.
    pub footer: String,
    /// Google Chat's `cardId`: what the post is, e.g. `weekly-ranking`, `celebration`.
    pub card_id: &'static str,
}

/// A heading and its lines (a table's rows, one per line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSection {
    /// E.g. "North: 2nd of 4 teams · 98.1% of $500,000".
    pub heading: String,
    /// E.g. "1. Ann Archer — 112.5% · $45,000".
    pub lines: Vec<String>,
}

/// Rows a table shows before "…and N more".
pub const MAX_ROWS: usize = 20;
/// Characters of a section's text (Slack's section limit is 3000).
const MAX_SECTION_CHARS: usize = 2900;
/// Sections of a post (Slack's limit is 50 blocks, 3 of which are not sections).
const MAX_SECTIONS: usize = 40;
/// Characters of a title (Slack's header limit is 150).
const MAX_TITLE_CHARS: usize = 150;

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn subtitle(ranked: &str, ranked_days: &str, status: &str, as_of: &str) -> String {
    format!("{ranked} ({ranked_days}) · {status} · as of {as_of}")
}

fn top_sections(boards: &[super::TopBoardView]) -> Vec<ChatSection> {
    boards
        .iter()
        .map(|b| ChatSection {
            heading: format!("Company {}", b.label.to_lowercase()),
            lines: b.entries.iter().map(|e| format!("{}. {} ({}) — {}", e.rank, e.name, e.team, e.value)).collect(),
        })
        .collect()
}

/// The weekly ranking post for one or more teams' channel: the company's top 3 on each
/// board (positive values only, as in the e-mail), then per team its place among the
/// teams and its table (team rank, name, attainment as displayed, revenue) and its
/// celebrations. `views` are the team editions' e-mail views, one per team.
pub fn weekly_teams_post(views: &[TeamRankingMailView]) -> Option<ChatPost> {
    let first = views.first()?;
    let names: Vec<&str> = views.iter().map(|v| v.team.name.as_str()).collect();
    let mut sections = top_sections(&first.boards);
    for v in views {
        let place = match (v.team.rank, &v.team.attainment) {
            (Some(r), Some(a)) => format!("{} of {} teams · {a} of {}", ordinal(r), v.team.ranked, v.team.quota),
            (_, Some(a)) => format!("{a} of {}", v.team.quota),
            _ => format!("{} revenue, no quota", v.team.revenue),
        };
        let lines = v
            .reps
            .iter()
            .map(|r| {
                let rank = r.rank.map_or("–".to_string(), |n| format!("{n}."));
                let att = r.attainment.clone().unwrap_or_else(|| "no quota".into());
                format!("{rank} {} — {att} · {}", r.name, r.revenue)
            })
            .collect();
        sections.push(ChatSection { heading: format!("{}: {place}", v.team.name), lines });
        if !v.celebrations.is_empty() {
            sections.push(ChatSection {
                heading: format!("{}: celebrations", v.team.name),
                lines: v.celebrations.iter().map(|c| format!("{}: {}", c.label, c.text)).collect(),
            });
        }
    }
    Some(ChatPost {
        title: format!("{} · weekly ranking {} · {}", first.org.name, first.week, names.join(", ")),
        subtitle: subtitle(&first.ranked, &first.ranked_days, first.status, &first.as_of),
        sections,
        footer: "The PDF edition came by e-mail.".into(),
        card_id: "weekly-ranking",
    })
}

/// The weekly ranking post for a company channel: the company's top 3 on each board,
/// then the teams ranked on team attainment (rank, team, attainment, revenue).
/// `base` is any team edition's view (for the boards and the period's words).
pub fn weekly_company_post(base: &TeamRankingMailView, m: &MonthStandings, fmt: &Format) -> ChatPost {
    let mut sections = top_sections(&base.boards);
    let mut teams: Vec<&crate::domain::TeamStanding> = m.teams.iter().collect();
    teams.sort_by_key(|t| t.rank.unwrap_or(u32::MAX));
    sections.push(ChatSection {
        heading: "Teams".into(),
        lines: teams
            .iter()
            .map(|t| {
                let rank = t.rank.map_or("–".to_string(), |n| format!("{n}."));
                let att = t.attainment.map_or("no quota".to_string(), |a| fmt.percent(a));
                format!("{rank} {} — {att} · {}", t.team, fmt.money(t.revenue))
            })
            .collect(),
    });
    ChatPost {
        title: format!("{} · weekly ranking {}", base.org.name, base.week),
        subtitle: subtitle(&base.ranked, &base.ranked_days, base.status, &base.as_of),
        sections,
        footer: "The PDF edition came by e-mail.".into(),
        card_id: "weekly-ranking",
    }
}

/// One celebrated event as a post (issue 22: celebrations as they happen after an
/// import), e.g. title "New personal best: Ann Archer", subtitle "North · November
/// 2026 · Test Homes", one section "Revenue $99,950 (best before: $80,000)". Figures
/// in the org's locale with the display rule (99.95% shows 99.9%). Never an address or
/// a flag.
pub fn celebration_post(
    org: &str,
    month: crate::domain::Period,
    ev: &crate::domain::CelebratedEvent,
    standards: &crate::domain::Standards,
    fmt: &Format,
) -> ChatPost {
    use crate::domain::{Celebrated, Judged};
    let att = |a| fmt.judged(standards, Judged::Attainment, a);
    let month_s = fmt.month(month);
    let (what, detail) = match &ev.what {
        Celebrated::PersonalBest(b) => {
            let (label, v, before) = match b.metric {
                "revenue" => ("Revenue", fmt.money(b.value), fmt.money(b.previous_best)),
                "attainment" => ("Attainment", att(b.value), att(b.previous_best)),
                "rating" => (
                    "Customer rating",
                    fmt.judged(standards, Judged::Rating, b.value),
                    fmt.judged(standards, Judged::Rating, b.previous_best),
                ),
                _ => ("Units", units(fmt, b.value), units(fmt, b.previous_best)),
            };
            ("New personal best".to_string(), format!("{label} {v} in {month_s} (best before: {before})"))
        }
        Celebrated::FirstAtQuota { attainment, quota } => {
            ("First month at quota".to_string(), format!("{} of {} in {month_s}", att(*attainment), fmt.money(*quota)))
        }
        Celebrated::QuotaStreak { months, attainment } => {
            (format!("{months} months in a row at quota"), format!("{} of quota in {month_s}", att(*attainment)))
        }
        Celebrated::CleanStreak { months } => (
            format!("{months} months in a row of clean paperwork"),
            format!("Every deal's paperwork complete and error-free through {month_s}"),
        ),
    };
    ChatPost {
        title: format!("{what}: {}", ev.name),
        subtitle: format!("{} · {month_s} · {org}", ev.team),
        sections: vec![ChatSection { heading: detail, lines: Vec::new() }],
        footer: String::new(),
        card_id: "celebration",
    }
}

/// The quota memo's month summary for a channel (issue 22, `jobs = ["quota_memo"]`):
/// for a team channel (`teams` the channel's teams, folded) each team's quota total
/// (summed revenue quotas of its active reps with one; units quota too when set), how
/// many of its reps have a quota, how many have none, and who is new (hired since the
/// first day of the month before the memo month); for a company channel (`teams`
/// empty) the company's total and the teams' lines. Individual quotas are not shown
/// (each rep's memo states theirs), nor any flag or address. `None` when no team of
/// the channel has an active rep in the memo month.
pub fn quota_summary_post(org: &str, m: &MonthStandings, teams: &[String], fmt: &Format) -> Option<ChatPost> {
    use crate::domain::fold_name;
    let month = fmt.month(m.period);
    let since = m.period.prev().first_day();
    let mut shown: Vec<&crate::domain::TeamStanding> =
        m.teams.iter().filter(|t| t.reps > 0 && (teams.is_empty() || teams.contains(&fold_name(&t.team)))).collect();
    if shown.is_empty() {
        return None;
    }
    shown.sort_by(|a, b| a.team.cmp(&b.team));
    let quota = |q: Option<rust_decimal::Decimal>, u: Option<rust_decimal::Decimal>| {
        let mut s = q.map_or("no revenue quota".to_string(), |q| format!("{} quota", fmt.money(q)));
        if let Some(u) = u {
            s.push_str(&format!(" · {} units", units(fmt, u)));
        }
        s
    };
    let new_in = |team: &str| -> Vec<String> {
        m.reps
            .iter()
            .filter(|s| s.active && s.team == team && s.hire_date.is_some_and(|h| h >= since))
            .map(|s| s.name.clone())
            .collect()
    };
    let team_line = |t: &crate::domain::TeamStanding| {
        let with = t.reps as usize - t.without_quota.len();
        let mut l = format!("{} · {with} of {} reps with a quota", quota(t.revenue_quota, t.units_quota), t.reps);
        let new = new_in(&t.team).len();
        if new > 0 {
            l.push_str(&format!(" · {new} new"));
        }
        l
    };
    let mut sections = Vec::new();
    let title = if teams.is_empty() {
        let total: Option<rust_decimal::Decimal> = shown.iter().filter_map(|t| t.revenue_quota).reduce(|a, b| a + b);
        let units_total = shown.iter().filter_map(|t| t.units_quota).reduce(|a, b| a + b);
        let reps: u32 = shown.iter().map(|t| t.reps).sum();
        let with: usize = shown.iter().map(|t| t.reps as usize - t.without_quota.len()).sum();
        sections.push(ChatSection {
            heading: format!(
                "Company: {} · {with} of {reps} reps with a quota · {} teams",
                quota(total, units_total),
                shown.len()
            ),
            lines: Vec::new(),
        });
        sections.push(ChatSection {
            heading: "Teams".into(),
            lines: shown.iter().map(|t| format!("{}: {}", t.team, team_line(t))).collect(),
        });
        format!("{org} · quotas for {month}")
    } else {
        for t in &shown {
            let new = new_in(&t.team);
            let mut lines = Vec::new();
            if !new.is_empty() {
                lines.push(format!("Welcome to the team: {}", new.join(", ")));
            }
            sections.push(ChatSection { heading: format!("{}: {}", t.team, team_line(t)), lines });
        }
        let names: Vec<&str> = shown.iter().map(|t| t.team.as_str()).collect();
        format!("{org} · quotas for {month} · {}", names.join(", "))
    };
    Some(ChatPost {
        title,
        subtitle: format!("{month}: each rep's own quota came in their quota memo"),
        sections,
        footer: String::new(),
        card_id: "quota-summary",
    })
}

/// Units as shown: whole units without decimals, a split share to one decimal.
fn units(fmt: &Format, v: rust_decimal::Decimal) -> String {
    fmt.fixed(v, if v.fract().is_zero() { 0 } else { 1 })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max - 1).collect::<String>()) }
}

/// `lines` cut to at most `MAX_ROWS` and to `budget` characters joined with `\n`
/// (after the heading), ending "…and N more" when any was left out.
fn fit(lines: &[String], budget: usize) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    let mut used = 0;
    for (i, l) in lines.iter().enumerate() {
        let rest = lines.len() - i;
        let more = format!("…and {} more", rest);
        let l = truncate(l, 300);
        let need = l.chars().count() + 1;
        // Room for this line and, if any line after it would not fit, the "more" line.
        let last = i + 1 == lines.len();
        if kept.len() == MAX_ROWS || used + need + if last { 0 } else { more.len() + 1 } > budget {
            kept.push(more);
            return kept;
        }
        used += need;
        kept.push(l);
    }
    kept
}

/// The post's sections within the limits: at most `MAX_SECTIONS` (the last says how
/// many were left out), each table fitted ([`MAX_ROWS`] rows, [`MAX_SECTION_CHARS`]).
fn fitted(post: &ChatPost, esc: fn(&str) -> String) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = post
        .sections
        .iter()
        .take(MAX_SECTIONS)
        .map(|s| {
            let heading = truncate(&esc(&s.heading), 200);
            let lines: Vec<String> = s.lines.iter().map(|l| esc(l)).collect();
            let budget = MAX_SECTION_CHARS - heading.chars().count() - 4;
            (heading, fit(&lines, budget))
        })
        .collect();
    if post.sections.len() > MAX_SECTIONS {
        out.push((format!("…and {} more sections", post.sections.len() - MAX_SECTIONS), Vec::new()));
    }
    out
}

/// `&`, `<` and `>` escaped, as Slack mrkdwn and Google Chat's HTML subset need.
fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Markdown characters a TextBlock would read as formatting, escaped.
fn escape_teams(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "*_`[]".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The JSON payload of `post` for `kind`:
/// - Slack: `{text, blocks}` — a `header` (plain text, ≤ 150 characters), a `context`
///   with the subtitle, one `section` (mrkdwn, ≤ 3000 characters) per section, a
///   `context` footer; `text` is the notification's fallback.
/// - Teams: `{type: "message", attachments: [{contentType:
///   "application/vnd.microsoft.card.adaptive", content: AdaptiveCard 1.4}]}` with
///   TextBlocks.
/// - Google Chat: `{text, cardsV2: [{cardId, card: {header, sections}}]}` with
///   `textParagraph` widgets.
pub fn payload(kind: ChatKind, post: &ChatPost) -> Value {
    let title = truncate(&post.title, MAX_TITLE_CHARS);
    match kind {
        ChatKind::Slack => {
            let mut blocks = vec![
                json!({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": false}}),
                json!({"type": "context", "elements": [{"type": "mrkdwn", "text": escape_html(&post.subtitle)}]}),
            ];
            for (heading, lines) in fitted(post, escape_html) {
                let text = if lines.is_empty() {
                    format!("*{heading}*")
                } else {
                    format!("*{heading}*\n{}", lines.join("\n"))
                };
                blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
            }
            if !post.footer.is_empty() {
                blocks.push(
                    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": escape_html(&post.footer)}]}),
                );
            }
            json!({"text": escape_html(&format!("{} — {}", title, post.subtitle)), "blocks": blocks})
        }
        ChatKind::Teams => {
            let mut body = vec![
                json!({"type": "TextBlock", "text": escape_teams(&title), "size": "Large", "weight": "Bolder", "wrap": true}),
                json!({"type": "TextBlock", "text": escape_teams(&post.subtitle), "isSubtle": true, "wrap": true, "spacing": "None"}),
            ];
            for (heading, lines) in fitted(post, escape_teams) {
                body.push(
                    json!({"type": "TextBlock", "text": heading, "weight": "Bolder", "wrap": true, "separator": true}),
                );
                if !lines.is_empty() {
                    // A TextBlock's markdown needs a blank line (\n\n) for a line break.
                    body.push(
                        json!({"type": "TextBlock", "text": lines.join("\n\n"), "wrap": true, "spacing": "Small"}),
                    );
                }
            }
            if !post.footer.is_empty() {
                body.push(
                    json!({"type": "TextBlock", "text": escape_teams(&post.footer), "isSubtle": true, "wrap": true}),
                );
            }
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": body,
                    }
                }]
            })
        }
        ChatKind::GoogleChat => {
            let mut sections = Vec::new();
            for (heading, lines) in fitted(post, escape_html) {
                // A section needs at least one widget: a heading alone is its paragraph.
                sections.push(if lines.is_empty() {
                    json!({"widgets": [{"textParagraph": {"text": heading}}]})
                } else {
                    json!({"header": heading, "widgets": [{"textParagraph": {"text": lines.join("<br>")}}]})
                });
            }
            if !post.footer.is_empty() {
                sections.push(json!({"widgets": [{"textParagraph": {"text": escape_html(&post.footer)}}]}));
            }
            json!({
                "text": escape_html(&format!("{} — {}", title, post.subtitle)),
                "cardsV2": [{
                    "cardId": post.card_id,
                    "card": {
                        "header": {"title": escape_html(&title), "subtitle": escape_html(&post.subtitle)},
                        "sections": sections,
                    }
                }]
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(rows: usize) -> ChatPost {
        ChatPost {
            title: "Acme · weekly ranking 2026-W45 · North".into(),
            subtitle: "November 2026 to date (1–8 Nov) · preliminary · as of 8 November 2026".into(),
            sections: vec![ChatSection {
                heading: "North: 1st of 2 teams".into(),
                lines: (1..=rows).map(|i| format!("{i}. Rep <{i}> & co — 50.0% · $1,000")).collect(),
            }],
            footer: "The PDF edition came by e-mail.".into(),
            card_id: "weekly-ranking",
        }
    }

    #[test]
    fn long_tables_end_with_and_n_more_on_every_platform() {
        let p = post(32);
        let slack = payload(ChatKind::Slack, &p);
        let text = slack["blocks"][2]["text"]["text"].as_str().unwrap();
        assert_eq!(text.lines().count(), 1 + MAX_ROWS + 1, "{text}");
        assert!(text.ends_with("\n…and 12 more"), "{text}");
        assert!(text.contains("20. Rep &lt;20&gt; &amp; co"), "{text}");
        let teams = payload(ChatKind::Teams, &p);
        let body = &teams["attachments"][0]["content"]["body"];
        assert!(body[3]["text"].as_str().unwrap().ends_with("\n\n…and 12 more"));
        let gchat = payload(ChatKind::GoogleChat, &p);
        let t = gchat["cardsV2"][0]["card"]["sections"][0]["widgets"][0]["textParagraph"]["text"].as_str().unwrap();
        assert!(t.ends_with("<br>…and 12 more"), "{t}");
        // 20 rows exactly: nothing left out, no "more" line.
        let slack = payload(ChatKind::Slack, &post(20));
        assert!(!slack["blocks"][2]["text"]["text"].as_str().unwrap().contains("more"));
    }

    #[test]
    fn a_section_never_exceeds_slacks_3000_characters() {
        let mut p = post(1);
        p.sections[0].lines = (0..20).map(|i| format!("{i}. {}", "x".repeat(290))).collect();
        let slack = payload(ChatKind::Slack, &p);
        let text = slack["blocks"][2]["text"]["text"].as_str().unwrap();
        assert!(text.chars().count() <= 3000, "{}", text.chars().count());
        assert!(text.ends_with(" more"), "{text}");
        let long = "T".repeat(400);
        p.title = long;
        let slack = payload(ChatKind::Slack, &p);
        assert_eq!(slack["blocks"][0]["text"]["text"].as_str().unwrap().chars().count(), 150);
    }

    /// Checks `p` against the platform's documented message schema and limits:
    /// - Slack (Block Kit): `text` fallback; ≤ 50 blocks; a `header` is plain_text ≤ 150
    ///   characters; a `section`'s mrkdwn text ≤ 3000; a `context` has 1–10 elements;
    /// - Teams: `{type: message, attachments: [{contentType:
    ///   application/vnd.microsoft.card.adaptive, content: AdaptiveCard 1.4}]}`, every
    ///   body element a TextBlock with text; the whole message under Teams' 28 KB;
    /// - Google Chat (cardsV2): a `cardId`, a card header title, every section with at
    ///   least one widget, each a `textParagraph` with text; `text` ≤ 4096 characters
    ///   and the message under 32,000 bytes.
    fn check_schema(kind: ChatKind, p: &Value) -> Result<(), String> {
        let len = |v: &Value| v.as_str().map(|s| s.chars().count()).ok_or(format!("not a string: {v}"));
        match kind {
            ChatKind::Slack => {
                len(&p["text"])?;
                let blocks = p["blocks"].as_array().ok_or("no blocks")?;
                if blocks.is_empty() || blocks.len() > 50 {
                    return Err(format!("{} blocks", blocks.len()));
                }
                for b in blocks {
                    match b["type"].as_str() {
                        Some("header") => {
                            if b["text"]["type"] != "plain_text" || len(&b["text"]["text"])? > 150 {
                                return Err(format!("bad header {b}"));
                            }
                        }
                        Some("section") => {
                            if b["text"]["type"] != "mrkdwn" || len(&b["text"]["text"])? > 3000 {
                                return Err(format!("bad section {b}"));
                            }
                        }
                        Some("context") => {
                            let n = b["elements"].as_array().map_or(0, Vec::len);
                            if !(1..=10).contains(&n) {
                                return Err(format!("bad context {b}"));
                            }
                        }
                        t => return Err(format!("unexpected block type {t:?}")),
                    }
                }
            }
            ChatKind::Teams => {
                if p["type"] != "message" || p["attachments"].as_array().map_or(0, Vec::len) != 1 {
                    return Err("not a message with one attachment".into());
                }
                let a = &p["attachments"][0];
                if a["contentType"] != "application/vnd.microsoft.card.adaptive" {
                    return Err("not an Adaptive Card".into());
                }
                let c = &a["content"];
                if c["type"] != "AdaptiveCard" || c["version"] != "1.4" {
                    return Err("not an AdaptiveCard 1.4".into());
                }
                for b in c["body"].as_array().ok_or("no body")? {
                    if b["type"] != "TextBlock" {
                        return Err(format!("not a TextBlock: {b}"));
                    }
                    len(&b["text"])?;
                }
                if p.to_string().len() > 28 * 1024 {
                    return Err(format!("{} bytes", p.to_string().len()));
                }
            }
            ChatKind::GoogleChat => {
                if len(&p["text"])? > 4096 || p.to_string().len() > 32_000 {
                    return Err("too long".into());
                }
                let c = &p["cardsV2"][0];
                if len(&c["cardId"])? == 0 {
                    return Err("empty cardId".into());
                }
                len(&c["card"]["header"]["title"])?;
                for sec in c["card"]["sections"].as_array().ok_or("no sections")? {
                    let w = sec["widgets"].as_array().ok_or("no widgets")?;
                    if w.is_empty() {
                        return Err(format!("a section without widgets: {sec}"));
                    }
                    for x in w {
                        len(&x["textParagraph"]["text"])?;
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn every_post_meets_each_platforms_schema_and_limits_and_long_lists_say_and_n_more() {
        use crate::domain::{BestKind, Celebrated, CelebratedEvent, Period, PersonalBest, Standards};
        let fmt = Format::new("en-US", "USD").unwrap();
        let standards = Standards {
            rating: None,
            paperwork: None,
            min_ratings: 3,
            below_target: rust_decimal::Decimal::new(8, 1),
            off_pace: rust_decimal::Decimal::new(8, 1),
        };
        let nov = Period::new(2026, 11).unwrap();
        let ev = |what| CelebratedEvent {
            rep_key: "ann@example.com".into(),
            name: "Ann <Archer> & Co".into(),
            team: "North".into(),
            what,
        };
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        let best = ev(Celebrated::PersonalBest(PersonalBest {
            metric: "attainment",
            value: d("0.9995"),
            previous_best: d("0.8"),
            kind: BestKind::New,
        }));
        let cel = celebration_post("Test Homes", nov, &best, &standards, &fmt);
        assert_eq!(cel.title, "New personal best: Ann <Archer> & Co");
        assert_eq!(cel.sections[0].heading, "Attainment 99.9% in November 2026 (best before: 80.0%)");
        let streak = celebration_post("Test Homes", nov, &ev(Celebrated::CleanStreak { months: 4 }), &standards, &fmt);
        assert_eq!(streak.title, "4 months in a row of clean paperwork: Ann <Archer> & Co");
        let mut huge = post(45);
        huge.sections = (0..45)
            .map(|i| ChatSection { heading: format!("Team {i}"), lines: (0..30).map(|j| format!("{j}. x")).collect() })
            .collect();
        for kind in ChatKind::ALL {
            for p in [&cel, &streak, &post(32), &huge] {
                let v = payload(kind, p);
                check_schema(kind, &v).unwrap_or_else(|e| panic!("{kind:?}: {e}\n{v:#}"));
            }
            let v = payload(kind, &huge).to_string();
            assert!(v.contains("…and 10 more") && v.contains("…and 5 more sections"), "{kind:?}: long lists");
            assert!(payload(kind, &cel).to_string().contains("Ann &lt;Archer&gt; &amp; Co") || kind == ChatKind::Teams);
        }
        // The Google Chat card of a celebration says what it is.
        assert_eq!(payload(ChatKind::GoogleChat, &cel)["cardsV2"][0]["cardId"], "celebration");
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111].into_iter().map(ordinal).collect();
        assert_eq!(got, ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]);
    }
}
