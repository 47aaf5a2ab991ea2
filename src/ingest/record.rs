//! One data row -> one domain record, per source kind: a deal, quota rows (by rows,
//! spread over a quarter or year, or wide with a column per month), a summary total,
//! a roster entry. [`RowCtx`] reads a row's fields and collects its rejects, each
//! naming the column and saying what was expected.
//!
//! Imports `domain` and its ingest siblings only.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::header::{Header, MonthHead};
use super::table::{Cell, GridRow};
use super::{NumberStyle, QuotaSpan, Reject, Settings, Source, even_percents, spread, values};
use crate::domain::{DealRow, Period, QuotaRow, RepRef, RosterRep, RowOrigin, StageClass, fold_name};

/// Field access for one data row, collecting rejects.
pub(super) struct RowCtx<'a> {
    pub(super) row: &'a GridRow,
    pub(super) header: &'a Header,
    pub(super) sheet: &'a str,
    pub(super) epoch_1904: bool,
    pub(super) rejects: Vec<Reject>,
}

impl<'a> RowCtx<'a> {
    fn cell(&self, field: &str) -> &'a Cell {
        match self.header.col.get(field) {
            Some(&c) => self.row.get(c),
            None => &Cell::Empty,
        }
    }

    /// Rejects the row for the cell in column `col` (labelled "C 'Jan 2026'").
    fn reject_at(&mut self, col: usize, label: &str, reason: String) {
        self.rejects.push(Reject {
            sheet: self.sheet.to_string(),
            row: self.row.excel_row,
            column: label.to_string(),
            raw: self.row.get(col).raw(),
            reason,
        });
    }

    fn reject(&mut self, field: &str, reason: impl Into<String>) {
        let column = if self.header.col.contains_key(field) { self.header.label(field) } else { String::new() };
        self.rejects.push(Reject {
            sheet: self.sheet.to_string(),
            row: self.row.excel_row,
            column,
            raw: self.cell(field).raw(),
            reason: reason.into(),
        });
    }

    /// Trimmed text of a field; blank -> None. Error cells are rejected.
    fn text(&mut self, field: &str) -> Option<String> {
        let cell = self.cell(field);
        if let Cell::Error(e) = cell {
            self.reject(field, error_cell_reason(e));
            return None;
        }
        let raw = cell.raw();
        (!raw.is_empty()).then_some(raw)
    }

    /// Parses a non-blank field with `parse`; blank -> Ok(None); bad -> reject.
    fn parse<T>(&mut self, field: &str, parse: impl FnOnce(&Cell) -> Result<T, String>) -> Option<T> {
        let cell = self.cell(field);
        if cell.is_blank() {
            return None;
        }
        if let Cell::Error(e) = cell {
            self.reject(field, error_cell_reason(e));
            return None;
        }
        match parse(cell) {
            Ok(v) => Some(v),
            Err(why) => {
                self.reject(field, why);
                None
            }
        }
    }

    fn required<T>(&mut self, field: &str, what: &str, v: Option<T>) -> Option<T> {
        if v.is_none() && self.cell(field).is_blank() {
            self.reject(field, format!("{what} is required here"));
        }
        v
    }

    fn email(&mut self, field: &str) -> Option<String> {
        let e = self.text(field)?;
        // Already lower case (what CRMs export): the text itself, no second String.
        let e = if e.chars().any(char::is_uppercase) { e.to_lowercase() } else { e };
        match check_email(&e) {
            Ok(()) => Some(e),
            Err(why) => {
                self.reject(field, format!("expected an e-mail address such as jose.nunez@example.com: {why}"));
                None
            }
        }
    }

    fn rep(&mut self) -> RepRef {
        RepRef {
            id: self.text("rep_id"),
            email: self.email("rep_email"),
            name: self.text("rep_name").map(collapse_spaces),
        }
    }

    /// The row's rep, rejecting the row when it names none (and nothing else rejected it
    /// already): the reject names the first of `fields` the header maps, else `fields[0]`.
    fn required_rep(&mut self, fields: [&'static str; 3]) -> RepRef {
        let rep = self.rep();
        if rep.key().is_empty() && self.rejects.is_empty() {
            let f = fields.into_iter().find(|f| self.header.col.contains_key(f)).unwrap_or(fields[0]);
            self.reject(f, "the rep is required here");
        }
        rep
    }
}

