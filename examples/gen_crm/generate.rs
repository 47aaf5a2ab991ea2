//! Synthetic homebuilder CRM exports: `roster.csv`, `quotas.csv` and one
//! `crm-export-YYYY-MM.xlsx` per month, with the column headers the shipped
//! `config/quotad.toml` maps. Deterministic for a seed: the same options give the same
//! rows and byte-identical files.
//!
//! With `messy` (the default of the `gen_crm` example) the exports look like real
//! ones: a title row and a blank row above the header, a blank column before "Stage",
//! a "Total" row at the bottom, some dates and amounts written as text
//! (`03/14/2026`, `$412,500.00`), names with trailing spaces, and one row per file
//! exported twice. Every file also holds pending deals, cancellations of deals won
//! earlier (this month or last, never dated before their sale; amount and units
//! negative, as many CRMs export them), and accented and CJK names.
//!
//! Used by `examples/gen_crm/main.rs` and by the integration test
//! `tests/integration/gen_crm.rs` (included by path), which checks quotad's import
//! against the [`Summary`] returned here.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Datelike, Duration, NaiveDate};
use rust_xlsxwriter::{DocProperties, Format, Workbook};
use unicode_normalization::UnicodeNormalization;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Folder the files are written to (created if missing).
    pub out: PathBuf,
    /// Number of reps on the roster (>= 1).
    pub reps: usize,
    /// Number of monthly exports (>= 1), ending at `end_month`.
    pub months: usize,
    /// Mean deal rows per rep and month before profile, season and ramp-up factors.
    pub deals_per_rep_month: f64,
    /// PRNG seed: same seed, same files.
    pub seed: u64,
    /// The last export month (year, month); the quotas also cover the month after it.
    pub end_month: (i32, u32),
    /// Title, totals, text cells, padded names, duplicate rows (see the module docs).
    pub messy: bool,
    /// Threads writing xlsx files (>= 1).
    pub jobs: usize,
}

/// What was written, with the generator's own arithmetic for checking an importer.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Reps on the roster (rows of roster.csv).
    pub reps: usize,
    /// Teams.
    pub teams: usize,
    /// Rows of quotas.csv (header excluded).
    pub quota_rows: usize,
    /// One entry per export, oldest first.
    pub months: Vec<MonthSummary>,
}

/// One monthly export. Money in whole currency units (every price is a multiple of 500).
#[derive(Debug, Clone, Default)]
pub struct MonthSummary {
    /// `YYYY-MM`.
    pub period: String,
    /// File name, e.g. `crm-export-2026-10.xlsx`.
    pub file: String,
    /// Data rows written (duplicates included; title, header and totals rows excluded).
    pub rows: usize,
    /// Distinct "Closed Won" rows.
    pub won: usize,
    /// Distinct "Cancelled" rows.
    pub cancelled: usize,
    /// Distinct "Pending" rows.
    pub pending: usize,
    /// Rows that repeat an earlier row of the file exactly.
    pub duplicates: usize,
    /// Sum of the won rows' sale prices.
    pub won_revenue: i64,
    /// Sum of the cancelled rows' sale prices, as a positive number.
    pub cancelled_revenue: i64,
    /// Won units minus cancelled units.
    pub net_units: i64,
}

impl MonthSummary {
    /// Won minus cancelled revenue.
    pub fn net_revenue(&self) -> i64 {
        self.won_revenue - self.cancelled_revenue
    }
}

impl Summary {
    /// Deal rows written in all exports (duplicates included).
    pub fn total_rows(&self) -> usize {
        self.months.iter().map(|m| m.rows).sum()
    }

    /// A table, one line per export, for humans and scripts (whitespace-separated).
    pub fn table(&self) -> String {
        let mut s = String::from(
            "month   file                     rows    won     cancelled pending duplicates won_revenue   cancelled_revenue net_revenue   net_units\n",
        );
        for m in &self.months {
            let _ = writeln!(
                s,
                "{:<7} {:<24} {:<7} {:<7} {:<9} {:<7} {:<10} {:<13} {:<17} {:<13} {}",
                m.period,
                m.file,
                m.rows,
                m.won,
                m.cancelled,
                m.pending,
                m.duplicates,
                m.won_revenue,
                m.cancelled_revenue,
                m.net_revenue(),
                m.net_units
            );
        }
        s
    }
}

