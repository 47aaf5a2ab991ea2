//! `[[channels]]`: chat channels results are posted to beside e-mail (issue 22): the
//! platform, the environment variable holding the incoming-webhook URL (never the URL
//! itself: it is a secret, and `quotad.toml` is not), the teams it is for and the jobs
//! that post there.
//!
//! Validates into [`Channel`]s; imports `domain` and serde/toml, nothing else. The URL
//! is read from the environment when a post is delivered (and by `quotad check`).

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::domain::ChatKind;

/// A job that can post to a channel (config `[[channels]] jobs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelJob {
    /// `weekly_ranking`: the top of the company board and the team's table, each
    /// weekly-ranking run that sends.
    WeeklyRanking,
    /// `celebrations`: each celebration that is new with an import (personal bests, first
    /// month at quota, streaks), once ever per channel.
    Celebrations,
    /// `quota_memo`: the month's quota summary of the channel's teams, when the
    /// first-of-month memos are sent (held with them under `[quota_memo.approval]`).
    QuotaMemo,
}

impl ChannelJob {
    /// Every job, in the config's spelling.
    pub const ALL: [(ChannelJob, &'static str); 3] = [
        (ChannelJob::WeeklyRanking, "weekly_ranking"),
        (ChannelJob::Celebrations, "celebrations"),
        (ChannelJob::QuotaMemo, "quota_memo"),
    ];
}

/// One chat channel (config `[[channels]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its name, unique, in idempotency keys (`channel:NAME`) and messages: letters,
    /// digits, `-`, `_`, `.`.
    pub name: String,
    /// The platform, which fixes the payload format.
    pub kind: ChatKind,
    /// The environment variable that holds the webhook URL, e.g. `QUOTAD_SLACK_NORTH`.
    pub webhook_env: String,
    /// The teams it is for, as the roster spells them (matched folded); empty = the
    /// whole company (the company's top and the teams' table).
    pub teams: Vec<String>,
    /// The jobs that post to it (default `["weekly_ranking"]`; also `celebrations`,
    /// `quota_memo`).
    pub jobs: Vec<ChannelJob>,
    /// Timeout of a whole post, seconds (default 30; the connection gets at most 10).
    pub timeout_seconds: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChannel {
    name: Spanned<String>,
    kind: Spanned<String>,
    webhook_env: Option<Spanned<String>>,
    #[serde(default)]
    teams: Vec<Spanned<String>>,
    jobs: Option<Spanned<Vec<Spanned<String>>>>,
    timeout_seconds: Option<Spanned<u64>>,
    // Caught to say where the URL goes instead (never echoed: it is a secret).
    url: Option<Spanned<toml::Value>>,
    webhook: Option<Spanned<toml::Value>>,
    webhook_url: Option<Spanned<toml::Value>>,
}

/// Validates `[[channels]]`: unique names of letters, digits, `-`, `_`, `.`; `kind`
/// one of slack, teams, google_chat; `webhook_env` an environment variable name
/// (`A-Z`, digits, `_`); no URL in the file; `jobs` from the known ones; timeouts from
/// 1 to 300 s. Errors name `channels[N].KEY` and the line.
pub(super) fn channels(
    raw: &[RawChannel],
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Vec<Channel>, ConfigError> {
    let mut out: Vec<Channel> = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let at = |key: &str| format!("channels[{i}].{key}");
        for (key, v) in [("url", &c.url), ("webhook", &c.webhook), ("webhook_url", &c.webhook_url)] {
            if let Some(v) = v {
                return Err(err(
                    v.span(),
                    format!(
                        "{}: a webhook URL is a secret and never goes in the config file: put it in an environment variable and name that variable in webhook_env (e.g. webhook_env = \"QUOTAD_SLACK_SALES\")",
                        at(key)
                    ),
                ));
            }
        }
        let name = c.name.get_ref().trim().to_string();
        if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
            return Err(err(
                c.name.span(),
                format!("{}: '{name}' should be letters, digits, '-', '_' or '.', e.g. \"sales-north\"", at("name")),
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(err(c.name.span(), format!("{}: '{name}' is already the name of another channel", at("name"))));
        }
        let k = c.kind.get_ref().trim();
        let kind = ChatKind::ALL.into_iter().find(|x| x.as_str() == k).ok_or_else(|| {
            err(
                c.kind.span(),
                format!("{}: '{k}' is not a chat platform: expected slack, teams or google_chat", at("kind")),
            )
        })?;
        let Some(env) = &c.webhook_env else {
            return Err(err(
                c.name.span(),
                format!(
                    "{}: missing: name the environment variable that holds the channel's incoming-webhook URL, e.g. webhook_env = \"QUOTAD_SLACK_SALES\"",
                    at("webhook_env")
                ),
            ));
        };
        let webhook_env = env.get_ref().trim().to_string();
        if webhook_env.is_empty()
            || webhook_env.starts_with(|ch: char| ch.is_ascii_digit())
            || !webhook_env.chars().all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
        {
            let what = if webhook_env.contains("://") { "a URL" } else { "not an environment variable name" };
            return Err(err(
                env.span(),
                format!(
                    "{}: {what}: expected a variable name such as QUOTAD_SLACK_SALES (A-Z, 0-9, _) whose value is the URL",
                    at("webhook_env")
                ),
            ));
        }
        let mut teams = Vec::new();
        for t in &c.teams {
            let v = t.get_ref().trim();
            if v.is_empty() {
                return Err(err(t.span(), format!("{}: an empty team name", at("teams"))));
            }
            teams.push(v.to_string());
        }
        let jobs = match &c.jobs {
            None => vec![ChannelJob::WeeklyRanking],
            Some(list) => {
                let mut jobs = Vec::new();
                for j in list.get_ref() {
                    let name = j.get_ref().trim();
                    let Some((job, _)) = ChannelJob::ALL.into_iter().find(|(_, n)| *n == name) else {
                        return Err(err(
                            j.span(),
                            format!(
                                "{}: '{name}' cannot post to a channel: expected weekly_ranking, celebrations or quota_memo",
                                at("jobs")
                            ),
                        ));
                    };
                    if !jobs.contains(&job) {
                        jobs.push(job);
                    }
                }
                jobs
            }
        };
        let timeout_seconds = c.timeout_seconds.as_ref().map_or(30, |t| *t.get_ref());
        if !(1..=300).contains(&timeout_seconds) {
            let span = c.timeout_seconds.as_ref().map_or(0..0, |t| t.span());
            return Err(err(
                span,
                format!("{}: {timeout_seconds} should be from 1 to 300 (default 30)", at("timeout_seconds")),
            ));
        }
        out.push(Channel { name, kind, webhook_env, teams, jobs, timeout_seconds });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    fn parse(channels: &str) -> Result<Vec<Channel>, String> {
        let text = format!(
            "[org]\nname = \"T\"\ntime_zone = \"UTC\"\n\n[sources.deals]\nkind = \"deals\"\nfiles = [\"d*\"]\n\n[sources.roster]\nkind = \"roster\"\nfiles = [\"r*\"]\n\n[mail]\nfrom = \"o@t.com\"\n\n{channels}"
        );
        Config::parse(&text, "quotad.toml", Path::new("."))
            .map(|c| c.channels)
            .map_err(|e| format!("line {:?}: {}", e.line, e.message))
    }

    #[test]
    fn a_channel_reads_with_its_defaults() {
        let c = parse("[[channels]]\nname = \"co\"\nkind = \"google_chat\"\nwebhook_env = \"QUOTAD_GCHAT\"\n").unwrap();
        assert_eq!(
            c,
            [Channel {
                name: "co".into(),
                kind: ChatKind::GoogleChat,
                webhook_env: "QUOTAD_GCHAT".into(),
                teams: vec![],
                jobs: vec![ChannelJob::WeeklyRanking],
                timeout_seconds: 30,
            }]
        );
        assert_eq!(parse("").unwrap(), []);
    }

    #[test]
    fn jobs_read_each_once_in_the_order_given() {
        let c = parse("[[channels]]\nname = \"n\"\nkind = \"slack\"\nwebhook_env = \"X\"\njobs = [\"celebrations\", \"quota_memo\", \"celebrations\"]\n")
            .unwrap();
        assert_eq!(c[0].jobs, [ChannelJob::Celebrations, ChannelJob::QuotaMemo]);
        let e = parse("[[channels]]\nname = \"n\"\nkind = \"slack\"\nwebhook_env = \"X\"\njobs = [\"celebration\"]\n")
            .unwrap_err();
        assert!(
            e.ends_with("'celebration' cannot post to a channel: expected weekly_ranking, celebrations or quota_memo"),
            "{e}"
        );
    }

    #[test]
    fn mistakes_name_the_key_and_line() {
        let ch = |rest: &str| parse(&format!("[[channels]]\nname = \"a\"\n{rest}")).unwrap_err();
        let e = ch("kind = \"discord\"\nwebhook_env = \"X\"\n");
        assert_eq!(
            e,
            "line Some(18): channels[0].kind: 'discord' is not a chat platform: expected slack, teams or google_chat"
        );
        let e = ch("kind = \"slack\"\nwebhook_env = \"https://hooks.slack.com/services/x\"\n");
        assert!(e.starts_with("line Some(19): channels[0].webhook_env: a URL: expected a variable name"), "{e}");
        assert!(!e.contains("hooks.slack.com"), "{e}");
        let e = ch("kind = \"slack\"\n");
        assert!(e.contains("channels[0].webhook_env: missing"), "{e}");
        let e = ch("kind = \"slack\"\nwebhook_env = \"X\"\njobs = [\"one_on_one\"]\n");
        assert!(e.contains("channels[0].jobs: 'one_on_one' cannot post to a channel"), "{e}");
        let e = ch("kind = \"slack\"\nwebhook_env = \"X\"\ntimeout_seconds = 0\n");
        assert!(e.contains("channels[0].timeout_seconds: 0 should be from 1 to 300"), "{e}");
        let e = parse("[[channels]]\nname = \"a\"\nkind = \"slack\"\nwebhook_env = \"X\"\n[[channels]]\nname = \"a\"\nkind = \"teams\"\nwebhook_env = \"Y\"\n")
            .unwrap_err();
        assert!(e.contains("channels[1].name: 'a' is already the name of another channel"), "{e}");
        let e = parse("[[channels]]\nname = \"a b\"\nkind = \"slack\"\nwebhook_env = \"X\"\n").unwrap_err();
        assert!(e.contains("channels[0].name: 'a b' should be letters"), "{e}");
    }
}
