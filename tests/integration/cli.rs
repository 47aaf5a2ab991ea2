//! Exit statuses and messages of the command line.

use crate::harness::{Env, ROSTER, config, run_quotad};

#[test]
fn usage_errors_exit_2() {
    let env = Env::new(&config(""));
    let run = env.quotad(&["run", "nonsense"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("quota-memo"), "{}", run.stderr);
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-13"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("'2026-13' is not a month: expected YYYY-MM"), "{}", run.stderr);
}

#[test]
fn config_errors_name_the_key_and_line_and_exit_1() {
    let env = Env::new(&config("").replace("time_zone = \"America/Chicago\"", "time_zone = \"Mars/Olympus\""));
    let run = env.quotad(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("quotad.toml line 3:"), "{}", run.stderr);
    assert!(run.stderr.contains("time_zone = \"Mars/Olympus\""), "{}", run.stderr);
    let env = Env::new(&config("[ingest]\ndate_ordr = \"mdy\"\n"));
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("quotad.toml line 21:") && run.stderr.contains("unknown field `date_ordr`"),
        "{}",
        run.stderr
    );
    let run = run_quotad(env.dir.path(), &["--config", "missing.toml", "check"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("missing.toml: cannot read the config file"), "{}", run.stderr);
}

#[test]
fn check_validates_templates_and_lists_the_inbox() {
    let env = Env::new(&config("[paths]\ntemplates = \"my-templates\"\n"));
    env.put("roster.csv", ROSTER);
    // A templates folder that does not exist is an error, in `check` and in every run,
    // naming the folder (issue 16: it was silently ignored).
    for args in [&["check"][..], &["run", "quota-memo", "--period", "2026-03"]] {
        let run = env.quotad(args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stderr.contains("my-templates (paths.templates) does not exist"), "{args:?}: {}", run.stderr);
    }
    std::fs::create_dir_all(env.path("my-templates")).unwrap();
    let run = env.quotad(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("source roster (roster, roster*): 1 file(s) in the inbox"), "{}", run.stdout);
    // A broken override is caught by `check`, naming the template.
    std::fs::create_dir_all(env.path("my-templates/email")).unwrap();
    std::fs::write(env.path("my-templates/email/quota_memo.txt"), "Hi {{ rep.first_name }\n").unwrap();
    let run = env.quotad(&["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("email/quota_memo.txt"), "{}", run.stderr);
    // A working override is used.
    std::fs::write(env.path("my-templates/email/quota_memo.txt"), "Hello {{ rep.name }}, quota {{ quota.revenue }}\n")
        .unwrap();
    let run = env.quotad(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("overridden: email/quota_memo.txt"), "{}", run.stdout);
}

#[test]
fn the_shipped_config_is_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = run_quotad(root, &["--config", "config/quotad.toml", "check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("source deals (deals, "), "{}", run.stdout);
    assert!(run.stdout.contains("6 file(s) in the inbox"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "  calendar (America/Chicago): catch_up 24h, settle 5 s, rescan 60 s, heartbeat 15 s\n    quota-memo      \"0 0 7 1 * *\"\n    weekly-ranking  \"0 0 8 * * Mon\"\n    one-on-one      \"0 0 7 3 * *\"\n"
        ),
        "{}",
        run.stdout
    );
}
