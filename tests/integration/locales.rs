//! Issue 20.1: the org's locale from CLDR (ICU4X): money, percents, the order of names,
//! and `check` refusing a locale CLDR does not know.

use crate::harness::{Env, config};

/// `[org]` of the harness config with `lines` added after the time zone.
fn org_config(lines: &str, extra: &str) -> String {
    config(extra).replace("time_zone = \"America/Chicago\"", &format!("time_zone = \"America/Chicago\"\n{lines}"))
}

#[test]
fn check_refuses_an_unknown_locale_naming_the_closest_known_ones() {
    let env = Env::new(&org_config("locale = \"xx-BR\"", ""));
    let run = env.quotad(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("quotad.toml line 4:"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "org.locale: unknown locale 'xx-BR': CLDR knows no language 'xx'; closest known: pt-BR (Portuguese), "
        ),
        "{}",
        run.stderr
    );
    let env = Env::new(&org_config("locale = \"pt-BX\"", ""));
    let run = env.quotad(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("unknown locale 'pt-BX': CLDR knows no region 'BX'; closest known: pt-BR (Brazil)"),
        "{}",
        run.stderr
    );
    let env = Env::new(&org_config("locale = \"sv-SE\"\ncurrency = \"SEK\"", ""));
    assert_eq!(env.quotad(&["check"]).code, 0);
}

const ROSTER: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Zoë Young,zoe@example.com,Nord,Mia Boss,mia@example.com,2020-01-06,Active
R2,Ødegaard Lars,lars@example.com,Nord,Mia Boss,mia@example.com,2020-01-06,Active
R3,Anna Berg,anna@example.com,Nord,Mia Boss,mia@example.com,2020-01-06,Active
R4,Odegaard Per,per@example.com,Nord,Mia Boss,mia@example.com,2020-01-06,Active
";

/// Everyone sells 8,000,000 against a quota of 8,000,000 in March 2026: all tied.
fn tied_env(org: &str) -> Env {
    let env = Env::new(&org_config(org, ""));
    env.put("roster.csv", ROSTER);
    let mut quotas = String::from("Rep Email,Month,Revenue Quota\n");
    let mut deals = String::from("Deal ID,Rep Email,Stage,Close Date,Sale Price\n");
    for (i, who) in ["zoe", "lars", "anna", "per"].iter().enumerate() {
        quotas.push_str(&format!("{who}@example.com,2026-03,8000000\n"));
        deals.push_str(&format!("D{i},{who}@example.com,Closed Won,2026-03-0{},7999600\n", i + 2));
    }
    env.put("quotas.csv", quotas);
    env.put("deals.csv", deals);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    env
}

/// The names of a standings table's rows, in order.
fn names_in(table: &str, names: &[&str]) -> Vec<String> {
    table.lines().filter_map(|l| names.iter().find(|n| l.contains(*n)).map(|n| n.to_string())).collect()
}

#[test]
fn a_brazilian_org_reads_reais_and_a_norwegian_one_its_names_in_order() {
    let names = ["Zoë Young", "Ødegaard Lars", "Anna Berg", "Odegaard Per"];
    // pt-BR, BRL with the currency's decimals: "R$ 8.000.000,00"; 7,999,600 of 8,000,000
    // is 99.995%: shown 99,9%, never 100,0% (it did not reach quota).
    let env = tied_env("locale = \"pt-BR\"\ncurrency = \"BRL\"\nmoney_decimals = \"currency\"");
    let run = env.quotad(&["standings", "--period", "2026-03", "--board", "attainment"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("R$\u{a0}7.999.600,00"), "{}", run.stdout);
    assert!(run.stdout.contains("99,9%"), "{}", run.stdout);
    assert!(!run.stdout.contains("100,0%"), "{}", run.stdout);
    // All tied: listed in the locale's alphabetical order. Portuguese (CLDR root order):
    // Ø with O, and the letters decide before the accent ("Ødegaard L" < "Odegaard P").
    assert_eq!(names_in(&run.stdout, &names), ["Anna Berg", "Ødegaard Lars", "Odegaard Per", "Zoë Young"]);
    // Norwegian: Ø after Z.
    let env = tied_env("locale = \"nb-NO\"\ncurrency = \"NOK\"");
    let run = env.quotad(&["standings", "--period", "2026-03", "--board", "attainment"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(names_in(&run.stdout, &names), ["Anna Berg", "Odegaard Per", "Zoë Young", "Ødegaard Lars"]);
    assert!(run.stdout.contains("7\u{a0}999\u{a0}600\u{a0}kr"), "{}", run.stdout);
    assert!(run.stdout.contains("99,9\u{a0}%"), "{}", run.stdout);
}

#[test]
fn a_german_ranking_pdf_and_a_brazilian_memo_read_in_their_locale() {
    // The weekly ranking of 2026-W10 (2–8 March) ranks March to date through the 8th.
    let env = tied_env("locale = \"de-DE\"\ncurrency = \"EUR\"");
    let run =
        env.quotad(&["--now", "2026-03-09T12:00:00Z", "preview", "weekly-ranking", "--week", "2026-W10", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("März 2026 to date, 1. März – 8. März"), "{}", run.stdout);
    let text = crate::documents::pages(&env.path("p/ranking_2026-W10.pdf")).join("\n");
    assert!(text.contains("7.999.600\u{a0}€"), "{text}");
    assert!(text.contains("99,9\u{a0}%"), "99.995% of quota is never 100,0 %: {text}");
    assert!(!text.contains("100,0"), "{text}");
    assert!(text.contains("02.03.2026 – 08.03.2026"), "the week's days: {text}");
    // The April memo of a Brazilian org: March's results and April's quota in reais.
    let env = tied_env("locale = \"pt-BR\"\ncurrency = \"BRL\"");
    env.put("quotas2.csv", "Rep Email,Month,Revenue Quota\nanna@example.com,2026-04,8000000\n");
    let run = env.quotad(&["--now", "2026-04-01T12:00:00Z", "run", "quota-memo", "--period", "2026-04"]);
    assert_eq!(run.code, 0, "{run:?}");
    let memo = env.email_to("anna@example.com");
    assert!(memo.text.contains("R$\u{a0}8.000.000"), "{}", memo.text);
    assert!(memo.text.contains("R$\u{a0}7.999.600"), "{}", memo.text);
    assert!(memo.text.contains("abril de 2026"), "{}", memo.text);
    assert!(memo.text.contains("99,9%"), "{}", memo.text);
}
