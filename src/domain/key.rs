//! The outbox's idempotency key (README "Delivery"): job, period, recipient, kind,
//! written `JOB/PERIOD/RECIPIENT/KIND`, e.g. `quota-memo/2026-11/ann@example.com/rep-memo`.
//!
//! A key that was sent is never sent again, and the Message-ID is derived from the key's
//! text: so the text of every key quotad has ever made must stay byte for byte the same
//! across versions (the tests pin them). Keys are built only here, from typed parts, and
//! read back only with [`IdempotencyKey::from_str`]; digests inside kinds are computed
//! from canonical values (exact decimals as strings), never from formatted or `Debug` text.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use sha2::{Digest as _, Sha256};

/// The job a message belongs to: the key's first part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyJob {
    /// `quota-memo`: memos, corrections, the admin's "preliminary" notice.
    QuotaMemo,
    /// `weekly-ranking`.
    WeeklyRanking,
    /// `one-on-one`: the managers' 1:1 packs or sheets.
    OneOnOne,
    /// `quarantine`: the admin's notice about a quarantined file.
    Quarantine,
    /// `dead-letters`: the admin's list of dead letters.
    DeadLetters,
    /// `schedule`: the admin's notices about skipped or missed occurrences.
    Schedule,
    /// `glyphs`: the admin's notice about names no font could draw; period `JOB-PERIOD`.
    Glyphs,
    /// `celebrations`: a celebration posted to a chat channel after an import; period
    /// the celebrated month.
    Celebrations,
}

impl KeyJob {
    /// Every job, for parsing.
    pub const ALL: [KeyJob; 8] = [
        KeyJob::QuotaMemo,
        KeyJob::WeeklyRanking,
        KeyJob::OneOnOne,
        KeyJob::Quarantine,
        KeyJob::DeadLetters,
        KeyJob::Schedule,
        KeyJob::Glyphs,
        KeyJob::Celebrations,
    ];

    /// The key's (and the outbox `job` column's) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyJob::QuotaMemo => "quota-memo",
            KeyJob::WeeklyRanking => "weekly-ranking",
            KeyJob::OneOnOne => "one-on-one",
            KeyJob::Quarantine => "quarantine",
            KeyJob::DeadLetters => "dead-letters",
            KeyJob::Schedule => "schedule",
            KeyJob::Glyphs => "glyphs",
            KeyJob::Celebrations => "celebrations",
        }
    }

    /// How many `/`-separated parts the job's period has: 2 for `schedule`
    /// (`JOB/INSTANT`, e.g. `weekly-ranking/2026-11-02T14:00:00Z`), else 1.
    fn period_parts(self) -> usize {
        if self == KeyJob::Schedule { 2 } else { 1 }
    }
}

impl fmt::Display for KeyJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a message is for: the key's third part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyRecipient {
    /// One address, as the roster or config gives it: `ann@example.com`.
    Address(String),
    /// Every active rep of a team, its manager(s) in Cc: `team:NAME`, NAME folded
    /// (trimmed, case- and accent-folded, [`super::fold_name`]) so that the roster's
    /// spelling of the team does not change the key.
    Team(String),
    /// A configured list of addresses, e.g. `list:full` (`weekly_ranking.full_to`).
    List(String),
    /// A chat channel (config `[[channels]] name`): `channel:NAME`.
    Channel(String),
}

impl KeyRecipient {
    /// The team `name`'s recipient, folded.
    pub fn team(name: &str) -> KeyRecipient {
        KeyRecipient::Team(super::fold_name(name))
    }
}

impl fmt::Display for KeyRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRecipient::Address(a) => f.write_str(a),
            KeyRecipient::Team(t) => write!(f, "team:{t}"),
            KeyRecipient::List(l) => write!(f, "list:{l}"),
            KeyRecipient::Channel(c) => write!(f, "channel:{c}"),
        }
    }
}

