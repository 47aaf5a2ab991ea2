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

/// What an import pass leaves for an operator to see, with the test's folder taken out:
/// the import's own output, `imports`, `status` and each month's `standings`.
fn import_outcome(env: &Env, vars: &[(&str, &str)], months: &[String]) -> Vec<(String, String)> {
    let now = ["--now", "2026-11-02T14:00:00Z"];
    let dir = env.dir.path().display().to_string();
    let mut out = Vec::new();
    let mut run = |what: &str, args: &[&str]| {
        let r = env.quotad_env(&[&now[..], args].concat(), vars);
        assert_eq!(r.code, 0, "{what}: {r:?}");
        out.push((what.to_string(), r.stdout.replace(&dir, "DIR")));
    };
    run("import", &["import"]);
    run("imports", &["imports", "--limit", "100"]);
    run("status", &["status"]);
    for m in months {
        run(&format!("standings {m}"), &["standings", "--period", m, "--format", "csv"]);
    }
    out
}

/// Issue 19 (parse on both cores): reading files ahead of the store on other threads
/// changes nothing an operator sees. The same generated inbox (6 monthly exports with
/// repeats, cancellations and open deals, plus roster and quotas) imported with files
/// read one at a time on one thread (`QUOTAD_READ_AHEAD=0`), with the default, and with
/// three ahead gives byte-identical import output, import reports, status and standings.
#[test]
fn reading_files_ahead_on_other_threads_imports_exactly_what_one_thread_imports() {
    let envs: Vec<Env> = (0..3).map(|_| shipped_config_env()).collect();
    let opts = generate::Options {
        out: envs[0].path("inbox"),
        reps: 12,
        months: 6,
        deals_per_rep_month: 12.0,
        seed: 7,
        end_month: (2026, 10),
        messy: true,
        jobs: 1,
    };
    let sum = generate::generate(&opts).expect("generate");
    for env in &envs[1..] {
        for f in std::fs::read_dir(envs[0].path("inbox")).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), env.path("inbox").join(f.file_name())).unwrap();
        }
    }
    let months: Vec<String> = sum.months.iter().map(|m| m.period.clone()).collect();
    let one = import_outcome(&envs[0], &[("QUOTAD_READ_AHEAD", "0")], &months);
    let default = import_outcome(&envs[1], &[], &months);
    let three = import_outcome(&envs[2], &[("QUOTAD_READ_AHEAD", "3")], &months);
    // The import stored every export (the comparison is not of two empty outputs).
    assert!(one[0].1.contains(&format!("{} file(s) imported", months.len() + 2)), "{}", one[0].1);
    for ((what, a), ((_, b), (_, c))) in one.iter().zip(default.iter().zip(&three)) {
        assert_eq!(a, b, "{what}: one thread against the default read-ahead");
        assert_eq!(a, c, "{what}: one thread against three files ahead");
    }
}

/// The same for the bundled sample (its messy exports, quotas and roster): one thread
/// and the default read-ahead import byte-identical outcomes.
#[test]
fn the_sample_imports_the_same_on_one_thread_as_with_read_ahead() {
    let (a, b) = (Env::sample(), Env::sample());
    let one = import_outcome(&a, &[("QUOTAD_READ_AHEAD", "0")], &[]);
    let two = import_outcome(&b, &[("QUOTAD_READ_AHEAD", "2")], &[]);
    assert!(one[0].1.contains("file(s) imported"), "{}", one[0].1);
    let standings = |env: &Env, vars: &[(&str, &str)]| {
        env.quotad_env(&["--now", "2026-11-02T14:00:00Z", "standings", "--format", "csv"], vars).stdout
    };
    assert_eq!(one, two);
    let s = standings(&a, &[("QUOTAD_READ_AHEAD", "0")]);
    assert!(s.lines().count() > 5, "{s}");
    assert_eq!(s, standings(&b, &[]));
}
