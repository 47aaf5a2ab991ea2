//! The approver's digest (`[quota_memo.approval]`, issue 23): the view the
//! `email/approval_digest*` templates render, and the CSV of every held memo's figures
//! attached to it. Figures arrive formatted by the pipeline; nothing here computes one.

use serde::Serialize;

use super::{OrgView, RenderedMail, ReportError, Templates, tera_detail};

/// One team's (or the company's) quotas this month against last month's, formatted.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaTotalsView {
    /// Team name, or "Company".
    pub team: String,
    /// Active reps with a memo this month.
    pub reps: usize,
    /// The sum of this month's revenue quotas.
    pub revenue_quota: String,
    /// The sum of last month's revenue quotas (of the reps active then).
    pub last_revenue_quota: String,
    /// The change in percent of last month's sum, signed ("+5.0%"), or "new" / "–".
    pub change: String,
    /// The sum of this month's units quotas.
    pub units_quota: String,
    /// The sum of last month's units quotas.
    pub last_units_quota: String,
}

/// A rep whose revenue quota moved more than `approval.flag_change_percent`.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaMoveView {
    /// The rep.
    pub name: String,
    /// Their team this month.
    pub team: String,
    /// Last month's revenue quota.
    pub old: String,
    /// This month's.
    pub new: String,
    /// Signed percent change, e.g. "+25.0%".
    pub change: String,
}

/// A recipient of a held message, for "to whom".
#[derive(Debug, Clone, Serialize)]
pub struct HeldRecipientView {
    /// Display name.
    pub name: String,
    /// Address (or the group's addresses).
    pub email: String,
    /// What they get: "quota memo", "team memo", "correction", …
    pub what: String,
}

/// An import warning of the month's files.
#[derive(Debug, Clone, Serialize)]
pub struct ImportWarningView {
    /// The file (and sheet).
    pub file: String,
    /// The warning as the import report has it.
    pub text: String,
}

/// The digest as the templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct DigestView {
    /// The org.
    pub org: OrgView,
    /// The memo month, e.g. "November 2026".
    pub period_label: String,
    /// `YYYY-MM`.
    pub period: String,
    /// True for a corrections round (only corrected memos are held).
    pub corrections: bool,
    /// The approval token (12 hex digits): the digest of exactly the held messages.
    pub token: String,
    /// The command that approves these messages.
    pub approve_command: String,
    /// The command that rejects them.
    pub reject_command: String,
    /// The deadline, local time with zone, if any.
    pub deadline: Option<String>,
    /// What the deadline does: "they stay held" or "they are sent".
    pub at_deadline: String,
    /// Held messages in all.
    pub total: usize,
    /// Rep memos held.
    pub rep_memos: usize,
    /// Manager (team) memos held.
    pub team_memos: usize,
    /// Corrections (reps and managers) held.
    pub corrections_held: usize,
    /// Other messages held (the admin's "sent with last month preliminary" notice).
    pub other: usize,
    /// Quotas per team, this month against last.
    pub teams: Vec<QuotaTotalsView>,
    /// The company's totals.
    pub company: QuotaTotalsView,
    /// Reps with a memo this month who were not active last month.
    pub new_reps: Vec<String>,
    /// Reps active last month who get no memo this month.
    pub leavers: Vec<String>,
    /// `approval.flag_change_percent`, e.g. "10%".
    pub flag_percent: String,
    /// Reps whose revenue quota moved more than that.
    pub moves: Vec<QuotaMoveView>,
    /// Active reps with no quota this month.
    pub no_quota: Vec<String>,
    /// Reps who get no memo, and why.
    pub skipped: Vec<String>,
    /// The month's import warnings.
    pub warnings: Vec<ImportWarningView>,
    /// Who gets what.
    pub recipients: Vec<HeldRecipientView>,
    /// Attachment names: the CSV, then one example memo per team.
    pub attachments: Vec<String>,
    /// When this digest replaces an earlier one: why (what changed).
    pub replaces: Option<String>,
}

impl DigestView {
    /// A digest with every part filled in, for `quotad check` (renders every branch of
    /// the templates but the corrections round's).
    pub fn sample(org: &str) -> DigestView {
        let totals = |team: &str| QuotaTotalsView {
            team: team.into(),
            reps: 8,
            revenue_quota: "$43,365,000".into(),
            last_revenue_quota: "$44,440,000".into(),
            change: "-2.4%".into(),
            units_quota: "63".into(),
            last_units_quota: "66".into(),
        };
        DigestView {
            org: OrgView { name: org.into() },
            period_label: "November 2026".into(),
            period: "2026-11".into(),
            corrections: false,
            token: "1800d38066fe".into(),
            approve_command: "quotad approve quota-memo --period 2026-11 --token 1800d38066fe".into(),
            reject_command: "quotad reject quota-memo --period 2026-11 --reason \"…\"".into(),
            deadline: Some("2026-11-04 12:00 CST".into()),
            at_deadline: "they stay held (the admin is told)".into(),
            total: 22,
            rep_memos: 19,
            team_memos: 3,
            corrections_held: 0,
            other: 0,
            teams: vec![totals("North Division")],
            company: totals("Company"),
            new_reps: vec!["James Schröder".into()],
            leavers: vec!["Eve Evans".into()],
            flag_percent: "10%".into(),
            moves: vec![QuotaMoveView {
                name: "Siobhán Haddad".into(),
                team: "North Division".into(),
                old: "$3,995,000".into(),
                new: "$5,045,000".into(),
                change: "+26.3%".into(),
            }],
            no_quota: vec!["Noah Nguyen".into()],
            skipped: vec!["Sam Smith: no e-mail address on the roster (row 7)".into()],
            warnings: vec![ImportWarningView {
                file: "crm-export-2026-10.xlsx [Closed Sales]".into(),
                text: "skipped totals row 108".into(),
            }],
            recipients: vec![HeldRecipientView {
                name: "José Núñez".into(),
                email: "jose.nunez@example-homes.com".into(),
                what: "quota memo".into(),
            }],
            attachments: vec!["quota-memos_2026-11_1800d38066fe.csv".into()],
            replaces: Some("the messages of digest 0123456789ab changed: 1 message(s) changed".into()),
        }
    }
}

