//! SIGTERM and SIGINT for the one-shot commands (`quotad run`, `import`, `outbox
//! retry`): the first one asks the pipeline to stop through its [`Stop`] token, which
//! finishes the file or message in hand, records it, and returns; the command then
//! exits with 128 + the signal's number (143 for SIGTERM, 130 for SIGINT), as a shell
//! expects of a command stopped by a signal. `quotad serve` has its own loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result};

use crate::pipeline::Stop;

/// Listens for SIGTERM and SIGINT from creation to the end of the process.
pub(crate) struct Signals {
    stop: Stop,
    got: Arc<AtomicI32>,
}

impl Signals {
    /// Starts listening (on a thread of its own, with a small tokio runtime); returns
    /// once the handlers are installed, so a signal that arrives afterwards is never
    /// the default "terminate at once".
    pub(crate) fn listen() -> Result<Signals> {
        let stop = Stop::new();
        let got = Arc::new(AtomicI32::new(0));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (s, g) = (stop.clone(), got.clone());
        std::thread::Builder::new()
            .name("quotad-signals".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("cannot start tokio: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    use tokio::signal::unix::{SignalKind, signal};
                    let (mut term, mut int) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
                        (Ok(t), Ok(i)) => (t, i),
                        (Err(e), _) | (_, Err(e)) => {
                            let _ = ready_tx.send(Err(format!("cannot listen for SIGTERM/SIGINT: {e}")));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    loop {
                        let (name, number) = tokio::select! {
                            _ = term.recv() => ("SIGTERM", 15),
                            _ = int.recv() => ("SIGINT", 2),
                        };
                        if g.swap(number, Ordering::SeqCst) == 0 {
                            eprintln!(
                                "{name}: finishing the message or file in flight, then stopping (the rest waits for the next run, never sent twice)"
                            );
                        } else {
                            eprintln!("{name}: already stopping; waiting for the message or file in flight");
                        }
                        s.request();
                    }
                });
            })
            .context("cannot start the signal thread")?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Signals { stop, got }),
            Ok(Err(e)) => anyhow::bail!(e),
            Err(_) => anyhow::bail!("the signal thread ended before it listened"),
        }
    }

    /// The token the pipeline watches.
    pub(crate) fn stop(&self) -> &Stop {
        &self.stop
    }

    /// The signal received, as (name, number), if any.
    pub(crate) fn received(&self) -> Option<(&'static str, i32)> {
        match self.got.load(Ordering::SeqCst) {
            0 => None,
            15 => Some(("SIGTERM", 15)),
            n => Some(("SIGINT", n)),
        }
    }

    /// The exit status: `status` when no signal came, else 128 + its number.
    pub(crate) fn exit_status(&self, status: i32) -> i32 {
        self.received().map_or(status, |(_, n)| 128 + n)
    }
}
