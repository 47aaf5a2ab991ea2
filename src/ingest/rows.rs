//! The table under the header -> [`Parsed`]: where the table ends (another table
//! further down), which rows are skipped (blank, totals, beside the table), one record
//! per data row (see `record`), then per file: exact and conflicting repeats, credit
//! splits, and a summary's rows of one rep and month added up.
//!
//! Imports `domain` and its ingest siblings only.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::header::{Header, sheet_label};
use super::record::{RowCtx, parse_deal, parse_quota, parse_roster, parse_summary};
use super::table::{Cell, Grid, GridRow};
use super::{Parsed, Records, Reject, Settings, Source, SourceKind, norm_header};
use crate::domain::{DealRow, QuotaRow, RosterRep, RowOrigin, fold_name};

/// Optional fields whose column a default header name may guess wrong without changing
/// any figure when it is left unread: a roster's "Status" may be an order status, not
/// the active flag.
const GUESSABLE: [&str; 5] = ["active", "hire_date", "rating", "paperwork_complete", "paperwork_errors"];

/// [`parse_rows`], after which a [`GUESSABLE`] field mapped by a default header name
/// (not `columns.FIELD`) whose every value (two or more) is rejected is taken for a wrong
/// guess: the column is left unread, with a note naming it, and the rows are read again
/// without it, instead of rejecting every row.
pub(super) fn parse_unless_guessed_wrong(
    grid: &Grid,
    mut header: Header,
    source: &Source,
    settings: &Settings,
) -> Parsed {
    let (parsed, wrong) = parse_grid(grid, &header, source, settings);
    if wrong.is_empty() {
        return parsed;
    }
    let notes: Vec<String> = wrong.iter().map(|(_, note)| note.clone()).collect();
    for (field, _) in wrong {
        header.col.remove(field);
        header.names.remove(field);
    }
    let mut parsed = parse_rows(grid, &header, source, settings);
    parsed.notes.splice(0..0, notes);
    parsed
}

/// Reads the data rows under `header` into records, rejects and notes.
pub(super) fn parse_rows(grid: &Grid, header: &Header, source: &Source, settings: &Settings) -> Parsed {
    parse_grid(grid, header, source, settings).0
}