const HEADER: [&str; 13] = [
    "Deal ID",
    "Sales Rep",
    "Rep Email",
    "Team",
    "Community",
    "Stage",
    "Contract Date",
    "Close Date",
    "Sale Price",
    "Units",
    "Customer Rating",
    "Paperwork Complete",
    "Paperwork Errors",
];
/// With `messy`, a blank column is inserted before this column ("Stage").
const EMPTY_COL_AT: u16 = 5;
const SPECIAL_NAMES: [&str; 6] = [
    "José Núñez",
    "Zoë Ødegaard",
    "Łukasz Żółć",
    "李伟",
    "Ngozi Okonkwo-Adébáyọ̀",
    "Anna-Katharina Maximiliane Theodora von Hohenzollern-Sigmaringen-Wittelsbach",
];
#[rustfmt::skip]
const FIRST: [&str; 36] = [
    "James", "María", "Wei", "Aisha", "Carlos", "Emily", "Oluwaseun", "Priya", "Liam", "Sofia", "Mateo", "Chloé",
    "Hiroshi", "Fatima", "Noah", "Isabella", "Dmitri", "Ana", "Kwame", "Grace", "Björn", "Mia", "Rahul", "Elena",
    "Jamal", "Olivia", "Tomás", "Hannah", "Sven", "Leila", "Connor", "Yuki", "Siobhán", "Andrés", "Nadia", "Ethan",
];
#[rustfmt::skip]
const LAST: [&str; 34] = [
    "Smith", "García", "Nguyen", "Johnson", "Müller", "Patel", "Kim", "Brown", "Rodríguez", "O'Brien", "Williams",
    "Kowalski", "Haddad", "Jones", "Davis", "Martínez", "Andersson", "Okafor", "Lopez", "Wilson", "Schröder",
    "Taylor", "Moore", "Jackson", "Ibáñez", "White", "Harris", "Dubois", "Clark", "Lewis", "Fitzgerald", "Nakamura",
    "Mensah", "Novák",
];
const TEAMS: [&str; 10] = [
    "North Division",
    "South Division",
    "Lakeside Communities",
    "Hill Country",
    "Coastal Homes",
    "Metro Infill",
    "Riverside Estates",
    "Desert Ridge",
    "Prairie Trails",
    "Mountain View Group",
];
#[rustfmt::skip]
const COMM_A: [&str; 16] = [
    "Willow", "Cedar", "Maple", "Heron", "Stone", "Aspen", "Sunset", "Falcon", "Oak", "Magnolia", "Bluebonnet",
    "Cypress", "Señora", "Juniper", "Harbor", "Meadow",
];
#[rustfmt::skip]
const COMM_B: [&str; 12] =
    ["Creek", "Ridge", "Landing", "Park", "Crossing", "Point", "Vista", "Hollow", "Reserve", "Commons", "Trails", "Heights"];
/// Seasonal factor, January to December.
const SEASON: [f64; 12] = [0.85, 0.9, 1.05, 1.1, 1.15, 1.1, 1.0, 1.0, 0.95, 0.95, 0.9, 0.85];

/// splitmix64: tiny, fast, good enough for test data, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` and `stream` (independent streams per purpose).
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        r.next_u64();
        r
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f()
    }
    /// Uniform integer in lo..=hi.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Normal(mu, sigma) by Box–Muller.
    fn gauss(&mut self, mu: f64, sigma: f64) -> f64 {
        let u1 = 1.0 - self.f();
        let u2 = self.f();
        mu + sigma * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Profile {
    Strong,
    Average,
    Weak,
    Improving,
    Declining,
    Volatile,
}
const PROFILES: [Profile; 7] = [
    Profile::Strong,
    Profile::Average,
    Profile::Weak,
    Profile::Improving,
    Profile::Declining,
    Profile::Average,
    Profile::Volatile,
];

struct Rep {
    id: String,
    name: String,
    email: String,
    team: usize,
    /// The team before a move in the last month.
    old_team: Option<usize>,
    profile: Profile,
    diligence: f64,
    quota_factor: f64,
    active: bool,
    /// Last month with deals (a leaver), as a month index.
    leave_month: Option<usize>,
    hire: NaiveDate,
}

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Won,
    Cancelled,
    Pending,
}

