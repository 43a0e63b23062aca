//! Durability of group commits, off the writer thread.
//!
//! The writer connection commits with `synchronous=NORMAL`: SQLite writes a transaction's WAL
//! frames (checksummed, so a torn tail is rolled back on recovery) but does not fsync them. It
//! then hands the appends of that transaction here, and this thread fsyncs the WAL file once
//! for every transaction committed before the fsync started, and only then answers them. So
//! an answered append is on disk exactly as with `synchronous=FULL` (which fsyncs inside each
//! commit), while the writer already runs the next transaction during the fsync.
//! Checkpoints keep SQLite's own syncing (WAL before, database after each checkpoint).
//!
//! Not here: SQL, and retention deletes (their durability does not matter).

use super::storage;
use crate::store::{AppendOutcome, StoreError};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Where one committed append waits for its answer.
pub(super) type Reply = SyncSender<Result<AppendOutcome, StoreError>>;

/// The appends of one committed transaction, with their outcomes.
pub(super) type Committed = Vec<(Reply, AppendOutcome)>;

/// The fsync thread.
pub(super) struct Syncer {
    tx: Option<SyncSender<Committed>>,
    handle: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Starts the thread for the WAL file at `wal_path`.
    pub(super) fn start(wal_path: PathBuf) -> Result<Syncer, StoreError> {
        let (tx, rx) = sync_channel::<Committed>(256);
        let handle = std::thread::Builder::new()
            .name("spanlens-store-sync".to_string())
            .spawn(move || run(&wal_path, rx))
            .map_err(storage)?;
        Ok(Syncer {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// Answers `committed` once the WAL holding it is on disk.
    pub(super) fn submit(&self, committed: Committed) {
        let Some(tx) = &self.tx else {
            fail(committed, "the store is closing");
            return;
        };
        if let Err(e) = tx.send(committed) {
            fail(e.0, "the store sync thread stopped");
        }
    }

    /// Syncs and answers what is pending, then stops the thread.
    pub(super) fn stop(&mut self) {
        self.tx = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn fail(committed: Committed, why: &str) {
    for (reply, _) in committed {
        let _ = reply.send(Err(StoreError::Storage(why.to_string())));
    }
}

fn run(wal_path: &std::path::Path, rx: Receiver<Committed>) {
    let mut file: Option<File> = None;
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        while let Ok(more) = rx.try_recv() {
            waiting.push(more);
        }
        match sync_wal(wal_path, &mut file) {
            Ok(()) => {
                for (reply, outcome) in waiting.into_iter().flatten() {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "fsync of the WAL failed");
                file = None;
                for committed in waiting {
                    fail(committed, &e.to_string());
                }
            }
        }
    }
}

/// fsyncs the WAL file, reopening it when the path names another file than the one held.
fn sync_wal(path: &std::path::Path, file: &mut Option<File>) -> Result<(), StoreError> {
    let on_disk =
        std::fs::metadata(path).map_err(|e| StoreError::Storage(format!("{}: {e}", path.display())))?;
    let stale = match file.as_ref() {
        Some(f) => {
            let held = f.metadata().map_err(storage)?;
            held.ino() != on_disk.ino() || held.dev() != on_disk.dev()
        }
        None => true,
    };
    if stale {
        *file = Some(File::open(path).map_err(|e| StoreError::Storage(format!("{}: {e}", path.display())))?);
    }
    match file.as_ref() {
        Some(f) => f.sync_data().map_err(storage),
        None => Err(storage("the WAL file is not open")),
    }
}