impl From<&str> for KeyRecipient {
    /// `team:…`, `list:…` and `channel:…` are groups (no e-mail address starts so: a `:` in a local
    /// part needs quotes); anything else is an address.
    fn from(s: &str) -> KeyRecipient {
        if let Some(t) = s.strip_prefix("team:") {
            KeyRecipient::Team(t.to_string())
        } else if let Some(l) = s.strip_prefix("list:") {
            KeyRecipient::List(l.to_string())
        } else if let Some(c) = s.strip_prefix("channel:") {
            KeyRecipient::Channel(c.to_string())
        } else {
            KeyRecipient::Address(s.to_string())
        }
    }
}

/// 12 hex digits (the first 6 bytes of a SHA-256) that tell two corrections apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyDigest(String);

impl KeyDigest {
    /// The digest of `canonical`, a text made of canonical values only.
    pub fn of(canonical: &str) -> KeyDigest {
        KeyDigest(Sha256::digest(canonical.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect())
    }

    /// The 12 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyDigest {
    type Err = String;
    fn from_str(s: &str) -> Result<KeyDigest, String> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(KeyDigest(s.to_string()))
        } else {
            Err(format!("'{s}' is not a digest: expected 12 lower-case hex digits"))
        }
    }
}

/// What kind of message: the key's last part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// `rep-memo`: a rep's quota memo.
    RepMemo,
    /// `team-memo`: a manager's team memo.
    TeamMemo,
    /// `admin-preliminary`: the memos went out with last month preliminary.
    AdminPreliminary,
    /// `correction-DIGEST`: a rep's corrected figures ([`correction_digest`]).
    Correction(KeyDigest),
    /// `team-correction-DIGEST`: a manager's list of corrected reps ([`team_correction_digest`]).
    TeamCorrection(KeyDigest),
    /// `ranking`: the whole ranking PDF to one address (before the team editions; still
    /// read, so a week already sent this way is not sent again).
    Ranking,
    /// `team-edition`: a team's edition of the weekly ranking, to the team.
    TeamEdition,
    /// `full-ranking`: the whole company's ranking PDF (`weekly_ranking.full_to`).
    FullRanking,
    /// `pack`: a manager's 1:1 sheets in one message.
    Pack,
    /// `rep:IDENT`: one rep's 1:1 sheet to the manager (IDENT = the rep's e-mail, else id).
    RepSheet(String),
    /// `quarantine-notice`.
    QuarantineNotice,
    /// `admin-notice`: the dead-letter list.
    AdminNotice,
    /// `admin-missed`: occurrences missed while quotad was down.
    AdminMissed,
    /// `admin-skipped`: an occurrence skipped for want of data (or still held by a
    /// quarantine at its deadline).
    AdminSkipped,
    /// `admin-held`: an occurrence held by an unresolved quarantine (issue 15.1).
    AdminHeld,
    /// `missing-glyphs`: the characters no font could draw in a run's documents.
    MissingGlyphs,
    /// `approval-digest-TOKEN`: the digest of held messages sent to the approvers
    /// (`[quota_memo.approval]`); TOKEN is the approval token, the digest of exactly the
    /// held messages' content, so a new content is a new key (and a new digest).
    ApprovalDigest(KeyDigest),
    /// `approval-deadline-TOKEN`: the admin's notice that the approval deadline of the held
    /// messages TOKEN passed (and whether they were sent or stay held).
    ApprovalDeadline(KeyDigest),
    /// `chat-post`: one post to a chat channel (the message is its JSON payload).
    ChatPost,
    /// `celebration-WHAT-REP`: one celebrated event posted to a chat channel, e.g.
    /// `celebration-personal-best-revenue-3fa2c1d0e9b8`: WHAT is what was celebrated
    /// (`personal-best-METRIC`, `first-at-quota`, `quota-streak`, `clean-streak`), REP
    /// the digest of the rep's identity key ([`KeyDigest::of`]), so that the key names
    /// the event (rep, what, and the key's period: the month) and never an address.
    Celebration(String, KeyDigest),
}