/// A won deal that a later row may cancel.
#[derive(Clone, Copy)]
struct Sale {
    deal: u32,
    community: u16,
    contract: NaiveDate,
    close: NaiveDate,
    price: i64,
    units: i64,
}

#[derive(Clone, Copy, PartialEq)]
struct Row {
    deal: u32,
    rep: u32,
    team: u16,
    community: u16,
    stage: Stage,
    contract: NaiveDate,
    close: NaiveDate,
    /// Whole currency units; negative for a cancellation.
    price: i64,
    units: i64,
    rating: Option<u8>,
    paperwork: bool,
    errors: u8,
    /// Messy: spaces after the name.
    pad: u8,
    /// Messy: 1 = contract date as text, 2 = close date as text.
    text_date: u8,
    /// Messy: amount as text ("$1,234.00").
    text_amount: bool,
}

struct World {
    months: Vec<(i32, u32)>,
    teams: Vec<String>,
    /// (name, base price) per community; `team_comms[t]` indexes into it.
    communities: Vec<(String, i64)>,
    team_comms: Vec<Vec<u16>>,
    managers: Vec<(String, String)>,
    reps: Vec<Rep>,
}

fn add_months(y: i32, m: u32, k: i64) -> (i32, u32) {
    let n = y as i64 * 12 + (m as i64 - 1) + k;
    (n.div_euclid(12) as i32, n.rem_euclid(12) as u32 + 1)
}

fn month_days(y: i32, m: u32) -> u32 {
    let (ny, nm) = add_months(y, m, 1);
    (NaiveDate::from_ymd_opt(ny, nm, 1).unwrap() - NaiveDate::from_ymd_opt(y, m, 1).unwrap()).num_days() as u32
}

fn ascii_slug(name: &str) -> String {
    if name == "李伟" {
        return "li.wei".into();
    }
    let s: String = name
        .chars()
        .filter_map(|c| match c {
            'Ł' => Some('L'),
            'ł' => Some('l'),
            'Ø' => Some('O'),
            'ø' => Some('o'),
            '\'' => None,
            c => Some(c),
        })
        .collect::<String>()
        .nfkd()
        .filter(char::is_ascii)
        .collect::<String>()
        .to_lowercase()
        .replace('-', " ");
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() > 1 { format!("{}.{}", parts[0], parts[parts.len() - 1]) } else { parts[0].to_string() }
}