/// [`RowParser`] over a whole sheet's rows.
fn parse_grid(
    grid: &Grid,
    header: &Header,
    source: &Source,
    settings: &Settings,
) -> (Parsed, Vec<(&'static str, String)>) {
    let first_data = header.first_data.min(grid.rows.len());
    let mut parser =
        RowParser::new(&grid.sheet, grid.epoch_1904, header, source, settings, grid.rows.len() - first_data);
    parser.set_header_row(first_data.checked_sub(1).and_then(|i| grid.rows.get(i)));
    for row in &grid.rows[first_data..] {
        parser.push(row);
    }
    parser.finish()
}

/// The rows under a header, parsed one at a time as they are read ([`RowParser::push`]),
/// so that a sheet streamed row by row is never held whole: what stays is the typed
/// rows, the rejects and the few rows that may turn out to be footnotes.
///
/// Pushed rows are the sheet's non-empty rows below the header, in order. The table
/// ends at the first row after a blank row that looks like another table's header (two
/// or more cells, all text, at least half of them names in this header or header names
/// mapped for the source, so a data row that merely holds a word such as "Active" is
/// not one); the rows from there on are only counted for a note.
pub(super) struct RowParser<'a> {
    sheet: &'a str,
    epoch_1904: bool,
    header: &'a Header,
    source: &'a Source,
    settings: &'a Settings,
    /// Header names that make a row below look like another table's header.
    known: Vec<String>,
    /// Excel row of the last non-blank row seen (the header's to begin with).
    prev: u32,
    /// Excel rows of the first row of another table and of the sheet's last row.
    ended: Option<(u32, u32)>,
    rejects: Vec<Reject>,
    data_rows: usize,
    deals: Vec<DealRow>,
    quotas: Vec<QuotaRow>,
    roster: Vec<RosterRep>,
    totals: Vec<u32>,
    outside: Vec<u32>,
    /// Bad rows that hold a note (see [`is_note_row`]) after the last good data row:
    /// footnotes, unless a data row comes after them.
    pending: Vec<(GridRow, Got, Vec<Reject>)>,
    seen_data: bool,
    /// Each [`GUESSABLE`] field mapped by a default name: its column and the number of
    /// rows below the header (totals rows aside) that fill it.
    guessed: Vec<(&'static str, usize, usize)>,
}

impl<'a> RowParser<'a> {
    /// A parser for the rows under `header` of sheet `sheet`; `capacity` is a hint of
    /// the number of rows to come.
    pub(super) fn new(
        sheet: &'a str,
        epoch_1904: bool,
        header: &'a Header,
        source: &'a Source,
        settings: &'a Settings,
        capacity: usize,
    ) -> Self {
        let mut deals = Vec::new();
        let mut quotas = Vec::new();
        let mut roster = Vec::new();
        match source.kind {
            SourceKind::Deals | SourceKind::Summary => deals.reserve(capacity),
            SourceKind::Quotas => quotas.reserve(capacity),
            SourceKind::Roster => roster.reserve(capacity),
        }
        let guessed = GUESSABLE
            .iter()
            .filter(|f| !source.columns.configured.contains(*f))
            .filter_map(|f| header.col.get(f).map(|&c| (*f, c, 0)))
            .collect();
        let known: Vec<String> = source.columns.fields.values().flatten().map(|n| norm_header(n)).collect();
        RowParser {
            sheet,
            epoch_1904,
            header,
            source,
            settings,
            known,
            prev: 0,
            ended: None,
            rejects: Vec::new(),
            data_rows: 0,
            deals,
            quotas,
            roster,
            totals: Vec::new(),
            outside: Vec::new(),
            pending: Vec::new(),
            seen_data: false,
            guessed,
        }
    }

    /// The header's row (none for a headerless file): its names join the known ones.
    pub(super) fn set_header_row(&mut self, header_row: Option<&GridRow>) {
        let mut known: Vec<String> = header_row
            .into_iter()
            .flat_map(|r| &r.cells)
            .filter_map(|c| if let Cell::Text(t) = c { Some(norm_header(t)) } else { None })
            .collect();
        known.append(&mut self.known);
        known.retain(|n| !n.is_empty());
        self.known = known;
        self.prev = header_row.map_or(0, |r| r.excel_row);
    }

    /// Takes the next row below the header.
    pub(super) fn push(&mut self, row: &GridRow) {
        let header = self.header;
        for (_, c, filled) in &mut self.guessed {
            if !row.get(*c).is_blank() && !is_totals_row(row, header) {
                *filled += 1;
            }
        }
        if let Some((_, last)) = &mut self.ended {
            *last = row.excel_row;
            return;
        }
        let blank = row.cells.iter().all(Cell::is_blank);
        let after_gap = row.excel_row > self.prev + 1;
        if !blank {
            self.prev = row.excel_row;
        }
        if !blank && after_gap && self.starts_another_table(row) {
            self.ended = Some((row.excel_row, row.excel_row));
            return;
        }
        if blank {
            return;
        }
        // A row with values only outside the mapped columns belongs to a table beside this one.
        if header.col.values().all(|&c| row.get(c).is_blank()) {
            self.outside.push(row.excel_row);
            return;
        }
        if is_totals_row(row, header) {
            self.totals.push(row.excel_row);
            return;
        }
        let (source, settings) = (self.source, self.settings);
        let mut ctx = RowCtx { row, header, sheet: self.sheet, epoch_1904: self.epoch_1904, rejects: Vec::new() };
        let origin = RowOrigin { sheet: self.sheet.to_string(), row: row.excel_row };
        let got = match source.kind {
            SourceKind::Deals => Got::Deal(parse_deal(&mut ctx, source, settings, origin)),
            SourceKind::Summary => Got::Deal(parse_summary(&mut ctx, settings, origin)),
            SourceKind::Quotas => Got::Quotas(parse_quota(&mut ctx, source, settings, origin)),
            SourceKind::Roster => Got::Roster(parse_roster(&mut ctx, source, settings, origin)),
        };
        let row_rejects = ctx.rejects;
        if !row_rejects.is_empty() && is_note_row(row, header, source, settings) {
            self.pending.push((row.clone(), got, row_rejects));
            return;
        }
        // A data row after them: the notes held so far were inside the table.
        self.seen_data = true;
        for (_, got, row_rejects) in std::mem::take(&mut self.pending) {
            self.count(got, row_rejects);
        }
        self.count(got, row_rejects);
    }

    /// Whether `row` (non-blank, after a gap) looks like another table's header.
    fn starts_another_table(&self, row: &GridRow) -> bool {
        let filled: Vec<&Cell> = row.cells.iter().filter(|c| !c.is_blank()).collect();
        let texts = filled.iter().all(|c| matches!(c, Cell::Text(_)));
        if filled.len() < 2 || !texts {
            return false;
        }
        let names =
            filled.iter().filter(|c| matches!(c, Cell::Text(t) if self.known.contains(&norm_header(t)))).count();
        names > 0 && names * 2 >= filled.len()
    }

    fn count(&mut self, got: Got, row_rejects: Vec<Reject>) {
        match got {
            Got::Deal(d) => self.deals.extend(d),
            Got::Quotas(q) => self.quotas.extend(q),
            Got::Roster(r) => self.roster.extend(r),
        }
        self.data_rows += 1;
        // A row with several bad cells is one rejected row with several reasons.
        self.rejects.extend(row_rejects);
    }

    /// The records, rejects and notes of the rows pushed, and each [`GUESSABLE`] field
    /// whose column looks like a wrong guess, with the note that says so (see
    /// [`parse_unless_guessed_wrong`]).
    pub(super) fn finish(mut self) -> (Parsed, Vec<(&'static str, String)>) {
        let header = self.header;
        let mut notes = header.notes.clone();
        if let Some((first, last)) = self.ended {
            notes.push(format!(
                "{}rows {first} to {last} were not read: another table starts at row {first} (one table is read per sheet: the first whose header matches)",
                sheet_label(self.sheet)
            ));
        }
        let pending = std::mem::take(&mut self.pending);
        let seen_data = self.seen_data;
        for (row, got, row_rejects) in pending {
            // With no good row at all, nothing is a footnote: every row is the table's.
            if !seen_data {
                self.count(got, row_rejects);
                continue;
            }
            let text: Vec<String> =
                row.cells.iter().filter(|c| !c.is_blank()).map(|c| c.raw().trim().to_string()).collect();
            notes.push(format!(
                "skipped row {} after the table (a note, not data): '{}'",
                row.excel_row,
                text.join(", ")
            ));
        }
        let RowParser {
            sheet, mut rejects, data_rows, deals, quotas, roster, totals, outside, guessed, source, ..
        } = self;
        if !outside.is_empty() {
            notes.push(format!(
                "skipped row{} {}: nothing in the mapped columns (a table beside this one?)",
                if outside.len() == 1 { "" } else { "s" },
                join(&outside)
            ));
        }
        if !totals.is_empty() {
            notes.push(format!("skipped totals row{} {}", if totals.len() == 1 { "" } else { "s" }, join(&totals)));
        }
        let mut wrong = Vec::new();
        for (field, _, filled) in guessed {
            let label = header.label(field);
            let bad: Vec<&Reject> = rejects.iter().filter(|r| r.column == label).collect();
            let mut rows: Vec<u32> = bad.iter().map(|r| r.row).collect();
            rows.dedup();
            if rows.len() >= 2 && rows.len() == filled {
                let note = format!(
                    "column {label} matches {field} by its default name, but none of its {filled} values reads as one (e.g. '{}'): not used; set sources.{}.columns.{field} to read it",
                    bad[0].raw, source.name
                );
                wrong.push((field, note));
            }
        }
        let records = records(deals, quotas, roster, header, sheet, source, &mut rejects, &mut notes);
        let columns = header.col.keys().map(|f| (f.to_string(), header.label(f))).collect();
        let parsed = Parsed {
            sheet: sheet.to_string(),
            header_row: header.excel_row,
            data_rows,
            records,
            rejects,
            notes,
            columns,
        };
        (parsed, wrong)
    }
}

/// A file's typed rows, after the per-file steps: repeats collapsed, credit splits
/// applied, a summary's rows of one rep and month added up.
#[allow(clippy::too_many_arguments)]
fn records(
    deals: Vec<DealRow>,
    quotas: Vec<QuotaRow>,
    roster: Vec<RosterRep>,
    header: &Header,
    sheet: &str,
    source: &Source,
    rejects: &mut Vec<Reject>,
    notes: &mut Vec<String>,
) -> Records {
    match source.kind {
        SourceKind::Summary => Records::Deals(add_up_summary(deals, notes)),
        SourceKind::Deals => Records::Deals(apply_splits(
            dedupe(
                deals,
                // The same partition as the note's words (`RepRef::describe`: the id, else
                // the e-mail, else the name as written), without formatting every row.
                |d| {
                    let rep = match (&d.rep.id, &d.rep.email, &d.rep.name) {
                        (Some(id), _, _) => (0, id.as_str()),
                        (None, Some(e), _) => (1, e.as_str()),
                        (None, None, Some(n)) => (2, n.as_str()),
                        _ => (3, ""),
                    };
                    (d.deal_id.clone(), d.event().as_str(), rep.0, rep.1.to_string())
                },
                |d| format!("Deal ID {} ({}) for {}", d.deal_id, d.event().as_str(), d.rep.describe()),
                |d| d.origin.row,
                |a, b| DealRow { origin: b.origin.clone(), ..a.clone() } == *b,
                notes,
            ),
            header,
            sheet,
            rejects,
            notes,
        )),
        SourceKind::Quotas => Records::Quotas(dedupe(
            quotas,
            |q| format!("the {} quota of {}", q.month, q.rep.describe()),
            |q| format!("the {} quota of {}", q.month, q.rep.describe()),
            |q| q.origin.row,
            |a, b| QuotaRow { origin: b.origin.clone(), ..a.clone() } == *b,
            notes,
        )),
        SourceKind::Roster => Records::Roster(dedupe(
            roster,
            |r| r.key(),
            |r| format!("roster entry {}", r.key()),
            |r| r.origin.row,
            |a, b| RosterRep { origin: b.origin.clone(), ..a.clone() } == *b,
            notes,
        )),
    }
}

/// What one data row yielded, before it is counted (a trailing note is not).
enum Got {
    Deal(Option<DealRow>),
    Quotas(Vec<QuotaRow>),
    Roster(Option<RosterRep>),
}

/// Whether a row holds a note rather than data: every non-blank cell is text that is not
/// a number, and the source's required fields are empty but for one at most ("Source:
/// CRM, figures before returns", "Confidential Information - Do Not Distribute", a
/// copyright line; a CSV may have split such a line at a comma). Only a *bad* row of
/// this shape *after* the last good row is skipped as a footnote; inside the table it
/// is rejected.
fn is_note_row(row: &GridRow, header: &Header, source: &Source, settings: &Settings) -> bool {
    let filled: Vec<&Cell> = row.cells.iter().filter(|c| !c.is_blank()).collect();
    let words = |c: &&Cell| matches!(c, Cell::Text(_)) && super::values::number(c, settings.number_style).is_err();
    let required = source
        .kind
        .fields()
        .iter()
        .filter(|f| f.required && !(f.name == "stage" && source.fixed_stage.is_some()))
        .filter_map(|f| header.col.get(f.name))
        .filter(|&&c| !row.get(c).is_blank())
        .count();
    !filled.is_empty() && filled.iter().all(words) && required <= 1
}

/// Whether a row is a totals row: its first non-blank cell, or its deal id / rep cell,
/// reads "Total", "Totals", "Grand Total(s)", "Subtotal(s)" or "Sum" (optionally followed
/// by more words, e.g. "Total March", "Grand Totals (12 records)").
fn is_totals_row(row: &GridRow, header: &Header) -> bool {
    let is_total = |c: &Cell| {
        let Cell::Text(s) = c else { return false };
        // Most cells start with an ASCII letter other than t, g or s: no folding needed
        // (folding is most of the cost of reading a row). A non-ASCII first character may
        // fold to one of them, so it takes the full path.
        match s.trim_start().chars().next() {
            None => return false,
            Some(c) if c.is_ascii() && !matches!(c.to_ascii_lowercase(), 't' | 'g' | 's') => return false,
            Some(_) => {}
        }
        let first = fold_name(s);
        let first = first.trim_end_matches(':');
        ["total", "totals", "grand total", "grand totals", "subtotal", "subtotals", "sum"]
            .iter()
            .any(|t| first.strip_prefix(t).is_some_and(|rest| rest.is_empty() || rest.starts_with(' ')))
    };
    let first = row.cells.iter().find(|c| !c.is_blank());
    first.is_some_and(is_total)
        || ["deal_id", "rep_name", "rep_id"].iter().filter_map(|f| header.col.get(f)).any(|&c| is_total(row.get(c)))
}

fn join(rows: &[u32]) -> String {
    rows.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Collapses rows with the same key within one file. An exact repeat (same values on
/// another row) is counted once; a conflicting repeat keeps the later row, in the
/// earlier row's place, and says so, naming the row by `name` (built only then: the
/// key is compared for every row, the name rarely).
fn dedupe<T: Clone, K: std::hash::Hash + Eq>(
    rows: Vec<T>,
    key: impl Fn(&T) -> K,
    name: impl Fn(&T) -> String,
    row_of: impl Fn(&T) -> u32,
    same: impl Fn(&T, &T) -> bool,
    notes: &mut Vec<String>,
) -> Vec<T> {
    // In place (a file's rows are not held twice): the first pass decides, comparing each
    // row with its key's current value; the second moves each key's last value into its
    // first row's place and drops the repeats.
    let mut rows = rows;
    let mut at: HashMap<K, (usize, usize)> = HashMap::with_capacity(rows.len());
    let mut keep = vec![true; rows.len()];
    let mut exact = Vec::new();
    for j in 0..rows.len() {
        let r = &rows[j];
        match at.entry(key(r)) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let (_, current) = *e.get();
                keep[j] = false;
                if same(&rows[current], r) {
                    exact.push(row_of(r));
                } else {
                    notes.push(format!(
                        "{} appears on rows {} and {} with different values; the later row {} is used",
                        name(r),
                        row_of(&rows[current]),
                        row_of(r),
                        row_of(r)
                    ));
                    e.get_mut().1 = j;
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((j, j));
            }
        }
    }
    for (first, current) in at.into_values() {
        if first != current {
            rows.swap(first, current);
        }
    }
    let mut kept = keep.into_iter();
    rows.retain(|_| kept.next().unwrap_or(false));
    let out = rows;
    if !exact.is_empty() {
        let (rows, verb) = if exact.len() == 1 {
            ("row", "repeats an earlier row exactly and was")
        } else {
            ("rows", "repeat earlier rows exactly and were")
        };
        notes.push(format!("{rows} {} {verb} counted once", join(&exact)));
    }
    out
}

/// Credit splits (docs/definitions.md: Credit). Rows of one (Deal ID, event) with
/// several reps share the deal: with a split column their splits must add up to 100%
/// (else every row of that deal is rejected); without one, rows that repeat the same
/// amount are credited 1/n each, and rows with different amounts are taken as each
/// agent's own credit. Either way no agent is credited the whole deal twice over.
fn apply_splits(
    mut deals: Vec<DealRow>,
    header: &Header,
    sheet: &str,
    rejects: &mut Vec<Reject>,
    notes: &mut Vec<String>,
) -> Vec<DealRow> {
    let has_split = header.col.contains_key("split");
    // The groups of several rows, in key order, each in row order: rows are counted per
    // (Deal ID, event) with borrowed keys (no String or Vec per row), and only the rows
    // of keys counted more than once (the few credit splits) are sorted.
    let key = |i: usize| (deals[i].deal_id.as_str(), deals[i].event().as_str());
    let mut count: HashMap<(&str, &str), u32> = HashMap::with_capacity(deals.len());
    for i in 0..deals.len() {
        *count.entry(key(i)).or_default() += 1;
    }
    let mut by_key: Vec<usize> = (0..deals.len()).filter(|&i| count[&key(i)] > 1).collect();
    drop(count);
    by_key.sort_by(|&a, &b| key(a).cmp(&key(b)));
    let groups: Vec<(String, &'static str, Vec<usize>)> = by_key
        .chunk_by(|&a, &b| key(a) == key(b))
        .filter(|idx| idx.len() > 1)
        .map(|idx| (deals[idx[0]].deal_id.clone(), deals[idx[0]].event().as_str(), idx.to_vec()))
        .collect();
    drop(by_key);
    let mut drop = vec![false; deals.len()];
    let (mut evened, mut own) = (Vec::new(), Vec::new());
    for (id, event, idx) in groups {
        if has_split {
            let total: Decimal = idx.iter().map(|&i| deals[i].share).sum();
            if (total - Decimal::ONE).abs() > Decimal::new(1, 4) {
                for &i in &idx {
                    drop[i] = true;
                    rejects.push(Reject {
                        sheet: sheet.to_string(),
                        row: deals[i].origin.row,
                        column: header.label("split"),
                        raw: format!("{}%", (deals[i].share * Decimal::ONE_HUNDRED).normalize()),
                        reason: format!(
                            "the splits of Deal ID {id} ({event}) add up to {}%; they must add up to 100%",
                            (total * Decimal::ONE_HUNDRED).normalize()
                        ),
                    });
                }
            }
        } else if idx.iter().all(|&i| deals[i].amount == deals[idx[0]].amount) {
            let share = Decimal::ONE / Decimal::from(idx.len());
            idx.iter().for_each(|&i| deals[i].share = share);
            evened.push(id);
        } else {
            own.push(id);
        }
    }
    if !evened.is_empty() {
        notes.push(format!(
            "{} deal(s) list several agents with the same amount and there is no split column: each agent is credited an equal share (Deal ID {})",
            evened.len(),
            evened.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if !own.is_empty() {
        notes.push(format!(
            "{} deal(s) list several agents with different amounts and there is no split column: each row's amount is taken as that agent's credit (Deal ID {})",
            own.len(),
            own.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let mut keep = drop.iter().map(|d| !d);
    deals.retain(|_| keep.next().unwrap_or(true));
    deals
}

/// Adds up a summary's rows of one rep and period (a summary broken down by product,
/// say): one total per rep and period, at the first row's place, with a note.
fn add_up_summary(rows: Vec<DealRow>, notes: &mut Vec<String>) -> Vec<DealRow> {
    let mut out: Vec<DealRow> = Vec::with_capacity(rows.len());
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut merged = 0;
    for r in rows {
        match at.get(&r.deal_id) {
            Some(&i) => {
                let o = &mut out[i];
                o.amount = Some(o.amount.unwrap_or_default() + r.amount.unwrap_or_default());
                o.units = match (o.units, r.units) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or_default() + b.unwrap_or_default()),
                };
                merged += 1;
            }
            None => {
                at.insert(r.deal_id.clone(), out.len());
                out.push(r);
            }
        }
    }
    if merged > 0 {
        notes.push(format!(
            "{} summary rows added up into {} totals of one rep and month each",
            merged + out.len(),
            out.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::dedupe;

    /// (key, value, row): a repeat with the same value is counted once; one with another
    /// value replaces the kept row in its place; a chain of them keeps the last.
    #[test]
    fn repeats_are_collapsed_in_place_keeping_the_last_value_in_the_first_place() {
        let rows = vec![
            ("a", 1, 2),
            ("b", 1, 3),
            ("a", 2, 4), // replaces a's value, in row 2's place
            ("c", 1, 5),
            ("a", 2, 6), // the same as a's current value: counted once
            ("a", 3, 7), // replaces again
            ("b", 1, 8), // the same as b
        ];
        let mut notes = Vec::new();
        let out =
            dedupe(rows, |r| r.0, |r| format!("key {}", r.0), |r| r.2, |a, b| a.0 == b.0 && a.1 == b.1, &mut notes);
        assert_eq!(out, [("a", 3, 7), ("b", 1, 3), ("c", 1, 5)]);
        assert_eq!(
            notes,
            [
                "key a appears on rows 2 and 4 with different values; the later row 4 is used",
                "key a appears on rows 4 and 7 with different values; the later row 7 is used",
                "rows 6, 8 repeat earlier rows exactly and were counted once",
            ]
        );
    }
}