impl KeyKind {
    /// The outbox `kind` column: the kind without its digest (`correction`,
    /// `team-correction`), else the key's spelling.
    pub fn column(&self) -> String {
        match self {
            KeyKind::Correction(_) => "correction".into(),
            KeyKind::TeamCorrection(_) => "team-correction".into(),
            KeyKind::ApprovalDigest(_) => "approval-digest".into(),
            KeyKind::ApprovalDeadline(_) => "approval-deadline".into(),
            KeyKind::Celebration(..) => "celebration".into(),
            k => k.to_string(),
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            KeyKind::RepMemo => "rep-memo",
            KeyKind::TeamMemo => "team-memo",
            KeyKind::AdminPreliminary => "admin-preliminary",
            KeyKind::Correction(d) => return write!(f, "correction-{}", d.as_str()),
            KeyKind::TeamCorrection(d) => return write!(f, "team-correction-{}", d.as_str()),
            KeyKind::Ranking => "ranking",
            KeyKind::TeamEdition => "team-edition",
            KeyKind::FullRanking => "full-ranking",
            KeyKind::Pack => "pack",
            KeyKind::RepSheet(ident) => return write!(f, "rep:{ident}"),
            KeyKind::QuarantineNotice => "quarantine-notice",
            KeyKind::AdminNotice => "admin-notice",
            KeyKind::AdminMissed => "admin-missed",
            KeyKind::AdminSkipped => "admin-skipped",
            KeyKind::AdminHeld => "admin-held",
            KeyKind::MissingGlyphs => "missing-glyphs",
            KeyKind::ApprovalDigest(d) => return write!(f, "approval-digest-{}", d.as_str()),
            KeyKind::ApprovalDeadline(d) => return write!(f, "approval-deadline-{}", d.as_str()),
            KeyKind::ChatPost => "chat-post",
            KeyKind::Celebration(what, rep) => return write!(f, "celebration-{what}-{}", rep.as_str()),
        };
        f.write_str(s)
    }
}

impl FromStr for KeyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<KeyKind, String> {
        let plain = [
            KeyKind::RepMemo,
            KeyKind::TeamMemo,
            KeyKind::AdminPreliminary,
            KeyKind::Ranking,
            KeyKind::TeamEdition,
            KeyKind::FullRanking,
            KeyKind::Pack,
            KeyKind::QuarantineNotice,
            KeyKind::AdminNotice,
            KeyKind::AdminMissed,
            KeyKind::AdminSkipped,
            KeyKind::AdminHeld,
            KeyKind::MissingGlyphs,
            KeyKind::ChatPost,
        ];
        if let Some(k) = plain.into_iter().find(|k| k.to_string() == s) {
            return Ok(k);
        }
        if let Some(d) = s.strip_prefix("team-correction-") {
            return Ok(KeyKind::TeamCorrection(d.parse()?));
        }
        if let Some(d) = s.strip_prefix("correction-") {
            return Ok(KeyKind::Correction(d.parse()?));
        }
        if let Some(d) = s.strip_prefix("approval-digest-") {
            return Ok(KeyKind::ApprovalDigest(d.parse()?));
        }
        if let Some(d) = s.strip_prefix("approval-deadline-") {
            return Ok(KeyKind::ApprovalDeadline(d.parse()?));
        }
        if let Some((what, rep)) = s.strip_prefix("celebration-").and_then(|r| r.rsplit_once('-'))
            && !what.is_empty()
        {
            return Ok(KeyKind::Celebration(what.to_string(), rep.parse()?));
        }
        if let Some(ident) = s.strip_prefix("rep:").filter(|i| !i.is_empty()) {
            return Ok(KeyKind::RepSheet(ident.to_string()));
        }
        Err(format!(
            "'{s}' is not a message kind quotad makes (rep-memo, team-memo, correction-…, team-edition, pack, rep:…, …)"
        ))
    }
}