fn build_world(rng: &mut Rng, o: &Options) -> World {
    let months: Vec<(i32, u32)> =
        (0..o.months).map(|k| add_months(o.end_month.0, o.end_month.1, k as i64 - o.months as i64 + 1)).collect();
    let n_reps = o.reps;
    let n_teams = if n_reps < 10 { 2 } else { (n_reps as f64 / 10.0).round().max(3.0) as usize };
    let teams: Vec<String> = (0..n_teams)
        .map(|i| {
            let base = TEAMS[i % TEAMS.len()];
            if i < TEAMS.len() { base.to_string() } else { format!("{base} {}", i / TEAMS.len() + 1) }
        })
        .collect();
    let mut communities = Vec::new();
    let mut team_comms = Vec::new();
    for _ in &teams {
        let n = rng.int(3, 6);
        let mut mine = Vec::new();
        for _ in 0..n {
            let name = format!("{} {}", rng.pick(&COMM_A), rng.pick(&COMM_B));
            let base = 280_000 + 10_000 * rng.int(0, 86);
            mine.push(communities.len() as u16);
            communities.push((name, base));
        }
        team_comms.push(mine);
    }
    let managers: Vec<(String, String)> = (0..n_teams)
        .map(|i| {
            let nm = format!("{} {}", rng.pick(&FIRST), rng.pick(&LAST));
            let email = format!("{}.mgr{}@example-homes.com", ascii_slug(&nm), i + 1);
            (nm, email)
        })
        .collect();
    let first = months[0];
    let last = *months.last().unwrap();
    let n_new = if n_reps < 10 { 1 } else { (n_reps / 25).max(2) }.min(n_reps);
    let mut used = std::collections::HashSet::new();
    let mut reps = Vec::with_capacity(n_reps);
    for i in 0..n_reps {
        let name = match SPECIAL_NAMES.get(i) {
            Some(n) => n.to_string(),
            None => format!("{} {}", rng.pick(&FIRST), rng.pick(&LAST)),
        };
        let base = ascii_slug(&name);
        let mut slug = base.clone();
        let mut k = 1;
        while used.contains(&slug) {
            k += 1;
            slug = format!("{base}{k}");
        }
        used.insert(slug.clone());
        let profile = if i == 3 || i == 5 { Profile::Strong } else { *rng.pick(&PROFILES) };
        let diligence = rng.uniform(0.72, 0.99);
        let quota_factor = rng.uniform(0.9, 1.1);
        let hire = if i >= n_reps - n_new {
            // New hires joined in the last two months.
            let (hy, hm) = add_months(last.0, last.1, -(((n_reps - 1 - i) % 2) as i64));
            NaiveDate::from_ymd_opt(hy, hm, rng.int(1, 20) as u32).unwrap()
        } else {
            NaiveDate::from_ymd_opt(first.0, first.1, 1).unwrap() - Duration::days(rng.int(60, 3000))
        };
        reps.push(Rep {
            id: format!("R{:05}", i + 1),
            name,
            email: format!("{slug}@example-homes.com"),
            team: i % n_teams,
            old_team: None,
            profile,
            diligence,
            quota_factor,
            active: true,
            leave_month: None,
            hire,
        });
    }
    if n_reps >= 10 {
        // One rep changes team in the last month; one left at the end of the month before.
        let mover = &mut reps[n_reps - n_new - 1];
        mover.old_team = Some(mover.team);
        mover.team = (mover.team + 1) % n_teams;
        if months.len() > 1 {
            let leaver = &mut reps[n_reps - n_new - 2];
            leaver.active = false;
            leaver.leave_month = Some(months.len() - 2);
        }
    }
    World { months, teams, communities, team_comms, managers, reps }
}

fn perf(rng: &mut Rng, p: Profile, mi: usize, n_months: usize) -> f64 {
    let x = mi as f64 / (n_months.max(2) - 1) as f64;
    let base = match p {
        Profile::Strong => 1.3,
        Profile::Average | Profile::Volatile => 1.0,
        Profile::Weak => 0.65,
        Profile::Improving => 0.6 + 0.8 * x,
        Profile::Declining => 1.35 - 0.65 * x,
    };
    let sigma = if p == Profile::Volatile { 0.35 } else { 0.15 };
    base * (rng.gauss(0.0, sigma) - sigma * sigma / 2.0).exp()
}

/// Ramp-up factor of a rep in month (y, m): none before the hire month, then 50%, 75%, 100%.
fn ramp(rep: &Rep, y: i32, m: u32) -> Option<f64> {
    let k = (y * 12 + m as i32) - (rep.hire.year() * 12 + rep.hire.month() as i32);
    match k {
        k if k < 0 => None,
        0 => Some(0.5),
        1 => Some(0.75),
        _ => Some(1.0),
    }
}

