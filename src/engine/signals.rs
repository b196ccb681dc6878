//! Ctrl-C and SIGTERM as a count the engine can watch.
//!
//! Once installed, SIGINT and SIGTERM no longer end wildside-tofu: they are counted, and the process runner
//! decides what each one means for the tofu child (see `process`). A signal that arrives while no child runs
//! stops the command before it starts the next one, and cuts short any [`pause`] (the waits between retries,
//! polls and lock attempts), so no wait outlasts a Ctrl-C.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// The count of the first installed [`Interrupts`], for [`pause`].
static INSTALLED: OnceLock<watch::Receiver<u32>> = OnceLock::new();

/// A wait that an interrupt cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Sleeps for `duration`, or returns [`Interrupted`] as soon as an interrupt arrives (at once if one already
/// has). Without installed [`Interrupts`] it only sleeps.
pub async fn pause(duration: Duration) -> Result<(), Interrupted> {
    let Some(count) = INSTALLED.get() else {
        tokio::time::sleep(duration).await;
        return Ok(());
    };
    let mut count = count.clone();
    tokio::select! {
        biased;
        Ok(_) = count.wait_for(|received| *received > 0) => Err(Interrupted),
        () = tokio::time::sleep(duration) => Ok(()),
    }
}

/// The number of interrupts received so far.
#[derive(Debug, Clone)]
pub struct Interrupts {
    count: watch::Receiver<u32>,
}

impl Interrupts {
    /// Starts counting SIGINT and SIGTERM. Call once, inside the tokio runtime.
    pub fn install() -> std::io::Result<Self> {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let (sender, count) = watch::channel(0u32);
        let _ = INSTALLED.set(count.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(()) = interrupt.recv() => {}
                    Some(()) = terminate.recv() => {}
                    else => break,
                }
                sender.send_modify(|count| *count += 1);
            }
        });
        Ok(Self { count })
    }

    /// Interrupts received since installation.
    pub fn received(&self) -> u32 {
        *self.count.borrow()
    }

    /// Waits for the next interrupt and returns the new total.
    pub async fn next(&mut self) -> u32 {
        if self.count.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        *self.count.borrow_and_update()
    }
}