/// Renders the approver's digest: subject, text and HTML.
pub fn render_digest(t: &Templates, view: &DigestView) -> Result<RenderedMail, ReportError> {
    let ctx = tera::Context::from_serialize(view)
        .map_err(|e| ReportError::Template { name: "email/approval_digest".into(), detail: tera_detail(&e) })?;
    let subject = t.render("email/approval_digest_subject.txt", &ctx)?;
    Ok(RenderedMail {
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text: t.render("email/approval_digest.txt", &ctx)?,
        html: t.render("email/approval_digest.html", &ctx)?,
    })
}

/// One held message's figures, a row of the digest's CSV. Money in currency units,
/// exact; empty = none.
#[derive(Debug, Clone, Default)]
pub struct HeldFiguresRow {
    /// The idempotency key.
    pub key: String,
    /// rep-memo, team-memo, correction, …
    pub kind: String,
    /// Recipient's name.
    pub name: String,
    /// Recipient's address.
    pub email: String,
    /// The rep's team (a manager's: their team(s)).
    pub team: String,
    /// This month's revenue quota (a team memo: the team's sum).
    pub revenue_quota: String,
    /// This month's units quota.
    pub units_quota: String,
    /// Last month's revenue quota.
    pub last_revenue_quota: String,
    /// Last month's revenue.
    pub last_revenue: String,
    /// Last month's attainment as shown, percent to one decimal.
    pub last_attainment_pct: String,
    /// The subject line the recipient will see.
    pub subject: String,
}

/// The CSV header of [`held_figures_csv`].
pub const HELD_FIGURES_HEADER: [&str; 11] = [
    "key",
    "kind",
    "name",
    "email",
    "team",
    "revenue_quota",
    "units_quota",
    "last_month_revenue_quota",
    "last_month_revenue",
    "last_month_attainment_pct",
    "subject",
];

/// The digest's CSV: a header, then one row per held message. Text from spreadsheets
/// is guarded against formula injection ([`super::standings::csv_text`]).
pub fn held_figures_csv(rows: &[HeldFiguresRow]) -> Result<Vec<u8>, ReportError> {
    use super::standings::csv_text;
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ReportError::Template { name: "approval CSV".into(), detail: e.to_string() };
    w.write_record(HELD_FIGURES_HEADER).map_err(fail)?;
    for r in rows {
        w.write_record([
            csv_text(&r.key).as_ref(),
            &r.kind,
            csv_text(&r.name).as_ref(),
            csv_text(&r.email).as_ref(),
            csv_text(&r.team).as_ref(),
            &r.revenue_quota,
            &r.units_quota,
            &r.last_revenue_quota,
            &r.last_revenue,
            &r.last_attainment_pct,
            csv_text(&r.subject).as_ref(),
        ])
        .map_err(fail)?;
    }
    w.into_inner().map_err(|e| ReportError::Template { name: "approval CSV".into(), detail: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_templates_render_every_part_and_escape_html() {
        let t = Templates::load(None, "en").unwrap();
        let mut v = DigestView::sample("Example <Homes>");
        let m = render_digest(&t, &v).unwrap();
        assert_eq!(m.subject, "CHANGED – Approve the November 2026 quota memos: 22 messages held (token 1800d38066fe)");
        assert!(
            m.text.contains("    Siobhán Haddad (North Division): $3,995,000 -> $5,045,000 (+26.3%)"),
            "{}",
            m.text
        );
        assert!(m.text.contains("  Leavers: Eve Evans"), "{}", m.text);
        assert!(m.html.contains("Example &lt;Homes&gt;"), "{}", m.html);
        v.corrections = true;
        v.replaces = None;
        let m = render_digest(&t, &v).unwrap();
        assert!(m.subject.starts_with("Approve the November 2026 quota corrections"), "{}", m.subject);
        assert!(!m.text.contains("Quotas for November 2026"), "{}", m.text);
    }

    #[test]
    fn the_csv_has_a_row_per_held_message_and_guards_spreadsheet_text() {
        let rows = vec![
            HeldFiguresRow {
                key: "k1".into(),
                name: "=HYPERLINK(\"x\")".into(),
                revenue_quota: "-5".into(),
                ..Default::default()
            },
            HeldFiguresRow { key: "k2".into(), name: "Ann, Jr.".into(), ..Default::default() },
        ];
        let text = String::from_utf8(held_figures_csv(&rows).unwrap()).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), HELD_FIGURES_HEADER);
        let recs: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(&recs[0][2], "'=HYPERLINK(\"x\")");
        assert_eq!(&recs[0][5], "-5", "numbers are never changed");
        assert_eq!(&recs[1][2], "Ann, Jr.");
    }
}
