//! `[schedule]` and `[quota_memo]`: when `quotad serve` runs each job (cron in the
//! org's zone, enabled, wait for data), catch-up, settling, rescan and heartbeat, and
//! how long the quota memo waits for last month's final export.
//!
//! Validates into the schedule's own [`schedule::Calendar`] and this module's
//! [`QuotaMemoSettings`]; imports `schedule`'s calendar types and serde/toml/chrono,
//! nothing else.

use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::schedule;

/// Quota memo settings (config `[quota_memo]`).
#[derive(Debug, Clone)]
pub struct QuotaMemoSettings {
    /// If last month's final export is not loaded, wait until this day of the memo month…
    pub wait_day: u32,
    /// …at this local time, then send with last month marked preliminary.
    pub wait_time: chrono::NaiveTime,
    /// The approval step (`[quota_memo.approval]`); `None` = off, memos go out at once.
    pub approval: Option<super::ApprovalSettings>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawQuotaMemo {
    wait_for_final_until: Spanned<String>,
    approval: Option<super::approval::RawApproval>,
}

impl Default for RawQuotaMemo {
    fn default() -> Self {
        RawQuotaMemo { wait_for_final_until: Spanned::new(0..0, "2 12:00".into()), approval: None }
    }
}

/// Validates `quota_memo.wait_for_final_until`: a day of the month (1 to 28) and a
/// local time, e.g. "2 12:00".
pub(super) fn quota_memo(
    raw: &RawQuotaMemo,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<QuotaMemoSettings, ConfigError> {
    let wait = &raw.wait_for_final_until;
    let bad_wait = || {
        err(
            wait.span(),
            format!(
                "quota_memo.wait_for_final_until: '{}' should be a day of the month and a local time, e.g. \"2 12:00\"",
                wait.get_ref()
            ),
        )
    };
    let (day, time) = wait.get_ref().trim().split_once(' ').ok_or_else(bad_wait)?;
    Ok(QuotaMemoSettings {
        wait_day: day.parse().ok().filter(|d| (1..=28).contains(d)).ok_or_else(bad_wait)?,
        wait_time: chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| bad_wait())?,
        approval: super::approval::settings(raw.approval.as_ref(), err)?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSchedule {
    catch_up: Spanned<String>,
    settle_seconds: Spanned<u64>,
    rescan_seconds: Spanned<u64>,
    heartbeat_seconds: Spanned<u64>,
    lease_seconds: Option<Spanned<u64>>,
    quota_memo: RawScheduledJob,
    weekly_ranking: RawScheduledJob,
    one_on_one: RawScheduledJob,
}

impl Default for RawSchedule {
    fn default() -> Self {
        RawSchedule {
            catch_up: Spanned::new(0..0, "24h".into()),
            settle_seconds: Spanned::new(0..0, 5),
            rescan_seconds: Spanned::new(0..0, 60),
            heartbeat_seconds: Spanned::new(0..0, 15),
            lease_seconds: None,
            quota_memo: RawScheduledJob::default(),
            weekly_ranking: RawScheduledJob::default(),
            one_on_one: RawScheduledJob::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawScheduledJob {
    cron: Option<Spanned<String>>,
    enabled: bool,
    wait_for_data: Option<Spanned<String>>,
}

impl Default for RawScheduledJob {
    fn default() -> Self {
        RawScheduledJob { cron: None, enabled: true, wait_for_data: None }
    }
}

/// Validates `[schedule]`: cron expressions (6 fields) for the org's zone, durations.
pub(super) fn settings(
    raw: &RawSchedule,
    tz: Tz,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<schedule::Calendar, ConfigError> {
    use schedule::{JobKind, JobSchedule};
    let catch_up = schedule::parse_duration(raw.catch_up.get_ref())
        .map_err(|m| err(raw.catch_up.span(), format!("schedule.catch_up: {m}")))?;
    let seconds = |v: &Spanned<u64>, key: &str, min: u64| -> Result<std::time::Duration, ConfigError> {
        if *v.get_ref() < min {
            return Err(err(v.span(), format!("schedule.{key}: must be at least {min} second(s)")));
        }
        Ok(Duration::from_secs(*v.get_ref()))
    };
    let mut jobs = Vec::new();
    for (job, r) in [
        (JobKind::QuotaMemo, &raw.quota_memo),
        (JobKind::WeeklyRanking, &raw.weekly_ranking),
        (JobKind::OneOnOne, &raw.one_on_one),
    ] {
        let key = format!("schedule.{}", job.config_key());
        let mut j = JobSchedule::default_for(job);
        if let Some(c) = &r.cron {
            j.cron = schedule::parse_cron(c.get_ref()).map_err(|m| err(c.span(), format!("{key}.cron: {m}")))?;
            j.pattern = c.get_ref().trim().to_string();
            if j.next_after(tz, schedule::utc(2000, 1, 1, 0, 0)).is_none() {
                return Err(err(c.span(), format!("{key}.cron: '{}' never occurs", j.pattern)));
            }
        }
        j.enabled = r.enabled;
        j.wait_for_data = r
            .wait_for_data
            .as_ref()
            .map(|w| {
                schedule::parse_duration(w.get_ref()).map_err(|m| err(w.span(), format!("{key}.wait_for_data: {m}")))
            })
            .transpose()?;
        jobs.push(j);
    }
    let heartbeat = seconds(&raw.heartbeat_seconds, "heartbeat_seconds", 1)?;
    // A lease outlives two missed heartbeats (renewed every half heartbeat), so a busy
    // or briefly stalled instance keeps what it holds.
    // Default: 60 s, or 3 heartbeats when they are longer.
    let lease = match &raw.lease_seconds {
        Some(l) => seconds(l, "lease_seconds", 3 * heartbeat.as_secs())
            .map_err(|e| ConfigError { message: format!("{} (3 x heartbeat_seconds)", e.message), ..e })?,
        None => heartbeat.saturating_mul(3).max(Duration::from_secs(60)),
    };
    Ok(schedule::Calendar {
        lease,
        tz,
        jobs,
        catch_up,
        settle: seconds(&raw.settle_seconds, "settle_seconds", 0)?,
        rescan: seconds(&raw.rescan_seconds, "rescan_seconds", 1)?,
        heartbeat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, parse};

    #[test]
    fn schedule_defaults_and_overrides() {
        use crate::schedule::JobKind;
        let c = parse(MINIMAL).unwrap();
        let s = &c.schedule;
        assert_eq!(s.tz, chrono_tz::America::Chicago);
        assert_eq!(s.catch_up, chrono::Duration::hours(24));
        assert_eq!(
            (s.settle, s.rescan, s.heartbeat),
            (Duration::from_secs(5), Duration::from_secs(60), Duration::from_secs(15))
        );
        let pats: Vec<&str> = s.jobs.iter().map(|j| j.pattern.as_str()).collect();
        assert_eq!(pats, ["0 0 7 1 * *", "0 0 8 * * Mon", "0 0 7 3 * *"]);
        assert!(s.jobs.iter().all(|j| j.enabled && j.wait_for_data.is_none()));
        let c = parse(&format!(
            "{MINIMAL}\n[schedule]\ncatch_up = \"48h\"\nsettle_seconds = 2\n[schedule.weekly_ranking]\ncron = \"0 30 9 * * Tue\"\nwait_for_data = \"1d12h\"\n[schedule.one_on_one]\nenabled = false\n"
        ))
        .unwrap();
        let s = &c.schedule;
        assert_eq!(s.catch_up, chrono::Duration::hours(48));
        assert_eq!(s.settle, Duration::from_secs(2));
        assert_eq!(s.job(JobKind::WeeklyRanking).pattern, "0 30 9 * * Tue");
        assert_eq!(s.job(JobKind::WeeklyRanking).wait_for_data, Some(chrono::Duration::hours(36)));
        assert!(!s.job(JobKind::OneOnOne).enabled);
    }

    #[test]
    fn schedule_errors_name_key_and_line() {
        let e = parse(&format!("{MINIMAL}\n[schedule.quota_memo]\ncron = \"0 7 1 * *\"\n")).unwrap_err();
        assert_eq!(e.line, Some(18), "{e}");
        assert!(e.message.starts_with("schedule.quota_memo.cron: '0 7 1 * *' has 5 fields"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[schedule]\ncatch_up = \"a day\"\n")).unwrap_err();
        assert_eq!(e.line, Some(18), "{e}");
        assert!(e.message.starts_with("schedule.catch_up: 'a day' is not a duration"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[schedule]\nrescan_seconds = 0\n")).unwrap_err();
        assert!(e.message.starts_with("schedule.rescan_seconds: must be at least 1"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[schedule]\nheartbeat_seconds = 10\nlease_seconds = 29\n")).unwrap_err();
        assert_eq!(e.line, Some(19), "{e}");
        assert_eq!(e.message, "schedule.lease_seconds: must be at least 30 second(s) (3 x heartbeat_seconds)", "{e}");
        let c = parse(&format!("{MINIMAL}\n[schedule]\nheartbeat_seconds = 10\nlease_seconds = 30\n")).unwrap();
        assert_eq!(c.schedule.lease, Duration::from_secs(30));
        assert_eq!(parse(MINIMAL).unwrap().schedule.lease, Duration::from_secs(60));
        let e = parse(&format!("{MINIMAL}\n[schedule.weekly_ranking]\ncorn = \"x\"\n")).unwrap_err();
        assert!(e.message.contains("unknown field `corn`"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[schedule.quota_memo]\ncron = \"0 0 7 30 2 *\"\n")).unwrap_err();
        assert!(e.message.contains("never occurs"), "{e}");
    }
}
