//! The weekly ranking PDF and the 1:1 prep sheets: text extracted with lopdf and
//! checked against the computed standings and hand values; `pdffonts` and
//! `qpdf --check` on every PDF (CI installs poppler-utils and qpdf).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Env, config};

/// The text of each page.
pub(crate) fn pages(path: &Path) -> Vec<String> {
    let doc = lopdf::Document::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = doc.get_pages().len() as u32;
    (1..=n).map(|p| doc.extract_text(&[p]).unwrap_or_else(|e| panic!("page {p} of {}: {e}", path.display()))).collect()
}

pub(crate) fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} is needed by the PDF tests (apt-get install poppler-utils qpdf): {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} {args:?}: {text}");
    text
}

/// `qpdf --check` is clean, every font is embedded and subset (`pdffonts`), and the
/// file is under 100 KB.
pub(crate) fn check_pdf(path: &Path) {
    let s = path.to_str().unwrap();
    let q = tool("qpdf", &["--check", s]);
    assert!(q.contains("No syntax or stream encoding errors found"), "{s}: {q}");
    let fonts = tool("pdffonts", &[s]);
    let rows: Vec<&str> = fonts.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    assert!(!rows.is_empty(), "{s}: no fonts\n{fonts}");
    for r in rows {
        // name type encoding emb sub uni object ID
        let cols: Vec<&str> = r.split_whitespace().collect();
        assert!(cols[0].contains('+'), "{s}: not a subset: {r}");
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], &["yes", "yes", "yes"], "{s}: emb/sub/uni: {r}");
    }
    let size = std::fs::metadata(path).unwrap().len();
    assert!(size < 100 * 1024, "{s} is {size} bytes");
}

pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn the_sample_ranking_and_prep_sheets_carry_the_standings_and_are_mailed() {
    let env = Env::sample();
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The sample's newest deal closes on Saturday 31 October: the default week is the one
    // holding it, 2026-W44 (26 Oct – 1 Nov), which ranks October in full (the month of its
    // Monday), so the deals of 26–31 October are in a ranking.
    let week = run.stdout.split("Weekly ranking ").nth(1).unwrap().split(' ').next().unwrap().to_string();
    assert_eq!(week, "2026-W44", "{}", run.stdout);
    assert!(run.stdout.contains("Weekly ranking 2026-W44 (October 2026 in full, Oct 1 – Oct 31)"), "{}", run.stdout);
    let ranking = env.path(&format!("var/reports/ranking_{week}.pdf"));
    let text = pages(&ranking);
    let all = text.join("\n");
    // José's October in full, as on his 1:1 sheet below: $4,888,000, 83.4%.
    assert!(text[0].contains("October 2026 in full") && text[0].contains("$4,888,000"), "{}", text[0]);
    assert!(text[0].contains("83.4%"), "{}", text[0]);
    assert!(text[0].contains("Example Homes") && text[0].contains("Weekly ranking"), "{}", text[0]);
    for name in ["José Núñez", "Zoë Ødegaard", "Łukasz Żółć", "Ngozi Okonkwo"] {
        assert!(all.contains(name), "{name} missing:\n{all}");
    }
    // 李伟 is in no shipped font: drawn in the CJK font found on the system (Debian's
    // fonts-droid-fallback, which .ci/run installs), which the summary names; nothing is
    // drawn as U+FFFD (issue 20.6).
    assert!(Path::new(DROID).exists(), "{DROID}: apt-get install fonts-droid-fallback, as .ci/run does");
    assert!(all.contains("李伟") && !all.contains('\u{FFFD}'), "{all}");
    assert!(!run.stdout.contains("characters no font has"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("  drawn in the fallback font Droid Sans Fallback ({DROID}): 伟李\n")),
        "{}",
        run.stdout
    );
    // The 76-character name stays in its table cell: cut with an ellipsis (the
    // celebrations, running text, wrap it whole instead).
    assert!(all.lines().any(|l| l.starts_with("Anna-Katharina") && l.ends_with('…')), "{all}");
    assert!(all.lines().any(|l| l.starts_with("Lakeside Comm") && l.ends_with('…')), "{all}");
    // Company page, then a page per team (3 teams), numbered n / N.
    let n = text.len();
    assert!(n >= 4, "{n} pages");
    for (i, p) in text.iter().enumerate() {
        assert!(p.contains(&format!("{} / {n}", i + 1)), "page {}: {p}", i + 1);
    }
    for team in ["North Division", "South Division", "Lakeside Communities"] {
        assert!(text.iter().any(|p| p.contains(&format!("Team: {team}"))), "{team}");
    }
    // The figures themselves are checked against hand values for 2026-W43 in
    // `the_sample_ranking_of_2026_w43_shows_figures_worked_out_by_hand`.
    check_pdf(&ranking);

    // José's team's message: North Division's edition attached, the company's top 3
    // and the team in the e-mail; the managers' message carries the full PDF.
    let rankings: Vec<_> = env.all_emails().into_iter().filter(|e| e.file.starts_with("weekly-ranking_")).collect();
    assert_eq!(rankings.len(), 4, "3 teams and the full ranking");
    let mail = rankings
        .iter()
        .find(|e| e.file.contains("team-edition") && e.raw.contains("jose.nunez@example-homes.com"))
        .unwrap();
    assert!(mail.subject.contains(&week) && mail.subject.contains("North Division"), "{}", mail.subject);
    assert!(mail.text.starts_with("Hi North Division team,"), "{}", mail.text);
    assert!(mail.html.contains("Top 3 on attainment in the company"), "{}", mail.html);
    assert!(mail.text.contains("José Núñez: $"), "{}", mail.text);
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].0, format!("ranking {week} North Division.pdf"));
    let edition = files_under(&env.path(&format!("var/reports/ranking_{week}")))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("North_Division"))
        .unwrap();
    assert_eq!(mail.attachments[0].1, std::fs::read(&edition).unwrap());
    check_pdf(&edition);
    let full = rankings.iter().find(|e| e.file.contains("full-ranking")).unwrap();
    assert_eq!(full.attachments[0].0, format!("ranking_{week}.pdf"));
    assert_eq!(full.attachments[0].1, std::fs::read(&ranking).unwrap());

    // 1:1 sheets: one per active rep, each one page, each checked.
    let sheets = files_under(&env.path("var/reports/one-on-one_2026-10"));
    assert_eq!(sheets.len(), 19, "{sheets:?}");
    for s in &sheets {
        assert_eq!(pages(s).len(), 1, "{} is not one page", s.display());
        check_pdf(s);
    }
    // On her own sheet the 76-character name is shown whole (the title shrinks to fit).
    let anna = sheets.iter().find(|p| p.to_string_lossy().contains("anna.wittelsbach")).unwrap();
    let anna = pages(anna).join("\n");
    assert!(anna.contains("Anna-Katharina Maximiliane Theodora von Hohenzollern-Sigmaringen-Wittelsbach\n"), "{anna}");
    let jose_sheet = sheets.iter().find(|p| p.to_string_lossy().contains("jose.nunez")).unwrap();
    let t = pages(jose_sheet).join("\n");
    // Hand values (sample_memos.rs): October revenue $4,888,000 against $5,860,000 = 83.4%,
    // rating 4.0 from 1, clean paperwork 83.3%, D0000784 has 2 paperwork errors.
    for want in [
        "José Núñez",
        "North Division",
        "Dmitri Nguyen",
        "$4,888,000",
        "83.4% of $5,860,000 quota",
        "n = 1",
        "83.3%",
        "D0000784",
        "2 errors",
        "Commitments for next month",
        "6 of 17",
        "2 of 8",
    ] {
        assert!(t.contains(want), "'{want}' not on José's sheet:\n{t}");
    }
    // The pack to José's manager: one PDF per North Division active rep.
    let pack = env
        .all_emails()
        .into_iter()
        .find(|e| e.file.starts_with("one-on-one_") && e.to == "dmitri.nguyen.mgr1@example-homes.com")
        .unwrap();
    assert_eq!(pack.attachments.len(), 8, "{:?}", pack.attachments.iter().map(|a| &a.0).collect::<Vec<_>>());
    assert!(pack.attachments.iter().any(|a| a.0 == "1-1 prep 2026-10 José Núñez.pdf"));
    assert!(pack.raw.contains("filename*0*=utf-8''") || pack.raw.contains("filename*=utf-8''"), "RFC 2231 names");
    // Every PDF the run wrote passes the checks; a second run sends nothing again.
    let again = env.quotad(&["run", "all"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.matches(" message(s) written to var/outbox, ").count() == 2, "{}", again.stdout);
    assert!(again.stdout.contains("0 message(s) written"), "{}", again.stdout);
}

