//! `quotad standings`, `explain` and `init` (issue: trust the numbers).

use crate::harness::{Env, ROSTER, config, run_quotad};

#[test]
fn standings_in_three_formats_match_hand_figures() {
    let env = Env::sample();
    assert_eq!(env.quotad(&["import"]).code, 0);
    // Table (October 2026, the newest month with deals): José Núñez is 6th at 83.4%
    // (4,888,000 / 5,860,000, worked out in sample_memos.rs); Noah Nguyen has a zero
    // quota: listed, not ranked, no attainment.
    let t = env.quotad(&["standings"]);
    assert_eq!(t.code, 0, "{t:?}");
    assert!(t.stdout.starts_with("Attainment % board, company-wide: October 2026 (final, as of "), "{}", t.stdout);
    let jose = t.stdout.lines().find(|l| l.contains("José Núñez")).unwrap();
    assert!(jose.starts_with("  6 José Núñez"), "{jose}");
    assert!(jose.contains("$4,888,000") && jose.contains("$5,860,000") && jose.contains("83.4%"), "{jose}");
    let noah = t.stdout.lines().find(|l| l.contains("Noah Nguyen")).unwrap();
    assert!(noah.starts_with("  — Noah Nguyen"), "{noah}");
    assert!(t.stdout.lines().all(|l| unicode_width(l) <= 100), "fits 100 columns:\n{}", t.stdout);
    // Money right-aligned: on every rep's row (17 ranked, Noah, James and the inactive
    // Mateo Lewis) the Revenue and the Quota figure end in the terminal column where their
    // header ends, whatever the width of the names before them (李伟 is 4 columns wide).
    let lines: Vec<&str> = t.stdout.lines().collect();
    let header = lines[1];
    assert_eq!(lines.len(), 22, "a title, a header and 20 reps:\n{}", t.stdout);
    for (label, no_quota) in [("Revenue", None), ("Quota", Some("—"))] {
        let end = column_after(header, label).unwrap_or_else(|| panic!("no {label} header: {header}"));
        for l in &lines[2..] {
            let figure = token_ending_at(l, end).unwrap_or_else(|| panic!("no {label} ending at column {end}: {l}"));
            let money = figure.strip_prefix('$').is_some_and(|d| d.chars().all(|c| c.is_ascii_digit() || c == ','));
            assert!(money || Some(figure) == no_quota, "{label} ends at column {end} with '{figure}': {l}");
        }
    }

    // A tie, on the ratings board (October, n >= 3): Carlos Williams 4, 5, 3, 4; Nadia
    // Okafor 4, 4, 4; Noah Nguyen 4, 4, 4; Siobhán Nakamura 5, 3, 4 — all 4.0, all rank
    // 2 behind Łukasz Żółć (5, 5, 4 = 4.7); then Andrés Andersson and Ngozi
    // Okonkwo-Adébáyọ̀ at 3.7 share rank 6 and Mateo Dubois (3.25 -> 3.3) is 8th.
    let csv_out = env.quotad(&["standings", "--board", "ratings", "--format", "csv"]);
    assert_eq!(csv_out.code, 0, "{csv_out:?}");
    let mut rdr = csv::Reader::from_reader(csv_out.stdout.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, quotad::report::standings::CSV_HEADER.to_vec());
    let col = |h: &str| header.iter().position(|x| x == h).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let ranked: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| !r[col("rank")].is_empty())
        .map(|r| (r[col("rank")].to_string(), r[col("name")].to_string(), r[col("rating_count")].to_string()))
        .collect();
    let expect = [
        ("1", "Łukasz Żółć", "3"),
        ("2", "Carlos Williams", "4"),
        ("2", "Nadia Okafor", "3"),
        ("2", "Noah Nguyen", "3"),
        ("2", "Siobhán Nakamura", "3"),
        ("6", "Andrés Andersson", "3"),
        ("6", "Ngozi Okonkwo-Adébáyọ̀", "3"),
        ("8", "Mateo Dubois", "4"),
    ];
    assert_eq!(
        ranked,
        expect.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect::<Vec<_>>()
    );
    let noah = rows.iter().find(|r| &r[col("name")] == "Noah Nguyen").unwrap();
    assert_eq!((&noah[col("revenue_quota")], &noah[col("attainment")]), ("", ""));
    assert_eq!(&noah[col("rating")], "4");

    // JSON: the same rows, decimals as exact strings.
    let json = env.quotad(&["standings", "--format", "json"]);
    assert_eq!(json.code, 0, "{json:?}");
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 20, "every rep on the roster in October");
    let jose = arr.iter().find(|r| r["name"] == "José Núñez").unwrap();
    assert_eq!(jose["rank"], 6);
    assert_eq!(jose["revenue"], "4888000");
    assert_eq!(jose["revenue_quota"], "5860000");
    assert_eq!(jose["attainment_pct"], "83.4");
    assert_eq!(jose["board"], "attainment");
    assert_eq!(jose["team"], "North Division");
    let noah = arr.iter().find(|r| r["name"] == "Noah Nguyen").unwrap();
    assert!(noah["rank"].is_null() && noah["attainment"].is_null());
    for field in quotad::report::standings::CSV_HEADER {
        assert!(jose.get(field).is_some(), "JSON has the documented field {field}");
    }

    // A team, and a period without data.
    let t = env.quotad(&["standings", "--team", "South Division", "--board", "results"]);
    assert!(t.stdout.lines().nth(2).unwrap().starts_with("  1 Zoë Ødegaard"), "{}", t.stdout);
    let bad = env.quotad(&["standings", "--period", "2027-01"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("no deals are stored for 2027-01; months with data: 2026-05 to 2026-10 (6 months)"),
        "{}",
        bad.stderr
    );
    let bad = env.quotad(&["standings", "--team", "Nowhere"]);
    assert!(bad.stderr.contains("teams: Lakeside Communities, North Division, South Division"), "{}", bad.stderr);
}