/// Deal rows of month `mi` (by close date), sorted by close date and Deal ID.
fn gen_month(rng: &mut Rng, w: &World, o: &Options, mi: usize, seq: &mut u32, pools: &mut [Vec<Sale>]) -> Vec<Row> {
    let (y, m) = w.months[mi];
    let ndays = month_days(y, m);
    let season = SEASON[m as usize - 1];
    let last_mi = w.months.len() - 1;
    let mut rows = Vec::new();
    let mut won_now: Vec<Vec<Sale>> = vec![Vec::new(); w.reps.len()];
    for (ri, rep) in w.reps.iter().enumerate() {
        let Some(rp) = ramp(rep, y, m) else { continue };
        if rep.leave_month.is_some_and(|l| mi > l) {
            continue;
        }
        let team = match rep.old_team {
            Some(t) if mi < last_mi => t,
            _ => rep.team,
        };
        let first_day = if (rep.hire.year(), rep.hire.month()) == (y, m) { rep.hire.day() } else { 1 };
        let mean = o.deals_per_rep_month * perf(rng, rep.profile, mi, w.months.len()) * rp * season;
        let n = rng.gauss(mean, mean.max(0.0).sqrt()).round().max(0.0) as usize;
        for _ in 0..n {
            let close = NaiveDate::from_ymd_opt(y, m, rng.int(first_day as i64, ndays as i64) as u32).unwrap();
            let u = rng.f();
            let pool_prev = &mut pools[ri];
            if u < 0.08 && (!pool_prev.is_empty() || !won_now[ri].is_empty()) {
                // A cancellation of a deal won last month, else earlier this month; dated
                // on or after its sale.
                let src = if !pool_prev.is_empty() { pool_prev } else { &mut won_now[ri] };
                let s = src.swap_remove(rng.below(src.len()));
                let close = close.max(s.close);
                rows.push(Row {
                    deal: s.deal,
                    rep: ri as u32,
                    team: team as u16,
                    community: s.community,
                    stage: Stage::Cancelled,
                    contract: s.contract,
                    close,
                    price: -s.price,
                    units: -s.units,
                    rating: None,
                    paperwork: true,
                    errors: 0,
                    pad: 0,
                    text_date: 0,
                    text_amount: false,
                });
                continue;
            }
            let comm = *rng.pick(&w.team_comms[team]);
            let base = w.communities[comm as usize].1;
            let r = rng.f();
            let units = if r < 0.9 {
                1
            } else if r < 0.97 {
                2
            } else {
                rng.int(3, 6)
            };
            let price = (base as f64 * rng.uniform(0.85, 1.25) * units as f64 / 500.0).round() as i64 * 500;
            let contract = close - Duration::days(rng.int(20, 150));
            *seq += 1;
            let mut row = Row {
                deal: *seq,
                rep: ri as u32,
                team: team as u16,
                community: comm,
                stage: Stage::Pending,
                contract,
                close,
                price,
                units,
                rating: None,
                paperwork: false,
                errors: 0,
                pad: 0,
                text_date: 0,
                text_amount: false,
            };
            if u >= 0.14 {
                row.stage = Stage::Won;
                let mu = match rep.profile {
                    Profile::Strong => 4.4,
                    Profile::Weak => 3.3,
                    _ => 3.9,
                };
                row.rating = if rng.f() < 0.55 { None } else { Some(rng.gauss(mu, 0.8).round().clamp(1.0, 5.0) as u8) };
                row.paperwork = rng.f() < rep.diligence;
                row.errors = if rng.f() < (1.0 - rep.diligence) * 1.5 { rng.int(1, 4) as u8 } else { 0 };
                won_now[ri].push(Sale { deal: *seq, community: comm, contract, close, price, units });
            }
            rows.push(row);
        }
    }
    rows.sort_by_key(|r| (r.close, r.deal, r.stage as u8));
    if o.messy && !rows.is_empty() {
        // Its own stream, so `messy` does not change the underlying deals.
        let mut mrng = Rng::new(o.seed, 1000 + mi as u64);
        for r in &mut rows {
            let v = mrng.f();
            if v < 0.03 {
                r.pad = 1 + mrng.below(2) as u8;
            } else if v < 0.05 {
                r.text_date = 1 + mrng.below(2) as u8;
            } else if v < 0.07 {
                r.text_amount = true;
            }
        }
        // One row exported twice, a few rows further down.
        let k = mrng.below(rows.len());
        let at = (k + 1 + mrng.below(5)).min(rows.len());
        rows.insert(at, rows[k]);
    }
    for (ri, won) in won_now.into_iter().enumerate() {
        pools[ri] = won;
    }
    rows
}

fn money_text(v: i64) -> String {
    let digits = v.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}${grouped}.00", if v < 0 { "-" } else { "" })
}