/// `text` with each run of whitespace made one space (the text is trimmed already);
/// the text itself when it has no run to collapse (no new String).
fn collapse_spaces(text: String) -> String {
    let mut prev_space = false;
    let plain = text.chars().all(|c| {
        let ok = c == ' ' && !prev_space || !c.is_whitespace();
        prev_space = c == ' ';
        ok
    });
    if plain && !text.starts_with(' ') && !text.ends_with(' ') {
        text
    } else {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Why a row with a spreadsheet error cell (a failed formula's cached result) is rejected.
fn error_cell_reason(e: &str) -> String {
    format!("the cell holds the spreadsheet error {e} (a formula that failed): fix it in the source and export again")
}

/// Checks an e-mail address by the rules the mail stage applies when it sends (lettre's
/// `Address` uses the `email_address` crate's local-part and domain grammar, RFC
/// 5321/5322), plus a dot in the domain (no mail goes to a bare host name), so that a
/// roster address that could never be sent to is rejected at import, naming its cell.
/// The error says which part is wrong.
pub fn check_email(e: &str) -> Result<(), String> {
    use email_address::EmailAddress;
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it holds a space or a control character".into());
    }
    let Some((local, domain)) = e.rsplit_once('@') else { return Err("it has no @".into()) };
    if !EmailAddress::is_valid_local_part(local) {
        return Err(format!("'{local}' before the @ is not a mailbox name"));
    }
    if !EmailAddress::is_valid_domain(domain) || !domain.contains('.') {
        return Err(format!("'{domain}' after the @ is not a domain name"));
    }
    Ok(())
}

pub(super) fn parse_deal(ctx: &mut RowCtx, source: &Source, settings: &Settings, origin: RowOrigin) -> Option<DealRow> {
    let deal_id = ctx.text("deal_id");
    let deal_id = ctx.required("deal_id", "a Deal ID", deal_id);
    let rep = ctx.required_rep(["rep_name", "rep_email", "rep_id"]);
    let stage = ctx.text("stage").or_else(|| source.fixed_stage.clone());
    let stage = ctx.required("stage", "a Stage", stage);
    let class = match stage.as_deref().map(|s| (s, settings.stage_class(s))) {
        Some((_, Some(c))) => Some(c),
        Some((s, None)) => {
            ctx.reject("stage", format!("stage '{s}' is in none of stages.won, stages.cancelled, stages.ignored"));
            None
        }
        None => None,
    };
    let counts = matches!(class, Some(StageClass::Won | StageClass::Cancelled));
    let (order, style, epoch, tz) = (settings.date_order, settings.number_style, ctx.epoch_1904, settings.time_zone);
    // Open and lost deals count nowhere: their dates and amounts are read if valid, never
    // a reason to reject the row.
    let close_date = if counts {
        let today = settings.today;
        let d = ctx.parse("close_date", |c| {
            let d = values::date(c, epoch, order, tz)?;
            match today {
                Some(t) if d > t + chrono::Duration::days(1) => {
                    Err(format!("{d} is in the future (today is {t}): a won or cancelled deal cannot close after it"))
                }
                _ => Ok(d),
            }
        });
        ctx.required("close_date", "a close date", d)
    } else {
        values::date(ctx.cell("close_date"), epoch, order, tz).ok()
    };
    let amount = if counts {
        let a = ctx.parse("amount", |c| values::money(c, style));
        ctx.required("amount", "an amount", a)
    } else {
        values::money(ctx.cell("amount"), style).ok()
    };
    let units = ctx.parse("units", |c| values::number(c, style));
    let scale = settings.rating_scale;
    let rating = ctx.parse("rating", |c| {
        let r = values::number(c, style)?;
        if r > Decimal::ZERO && r <= scale {
            Ok(r)
        } else {
            Err(format!("expected a rating from 1 to {scale} (ingest.rating_scale)"))
        }
    });
    let paperwork_complete = ctx.parse("paperwork_complete", values::flag);
    let paperwork_errors = ctx.parse("paperwork_errors", values::count);
    let share = ctx.parse("split", |c| values::split(c, style)).unwrap_or(Decimal::ONE);
    let team = ctx.text("team");
    if !ctx.rejects.is_empty() {
        return None;
    }
    Some(DealRow {
        deal_id: deal_id?,
        stage: stage?,
        class: class?,
        rep,
        team,
        close_date,
        amount,
        units,
        rating,
        paperwork_complete,
        paperwork_errors,
        share,
        origin,
    })
}

pub(super) fn parse_quota(ctx: &mut RowCtx, source: &Source, settings: &Settings, origin: RowOrigin) -> Vec<QuotaRow> {
    if ctx.header.wide {
        return parse_quota_wide(ctx, source, settings, origin);
    }
    let rep = ctx.required_rep(["rep_email", "rep_id", "rep_name"]);
    let (order, style, epoch, tz) = (settings.date_order, settings.number_style, ctx.epoch_1904, settings.time_zone);
    let fiscal = settings.fiscal;
    // With a year column (or the source's `year`), the month column may hold a month
    // name or number ("March", 3); a "Fiscal Year" column or the setting names a fiscal year.
    let fiscal_year = fiscal_year_column(ctx.header) || !ctx.header.col.contains_key("year");
    let year = if ctx.header.col.contains_key("year") { Some(row_year(ctx, style)) } else { source.year.map(Some) };
    // An annual quota may name its year alone: "2026" (text or a number cell).
    let yearly = matches!(source.quota_span, QuotaSpan::Year(_));
    let month = if year == Some(None) {
        None // the year cell was rejected
    } else {
        ctx.parse("month", |c| {
            if let Some(Some(y)) = year {
                let m = values::month_of_year(c, y)?;
                if !fiscal_year {
                    return Ok(m);
                }
                return fiscal.month_in(y, m.month()).ok_or_else(|| format!("no month {} in FY{y}", m.month()));
            }
            values::month(c, epoch, order, tz).or_else(|e| {
                let year = match c {
                    Cell::Text(s) => s.trim().parse::<i32>().ok(),
                    Cell::Number(n) if n.fract() == 0.0 => Some(*n as i32),
                    _ => None,
                };
                // A year alone names a fiscal year (FY2026): its first month.
                match year.filter(|y| yearly && (1900..=2100).contains(y)).and_then(|y| fiscal.first_month(y)) {
                    Some(p) => Ok(p),
                    None if yearly => Err(format!("{e}, or a year such as 2026 (quota_period = \"year\")")),
                    None => Err(e),
                }
            })
        })
    };
    let month = ctx.required("month", "a month", month);
    // A blank revenue quota means "no quota" (zero): listed, never ranked on attainment.
    let revenue = ctx.parse("revenue_quota", |c| values::money(c, style)).unwrap_or(Decimal::ZERO);
    let units = ctx.parse("units_quota", |c| values::number(c, style));
    if revenue.is_sign_negative() {
        ctx.reject("revenue_quota", "a quota cannot be negative");
    }
    let (Some(month), true) = (month, ctx.rejects.is_empty()) else { return Vec::new() };
    let spans = source.quota_span.months(month, fiscal);
    let pcts: Vec<Decimal> = spans.iter().map(|(_, p)| *p).collect();
    let revenues = spread(revenue, &pcts);
    let units = units.map(|u| spread(u, &pcts));
    spans
        .iter()
        .enumerate()
        .map(|(i, (m, _))| QuotaRow {
            rep: rep.clone(),
            month: *m,
            revenue: revenues[i],
            units: units.as_ref().map(|u| u[i]),
            origin: origin.clone(),
        })
        .collect()
}

/// The row's `year` cell (required when the column is mapped); `None` when unmapped,
/// blank or bad (then rejected).
fn row_year(ctx: &mut RowCtx, style: NumberStyle) -> Option<i32> {
    if !ctx.header.col.contains_key("year") {
        return None;
    }
    let y = ctx.parse("year", |c| {
        values::number(c, style)
            .ok()
            .filter(|y| y.fract().is_zero())
            .and_then(|y| y.to_i32())
            .filter(|y| (1900..=2100).contains(y))
            .ok_or_else(|| "expected a year such as 2026".to_string())
    });
    ctx.required("year", "a year", y)
}

/// Whether the header's `year` column names fiscal years: its header says "Fiscal" or
/// starts with "FY" ("Fiscal Year", "FY"); a plain "Year" is a calendar year for month
/// names (quarter columns always take a fiscal year).
fn fiscal_year_column(header: &Header) -> bool {
    header.names.get("year").is_some_and(|n| {
        let n = super::norm_header(n);
        n.contains("fiscal") || n.starts_with("fy")
    })
}

/// A wide quotas row: the rep, then a quota per month or quarter column — or an annual
/// quota (`revenue_quota`) with a percent per month or quarter column, which must add up
/// to 100 for the rep (else the row is rejected, naming the rep). A quarter's quota is
/// spread evenly over its three months to the cent, the remainder on the third. Two
/// columns that cover one month reject the row, naming both. See [`MonthHead`].
fn parse_quota_wide(ctx: &mut RowCtx, source: &Source, settings: &Settings, origin: RowOrigin) -> Vec<QuotaRow> {
    let rep = ctx.required_rep(["rep_email", "rep_id", "rep_name"]);
    let style = settings.number_style;
    let fiscal = settings.fiscal;
    let has_year_col = ctx.header.col.contains_key("year");
    let fiscal_col = fiscal_year_column(ctx.header);
    let year = if has_year_col { row_year(ctx, style) } else { source.year };
    let annual = if ctx.header.col.contains_key("revenue_quota") {
        let a = ctx.parse("revenue_quota", |c| values::money(c, style));
        Some(ctx.required("revenue_quota", "an annual quota", a))
    } else {
        None
    };
    // Each non-blank column: the months it covers, its value, its label.
    let mut cells: Vec<(Vec<Period>, Decimal, String, usize)> = Vec::new();
    for (c, head, label) in ctx.header.months.clone() {
        let cell = ctx.row.get(c);
        if cell.is_blank() {
            continue;
        }
        let months: Option<Vec<Period>> = match head {
            MonthHead::Dated(p) => Some(vec![p]),
            MonthHead::Named(m) if has_year_col && !fiscal_col => year.and_then(|y| Period::new(y, m)).map(|p| vec![p]),
            MonthHead::Named(m) => year.and_then(|y| fiscal.month_in(y, m)).map(|p| vec![p]),
            MonthHead::Quarter(fy, q) => fy.or(year).and_then(|y| fiscal.quarter_months(y, q)).map(|m| m.to_vec()),
        };
        let value = if annual.is_some() {
            match cell {
                Cell::Text(s) => values::number(&Cell::Text(s.trim().trim_end_matches('%').to_string()), style),
                c => values::number(c, style),
            }
            .map_err(|_| "expected a percent of the annual quota such as 8.5% or 8.5".to_string())
        } else {
            values::money(cell, style)
        };
        match (months, value) {
            (Some(p), Ok(v)) if !v.is_sign_negative() => cells.push((p, v, label, c)),
            (Some(_), Ok(_)) => ctx.reject_at(c, &label, "a quota cannot be negative".into()),
            (Some(_), Err(why)) => ctx.reject_at(c, &label, why),
            (None, _) => {}
        }
    }
    let mut covered: std::collections::BTreeMap<Period, &str> = std::collections::BTreeMap::new();
    let mut twice = None;
    for (months, _, label, c) in &cells {
        for m in months {
            if let Some(first) = covered.insert(*m, label) {
                twice.get_or_insert((*m, first.to_string(), label.clone(), *c));
            }
        }
    }
    if let Some((m, first, second, c)) = twice {
        let reason = format!("columns {first} and {second} both give a quota for {m}: keep one");
        ctx.rejects.push(Reject {
            sheet: ctx.sheet.to_string(),
            row: ctx.row.excel_row,
            column: second,
            raw: ctx.row.get(c).raw(),
            reason,
        });
    }
    if !ctx.rejects.is_empty() {
        return Vec::new();
    }
    let quota = |(month, revenue): (Period, Decimal)| QuotaRow {
        rep: rep.clone(),
        month,
        revenue,
        units: None,
        origin: origin.clone(),
    };
    // Each column's amount: its cell, or its share of the annual quota.
    let amounts: Vec<Decimal> = match annual {
        None => cells.iter().map(|(_, v, _, _)| *v).collect(),
        Some(None) => return Vec::new(),
        Some(Some(total)) => {
            let sum: Decimal = cells.iter().map(|(_, v, _, _)| v).sum();
            let scale = if sum == Decimal::ONE { Decimal::ONE_HUNDRED } else { Decimal::ONE };
            let pcts: Vec<Decimal> = cells.iter().map(|(_, v, _, _)| v * scale).collect();
            let pct_sum: Decimal = pcts.iter().sum();
            if pct_sum != Decimal::ONE_HUNDRED {
                ctx.reject(
                    "revenue_quota",
                    format!(
                        "the monthly percentages of {} add up to {}%; they must add up to 100%",
                        rep.describe(),
                        pct_sum.normalize()
                    ),
                );
                return Vec::new();
            }
            spread(total, &pcts)
        }
    };
    let mut out = Vec::new();
    for ((months, _, _, _), amount) in cells.iter().zip(amounts) {
        let parts = spread(amount, &even_percents(months.len()));
        out.extend(months.iter().zip(parts).map(|(m, v)| quota((*m, v))));
    }
    out
}

/// A summary row: rep, period (a date, "2026-03", "Mar 2026", or a month name or number
/// with a `year` column), revenue total and optional units total (blank = 0), as one won
/// deal dated the period's first day (Deal ID "summary PERIOD REP-KEY").
pub(super) fn parse_summary(ctx: &mut RowCtx, settings: &Settings, origin: RowOrigin) -> Option<DealRow> {
    let rep = ctx.required_rep(["rep_name", "rep_email", "rep_id"]);
    let (order, style, epoch, tz) = (settings.date_order, settings.number_style, ctx.epoch_1904, settings.time_zone);
    let period = if ctx.header.col.contains_key("year") {
        let year = row_year(ctx, style);
        let p = ctx.parse("period", |c| match year {
            Some(y) => values::month_of_year(c, y),
            None => Err(String::new()),
        });
        if year.is_some() { ctx.required("period", "a month", p) } else { None }
    } else {
        let p = ctx.parse("period", |c| values::month(c, epoch, order, tz));
        ctx.required("period", "a period (month)", p)
    };
    let revenue = ctx.parse("revenue", |c| values::money(c, style));
    let revenue = ctx.required("revenue", "a revenue total", revenue);
    let units = ctx.parse("units", |c| values::number(c, style));
    let team = ctx.text("team");
    if !ctx.rejects.is_empty() {
        return None;
    }
    let period = period?;
    Some(DealRow {
        deal_id: crate::domain::summary_deal_id(period, &rep.key()),
        stage: crate::domain::SUMMARY_STAGE.into(),
        class: StageClass::Won,
        rep,
        team,
        close_date: Some(period.first_day()),
        amount: revenue,
        // A total without units is 0 units, never the "1 per deal" of a deals row.
        units: Some(units.unwrap_or(Decimal::ZERO)),
        rating: None,
        paperwork_complete: None,
        paperwork_errors: None,
        share: Decimal::ONE,
        origin,
    })
}

pub(super) fn parse_roster(
    ctx: &mut RowCtx,
    source: &Source,
    settings: &Settings,
    origin: RowOrigin,
) -> Option<RosterRep> {
    let id = ctx.text("rep_id");
    let name = ctx.text("rep_name").map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "));
    // Without a name column: First Name and Last Name columns make "First Last"; else a
    // roster with rep ids names each rep by the id.
    let name = if ctx.header.col.contains_key("rep_name") {
        name
    } else if ctx.header.col.contains_key("first_name") {
        let parts = [ctx.text("first_name"), ctx.text("last_name")];
        let joined = parts.iter().flatten().flat_map(|p| p.split_whitespace()).collect::<Vec<_>>().join(" ");
        (!joined.is_empty()).then_some(joined)
    } else {
        id.clone()
    };
    let name = ctx.required("rep_name", "the rep's name", name);
    let email = ctx.email("rep_email").or_else(|| {
        let (pattern, name) = (source.email_pattern.as_deref()?, name.as_deref()?);
        Some(email_from_pattern(pattern, name))
    });
    let team = ctx.text("team");
    let manager = ctx.text("manager");
    let manager_email = ctx.email("manager_email").or_else(|| {
        let (pattern, name) = (source.manager_email_pattern.as_deref()?, manager.as_deref()?);
        Some(email_from_pattern(pattern, name))
    });
    let (order, epoch, tz) = (settings.date_order, ctx.epoch_1904, settings.time_zone);
    let hire_date = ctx.parse("hire_date", |c| values::date(c, epoch, order, tz));
    let active = ctx
        .parse("active", |c| match c {
            Cell::Text(s) if matches!(fold_name(s).as_str(), "active" | "current" | "employed") => Ok(true),
            Cell::Text(s) if matches!(fold_name(s).as_str(), "inactive" | "left" | "terminated" | "former") => {
                Ok(false)
            }
            c => values::flag(c).map_err(|_| "expected Active/Inactive or Yes/No".to_string()),
        })
        .unwrap_or(true);
    let effective_date = ctx.parse("effective_date", |c| values::date(c, epoch, order, tz));
    let leave_date = ctx.parse("leave_date", |c| values::date(c, epoch, order, tz));
    if let (Some(from), Some(left)) = (effective_date, leave_date)
        && left < from
    {
        ctx.reject("leave_date", format!("the leave date {left} is before the row's effective date {from}"));
    }
    if !ctx.rejects.is_empty() {
        return None;
    }
    Some(RosterRep {
        id,
        name: name?,
        email,
        team,
        manager,
        manager_email,
        hire_date,
        active,
        effective_date,
        leave_date,
        origin,
    })
}

/// Fills an e-mail pattern from a name: `{first}`, `{last}` (first and last word) and
/// `{name}` (all words joined by dots), each folded to lower-case ASCII letters and
/// digits. `"{first}.{last}@example.com"` with "José Núñez" gives jose.nunez@example.com.
pub fn email_from_pattern(pattern: &str, name: &str) -> String {
    let words: Vec<String> = fold_name(name)
        .split(|c: char| c.is_whitespace() || c == '-')
        .map(|w| w.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect();
    let first = words.first().cloned().unwrap_or_default();
    let last = words.last().cloned().unwrap_or_default();
    pattern.replace("{first}", &first).replace("{last}", &last).replace("{name}", &words.join("."))
}

#[cfg(test)]
mod tests {
    use super::collapse_spaces;

    /// Runs of whitespace become one space; text without any is returned as it is.
    #[test]
    fn a_rep_name_keeps_one_space_between_words() {
        for (raw, want) in [
            ("José Núñez", "José Núñez"),
            ("José  Núñez", "José Núñez"),
            ("Ana\tPatel", "Ana Patel"),
            ("Ana\u{a0}Patel", "Ana Patel"),
            (" Ana Patel ", "Ana Patel"),
            ("Zoë", "Zoë"),
        ] {
            assert_eq!(collapse_spaces(raw.to_string()), want, "{raw:?}");
        }
    }
}