fn group(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[test]
fn a_140_rep_ranking_continues_with_the_header_on_each_page_and_no_row_split() {
    let env = Env::new(&config("[pdf]\npaper = \"letter\"\n"));
    let mut roster = String::from("Rep ID,Name,Email,Team,Manager,Manager Email\n");
    let mut quotas = String::from("Rep Email,Month,Revenue Quota\n");
    let mut deals = String::from("Deal ID,Rep Email,Stage,Close Date,Sale Price\n");
    let long_email = format!("{}@example-homes.com", "a".repeat(52));
    assert_eq!(long_email.len(), 70);
    for i in 1..=140 {
        let (name, email) = if i == 7 {
            ("<b>O'Brien & Co</b> with a very long name that cannot fit in its cell".to_string(), long_email.clone())
        } else {
            (format!("Agent {i:03}"), format!("agent{i}@example.com"))
        };
        let team = format!("Team {}", i % 2);
        roster.push_str(&format!("R{i},\"{name}\",{email},{team},Boss {},boss{}@example.com\n", i % 2, i % 2));
        quotas.push_str(&format!("{email},2026-03,100000\n"));
        // Revenue 1000 × i: Agent 140 ranks 1.
        deals.push_str(&format!("D{i},{email},Closed Won,2026-03-04,{}\n", 1000 * i));
    }
    env.put("roster.csv", roster);
    env.put("quotas.csv", quotas);
    env.put("deals.csv", deals);
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["preview", "weekly-ranking", "--week", "2026-W10", "--out", "previews"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(env.all_emails().is_empty(), "preview sends nothing");
    let pdf = env.path("previews/ranking_2026-W10.pdf");
    check_pdf(&pdf);
    let text = pages(&pdf);
    // The company's attainment board: its pages, up to the results board's heading.
    let mut company: Vec<&str> = Vec::new();
    for p in &text {
        match p.split_once("Company — results (revenue)") {
            Some((before, _)) => {
                if before.contains("Agent") {
                    company.push(before);
                }
                break;
            }
            None => company.push(p),
        }
    }
    assert!(company.len() >= 3, "{} company pages", company.len());
    for (i, p) in company.iter().enumerate() {
        assert!(p.contains("Rank") && p.contains("Attainment") && p.contains("Revenue"), "no header on page {}", i + 1);
        if i > 0 {
            assert!(p.contains("Company — attainment (% of quota) (continued)"), "page {}: {p}", i + 1);
        }
    }
    let company_text: String = company.join("\n");
    let mut last_at = 0;
    for i in (1..=140).rev().filter(|i| *i != 7) {
        let name = format!("Agent {i:03}");
        assert_eq!(company_text.matches(&name).count(), 1, "{name} must be listed exactly once");
        let at = company_text.find(&name).unwrap();
        assert!(at > last_at || i == 140, "{name} is out of rank order");
        last_at = at;
        // No row split: the name and its revenue are on the same page.
        let money = format!("${}", group(1000 * i));
        assert!(company.iter().any(|p| p.contains(&name) && p.contains(&money)), "{name} {money}");
    }
    // Three-digit ranks fit their cell (never "1…").
    assert!(company_text.lines().any(|l| l.trim() == "140"), "{company_text}");
    assert!(!company_text.lines().any(|l| l.trim() == "1…"), "{company_text}");
    // The long name is cut inside its cell; the HTML-looking name is plain text in a PDF.
    assert!(company_text.contains("<b>O'Brien & Co</b>"), "{company_text}");
    assert!(!company_text.contains("cannot fit in its cell"), "{company_text}");
    let n = text.len();
    assert!(text[n - 1].contains(&format!("{n} / {n}")));

    // Sent for real, the HTML summary escapes names from the spreadsheet.
    let sent = env.quotad(&["run", "weekly-ranking", "--week", "2026-W10"]);
    assert_eq!(sent.code, 0, "{sent:?}");
    // Two teams (Team 0, Team 1) and the full ranking to the two managers.
    assert_eq!(env.all_emails().len(), 3);
    let mail = env.all_emails().into_iter().find(|e| e.raw.contains("agent140@example.com")).unwrap();
    assert!(mail.html.contains("Agent 140"), "{}", mail.html);
    let to_obrien = env.all_emails().into_iter().find(|e| e.raw.contains(&long_email)).unwrap();
    assert!(to_obrien.html.contains("<td>&lt;b&gt;O&#x27;Brien &amp; Co&lt;&#x2F;b&gt;"), "{}", to_obrien.html);
    assert!(!to_obrien.html.contains("<b>O'Brien"), "{}", to_obrien.html);
}

#[test]
fn preview_one_rep_writes_only_their_sheet() {
    let env = Env::sample();
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run =
        env.quotad(&["preview", "one-on-one", "--period", "2026-10", "--rep", "Zoë Ødegaard", "--out", "previews"]);
    assert_eq!(run.code, 0, "{run:?}");
    let files = files_under(&env.path("previews"));
    assert_eq!(files.len(), 1, "{files:?}");
    let t = pages(&files[0]).join("\n");
    assert!(t.contains("Zoë Ødegaard") && t.contains("South Division") && t.contains("Leila Brown"), "{t}");
    assert!(t.contains("Attainment by month") && t.contains("Personal bests"), "{t}");
    check_pdf(&files[0]);
    assert!(env.all_emails().is_empty());
    // James Schröder joined on 10 October: May to September, before he was on the roster,
    // say so in the trend table and in the chart (5 + 5), never "no quota".
    let run =
        env.quotad(&["preview", "one-on-one", "--period", "2026-10", "--rep", "James Schröder", "--out", "james"]);
    assert_eq!(run.code, 0, "{run:?}");
    let t = pages(&files_under(&env.path("james"))[0]).join("\n");
    assert_eq!(t.matches("not on the roster").count(), 10, "{t}");
    assert!(!t.contains("no quota"), "{t}");
    let bad = env.quotad(&["preview", "one-on-one", "--rep", "nobody@example.com", "--out", "previews"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("no active rep 'nobody@example.com'"), "{}", bad.stderr);
}

/// A CJK fallback font (Debian's fonts-droid-fallback, which .ci/run installs).
pub(crate) const DROID: &str = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";

#[test]
fn a_fallback_font_draws_what_dejavu_lacks() {
    let Some(_) = crate::inputs::required(
        Path::new(DROID),
        "the CJK fallback font DroidSansFallbackFull.ttf",
        "apt-get install fonts-droid-fallback, as .ci/run does",
    ) else {
        return;
    };
    let env = Env::sample();
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    std::fs::write(
        env.path("quotad.toml"),
        cfg.replace("fallback_fonts = []", &format!("fallback_fonts = [{DROID:?}]")),
    )
    .unwrap();
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["preview", "one-on-one", "--period", "2026-10", "--rep", "R00004", "--out", "previews"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("characters no font has"), "{}", run.stdout);
    let files = files_under(&env.path("previews"));
    let t = pages(&files[0]).join("\n");
    assert!(t.contains("李伟") && !t.contains('\u{FFFD}'), "{t}");
    check_pdf(&files[0]);
    let fonts = tool("pdffonts", &[files[0].to_str().unwrap()]);
    assert!(fonts.contains("+DroidSansFallback"), "{fonts}");
}

#[test]
fn per_rep_mail_sends_one_sheet_per_message_once() {
    let env = Env::sample();
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    assert!(cfg.contains("one_on_one_mail = \"pack\""));
    std::fs::write(env.path("quotad.toml"), cfg.replace("one_on_one_mail = \"pack\"", "one_on_one_mail = \"per_rep\""))
        .unwrap();
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["run", "one-on-one", "--period", "2026-10"]);
    assert_eq!(run.code, 0, "{run:?}");
    let sheets: Vec<_> = env.all_emails().into_iter().filter(|e| e.file.starts_with("one-on-one_")).collect();
    assert_eq!(sheets.len(), 19, "{}", run.stdout);
    assert!(sheets.iter().all(|e| e.attachments.len() == 1));
    assert_eq!(sheets.iter().filter(|e| e.to == "dmitri.nguyen.mgr1@example-homes.com").count(), 8);
    let again = env.quotad(&["run", "one-on-one", "--period", "2026-10"]);
    assert!(again.stdout.contains("0 message(s) written to var/outbox, 19 already sent earlier"), "{}", again.stdout);
}

/// One row of a ranking table as the PDF's text gives it, a cell a line: rank, movement
/// (▲n, ▼n or = since last week; none for an unranked rep), name, ✓ when at or above
/// quota, team, revenue, units, quota, attainment, pace.
fn row(rank: &str, movement: &str, name: &str, team: &str, figures: [&str; 5]) -> Vec<String> {
    let mut cells = vec![rank.to_string()];
    cells.extend((!movement.is_empty()).then(|| movement.to_string()));
    cells.push(name.to_string());
    let attainment: f64 = figures[3].trim_end_matches('%').parse().unwrap_or(0.0);
    cells.extend((attainment >= 100.0).then(|| "✓".to_string()));
    cells.push(team.to_string());
    cells.extend(figures.iter().map(|f| f.to_string()));
    cells
}

/// The table lines of a page of the ranking: after the header's last cell ("Pace"), up to
/// the celebrations (or the end of the page).
fn table_lines(page: &str) -> Vec<String> {
    let table = page.split_once("\nPace\n").unwrap_or_else(|| panic!("no table header:\n{page}")).1;
    // The attainment board only: the results board (the company's, or a team page's) and
    // the celebrations follow it.
    let table = table.split("\nCelebrations\n").next().unwrap();
    let table = table.split("\nCompany — results (revenue)\n").next().unwrap();
    let table = table.split("\nResults (revenue)\n").next().unwrap();
    table.lines().take_while(|l| !l.starts_with("Example Homes · ")).map(String::from).collect()
}

#[test]
fn the_sample_ranking_of_2026_w43_shows_figures_worked_out_by_hand() {
    // Hand figures for the bundled sample's week 2026-W43 (Mon 19 – Sun 25 October 2026):
    // worked out once, independently of quotad, by tests/fixtures/sample_ranking_w43.py,
    // which reads config/sample-inbox with openpyxl and csv: October month to date through
    // Sunday 25 Oct; won rows add, cancellation rows (their own negative price and units)
    // subtract on their close date, exact repeats count once; October's revenue quota;
    // attainment = revenue / quota; pace = revenue / (quota × 25 / 31), every day a
    // selling day; one decimal, half away from zero (Leila O'Brien: exactly 28.75% ->
    // 28.8%, pace exactly 35.65% -> 35.7%); ranked by attainment; movement = rank through
    // Sunday 18 Oct minus rank now. James Schröder (hired 10 October: a partial month) and
    // Noah Nguyen (quota 0) are listed, not ranked. Drawn as laid out: team names cut to
    // "Lakeside Comm…", the 76-character name to "Anna-Katharina Maximil…", 李伟 in the
    // CJK font found on the system (fonts-droid-fallback, which .ci/run installs).
    let env = Env::sample();
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["preview", "weekly-ranking", "--week", "2026-W43", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    let pdf = env.path("p/ranking_2026-W43.pdf");
    check_pdf(&pdf);
    let text = pages(&pdf);
    // Month to date through 25 October: October has not closed, so the figures are
    // preliminary, whatever exports are loaded.
    assert!(
        text[0].contains("Week 2026-W43 (Oct 19, 2026 – Oct 25, 2026) · October 2026 to date, Oct 1 – Oct 25 · as of "),
        "{}",
        text[0]
    );
    assert!(text[0].contains("\nPreliminary\n") && !text[0].contains("Final"), "{}", text[0]);
    let (lakeside, north, south) = ("Lakeside Comm…", "North Division", "South Division");
    let company = [
        row("1", "=", "Andrés Andersson", lakeside, ["$10,034,000", "12", "$5,445,000", "184.3%", "228.5%"]),
        row("2", "▲6", "Carlos Williams", north, ["$8,143,500", "9", "$5,330,000", "152.8%", "189.5%"]),
        row("3", "▼1", "Mateo Dubois", south, ["$3,311,500", "8", "$3,835,000", "86.3%", "107.1%"]),
        row("4", "▼1", "José Núñez", north, ["$4,475,000", "7", "$5,860,000", "76.4%", "94.7%"]),
        row("5", "▲1", "Zoë Ødegaard", south, ["$2,636,500", "4", "$3,590,000", "73.4%", "91.1%"]),
        row("6", "▼1", "Dmitri Dubois", lakeside, ["$3,321,000", "5", "$5,695,000", "58.3%", "72.3%"]),
        row("7", "▲3", "Łukasz Żółć", lakeside, ["$3,097,000", "4", "$6,620,000", "46.8%", "58.0%"]),
        row("8", "▼1", "Nadia Okafor", north, ["$2,378,000", "3", "$5,270,000", "45.1%", "56.0%"]),
        row("9", "=", "Siobhán Nakamura", north, ["$2,700,500", "3", "$6,125,000", "44.1%", "54.7%"]),
        row("10", "▲1", "Björn Jones", north, ["$2,687,500", "4", "$6,150,000", "43.7%", "54.2%"]),
        row("11", "▲5", "Siobhán Kowalski", north, ["$2,606,500", "4", "$6,135,000", "42.5%", "52.7%"]),
        row("12", "▲5", "Siobhán Haddad", north, ["$1,631,500", "2", "$3,995,000", "40.8%", "50.6%"]),
        row("13", "▼9", "Ngozi Okonkwo-Adébáyọ\u{300}", south, ["$1,173,000", "2", "$3,665,000", "32.0%", "39.7%"]),
        row("14", "▼2", "Leila O'Brien", south, ["$1,184,500", "2", "$4,120,000", "28.8%", "35.7%"]),
        row("15", "▼2", "李伟", north, ["$1,494,000", "2", "$5,575,000", "26.8%", "33.2%"]),
        row("16", "▼2", "Ana Davis", south, ["$631,500", "1", "$4,140,000", "15.3%", "18.9%"]),
        row("17", "▼2", "Anna-Katharina Maximil…", lakeside, ["$691,000", "1", "$5,750,000", "12.0%", "14.9%"]),
        row("–", "", "James Schröder", south, ["$531,500", "1", "$2,135,000", "24.9%", "30.9%"]),
        row("–", "", "Noah Nguyen", lakeside, ["$4,017,000", "6", "no quota", "–", "–"]),
    ];
    assert_eq!(table_lines(&text[0]), company.concat(), "company page:\n{}", text[0]);
    // The team pages: the same rows, ranked within the team, with movement within it.
    let same = |name: &str| company.iter().find(|r| r.contains(&name.to_string())).unwrap().clone();
    let team = |rows: &[(&str, &str, &str)]| -> Vec<String> {
        let mut out = Vec::new();
        for (rank, movement, name) in rows {
            let mut r = same(name);
            if r[0] == "–" {
                out.extend(r);
                continue;
            }
            r[0] = rank.to_string();
            r[1] = movement.to_string();
            out.extend(r);
        }
        out
    };
    let pages_of = |t: &str| text.iter().find(|p| p.starts_with(&format!("Team: {t}\n"))).unwrap();
    let want = team(&[
        ("1", "=", "Andrés Andersson"),
        ("2", "=", "Dmitri Dubois"),
        ("3", "=", "Łukasz Żółć"),
        ("4", "=", "Anna-Katharina Maximil…"),
        ("–", "", "Noah Nguyen"),
    ]);
    assert_eq!(table_lines(pages_of("Lakeside Communities")), want);
    let want = team(&[
        ("1", "▲2", "Carlos Williams"),
        ("2", "▼1", "José Núñez"),
        ("3", "▼1", "Nadia Okafor"),
        ("4", "=", "Siobhán Nakamura"),
        ("5", "=", "Björn Jones"),
        ("6", "▲1", "Siobhán Kowalski"),
        ("7", "▲1", "Siobhán Haddad"),
        ("8", "▼2", "李伟"),
    ]);
    assert_eq!(table_lines(pages_of("North Division")), want);
    let want = team(&[
        ("1", "=", "Mateo Dubois"),
        ("2", "▲1", "Zoë Ødegaard"),
        ("3", "▼1", "Ngozi Okonkwo-Adébáyọ\u{300}"),
        ("4", "=", "Leila O'Brien"),
        ("5", "=", "Ana Davis"),
        ("–", "", "James Schröder"),
    ]);
    assert_eq!(table_lines(pages_of("South Division")), want);
}

#[test]
fn the_sample_prep_sheets_share_one_subset_per_face_and_stay_small() {
    // Render once what is the same (issue 19): the 19 sheets embed one subset per face,
    // made for the union of their glyphs, with only the name records the PDF uses. Each
    // sheet measured 33.0–34.7 KB (34,707 bytes for 李伟's, three faces); 61–62 KB
    // each when every sheet carried the Latin-1 subsets and DejaVu's licence text.
    let env = Env::sample();
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    let sheets = files_under(&env.path("var/reports/one-on-one_2026-10"));
    assert_eq!(sheets.len(), 19);
    let mut regular = std::collections::BTreeSet::new();
    for sheet in &sheets {
        check_pdf(sheet);
        let size = std::fs::metadata(sheet).unwrap().len();
        assert!(size <= 36 * 1024, "{} is {size} bytes", sheet.display());
        let fonts = tool("pdffonts", &[sheet.to_str().unwrap()]);
        regular.extend(
            fonts
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter(|n| n.ends_with("+DejaVuSans"))
                .map(String::from),
        );
    }
    // One subset of DejaVu Sans in all of them (a subset made per sheet gets a tag of
    // its own).
    assert_eq!(regular.len(), 1, "{regular:?}");
}

/// Two reps sharing one e-mail address (a team inbox) each get their own 1:1 sheet:
/// the second no longer overwrites the first. Only the colliding names change (a short
/// hash of the rep key appended); Cy's is the plain e-mail as before.
#[test]
fn two_reps_sharing_an_email_get_a_sheet_each() {
    let env = Env::new(&config(""));
    env.put(
        "roster.csv",
        "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Ann Archer,team@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R2,Bob Baker,team@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active
",
    );
    env.put("quotas.csv", "Rep ID,Month,Revenue Quota\nR1,2026-03,100000\nR2,2026-03,100000\nR3,2026-03,100000\n");
    env.put(
        "deals.csv",
        "Deal ID,Rep ID,Stage,Close Date,Sale Price\nD1,R1,Closed Won,2026-03-04,1000\nD2,R2,Closed Won,2026-03-05,2000\nD3,R3,Closed Won,2026-03-06,3000\n",
    );
    let import = env.quotad(&["import"]);
    assert_eq!(import.code, 0, "{import:?}");
    let run = env.quotad(&["preview", "one-on-one", "--period", "2026-03", "--out", "previews"]);
    assert_eq!(run.code, 0, "{run:?}");
    let files = files_under(&env.path("previews"));
    let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"one-on-one_2026-03_cy@example.com.pdf".to_string()), "{names:?}");
    let text = |who: &str| -> String {
        let hits: Vec<String> = files.iter().map(|f| pages(f).join("\n")).filter(|t| t.contains(who)).collect();
        assert_eq!(hits.len(), 1, "{who}: {names:?}");
        hits[0].clone()
    };
    assert!(!text("Ann Archer").contains("Bob Baker"));
    assert!(!text("Bob Baker").contains("Ann Archer"));
    for n in names.iter().filter(|n| !n.contains("cy@")) {
        assert!(n.to_lowercase().starts_with("one-on-one_2026-03_team@example.com_") && n.len() == 48, "{n}");
    }
}