/// An outbox idempotency key: (job, period, recipient, kind).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey {
    /// The job.
    pub job: KeyJob,
    /// The period or occurrence, as the job spells it: `2026-11` (a month), `2026-W43`
    /// (a week), `FILE-SHA12` (quarantine), an RFC 3339 instant (dead letters),
    /// `JOB/INSTANT` (schedule).
    pub period: String,
    /// Who it is for.
    pub recipient: KeyRecipient,
    /// What it is.
    pub kind: KeyKind,
}

impl IdempotencyKey {
    /// A key; `period` is written with its `Display` (a `Period`, an `IsoWeek`, a string).
    pub fn new(job: KeyJob, period: impl fmt::Display, recipient: KeyRecipient, kind: KeyKind) -> IdempotencyKey {
        IdempotencyKey { job, period: period.to_string(), recipient, kind }
    }

    /// A key to one address.
    pub fn to(job: KeyJob, period: impl fmt::Display, address: &str, kind: KeyKind) -> IdempotencyKey {
        IdempotencyKey::new(job, period, KeyRecipient::Address(address.to_string()), kind)
    }
}

impl fmt::Display for IdempotencyKey {
    /// `JOB/PERIOD/RECIPIENT/KIND`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}/{}", self.job, self.period, self.recipient, self.kind)
    }
}

impl FromStr for IdempotencyKey {
    type Err = String;

    /// Reads `JOB/PERIOD/RECIPIENT/KIND` back. The job is the first part and fixes how
    /// many parts the period has; the kind is the last part (for `one-on-one`, a
    /// `rep:IDENT` kind starts at the first `/rep:`, so an id holding `/` reads back);
    /// the recipient is what lies between, and may itself hold `/`.
    fn from_str(s: &str) -> Result<IdempotencyKey, String> {
        let bad = |why: &str| {
            format!(
                "'{s}' is not an idempotency key ({why}): expected JOB/PERIOD/RECIPIENT/KIND, e.g. quota-memo/2026-11/ann@example.com/rep-memo"
            )
        };
        let (job, rest) = s.split_once('/').ok_or_else(|| bad("no '/'"))?;
        let job = KeyJob::ALL.into_iter().find(|j| j.as_str() == job).ok_or_else(|| bad("unknown job"))?;
        let mut rest = rest;
        let mut period = Vec::new();
        for _ in 0..job.period_parts() {
            let (p, r) = rest.split_once('/').ok_or_else(|| bad("no recipient"))?;
            period.push(p);
            rest = r;
        }
        let split = match rest.find("/rep:") {
            Some(i) if job == KeyJob::OneOnOne => Some((&rest[..i], &rest[i + 1..])),
            _ => rest.rsplit_once('/'),
        };
        let (recipient, kind) = split.ok_or_else(|| bad("no kind"))?;
        if recipient.is_empty() || period.iter().any(|p| p.is_empty()) {
            return Err(bad("an empty part"));
        }
        Ok(IdempotencyKey {
            job,
            period: period.join("/"),
            recipient: KeyRecipient::from(recipient),
            kind: kind.parse().map_err(|e: String| bad(&e))?,
        })
    }
}

/// A quota as the corrections digest reads it: the exact decimal, normalized
/// (`410000`, `2.5`), or `null` for none.
fn canonical(d: Option<Decimal>) -> String {
    match d {
        Some(d) => format!("\"{}\"", d.normalize()),
        None => "null".into(),
    }
}

/// The digest in a rep's correction key: over the corrected figures the memo states,
/// written canonically as `{"revenue_quota":"410000","units_quota":"2"}` (exact
/// decimals, normalized; `null` = none). This is the very text quotad hashed before
/// keys were typed, so keys of corrections already sent are unchanged.
pub fn correction_digest(revenue_quota: Option<Decimal>, units_quota: Option<Decimal>) -> KeyDigest {
    KeyDigest::of(&format!(
        "{{\"revenue_quota\":{},\"units_quota\":{}}}",
        canonical(revenue_quota),
        canonical(units_quota)
    ))
}

