//! Issue 20.2: memos and documents in the org's language (`org.language`, defaulting from
//! `org.locale`): German, French and Spanish bundled, an operator's own language folder,
//! and `check` naming what such a folder lacks. Every expected string worked out by hand
//! from the templates and CLDR's conventions (de-DE money "1.234.500 €" with a no-break
//! space, percents "110,0 %", month names "Dezember 2026", "novembre 2026").

use crate::harness::{Env, config, line_value, pdftotext};

const NB: &str = "\u{a0}";

/// The harness config with `org` lines after the time zone and `extra` appended.
fn org_config(org: &str, extra: &str) -> String {
    config(extra).replace("time_zone = \"America/Chicago\"", &format!("time_zone = \"America/Chicago\"\n{org}"))
}

const ROSTER: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Jürgen Weiß,juergen@example.com,Nord,Mia Boss,mia@example.com,2020-01-06,Active
R2,Élodie Durand,elodie@example.com,Nord,Mia Boss,mia@example.com,2020-01-06,Active
R3,José Núñez,jose@example.com,Nord,Mia Boss,mia@example.com,2020-01-06,Active
";

/// November 2026: Jürgen sells 1,100,000 (110.0% of 1,000,000), Élodie 950,000 (95.0%),
/// José 800,000 (80.0%: missed quota, not below the 80% target); December's quotas.
fn org(lines: &str, extra: &str) -> Env {
    org_with(lines, extra, &[])
}

/// [`org`] with `files` (path under the working folder, text) written before anything runs.
fn org_with(lines: &str, extra: &str, files: &[(&str, &str)]) -> Env {
    let env = Env::new(&org_config(lines, extra));
    for (path, text) in files {
        let p = env.path(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota
juergen@example.com,2026-11,1000000
elodie@example.com,2026-11,1000000
jose@example.com,2026-11,1000000
juergen@example.com,2026-12,1234500
elodie@example.com,2026-12,1000000
jose@example.com,2026-12,1000000
",
    );
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price
D1,juergen@example.com,Closed Won,2026-11-10,1100000
D2,elodie@example.com,Closed Won,2026-11-12,950000
D3,jose@example.com,Closed Won,2026-11-16,800000
",
    );
    // Written after November closed (06:00 CST on 1 December): November is final.
    let written = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_126_400);
    std::fs::File::options().write(true).open(env.path("inbox/deals.csv")).unwrap().set_modified(written).unwrap();
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    env
}