/// The terminal column just after `label` in `line`, if `label` is in it.
fn column_after(line: &str, label: &str) -> Option<usize> {
    line.find(label).map(|at| unicode_width(&line[..at + label.len()]))
}

/// The space-delimited token of `line` whose last character ends in terminal column
/// `col` (followed by a space or the end of the line); `None` if no token ends there.
fn token_ending_at(line: &str, col: usize) -> Option<&str> {
    let mut width = 0;
    for (at, c) in line.char_indices() {
        width += unicode_width(c.encode_utf8(&mut [0; 4]));
        let end = at + c.len_utf8();
        if width == col && c != ' ' && line[end..].chars().next().is_none_or(|n| n == ' ') {
            let start = line[..end].rfind(' ').map_or(0, |s| s + 1);
            return Some(&line[start..end]);
        }
    }
    None
}

fn unicode_width(s: &str) -> usize {
    // Terminal columns: CJK ideographs are 2 wide, combining marks 0.
    s.chars()
        .map(|c| match c as u32 {
            0x0300..=0x036F | 0x1DC0..=0x1DFF => 0,
            0x4E00..=0x9FFF => 2,
            _ => 1,
        })
        .sum()
}

#[test]
fn explain_shows_each_source_row_and_ends_at_the_standings_figure() {
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,400000\n");
    // First export: D1 100,000 (rated 5), D2 50,000.
    env.put(
        "deals-1.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price,Customer Rating\n\
         D1,ann@example.com,Closed Won,2026-03-02,100000,5\n\
         D2,ann@example.com,Closed Won,2026-02-20,50000,\n",
    );
    assert_eq!(env.quotad(&["import"]).code, 0);
    // Re-export: D1 corrected to 120,000 (supersedes), D2 cancelled in March.
    env.put(
        "deals-2.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price,Customer Rating\n\
         D1,ann@example.com,Closed Won,2026-03-02,120000,5\n\
         D2,ann@example.com,Cancelled,2026-03-09,-50000,\n",
    );
    assert_eq!(env.quotad(&["import"]).code, 0);
    let x = env.quotad(&["explain", "--rep", "ann@example.com", "--period", "2026-03"]);
    assert_eq!(x.code, 0, "{x:?}");
    let out = &x.stdout;
    assert!(out.starts_with("Ann Archer (R1, ann@example.com), team North — March 2026"), "{out}");
    assert!(out.contains("D1         Closed Won  2026-03-02  $120,000 = +$120,000 revenue, +1 units  [deals-2.csv, row 2 (import #4)]"), "{out}");
    assert!(out.contains("replaces Closed Won 2026-03-02 $100,000 from deals-1.csv, row 2 (import #3), superseded by import #4 (deals-2.csv)"), "{out}");
    assert!(
        out.contains(
            "D2         Cancelled   2026-03-09  -$50,000 = −$50,000 revenue, −1 units  [deals-2.csv, row 3 (import #4)]"
        ),
        "{out}"
    );
    assert!(out.contains("= revenue $70,000, units 0"), "{out}");
    assert!(out.contains("quota $400,000 for 2026-03  [quotas.csv, row 2 (import #2)]"), "{out}");
    assert!(out.contains("attainment = $70,000 / $400,000 = 0.175 = 17.5%"), "{out}");
    assert!(out.contains("ratings: D1 5") && out.contains("mean 5.0 over n = 1"), "{out}");
    assert!(out.contains("not ranked on ratings: 1 rating(s), fewer than metrics.min_ratings = 3"), "{out}");
    // The same figure as standings prints.
    let s = env.quotad(&["standings", "--period", "2026-03", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    let ann = v.as_array().unwrap().iter().find(|r| r["rep_id"] == "R1").unwrap();
    assert_eq!((ann["revenue"].as_str(), ann["attainment_pct"].as_str()), (Some("70000"), Some("17.5")));
    // Not found: the closest names.
    let nf = env.quotad(&["explain", "--rep", "Ann Archr", "--period", "2026-03"]);
    assert_eq!(nf.code, 1);
    assert!(
        nf.stderr.contains("no rep matches 'Ann Archr' in 2026-03; closest: Ann Archer (R1, ann@example.com)"),
        "{}",
        nf.stderr
    );
}

#[test]
fn init_then_the_printed_commands_produce_memos_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_quotad(tmp.path(), &["init", "team", "--sample"]);
    assert_eq!(run.code, 0, "{run:?}");
    let commands: Vec<&str> = run.stdout.lines().filter_map(|l| l.trim().strip_prefix("quotad ")).collect();
    assert_eq!(commands, vec!["--config team/quotad.toml check", "--config team/quotad.toml run all"]);
    for c in &commands {
        let args: Vec<&str> = c.split(' ').collect();
        let r = run_quotad(tmp.path(), &args);
        assert_eq!(r.code, 0, "{c}: {r:?}");
    }
    let memos = crate::harness::read_emails(&tmp.path().join("team/outbox"));
    assert_eq!(memos.iter().filter(|e| e.file.contains("_rep-memo_")).count(), 19);
    assert_eq!(memos.iter().filter(|e| e.file.contains("_team-memo_")).count(), 3);
    assert!(memos.iter().any(|e| e.file.starts_with("weekly-ranking_")), "run all also sends the ranking");
    assert!(tmp.path().join("team/templates/email/quota_memo.html").is_file());
    // A second init into the same (now non-empty) folder changes nothing.
    let before = snapshot(&tmp.path().join("team"));
    let again = run_quotad(tmp.path(), &["init", "team"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("is not empty, so nothing was created"), "{}", again.stderr);
    assert_eq!(before, snapshot(&tmp.path().join("team")));
}

fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn one_flags_template_words_the_team_memo_and_explain_and_admin_notices_are_overridable() {
    // Issue 26 item 7: the flags of a rep become words through one template
    // (email/flags.txt) for both the manager's team memo and `quotad explain`, and the
    // admin's notices are templates too. Overridden here, the overrides show in both.
    let env = Env::sample();
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let cfg = cfg.replace("[paths]\n", "[paths]\ntemplates = \"tpl\"\n");
    let cfg = cfg.replacen("[mail]\n", "[mail]\nadmin = \"Ops Admin <admin@example-homes.com>\"\n", 1);
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    std::fs::create_dir_all(env.path("tpl/email")).unwrap();
    std::fs::write(env.path("tpl/email/flags.txt"), "{% for f in flags %}FLAG {{ f.reason }}\n{% endfor %}").unwrap();
    std::fs::write(env.path("tpl/email/admin_notice_subject.txt"), "NOTICE: {{ subject }}").unwrap();
    std::fs::write(
        env.path("tpl/email/admin_notice.txt"),
        "{% for p in paragraphs %}{{ p | join(sep=' / ') }}\n{% endfor %}",
    )
    .unwrap();
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["run", "quota-memo"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Leila O'Brien finished October at 28.8% (sample_memos.rs): flagged.
    let team = env
        .all_emails()
        .into_iter()
        .find(|e| e.file.contains("_team-memo_") && e.to == "leila.brown.mgr2@example-homes.com")
        .unwrap();
    let in_memo = team
        .text
        .lines()
        .find_map(|l| l.strip_prefix("  Leila O'Brien: ").filter(|r| r.starts_with("FLAG ")))
        .unwrap_or_else(|| panic!("no overridden flags for Leila:\n{}", team.text))
        .to_string();
    assert!(in_memo.contains("FLAG below_target") || in_memo.contains("FLAG missed_twice"), "{in_memo}");
    let x = env.quotad(&["explain", "--rep", "Leila O'Brien", "--period", "2026-10"]);
    assert_eq!(x.code, 0, "{x:?}");
    let in_explain = x.stdout.lines().find_map(|l| l.strip_prefix("  flags (manager only): ")).unwrap();
    assert_eq!(in_explain, in_memo, "the same words in both:\n{}", x.stdout);

    // December's memo after its deadline, November still without its final export: the
    // admin's notice comes from the overridden templates.
    let dec = env.quotad(&["run", "quota-memo", "--period", "2026-12", "--now", "2026-12-02T18:05:00Z"]);
    assert_eq!(dec.code, 0, "{dec:?}");
    let notice = env.all_emails().into_iter().find(|e| e.to == "admin@example-homes.com").expect("the admin's notice");
    assert_eq!(notice.subject, "NOTICE: quotad: December 2026 quota memos sent with November 2026 preliminary");
    assert!(
        notice.text.starts_with("November 2026's final export was not loaded by 2026-12-02 12:00 CST, so the December 2026 quota memos went out with November 2026 marked preliminary.\nLoad the final export;"),
        "{}",
        notice.text
    );
}