/// A rep's name and their changes as a correction notice showed them: (what, old, new),
/// formatted, e.g. ("Revenue quota", "$400,000", "$410,000").
pub type LegacyRepChanges<'a> = (&'a str, Vec<(&'a str, &'a str, &'a str)>);

/// One corrected figure of one rep, as the manager's correction digest reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectedFigure<'a> {
    /// The rep's identity key.
    pub rep_key: &'a str,
    /// `revenue_quota` or `units_quota`.
    pub field: &'a str,
    /// The value the memo stated (exact, `None` = none).
    pub old: Option<Decimal>,
    /// The value now.
    pub new: Option<Decimal>,
}

/// The digest in a manager's correction key: over every corrected figure of their reps,
/// one line each, `REP_KEY FIELD OLD NEW` (tab-separated, exact decimals normalized or
/// `null`), sorted. Independent of money formatting, names and any `Debug` output.
pub fn team_correction_digest(figures: &[CorrectedFigure]) -> KeyDigest {
    let mut lines: Vec<String> = figures
        .iter()
        .map(|f| format!("{}\t{}\t{}\t{}\n", f.rep_key, f.field, canonical(f.old), canonical(f.new)))
        .collect();
    lines.sort();
    KeyDigest::of(&lines.concat())
}

/// The digest managers' correction keys had before keys were typed: over the `Debug`
/// text of `[(rep name, [ChangeView { what, old, new }])]` with formatted values, e.g.
/// `[("Ann Archer", [ChangeView { what: "Revenue quota", old: "$400,000", new: "$410,000" }])]`.
/// Written out here (not derived), so that a correction sent by an earlier version is
/// still recognised, and not sent again, whatever becomes of the view's `Debug`.
/// `reps`: (name, [(what, old, new)]) in the order the notice lists them.
pub fn legacy_team_correction_digest(reps: &[LegacyRepChanges]) -> KeyDigest {
    let reps: Vec<String> = reps
        .iter()
        .map(|(name, changes)| {
            let changes: Vec<String> = changes
                .iter()
                .map(|(what, old, new)| format!("ChangeView {{ what: {what:?}, old: {old:?}, new: {new:?} }}"))
                .collect();
            format!("({name:?}, [{}])", changes.join(", "))
        })
        .collect();
    KeyDigest::of(&format!("[{}]", reps.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<Decimal> {
        Some(s.parse().unwrap())
    }

    /// Keys as quotad wrote them before they were typed (computed with that code): the
    /// typed key must write each byte for byte, and read it back.
    #[test]
    fn todays_keys_are_pinned() {
        let (m, w) = ("2026-11", "2026-W43");
        let a = "ann@example.com";
        let cases: Vec<(IdempotencyKey, &str)> = vec![
            (
                IdempotencyKey::to(KeyJob::QuotaMemo, m, a, KeyKind::RepMemo),
                "quota-memo/2026-11/ann@example.com/rep-memo",
            ),
            (
                IdempotencyKey::to(KeyJob::QuotaMemo, m, "mia@example.com", KeyKind::TeamMemo),
                "quota-memo/2026-11/mia@example.com/team-memo",
            ),
            (
                IdempotencyKey::to(KeyJob::QuotaMemo, m, "admin@example.com", KeyKind::AdminPreliminary),
                "quota-memo/2026-11/admin@example.com/admin-preliminary",
            ),
            (
                IdempotencyKey::to(
                    KeyJob::QuotaMemo,
                    m,
                    a,
                    KeyKind::Correction(correction_digest(d("410000"), d("2"))),
                ),
                "quota-memo/2026-11/ann@example.com/correction-25fde0d1445d",
            ),
            (
                IdempotencyKey::to(KeyJob::WeeklyRanking, w, a, KeyKind::Ranking),
                "weekly-ranking/2026-W43/ann@example.com/ranking",
            ),
            (
                IdempotencyKey::to(KeyJob::OneOnOne, "2026-10", "mgr@example.com", KeyKind::Pack),
                "one-on-one/2026-10/mgr@example.com/pack",
            ),
            (
                IdempotencyKey::to(KeyJob::OneOnOne, "2026-10", "mgr@example.com", KeyKind::RepSheet(a.into())),
                "one-on-one/2026-10/mgr@example.com/rep:ann@example.com",
            ),
            (
                IdempotencyKey::to(
                    KeyJob::Quarantine,
                    "deals.csv-0123456789ab",
                    "admin@example.com",
                    KeyKind::QuarantineNotice,
                ),
                "quarantine/deals.csv-0123456789ab/admin@example.com/quarantine-notice",
            ),
            (
                IdempotencyKey::to(
                    KeyJob::DeadLetters,
                    "2026-11-02T14:00:00.000Z",
                    "admin@example.com",
                    KeyKind::AdminNotice,
                ),
                "dead-letters/2026-11-02T14:00:00.000Z/admin@example.com/admin-notice",
            ),
            (
                IdempotencyKey::to(
                    KeyJob::Schedule,
                    "weekly-ranking/2026-11-02T14:00:00Z",
                    "admin@example.com",
                    KeyKind::AdminSkipped,
                ),
                "schedule/weekly-ranking/2026-11-02T14:00:00Z/admin@example.com/admin-skipped",
            ),
        ];
        for (key, text) in cases {
            assert_eq!(key.to_string(), text);
            assert_eq!(text.parse::<IdempotencyKey>().unwrap(), key, "{text}");
        }
    }

    #[test]
    fn approval_keys_read_back_and_name_their_token() {
        let token = KeyDigest::of("quota-memo/2026-11/ann@example.com/rep-memo\tabc\n");
        let key = IdempotencyKey::new(
            KeyJob::QuotaMemo,
            "2026-11",
            KeyRecipient::List("approvers".into()),
            KeyKind::ApprovalDigest(token.clone()),
        );
        let text = format!("quota-memo/2026-11/list:approvers/approval-digest-{}", token.as_str());
        assert_eq!(key.to_string(), text);
        assert_eq!(text.parse::<IdempotencyKey>().unwrap(), key);
        assert_eq!(key.kind.column(), "approval-digest");
        let late =
            IdempotencyKey::to(KeyJob::QuotaMemo, "2026-11", "admin@example.com", KeyKind::ApprovalDeadline(token));
        assert_eq!(late.to_string().parse::<IdempotencyKey>().unwrap(), late);
        assert_eq!(late.kind.column(), "approval-deadline");
        assert!("quota-memo/2026-11/list:approvers/approval-digest-xyz".parse::<IdempotencyKey>().is_err());
    }

    #[test]
    fn a_chat_post_key_reads_back() {
        let key = IdempotencyKey::new(
            KeyJob::WeeklyRanking,
            "2026-W45",
            KeyRecipient::Channel("sales-north".into()),
            KeyKind::ChatPost,
        );
        let text = "weekly-ranking/2026-W45/channel:sales-north/chat-post";
        assert_eq!(key.to_string(), text);
        assert_eq!(text.parse::<IdempotencyKey>().unwrap(), key);
        assert_eq!(KeyKind::ChatPost.column(), "chat-post");
    }

    #[test]
    fn a_celebration_key_names_the_event_and_reads_back() {
        let rep = KeyDigest::of("ann@example.com");
        let key = IdempotencyKey::new(
            KeyJob::Celebrations,
            "2026-11",
            KeyRecipient::Channel("north".into()),
            KeyKind::Celebration("personal-best-revenue".into(), rep.clone()),
        );
        let text = format!("celebrations/2026-11/channel:north/celebration-personal-best-revenue-{}", rep.as_str());
        assert_eq!(key.to_string(), text);
        assert!(!text.contains('@'), "{text}");
        assert_eq!(text.parse::<IdempotencyKey>().unwrap(), key);
        assert_eq!(key.kind.column(), "celebration");
        assert!("celebrations/2026-11/channel:north/celebration-first-at-quota-xyz".parse::<IdempotencyKey>().is_err());
        assert!("celebrations/2026-11/channel:north/celebration--0123456789ab".parse::<IdempotencyKey>().is_err());
    }
}