#[test]
fn a_german_memo_for_a_rep_and_the_team_memo_for_the_manager() {
    let env = org("locale = \"de-DE\"\ncurrency = \"EUR\"", "");
    // org.language is not set: German, from org.locale.
    let check = env.quotad(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains("  language: de (from org.locale de-DE)"), "{}", check.stdout);
    assert!(check.stdout.contains("every template and catalog string is translated"), "{}", check.stdout);

    let run = env.quotad(&["--now", "2026-12-01T13:00:00Z", "run", "quota-memo", "--period", "2026-12"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("language:"), "no note when all is in German: {}", run.stdout);
    let memo = env.email_to("juergen@example.com");
    // The month from CLDR ("Dezember 2026"), money in de-DE: 1.234.500 €.
    assert_eq!(memo.subject, format!("Deine Quote für Dezember 2026: 1.234.500{NB}€"));
    assert!(memo.text.starts_with("Hallo Jürgen,\n"), "{}", memo.text);
    assert!(
        memo.text.contains(&format!("Deine Quote für Dezember 2026 beträgt 1.234.500{NB}€ Umsatz.")),
        "{}",
        memo.text
    );
    // 1,234,500 × 7 / 31 = 278,758.06 a week.
    assert!(
        memo.text.contains(&format!("Der Dezember 2026 hat 31 Verkaufstage, das sind etwa 278.758{NB}€ pro Woche.")),
        "{}",
        memo.text
    );
    // The newest close date (16 November) in CLDR's German date, not ISO.
    assert!(memo.text.contains("Ergebnisse November 2026 (Daten bis 16. November 2026)"), "{}", memo.text);
    assert_eq!(line_value(&memo.text, "Umsatz"), format!("1.100.000{NB}€ bei einer Quote von 1.000.000{NB}€"));
    assert_eq!(line_value(&memo.text, "Zielerreichung"), format!("110,0{NB}%"));
    assert_eq!(line_value(&memo.text, "Rang"), "1 von 3 im Unternehmen, 1 von 3 in Nord");
    // Quarter and year to date (fiscal year = calendar year by default): October had no
    // quota and no deals, so both are November's 1,100,000 of 1,000,000.
    let qtd = line_value(&memo.text, "Quartal bis dato");
    assert!(
        qtd.starts_with(&format!("1.100.000{NB}€ bei einer Quote von 1.000.000{NB}€, 110,0{NB}% (FY2026 Q4: ")),
        "{qtd}"
    );
    let ytd = line_value(&memo.text, "Jahr bis dato");
    assert!(
        ytd.starts_with(&format!("1.100.000{NB}€ bei einer Quote von 1.000.000{NB}€, 110,0{NB}% (FY2026: ")),
        "{ytd}"
    );
    assert!(memo.html.contains("<td>Quartal bis dato</td>"), "{}", memo.html);
    assert!(
        memo.text.trim_end().ends_with("Viel Erfolg und beste Grüße\nTest Homes Sales Operations"),
        "{}",
        memo.text
    );
    assert!(memo.html.contains("<html lang=\"de\">"), "{}", memo.html);
    assert!(memo.html.contains("<td>Zielerreichung</td>"), "{}", memo.html);
    // Read as a mail program does: the subject is an RFC 2047 encoded-word (ASCII on
    // the wire), the body declared UTF-8, and both decode to the umlauts.
    let subject = memo.raw.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(subject.is_ascii() && subject.contains("=?utf-8?"), "{subject}");
    assert!(memo.raw.to_ascii_lowercase().contains("charset=utf-8"), "{}", memo.raw);

    // The manager's memo: José missed quota at 80,0 % (not below the 80 % target).
    let team = env
        .all_emails()
        .into_iter()
        .find(|e| e.to == "mia@example.com" && e.file.contains("team-memo"))
        .expect("a team memo");
    // Élodie (95,0 %) and José (80,0 %) both missed quota.
    assert_eq!(team.subject, "Team-Quoten Dezember 2026: 2 Personen brauchen ein Gespräch");
    assert!(team.text.contains(&format!("  Élodie Durand: Quote mit 95,0{NB}% verfehlt\n")), "{}", team.text);
    assert!(team.text.contains(&format!("  José Núñez: Quote mit 80,0{NB}% verfehlt\n")), "{}", team.text);
    assert!(team.text.contains("VERTRAULICH, nur für dich"), "{}", team.text);
}

#[test]
fn a_french_weekly_ranking_pdf_has_french_headings_and_accents() {
    let env = org("locale = \"fr-FR\"\ncurrency = \"EUR\"", "");
    // 2026-W48 (23–29 November) ranks November to date, through the 29th.
    let run =
        env.quotad(&["--now", "2026-11-30T12:00:00Z", "preview", "weekly-ranking", "--week", "2026-W48", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The operator's summary stays English (the month is CLDR's French name).
    assert!(run.stdout.contains("novembre 2026 to date"), "{}", run.stdout);
    let text = pdftotext(&env.path("p/ranking_2026-W48.pdf"));
    for want in [
        "Classement hebdomadaire",
        "Semaine 2026-W48",
        "novembre 2026, depuis le début du mois",
        "Deux classements : taux d'atteinte (% de l'objectif) et résultats (chiffre d'affaires).",
        "Société — taux d'atteinte (% de l'objectif)",
        "Société — résultats (chiffre d'affaires)",
        "Rang",
        "Commercial",
        "Équipe",
        "Chiffre d'affaires",
        "Objectif",
        "Taux d'atteinte",
        "À l'honneur",
        "Meilleur taux d'atteinte",
        "Élodie Durand",
        "Jürgen Weiß",
        "José Núñez",
        "Équipe : Nord",
        "classement hebdomadaire 2026-W48",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // Money and percents in fr-FR: narrow no-break spaces between thousands (as drawn:
    // lopdf gives the characters, pdftotext turns the spaces into plain ones).
    let drawn = crate::documents::pages(&env.path("p/ranking_2026-W48.pdf")).join("\n");
    assert!(drawn.contains("1\u{202f}100\u{202f}000\u{a0}€"), "{drawn}");
    assert!(drawn.contains("110,0\u{a0}%"), "{drawn}");
    for english in ["Weekly ranking", "Attainment", "Revenue", "Celebrations", "Company"] {
        assert!(!text.contains(english), "English {english:?} left in:\n{text}");
    }
    // The French memo renders too (check renders every template with sample figures).
    assert_eq!(env.quotad(&["check"]).code, 0);
    let run = env.quotad(&["--now", "2026-12-01T13:00:00Z", "run", "quota-memo", "--period", "2026-12"]);
    assert_eq!(run.code, 0, "{run:?}");
    let memo = env.email_to("elodie@example.com");
    assert_eq!(memo.subject, format!("Votre objectif de décembre 2026 : 1\u{202f}000\u{202f}000{NB}€"));
    assert!(memo.text.starts_with("Bonjour Élodie,\n"), "{}", memo.text);
    assert_eq!(line_value(&memo.text, "Taux d'atteinte"), format!("95,0{NB}%"));
}

#[test]
fn a_spanish_one_on_one_sheet() {
    let env = org("locale = \"es-ES\"\ncurrency = \"EUR\"", "");
    let run = env.quotad(&[
        "--now",
        "2026-12-03T13:00:00Z",
        "preview",
        "one-on-one",
        "--period",
        "2026-11",
        "--rep",
        "jose@example.com",
        "--out",
        "p",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let text = pdftotext(&env.path("p/one-on-one_2026-11/one-on-one_2026-11_jose@example.com.pdf"));
    for want in [
        "Test Homes · hoja de preparación 1:1 · solo para el responsable",
        "José Núñez",
        "responsable Mia Boss",
        "VENTAS",
        "VALORACIÓN DE CLIENTES",
        "DOCUMENTACIÓN SIN ERRORES",
        "de una cuota de 1.000.000",
        "Puesto empresa",
        "Cumplimiento por mes",
        "Récords personales",
        "Alertas y puntos a tratar",
        // The talking point for a missed quota (80.0% of 1,000,000), from the Spanish template.
        "Cerró el mes con un 80,0",
        "Documentación por corregir (por ID)",
        "Compromisos para el próximo mes",
        "confidencial: solo para Mia Boss",
        // Quarter and year to date (fiscal = calendar year): November's 800,000 of 1,000,000.
        "Trimestre a la fecha (FY2026 Q4",
        "Año a la fecha (FY2026",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("Commitments") && !text.contains("Quarter to date"), "{text}");
    // The Spanish memo: "diciembre de 2026" from CLDR.
    assert_eq!(env.quotad(&["check"]).code, 0);
    let run = env.quotad(&["--now", "2026-12-01T13:00:00Z", "run", "quota-memo", "--period", "2026-12"]);
    assert_eq!(run.code, 0, "{run:?}");
    let memo = env.email_to("jose@example.com");
    assert_eq!(memo.subject, format!("Tu cuota de diciembre de 2026: 1.000.000{NB}€"));
    assert!(memo.text.starts_with("Hola, José:\n"), "{}", memo.text);
    assert_eq!(line_value(&memo.text, "Cumplimiento"), format!("80,0{NB}%"));
}

#[test]
fn check_lists_what_an_operators_language_folder_lacks() {
    let env = org_with(
        "locale = \"it-IT\"\ncurrency = \"EUR\"\nlanguage = \"it\"",
        "[paths]\ntemplates = \"tpl\"\n",
        &[
            ("tpl/it/email/quota_memo_subject.txt", "La tua quota di {{ period.label }}: {{ quota.revenue }}"),
            ("tpl/it/strings.toml", "[col]\nrank = \"Posizione\"\n"),
        ],
    );
    let check = env.quotad(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains("  language: it (org.language)"), "{}", check.stdout);
    let english = include_str!("../../templates/strings.toml").lines().filter(|l| l.contains(" = ")).count();
    assert!(
        check.stdout.contains(&format!(
            "is missing 20 template(s) and {} catalog string(s); English is used for each until they are added:",
            english - 1
        )),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains("      missing template email/quota_memo.txt\n"), "{}", check.stdout);
    assert!(check.stdout.contains("      missing template pdf/talking_points.txt\n"), "{}", check.stdout);
    assert!(!check.stdout.contains("missing template email/quota_memo_subject.txt"), "{}", check.stdout);
    assert!(check.stdout.contains("      missing string col.team (strings.toml)\n"), "{}", check.stdout);
    assert!(!check.stdout.contains("missing string col.rank "), "{}", check.stdout);
    assert!(check.stdout.contains("overridden: it/email/quota_memo_subject.txt"), "{}", check.stdout);

    // A run says so too, and the memo is Italian where the folder is, English elsewhere.
    let run = env.quotad(&["--now", "2026-12-01T13:00:00Z", "run", "quota-memo", "--period", "2026-12"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "language: it; 20 template(s) and {} catalog string(s) are missing from it and are in English",
            english - 1
        )),
        "{}",
        run.stdout
    );
    let memo = env.email_to("juergen@example.com");
    assert_eq!(memo.subject, format!("La tua quota di dicembre 2026: 1.234.500{NB}€"));
    assert!(memo.text.starts_with("Hi Jürgen,"), "{}", memo.text);

    // A language nobody wrote templates for is refused, naming the folder to add.
    let env = Env::new(&org_config("language = \"pl\"", ""));
    let check = env.quotad(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(
        check.stderr.contains(
            "org.language: no templates for language 'pl': quotad ships en, de, fr, es; add them in a folder"
        ),
        "{}",
        check.stderr
    );
}

#[test]
fn a_locale_without_templates_falls_back_to_english_and_says_so() {
    let env = org("locale = \"ja-JP\"\ncurrency = \"JPY\"", "");
    let note = "language: en: org.locale ja-JP's language 'ja' has no templates (quotad ships en, de, fr, es), so memos and documents are in English";
    let check = env.quotad(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains(note), "{}", check.stdout);
    let run = env.quotad(&["--now", "2026-12-01T13:00:00Z", "run", "quota-memo", "--period", "2026-12"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(note), "{}", run.stdout);
    let memo = env.email_to("juergen@example.com");
    // English words, Japanese conventions (CLDR): "2026年12月", "￥1,234,500".
    assert_eq!(memo.subject, "Your 2026年12月 quota: ￥1,234,500");
}

/// Jürgen joined on 1 October (the roster's row dated then) and made 500,000 of
/// 1,000,000 (50.0%) in October, so November's 110.0% is his first month at quota.
fn jurgen_first_at_quota(env: &Env) {
    env.put(
        "roster-2.csv",
        "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status,Effective Date\nR1,Jürgen Weiß,juergen@example.com,Nord,Mia Boss,mia@example.com,2026-10-01,Active,2026-10-01\n",
    );
    env.put("quotas-oct.csv", "Rep Email,Month,Revenue Quota\njuergen@example.com,2026-10,1000000\n");
    env.put(
        "deals-oct.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD0,juergen@example.com,Closed Won,2026-10-10,500000\n",
    );
    assert_eq!(env.quotad(&["import"]).code, 0);
}

/// The team memo's celebrations for the manager: its line for Jürgen.
fn team_memo_line(env: &Env, subject: &str) -> String {
    let run = env.quotad(&["--now", "2026-12-01T14:00:00Z", "run", "quota-memo"]);
    assert_eq!(run.code, 0, "{run:?}");
    let team = env.all_emails().into_iter().find(|e| e.subject.starts_with(subject)).expect("the team memo");
    // The last of his lines: the celebrations come after the quota list.
    team.text.lines().rfind(|l| l.starts_with("  Jürgen Weiß: ")).unwrap_or_else(|| panic!("{}", team.text)).to_string()
}

/// The full ranking's e-mail greets the whole list in the org's language ("Hallo
/// zusammen,", not "Hallo all,": tester's case), and the manager's team memo speaks of
/// the rep in the third person ("their first month at quota", not "your": tester's
/// case, where the manager read that they had matched their own best).
#[test]
fn the_full_ranking_greets_everyone_and_the_team_memo_speaks_of_the_rep_not_to_the_manager() {
    let env = org("locale = \"de-DE\"\ncurrency = \"EUR\"", "");
    jurgen_first_at_quota(&env);
    let run = env.quotad(&["--now", "2026-11-30T12:00:00Z", "run", "weekly-ranking", "--week", "2026-W48"]);
    assert_eq!(run.code, 0, "{run:?}");
    let greetings: Vec<String> =
        env.all_emails().iter().map(|e| e.text.lines().next().unwrap_or_default().to_string()).collect();
    assert_eq!(greetings, ["Hallo zusammen,", "Hallo Team Nord,"], "{}", run.stdout);
    assert_eq!(
        team_memo_line(&env, "Team-Quoten"),
        format!(
            "  Jürgen Weiß: Platz 1 im Unternehmen; Quote erreicht (110,0{NB}%); zum ersten Mal die Quote erreicht"
        )
    );
    let env = org("", "");
    jurgen_first_at_quota(&env);
    assert_eq!(
        team_memo_line(&env, "December 2026 team quotas"),
        "  Jürgen Weiß: rank 1 company-wide; at quota (110.0%); their first month at quota"
    );
}
