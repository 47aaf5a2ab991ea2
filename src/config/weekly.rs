//! `[weekly_ranking]`: how the weekly ranking is distributed (issue 18.4): how many of
//! the company's top ranks each team edition lists, and who gets the whole company's
//! PDF.
//!
//! Validates into [`WeeklyRankingSettings`]; imports `deliver`'s address parser and
//! serde/toml, nothing else.

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::deliver::{self, Mailbox};

/// Who gets the whole company's ranking PDF (config `weekly_ranking.full_to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FullTo {
    /// `"managers"`: every manager of an active rep (the roster's manager e-mail).
    Managers,
    /// `"admin"`: `mail.admin`, if set.
    Admin,
    /// An address, e.g. `"Sales VP <vp@example.com>"`.
    Address(Mailbox),
}

/// Weekly ranking settings (config `[weekly_ranking]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyRankingSettings {
    /// Each team edition lists the company's ranks 1 to `top` (ties at the last place
    /// included). Default 20.
    pub top: u32,
    /// Who gets the whole company's PDF, in one message. Default `["managers", "admin"]`;
    /// empty = nobody.
    pub full_to: Vec<FullTo>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawWeeklyRanking {
    top: Spanned<u32>,
    full_to: Spanned<Vec<Spanned<String>>>,
}

impl Default for RawWeeklyRanking {
    fn default() -> Self {
        RawWeeklyRanking {
            top: Spanned::new(0..0, 20),
            full_to: Spanned::new(
                0..0,
                vec![Spanned::new(0..0, "managers".into()), Spanned::new(0..0, "admin".into())],
            ),
        }
    }
}

/// Validates `[weekly_ranking]`: `top` from 1 to 1000; each `full_to` entry
/// "managers", "admin" or an e-mail address.
pub(super) fn settings(
    raw: &RawWeeklyRanking,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<WeeklyRankingSettings, ConfigError> {
    let top = *raw.top.get_ref();
    if !(1..=1000).contains(&top) {
        return Err(err(raw.top.span(), format!("weekly_ranking.top: {top} should be from 1 to 1000 (default 20)")));
    }
    let mut full_to = Vec::new();
    for entry in raw.full_to.get_ref() {
        let v = entry.get_ref().trim();
        full_to.push(match v {
            "managers" => FullTo::Managers,
            "admin" => FullTo::Admin,
            _ => FullTo::Address(deliver::parse_mailbox(v).map_err(|e| {
                err(
                    entry.span(),
                    format!(
                        "weekly_ranking.full_to: {e}; or \"managers\" (every team's manager) or \"admin\" (mail.admin)"
                    ),
                )
            })?),
        });
    }
    Ok(WeeklyRankingSettings { top, full_to })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{MINIMAL, parse};
    use super::*;

    #[test]
    fn defaults_and_each_kind_of_full_to_entry() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.weekly_ranking, WeeklyRankingSettings { top: 20, full_to: vec![FullTo::Managers, FullTo::Admin] });
        let c = parse(&format!(
            "{MINIMAL}\n[weekly_ranking]\ntop = 10\nfull_to = [\"admin\", \"Sales VP <vp@example.com>\"]\n"
        ))
        .unwrap();
        assert_eq!(c.weekly_ranking.top, 10);
        assert_eq!(c.weekly_ranking.full_to[0], FullTo::Admin);
        assert!(matches!(&c.weekly_ranking.full_to[1], FullTo::Address(m) if m.email.to_string() == "vp@example.com"));
        let none = parse(&format!("{MINIMAL}\n[weekly_ranking]\nfull_to = []\n")).unwrap();
        assert!(none.weekly_ranking.full_to.is_empty());
    }

    #[test]
    fn a_bad_entry_or_top_names_the_key_and_the_line() {
        let e = parse(&format!("{MINIMAL}\n[weekly_ranking]\nfull_to = [\"managers\", \"the VP\"]\n")).unwrap_err();
        assert_eq!(e.line, Some(18), "{e}");
        assert!(e.message.starts_with("weekly_ranking.full_to: 'the VP' is not an e-mail address"), "{e}");
        assert!(e.message.contains("\"managers\""), "{e}");
        let e = parse(&format!("{MINIMAL}\n[weekly_ranking]\ntop = 0\n")).unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(18), "weekly_ranking.top: 0 should be from 1 to 1000 (default 20)")
        );
    }
}