fn excel_serial(d: NaiveDate) -> f64 {
    (d - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days() as f64
}

type XResult<T> = Result<T, rust_xlsxwriter::XlsxError>;

fn write_xlsx(path: &Path, w: &World, rows: &[Row], messy: bool, title: &str) -> XResult<()> {
    let mut wb = Workbook::new();
    let created = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(6, 0, 0).unwrap();
    wb.set_properties(&DocProperties::new().set_author("quotad gen_crm").set_creation_datetime(&created));
    let ws = wb.add_worksheet();
    ws.set_name("Closed Sales")?;
    let bold = Format::new().set_bold();
    let fdate = Format::new().set_num_format("yyyy-mm-dd");
    let fmoney = Format::new().set_num_format("\"$\"#,##0.00;[Red]-\"$\"#,##0.00");
    ws.set_column_width(0, 11)?;
    ws.set_column_range_width(1, 2, 28)?;
    ws.set_column_range_width(3, 4, 22)?;
    let shift = u16::from(messy);
    let col = |c: u16| if c >= EMPTY_COL_AT { c + shift } else { c };
    ws.set_column_range_width(col(6), col(8), 14)?;
    let mut ri: u32 = 0;
    if messy {
        ws.write_string_with_format(0, 0, title, &bold)?;
        ri = 2;
    }
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string_with_format(ri, col(c as u16), *h, &bold)?;
    }
    let mut name = String::new();
    let (mut total_price, mut total_units) = (0i64, 0i64);
    for r in rows {
        ri += 1;
        let rep = &w.reps[r.rep as usize];
        ws.write_string(ri, 0, format!("D{:07}", r.deal))?;
        name.clear();
        name.push_str(&rep.name);
        name.extend(std::iter::repeat_n(' ', r.pad as usize));
        ws.write_string(ri, 1, &name)?;
        ws.write_string(ri, 2, &rep.email)?;
        ws.write_string(ri, 3, &w.teams[r.team as usize])?;
        ws.write_string(ri, 4, &w.communities[r.community as usize].0)?;
        ws.write_string(
            ri,
            col(5),
            match r.stage {
                Stage::Won => "Closed Won",
                Stage::Cancelled => "Cancelled",
                Stage::Pending => "Pending",
            },
        )?;
        for (k, d) in [(1u8, r.contract), (2u8, r.close)] {
            let c = col(5 + k as u16);
            if r.text_date == k {
                ws.write_string(ri, c, d.format("%m/%d/%Y").to_string())?;
            } else {
                ws.write_number_with_format(ri, c, excel_serial(d), &fdate)?;
            }
        }
        if r.text_amount {
            ws.write_string(ri, col(8), money_text(r.price))?;
        } else {
            ws.write_number_with_format(ri, col(8), r.price as f64, &fmoney)?;
            total_price += r.price;
        }
        ws.write_number(ri, col(9), r.units as f64)?;
        total_units += r.units;
        if let Some(rating) = r.rating {
            ws.write_number(ri, col(10), rating as f64)?;
        }
        ws.write_string(ri, col(11), if r.paperwork { "Yes" } else { "No" })?;
        ws.write_number(ri, col(12), r.errors as f64)?;
    }
    if messy {
        // Like the CRM's: the numeric prices and all units summed, duplicates included.
        ri += 1;
        ws.write_string_with_format(ri, 0, "Total", &bold)?;
        ws.write_number_with_format(ri, col(8), total_price as f64, &fmoney)?;
        ws.write_number(ri, col(9), total_units as f64)?;
    }
    wb.save(path)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

fn write_roster(o: &Options, w: &World) -> std::io::Result<()> {
    let mut s = String::from("Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status\n");
    for r in &w.reps {
        let (mn, me) = &w.managers[r.team];
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{}",
            r.id,
            csv_field(&r.name),
            r.email,
            csv_field(&w.teams[r.team]),
            csv_field(mn),
            me,
            r.hire,
            if r.active { "Active" } else { "Inactive" }
        );
    }
    std::fs::write(o.out.join("roster.csv"), s)
}

