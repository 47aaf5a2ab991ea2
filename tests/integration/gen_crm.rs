//! The benchmark data generator (`examples/gen_crm`, included here by path) run small
//! into a temporary inbox, imported by the real `quotad` binary with the shipped
//! config; quotad's row counts and month totals must equal the generator's own
//! arithmetic (its `Summary`, the table `gen_crm` prints).

#[allow(dead_code)]
#[path = "../../examples/gen_crm/generate.rs"]
mod generate;

use std::path::Path;

use crate::harness::Env;

/// The shipped config/quotad.toml reading `inbox/` in the test's folder.
fn shipped_config_env() -> Env {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = std::fs::read_to_string(root.join("config/quotad.toml")).unwrap();
    assert!(cfg.contains("inbox = \"sample-inbox\""));
    let cfg = cfg.replace("inbox = \"sample-inbox\"", "inbox = \"inbox\"").replace("\"../var/", "\"var/");
    Env { outbox: "var/outbox", ..Env::new(&cfg) }
}

#[test]
fn generated_exports_import_to_the_generators_own_totals() {
    let env = shipped_config_env();
    let opts = generate::Options {
        out: env.path("inbox"),
        reps: 5,
        months: 2,
        deals_per_rep_month: 20.0,
        seed: 42,
        end_month: (2026, 10),
        messy: true,
        jobs: 2,
    };
    let sum = generate::generate(&opts).expect("generate");
    // The messy features this test relies on are present.
    assert!(sum.months.iter().all(|m| m.duplicates == 1), "{}", sum.table());
    assert!(sum.months.iter().map(|m| m.cancelled).sum::<usize>() > 0, "{}", sum.table());
    assert!(sum.months.iter().all(|m| m.pending > 0), "{}", sum.table());
    // Deterministic: the same seed writes the same bytes.
    let again = tempfile::tempdir().unwrap();
    generate::generate(&generate::Options { out: again.path().to_path_buf(), ..opts.clone() }).unwrap();
    for m in &sum.months {
        let a = std::fs::read(env.path("inbox").join(&m.file)).unwrap();
        let b = std::fs::read(again.path().join(&m.file)).unwrap();
        assert!(a == b, "{} differs between two runs with seed 42", m.file);
    }

    let now = ["--now", "2026-11-02T14:00:00Z"];
    let run = env.quotad(&[&now[..], &["import"]].concat());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("{} row(s) read, {} stored, 0 rejected", sum.reps, sum.reps)),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("{} row(s) read, {} stored, 0 rejected", sum.quota_rows, sum.quota_rows)),
        "{}",
        run.stdout
    );
    for m in &sum.months {
        let distinct = m.rows - m.duplicates;
        let line = format!("{} row(s) read, {distinct} stored, 0 rejected, period {}", m.rows, m.period);
        assert!(run.stdout.contains(&line), "{} should say {line:?}:\n{}", m.file, run.stdout);
        assert!(run.stdout.contains("repeats an earlier row exactly and was counted once"), "{}", run.stdout);
    }

    for m in &sum.months {
        let out = env.quotad(&[&now[..], &["standings", "--period", &m.period, "--format", "csv"]].concat());
        assert_eq!(out.code, 0, "{out:?}");
        let mut lines = out.stdout.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (rev, units, won, canc) = (col("revenue"), col("units"), col("won_deals"), col("cancellations"));
        let (mut t_rev, mut t_units, mut t_won, mut t_canc) = (0i64, 0i64, 0usize, 0usize);
        for l in lines {
            // Names and teams here hold no commas, so a plain split is enough.
            let f: Vec<&str> = l.split(',').collect();
            t_rev += f[rev].parse::<i64>().unwrap_or_else(|_| panic!("revenue {:?} in {l}", f[rev]));
            t_units += f[units].parse::<i64>().unwrap();
            t_won += f[won].parse::<usize>().unwrap();
            t_canc += f[canc].parse::<usize>().unwrap();
        }
        assert_eq!(
            (t_rev, t_units, t_won, t_canc),
            (m.net_revenue(), m.net_units, m.won, m.cancelled),
            "{}: quotad's standings (revenue, units, won deals, cancellations) against the generator's\n{}",
            m.period,
            sum.table()
        );
    }
}
