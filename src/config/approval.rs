//! `[quota_memo.approval]`: who must approve the quota memos before reps see them, which
//! quota moves the approver's digest flags, and what happens at the approval deadline.
//! Off by default (no table, or `to = []`). Imports serde/toml/chrono/rust_decimal and
//! `deliver::parse_mailbox` (an address is checked where it is configured).

use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::deliver::{self, Mailbox};

/// What happens to held memos when the approval deadline passes unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtDeadline {
    /// They stay held (the default): nothing goes out unapproved; the admin is told.
    Hold,
    /// They are released as if approved — only when their content is still exactly what
    /// the digest showed; the admin is told either way.
    Send,
}

/// The approval step of the quota memo (config `[quota_memo.approval]`).
#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    /// The approvers (`to`): each gets the digest; any one of them approves.
    pub approvers: Vec<Mailbox>,
    /// A rep's revenue quota that moved by more than this many percent since last month
    /// is flagged in the digest (`flag_change_percent`, default 10; a percent, not a
    /// fraction).
    pub flag_change_percent: Decimal,
    /// The deadline after the memos were held (`deadline = "2d 12:00"`: the local date
    /// they were held plus 2 days, at 12:00 in `org.time_zone`); `None` = no deadline.
    pub deadline: Option<(u32, chrono::NaiveTime)>,
    /// What the deadline does (`at_deadline = "hold"` or `"send"`).
    pub at_deadline: AtDeadline,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApproval {
    #[serde(default)]
    to: Vec<Spanned<String>>,
    flag_change_percent: Option<Spanned<f64>>,
    deadline: Option<Spanned<String>>,
    at_deadline: Option<Spanned<String>>,
}

/// Validates `[quota_memo.approval]`; `None` when no approver is configured (off).
pub(super) fn settings(
    raw: Option<&RawApproval>,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Option<ApprovalSettings>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let mut approvers = Vec::new();
    for a in &raw.to {
        let m = deliver::parse_mailbox(a.get_ref())
            .map_err(|m| err(a.span(), format!("quota_memo.approval.to: '{}': {m}", a.get_ref())))?;
        approvers.push(m);
    }
    if approvers.is_empty() {
        if let Some(s) = raw.deadline.as_ref().map(|d| d.span()).or(raw.at_deadline.as_ref().map(|d| d.span())) {
            return Err(err(
                s,
                "quota_memo.approval: no approver: set to = [\"salesops@example.com\"] (or remove the table to send without approval)".into(),
            ));
        }
        return Ok(None);
    }
    let flag_change_percent = match &raw.flag_change_percent {
        None => Decimal::TEN,
        Some(v) => Decimal::try_from(*v.get_ref()).ok().filter(|d| *d >= Decimal::ZERO).ok_or_else(|| {
            err(
                v.span(),
                format!(
                    "quota_memo.approval.flag_change_percent: {} should be a percent of 0 or more, e.g. 10",
                    v.get_ref()
                ),
            )
        })?,
    };
    let deadline =
        raw.deadline.as_ref().map(|d| parse_deadline(d.get_ref()).map_err(|m| err(d.span(), m))).transpose()?;
    let at_deadline = match raw.at_deadline.as_ref().map(|a| (a, a.get_ref().as_str())) {
        None | Some((_, "hold")) => AtDeadline::Hold,
        Some((_, "send")) => AtDeadline::Send,
        Some((a, other)) => {
            return Err(err(
                a.span(),
                format!("quota_memo.approval.at_deadline: '{other}' should be \"hold\" or \"send\""),
            ));
        }
    };
    if at_deadline == AtDeadline::Send && deadline.is_none() {
        let a = raw.at_deadline.as_ref().expect("set");
        return Err(err(
            a.span(),
            "quota_memo.approval.at_deadline = \"send\" needs a deadline, e.g. deadline = \"2d 12:00\"".into(),
        ));
    }
    Ok(Some(ApprovalSettings {
        approvers,
        flag_change_percent: flag_change_percent.normalize(),
        deadline,
        at_deadline,
    }))
}

/// `"2d 12:00"`: whole days (0 to 27) after the day the memos were held, and a local time.
fn parse_deadline(s: &str) -> Result<(u32, chrono::NaiveTime), String> {
    let bad = || {
        format!(
            "quota_memo.approval.deadline: '{s}' should be days after the memos were held and a local time, e.g. \"2d 12:00\""
        )
    };
    let (days, time) = s.trim().split_once(' ').ok_or_else(bad)?;
    let days: u32 = days.strip_suffix('d').and_then(|d| d.parse().ok()).filter(|d| *d < 28).ok_or_else(bad)?;
    let time = chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| bad())?;
    Ok((days, time))
}

#[cfg(test)]
mod tests {
    use crate::config::AtDeadline;
    use crate::config::tests::{MINIMAL, parse};

    #[test]
    fn approval_is_off_by_default_and_validated() {
        assert!(parse(MINIMAL).unwrap().quota_memo.approval.is_none());
        let c = parse(&format!(
            "{MINIMAL}\n[quota_memo.approval]\nto = [\"Sales Ops <salesops@example.com>\", \"vp@example.com\"]\ndeadline = \"2d 12:00\"\nat_deadline = \"send\"\nflag_change_percent = 12.5\n"
        ))
        .unwrap();
        let a = c.quota_memo.approval.unwrap();
        assert_eq!(a.approvers.len(), 2);
        assert_eq!(a.approvers[0].email.to_string(), "salesops@example.com");
        assert_eq!(a.flag_change_percent.to_string(), "12.5");
        assert_eq!(a.deadline, Some((2, chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap())));
        assert_eq!(a.at_deadline, AtDeadline::Send);
        let c = parse(&format!("{MINIMAL}\n[quota_memo.approval]\nto = [\"ops@example.com\"]\n")).unwrap();
        let a = c.quota_memo.approval.unwrap();
        assert_eq!(
            (a.flag_change_percent.to_string().as_str(), a.deadline, a.at_deadline),
            ("10", None, AtDeadline::Hold)
        );

        let e = parse(&format!("{MINIMAL}\n[quota_memo.approval]\nto = [\"not an address\"]\n")).unwrap_err();
        assert!(e.message.starts_with("quota_memo.approval.to: 'not an address'"), "{e}");
        assert_eq!(e.line, Some(18));
        let e = parse(&format!("{MINIMAL}\n[quota_memo.approval]\nto = [\"a@example.com\"]\ndeadline = \"2 12:00\"\n"))
            .unwrap_err();
        assert!(e.message.contains("e.g. \"2d 12:00\""), "{e}");
        let e = parse(&format!("{MINIMAL}\n[quota_memo.approval]\nto = [\"a@example.com\"]\nat_deadline = \"send\"\n"))
            .unwrap_err();
        assert!(e.message.contains("needs a deadline"), "{e}");
        let e =
            parse(&format!("{MINIMAL}\n[quota_memo.approval]\nto = [\"a@example.com\"]\nat_deadline = \"later\"\n"))
                .unwrap_err();
        assert!(e.message.contains("\"hold\" or \"send\""), "{e}");
        let e = parse(&format!("{MINIMAL}\n[quota_memo.approval]\nto = [\"a@example.com\"]\napprover = \"x\"\n"))
            .unwrap_err();
        assert!(e.message.contains("unknown field `approver`"), "{e}");
    }
}