fn write_quotas(o: &Options, w: &World) -> std::io::Result<usize> {
    let mut s = String::from("Rep Email,Month,Revenue Quota,Units Quota\n");
    let mut n = 0;
    let last = *w.months.last().unwrap();
    let memo_month = add_months(last.0, last.1, 1);
    // One rep has a zero quota in the last export month.
    let zero_rep = 8.min(w.reps.len() - 1);
    for (ri, r) in w.reps.iter().enumerate() {
        let comms = &w.team_comms[r.team];
        let avg_price = comms.iter().map(|&c| w.communities[c as usize].1 as f64).sum::<f64>() / comms.len() as f64;
        for (mi, &(y, m)) in w.months.iter().chain([memo_month].iter()).enumerate() {
            let Some(rp) = ramp(r, y, m) else { continue };
            if r.leave_month.is_some_and(|l| mi > l) {
                continue;
            }
            let k = o.deals_per_rep_month * SEASON[m as usize - 1] * rp * r.quota_factor;
            let (mut rev, mut units) =
                ((k * avg_price * 1.1 / 5000.0).round() as i64 * 5000, (k * 1.1).round().max(1.0) as i64);
            if ri == zero_rep && (y, m) == last {
                (rev, units) = (0, 0);
            }
            let _ = writeln!(s, "{},{y}-{m:02},{rev},{units}", r.email);
            n += 1;
        }
    }
    std::fs::write(o.out.join("quotas.csv"), s)?;
    Ok(n)
}

/// Generates every file into `o.out` and returns what was written.
pub fn generate(o: &Options) -> Result<Summary, Box<dyn std::error::Error + Send + Sync>> {
    if o.reps == 0 || o.months == 0 {
        return Err("--reps and --months must be at least 1".into());
    }
    if !(1..=12).contains(&o.end_month.1) {
        return Err("--end-month must be YYYY-MM".into());
    }
    std::fs::create_dir_all(&o.out)?;
    let mut rng = Rng::new(o.seed, 0);
    let w = build_world(&mut rng, o);
    write_roster(o, &w)?;
    let quota_rows = write_quotas(o, &w)?;

    let mut seq = 0u32;
    let mut pools: Vec<Vec<Sale>> = vec![Vec::new(); w.reps.len()];
    let mut all: Vec<Vec<Row>> = Vec::with_capacity(w.months.len());
    let mut months = Vec::with_capacity(w.months.len());
    for mi in 0..w.months.len() {
        let rows = gen_month(&mut rng, &w, o, mi, &mut seq, &mut pools);
        let (y, m) = w.months[mi];
        let mut ms = MonthSummary {
            period: format!("{y}-{m:02}"),
            file: format!("crm-export-{y}-{m:02}.xlsx"),
            rows: rows.len(),
            ..MonthSummary::default()
        };
        let mut seen = std::collections::HashSet::new();
        for r in &rows {
            if !seen.insert((r.deal, r.stage as u8)) {
                ms.duplicates += 1;
                continue;
            }
            match r.stage {
                Stage::Won => {
                    ms.won += 1;
                    ms.won_revenue += r.price;
                    ms.net_units += r.units;
                }
                Stage::Cancelled => {
                    ms.cancelled += 1;
                    ms.cancelled_revenue += r.price.abs();
                    ms.net_units -= r.units.abs();
                }
                Stage::Pending => ms.pending += 1,
            }
        }
        months.push(ms);
        all.push(rows);
    }

    // Files are written in parallel; their content does not depend on the order.
    let next = AtomicUsize::new(0);
    let errors: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..o.jobs.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut errs = Vec::new();
                    loop {
                        let mi = next.fetch_add(1, Ordering::Relaxed);
                        if mi >= all.len() {
                            break errs;
                        }
                        let (y, m) = w.months[mi];
                        let month = NaiveDate::from_ymd_opt(y, m, 1).unwrap().format("%B %Y");
                        let title = format!("Closed Sales Report - {month} - exported by HomeBuilder CRM");
                        let path = o.out.join(&months[mi].file);
                        if let Err(e) = write_xlsx(&path, &w, &all[mi], o.messy, &title) {
                            errs.push(format!("{}: {e}", path.display()));
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    if !errors.is_empty() {
        return Err(errors.join("; ").into());
    }
    Ok(Summary { reps: w.reps.len(), teams: w.teams.len(), quota_rows, months })
}
