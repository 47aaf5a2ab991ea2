//! Issue 17: durable, stoppable, safe to open. Each test causes its fault for real: a
//! process stopped by PID (SIGTERM, SIGINT) or aborted at a crash point, a real SMTP
//! server that stalls (tests/smtp_sink.py) or a TCP server that never greets, a state
//! folder the reader cannot write, a lock held by another process, a second 02:30.

use std::io::Write as _;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::harness::{Env, ROSTER, config};
use crate::smtp_server::{Certs, PASSWORD_ENV, SmtpSink, free_port, password, smtp_config};

/// Polls `cond` every 50 ms for up to `limit`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

fn read(env: &Env, rel: &str) -> String {
    std::fs::read_to_string(env.path(rel)).unwrap_or_default()
}

/// Sends SIG`name` to `child` by PID; returns its exit code (-1: killed by a signal)
/// and how long it took to exit. Kills it after `limit`.
fn stop(child: &mut Child, name: &str, limit: Duration) -> (i32, Duration) {
    let start = Instant::now();
    let sent = std::process::Command::new("sh").args(["-c", &format!("kill -{name} {}", child.id())]).status().unwrap();
    assert!(sent.success());
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return (s.code().unwrap_or(-1), start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("did not exit within {limit:?} of SIG{name}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CPU time (user + system) of process `pid` so far, from /proc/PID/stat.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces: count from the closing parenthesis.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let (utime, stime): (u64, u64) = (f[11].parse().unwrap(), f[12].parse().unwrap());
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().unwrap();
    let tck: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Duration::from_secs_f64((utime + stime) as f64 / tck as f64)
}

/// The shipped config on a copy of the sample inbox (so files can be dropped in), with
/// its output folders in the test's folder; `replace` edits it.
fn sample_copy(replace: &[(&str, &str)]) -> Env {
    let env = Env::sample();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample-inbox");
    for e in std::fs::read_dir(&root).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), env.path("inbox").join(e.file_name())).unwrap();
    }
    let mut cfg = std::fs::read_to_string(env.path("quotad.toml"))
        .unwrap()
        .replace(&format!("inbox = {:?}", root.display().to_string()), "inbox = \"inbox\"");
    for (a, b) in replace {
        assert!(cfg.contains(a), "{a}");
        cfg = cfg.replace(a, b);
    }
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    env
}

// ---------------------------------------------------------------------------------
// 9. An idle daemon is idle.

#[test]
fn an_idle_serve_uses_under_1_s_of_cpu_in_30_s_and_still_imports_a_file_dropped_in_within_settle_plus_1_s() {
    // The shipped defaults: settle 5 s, rescan 60 s, heartbeat 15 s. A Wednesday
    // afternoon: no job is due for days.
    let env = sample_copy(&[]);
    let mut d = env.spawn("serve", &["--now", "2026-11-04T18:00:00Z", "serve"], &[]);
    assert!(
        wait_for(Duration::from_secs(60), || read(&env, "serve.out")
            .contains("inbox: crm-export-2026-10.xlsx imported")),
        "{}{}",
        read(&env, "serve.out"),
        read(&env, "serve.err")
    );
    std::thread::sleep(Duration::from_secs(2));
    let before = cpu_time(d.id());
    std::thread::sleep(Duration::from_secs(30));
    let used = cpu_time(d.id()) - before;
    assert!(used < Duration::from_secs(1), "{used:?} of CPU in 30 s of an unchanging inbox");

    // A file written into the inbox (create, write, close) is imported once it has
    // settled: within settle_seconds (5) plus a second.
    let csv =
        "Deal ID,Rep ID,Sales Rep,Stage,Close Date,Sale Price\nN-1,R00001,José Núñez,Closed Won,2026-11-03,412500\n";
    std::fs::write(env.path("inbox/crm-export-2026-11.csv"), csv).unwrap();
    let dropped = Instant::now();
    assert!(
        wait_for(Duration::from_secs(20), || read(&env, "serve.out")
            .contains("inbox: crm-export-2026-11.csv imported")),
        "{}",
        read(&env, "serve.out")
    );
    let took = dropped.elapsed();
    assert!(took <= Duration::from_secs(6), "imported {took:?} after it was written");
    // One moved in (rename from outside the inbox): the same.
    std::fs::write(env.path("incoming.csv"), csv.replace("N-1,", "N-2,")).unwrap();
    std::fs::rename(env.path("incoming.csv"), env.path("inbox/crm-export-2026-11b.csv")).unwrap();
    let moved = Instant::now();
    assert!(
        wait_for(Duration::from_secs(20), || read(&env, "serve.out")
            .contains("inbox: crm-export-2026-11b.csv imported")),
        "{}",
        read(&env, "serve.out")
    );
    assert!(moved.elapsed() <= Duration::from_secs(6), "imported {:?} after it was moved in", moved.elapsed());
    let (code, _) = stop(&mut d, "TERM", Duration::from_secs(20));
    assert_eq!(code, 0);
    // Each file once.
    assert_eq!(read(&env, "serve.out").matches("crm-export-2026-11.csv").count(), 1);
}
