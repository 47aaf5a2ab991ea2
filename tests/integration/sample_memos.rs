//! The bundled sample inbox (config/sample-inbox, made by
//! `gen_crm.py --reps 20 --months 6 --deals-per-rep-month 8 --seed 42 --messy`) through
//! `run all`, with three reps' memo figures worked out by hand from the files.

use crate::harness::{Env, line_value};

#[test]
fn run_all_on_the_sample_writes_one_memo_per_active_rep_with_hand_checked_figures() {
    let env = Env::sample();
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    // 20 roster reps, 129 quota rows, 936 deal rows of which 6 are exact repeats.
    assert!(
        run.stdout.contains("8 file(s) imported, 1079 row(s) stored, 0 row(s) rejected, 0 file(s) quarantined"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Quota memo for November 2026 (2026-11)"), "{}", run.stdout);
    assert!(run.stdout.contains("19 rep memo(s) and 3 manager memo(s) written"), "{}", run.stdout);
    assert!(run.stdout.contains("skipped totals row 214"), "{}", run.stdout);
    let emails = env.emails();
    // 20 reps, one of them (R00017 Mateo Lewis) inactive.
    assert_eq!(emails.len(), 19);
    assert!(!emails.iter().any(|e| e.to == "mateo.lewis@example-homes.com"));

    // José Núñez, October 2026 (crm-export-2026-10.xlsx): won D0000784 920,000,
    // D0000783 456,000, D0000782 596,000, D0000780 2,429,500 (4 units), D0000781 617,500,
    // D0000785 413,000 = 5,432,000 and 9 units; cancelled D0000637 -544,000, -1 unit.
    // Revenue 4,888,000, 8 units. Quota (quotas.csv) 5,860,000 -> 83.41% -> 83.4%.
    // One rating (4) -> 4.0. Paperwork: D0000784 has 2 errors, the other 5 clean -> 5/6.
    let jose = env.email_to("jose.nunez@example-homes.com");
    assert_eq!(jose.to_name, "José Núñez");
    assert_eq!(jose.subject, "Your November 2026 quota: $5,550,000, 8 units");
    assert!(jose.text.starts_with("Hi José,"), "{}", jose.text);
    assert_eq!(line_value(&jose.text, "Revenue"), "$4,888,000 against a quota of $5,860,000");
    assert_eq!(line_value(&jose.text, "Units"), "8");
    assert_eq!(line_value(&jose.text, "Deals won"), "6 (1 cancelled)");
    assert_eq!(line_value(&jose.text, "Attainment"), "83.4%");
    assert_eq!(line_value(&jose.text, "Customer rating"), "4.0 (from 1 rating)");
    assert_eq!(line_value(&jose.text, "Clean paperwork"), "83.3% of deals");
    assert_eq!(line_value(&jose.text, "Rank"), "6 of 17 company-wide, 2 of 8 in North Division");
    assert!(
        jose.html.contains("$4,888,000") && jose.html.contains("83.4%") && jose.html.contains("José"),
        "{}",
        jose.html
    );

    // Zoë Ødegaard: won 674,000 + 656,500 + 642,000 + 664,000 + 1,170,500 (2 units) +
    // 533,000 = 4,340,000, 7 units; quota 3,590,000 -> 120.89% -> 120.9%; ratings 4, 4;
    // clean: D0000788, D0000790, D0000787 of 6 (D0000786 and D0000791 incomplete,
    // D0000789 2 errors) -> 50.0%.
    let zoe = env.email_to("zoe.odegaard@example-homes.com");
    assert_eq!(zoe.subject, "Your November 2026 quota: $3,400,000, 7 units");
    assert_eq!(line_value(&zoe.text, "Revenue"), "$4,340,000 against a quota of $3,590,000");
    assert_eq!(line_value(&zoe.text, "Units"), "7");
    assert_eq!(line_value(&zoe.text, "Attainment"), "120.9%");
    assert_eq!(line_value(&zoe.text, "Customer rating"), "4.0 (from 2 ratings)");
    assert_eq!(line_value(&zoe.text, "Clean paperwork"), "50.0% of deals");
    assert_eq!(line_value(&zoe.text, "Rank"), "3 of 17 company-wide, 1 of 5 in South Division");

    // Leila O'Brien: won D0000832 612,000 + D0000834 572,500 = 1,184,500 (D0000833 is
    // Pending: not counted); quota 4,120,000 -> exactly 28.75%, shown 28.8% (half away
    // from zero); no ratings; both deals clean.
    let leila = env.email_to("leila.obrien@example-homes.com");
    assert_eq!(leila.subject, "Your November 2026 quota: $3,905,000, 8 units");
    assert_eq!(line_value(&leila.text, "Revenue"), "$1,184,500 against a quota of $4,120,000");
    assert_eq!(line_value(&leila.text, "Attainment"), "28.8%");
    assert_eq!(line_value(&leila.text, "Customer rating"), "no ratings");
    assert_eq!(line_value(&leila.text, "Clean paperwork"), "100.0% of deals");
    // Her own memo greets her by first name only; her name in full is in her manager's
    // team memo, whose HTML must escape the apostrophe (and whose text must not).
    let team = env
        .all_emails()
        .into_iter()
        .find(|e| e.file.contains("_team-memo_") && e.to == "leila.brown.mgr2@example-homes.com")
        .expect("Leila Brown's team memo");
    assert!(team.html.contains("<td>Leila O&#x27;Brien</td>"), "HTML must escape: {}", team.html);
    assert!(!team.html.contains("O'Brien"), "an unescaped apostrophe in HTML: {}", team.html);
    assert!(team.text.contains("  Leila O'Brien: "), "{}", team.text);

    // Rep 9 (Noah Nguyen) has a zero quota for October: "no quota", not ranked, never 0%.
    let noah = env.email_to("noah.nguyen@example-homes.com");
    assert_eq!(line_value(&noah.text, "Attainment"), "no quota, so not ranked");
    assert!(!noah.text.contains("Rank  "), "{}", noah.text);

    // James Schröder was hired 10 October: his partial first month is reported but not
    // ranked (DESIGN.md: it counts for neither personal bests nor ranking), which is why
    // 17 reps, not 18, are ranked: 19 active minus Noah (no quota) minus James.
    let james = env.email_to("james.schroder@example-homes.com");
    assert_eq!(line_value(&james.text, "Revenue"), "$1,055,000 against a quota of $2,135,000");
    assert!(!james.text.contains("Rank  "), "{}", james.text);

    // Message-IDs are unique per recipient.
    let mut ids: Vec<&str> = emails.iter().map(|e| e.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 19);
}

#[test]
fn a_second_run_imports_nothing_and_sends_nothing_twice() {
    let env = Env::sample();
    assert_eq!(env.quotad(&["run", "all"]).code, 0);
    let before: Vec<String> = env.emails().iter().map(|e| e.raw.clone()).collect();
    let again = env.quotad(&["run", "all"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("0 file(s) imported, 0 row(s) stored"), "{}", again.stdout);
    assert_eq!(again.stdout.matches("same content as import #").count(), 8, "{}", again.stdout);
    assert!(
        again.stdout.contains(
            "0 rep memo(s) and 0 manager memo(s) written to var/outbox, 0 correction(s), 22 already sent earlier"
        ),
        "{}",
        again.stdout
    );
    let after: Vec<String> = env.emails().iter().map(|e| e.raw.clone()).collect();
    assert_eq!(before, after, "no .eml was rewritten");
    // A memo for a month with no quotas yet: every rep is told plainly, never sent zeros.
    // December's memo is due 1 December; November's final export is not in. Before the
    // deadline (the 2nd, 12:00 Chicago) nothing is sent; after it, the memos go out with
    // November marked as having no data.
    let early = env.quotad(&["run", "quota-memo", "--period", "2026-12", "--now", "2026-12-01T13:00:00Z"]);
    assert!(early.stdout.contains("nothing sent yet: November 2026 is still preliminary"), "{}", early.stdout);
    assert!(early.stdout.contains("the memos wait until 2026-12-02 12:00 CST"), "{}", early.stdout);
    let dec = env.quotad(&["run", "quota-memo", "--period", "2026-12", "--now", "2026-12-02T18:05:00Z"]);
    assert_eq!(dec.code, 0, "{dec:?}");
    let jose = env
        .emails()
        .into_iter()
        .find(|e| e.file.contains("2026-12") && e.to == "jose.nunez@example-homes.com")
        .unwrap();
    assert_eq!(jose.subject, "Your December 2026 memo: no quota set yet");
    assert!(jose.text.contains("You have no quota set for December 2026 yet."), "{}", jose.text);
    // November has no export yet: the memo says so instead of reporting $0 and a rank.
    assert!(
        jose.text.contains("November 2026 results: no export for November 2026 has been loaded yet"),
        "{}",
        jose.text
    );
    assert!(!jose.text.contains("Attainment"), "{}", jose.text);
}
