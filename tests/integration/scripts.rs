//! Every script drawn (issue 20.6): names in Chinese, Arabic and Hebrew on the weekly
//! ranking and the 1:1 prep sheets, drawn with fonts found on the system (no
//! `pdf.fallback_fonts`), right to left where the script is, and read back with
//! poppler's `pdftotext`; a script no font has is reported, never dropped.

use std::path::Path;

use crate::documents::{DROID, check_pdf, files_under, tool};
use crate::harness::{Env, config};

/// Ann (Latin), 李伟 (Chinese), محمد الأحمد (Arabic: joining letters and a lam-alef
/// ligature) and שרה כהן (Hebrew), one team, March 2026; and สมชาย ใจดี (Thai).
fn env(pdf: &str) -> Env {
    env_with(pdf, "Ann Archer")
}

/// [`env`] with rep R1 named `first`.
fn env_with(pdf: &str, first: &str) -> Env {
    let env = Env::new(&config(pdf));
    env.put(
        "roster.csv",
        "Rep ID,Name,Email,Team,Manager,Manager Email
R1,FIRST,ann@example.com,North,Mia Boss,mia@example.com
R2,李伟,li@example.com,North,Mia Boss,mia@example.com
R3,محمد الأحمد,mohammed@example.com,North,Mia Boss,mia@example.com
R4,שרה כהן,sara@example.com,North,Mia Boss,mia@example.com
R5,สมชาย ใจดี,somchai@example.com,North,Mia Boss,mia@example.com
"
        .replace("FIRST", first),
    );
    let mut quotas = String::from("Rep Email,Month,Revenue Quota\n");
    let mut deals = String::from("Deal ID,Rep Email,Stage,Close Date,Sale Price\n");
    for (i, who) in ["ann", "li", "mohammed", "sara", "somchai"].iter().enumerate() {
        quotas.push_str(&format!("{who}@example.com,2026-03,100000\n"));
        deals.push_str(&format!("D{i},{who}@example.com,Closed Won,2026-03-04,{}\n", 10000 * (i + 1)));
    }
    env.put("quotas.csv", quotas);
    env.put("deals.csv", deals);
    assert_eq!(env.quotad(&["import"]).code, 0);
    env
}

/// `pdftotext` of a PDF, without the bidi embedding marks poppler puts around
/// right-to-left text (U+202A–U+202E).
fn pdftotext(path: &Path) -> String {
    tool("pdftotext", &[path.to_str().unwrap(), "-"])
        .chars()
        .filter(|c| !('\u{202A}'..='\u{202E}').contains(c))
        .collect()
}

#[test]
fn chinese_arabic_and_hebrew_names_are_drawn_with_fonts_found_on_the_system_and_read_back() {
    assert!(Path::new(DROID).exists(), "{DROID}: apt-get install fonts-droid-fallback, as .ci/run does");
    let env = env("");
    let run = env.quotad(&["preview", "weekly-ranking", "--week", "2026-W10", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    let sheets = env.quotad(&["preview", "one-on-one", "--period", "2026-03", "--out", "p"]);
    assert_eq!(sheets.code, 0, "{sheets:?}");
    // The CJK font found on the system is named in the summary with what it drew.
    let droid = format!("  drawn in the fallback font Droid Sans Fallback ({DROID}): 伟李\n");
    assert!(run.stdout.contains(&droid), "{}", run.stdout);
    assert!(sheets.stdout.contains(&droid), "{}", sheets.stdout);
    let ranking = env.path("p/ranking_2026-W10.pdf");
    let mut pdfs = vec![ranking.clone()];
    pdfs.extend(files_under(&env.path("p/one-on-one_2026-03")));
    assert_eq!(pdfs.len(), 6, "{pdfs:?}");
    for pdf in &pdfs {
        check_pdf(pdf);
    }
    // pdftotext gives each name back as written (logical order: the Arabic and Hebrew
    // were drawn right to left, the lam-alef ligature "لأ" included), nothing as U+FFFD.
    let text = pdftotext(&ranking);
    for name in ["Ann Archer", "李伟", "محمد الأحمد", "שרה כהן"] {
        assert!(text.contains(name), "{name} not in the ranking:\n{text}");
    }
    assert!(!text.contains('\u{FFFD}'), "{text}");
    let fonts = tool("pdffonts", &[ranking.to_str().unwrap()]);
    assert!(fonts.contains("+DroidSansFallback") && fonts.contains("+DejaVuSans"), "{fonts}");
    for (who, name) in [("li", "李伟"), ("mohammed", "محمد الأحمد"), ("sara", "שרה כהן")] {
        let sheet = pdfs.iter().find(|p| p.to_string_lossy().contains(who)).unwrap();
        let t = pdftotext(sheet);
        assert!(t.contains(name) && !t.contains('\u{FFFD}'), "{name} not on {}:\n{t}", sheet.display());
    }
}

#[test]
fn with_no_font_for_a_script_the_summary_names_its_characters_and_rep() {
    // DejaVu Sans only: it has Arabic and Hebrew, not Chinese or Thai.
    let env = env("[pdf]\nsystem_fonts = false\n");
    let run = env.quotad(&["preview", "weekly-ranking", "--week", "2026-W10", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("drawn in the fallback font"), "{}", run.stdout);
    let line = run.stdout.lines().find(|l| l.contains("ranking_2026-W10.pdf (the weekly ranking 2026-W10): ")).unwrap();
    assert!(line.contains("伟 (U+4F1F), 李 (U+674E) in the name of "), "{line}");
    assert!(line.contains("李伟") && line.contains("สมชาย ใจดี"), "{line}");
    for (c, cp) in [('ส', "0E2A"), ('ม', "0E21"), ('ช', "0E0A")] {
        assert!(run.stdout.contains(&format!("{c} (U+{cp})")), "{c}: {}", run.stdout);
    }
    let ranking = env.path("p/ranking_2026-W10.pdf");
    check_pdf(&ranking);
    let text = pdftotext(&ranking);
    // Arabic and Hebrew still drawn (DejaVu Sans has them), right to left.
    assert!(text.contains("محمد الأحمد") && text.contains("שרה כהן"), "{text}");
    assert!(text.contains('\u{FFFD}'), "{text}");
    let check = env.quotad(&["check"]);
    assert!(check.stdout.contains("DejaVu Sans + no fallback font (pdf.system_fonts = false)"), "{}", check.stdout);
    assert!(check.stdout.contains("    Chinese     no font: drawn as \u{FFFD}"), "{}", check.stdout);
    assert!(check.stdout.contains("    Arabic      DejaVu Sans (built in)\n"), "{}", check.stdout);
}

#[test]
fn check_names_the_font_found_for_each_script() {
    assert!(Path::new(DROID).exists(), "{DROID}: apt-get install fonts-droid-fallback, as .ci/run does");
    let env = env("");
    let check = env.quotad(&["check"]);
    assert!(
        check.stdout.contains("DejaVu Sans + fonts found on this system (pdf.fallback_fonts is empty)"),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains(&format!("    Chinese     Droid Sans Fallback ({DROID})\n")), "{}", check.stdout);
    assert!(check.stdout.contains("    Hebrew      DejaVu Sans (built in)\n"), "{}", check.stdout);
    assert!(check.stdout.contains("    Greek       DejaVu Sans (built in)\n"), "{}", check.stdout);
}

#[test]
fn a_sheet_drawn_with_the_runs_shared_subsets_reads_as_one_subset_for_itself() {
    assert!(Path::new(DROID).exists(), "{DROID}: apt-get install fonts-droid-fallback, as .ci/run does");
    // A name with accents, Chinese and Arabic on one sheet, among the others.
    let env = env_with("", "José Núñez 李伟 محمد");
    // All sheets: one subset per face for the union of their glyphs. One sheet alone:
    // its faces subset for it.
    let all = env.quotad(&["preview", "one-on-one", "--period", "2026-03", "--out", "shared"]);
    assert_eq!(all.code, 0, "{all:?}");
    let one = env.quotad(&["preview", "one-on-one", "--period", "2026-03", "--rep", "R1", "--out", "own"]);
    assert_eq!(one.code, 0, "{one:?}");
    let shared = files_under(&env.path("shared/one-on-one_2026-03"));
    assert_eq!(shared.len(), 5);
    let sheet = shared.iter().find(|p| p.to_string_lossy().contains("ann@")).unwrap();
    let own = files_under(&env.path("own/one-on-one_2026-03"));
    assert_eq!(own.len(), 1);
    for pdf in shared.iter().chain(&own) {
        check_pdf(pdf);
    }
    let text = pdftotext(sheet);
    assert!(text.contains("José Núñez 李伟 محمد") && !text.contains('\u{FFFD}'), "{text}");
    assert_eq!(text, pdftotext(&own[0]));
    let fonts = tool("pdffonts", &[sheet.to_str().unwrap()]);
    assert!(fonts.contains("+DroidSansFallback") && fonts.contains("+DejaVuSans"), "{fonts}");
}
