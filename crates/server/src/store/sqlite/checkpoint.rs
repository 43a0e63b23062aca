//! WAL checkpoints off the writer thread.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the threshold, so the
//! writer (and every append waiting on it) stalled while tens of MiB were copied into the
//! database and fsync'd. Here a thread with its own connection checkpoints every
//! [`POLL`]: a PASSIVE checkpoint beside the writer copies what is committed. Once the WAL
//! holds [`CHECKPOINT_FRAMES`] frames, it fsyncs the database file (still beside the writer),
//! then takes the writer's gate for a last short pass that catches up completely, so SQLite
//! restarts the WAL from its beginning at the next write transaction and the WAL stays
//! bounded. (A checkpoint that never pauses the writer would never catch up under steady
//! load.)
//!
//! Durability is SQLite's: with `synchronous=NORMAL` a checkpoint syncs the WAL before and the
//! database after a complete pass, before any frame may be overwritten. Not here: commits and
//! their fsync ([`super::syncer`]).

use super::{open_connection, storage};
use crate::store::StoreError;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// WAL frames (pages of 4 KiB) past which a checkpoint catches up completely (32 MiB).
pub(super) const CHECKPOINT_FRAMES: i64 = 8_192;
/// Size the WAL file is cut back to when SQLite restarts it (`journal_size_limit`).
pub(super) const WAL_SIZE_LIMIT_BYTES: i64 = 4 * 4_096 * CHECKPOINT_FRAMES;
/// How often the thread checkpoints.
const POLL: Duration = Duration::from_millis(100);

/// Held by the writer around each group commit; the checkpoint thread takes it for the last
/// pass of a complete checkpoint.
pub(super) type Gate = Arc<Mutex<()>>;

/// The checkpoint thread.
pub(super) struct Checkpointer {
    stop: Option<SyncSender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread for the database at `db_path`.
    pub(super) fn start(db_path: PathBuf, gate: Gate) -> Result<Checkpointer, StoreError> {
        let conn = open_connection(&db_path, true)?;
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;")
            .map_err(storage)?;
        let (stop, rx) = sync_channel::<()>(1);
        let handle = std::thread::Builder::new()
            .name("spanlens-store-ckpt".to_string())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(POLL) {
                    if let Err(e) = checkpoint(&conn, &db_path, &gate) {
                        tracing::warn!(error = %e, "checkpoint failed");
                    }
                }
            })
            .map_err(storage)?;
        Ok(Checkpointer {
            stop: Some(stop),
            handle: Some(handle),
        })
    }

    /// Stops the thread (a checkpoint under way finishes first).
    pub(super) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.try_send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// One PASSIVE checkpoint: (busy, frames in the WAL, frames checkpointed).
fn passive(conn: &Connection) -> Result<(i64, i64, i64), StoreError> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })
    .map_err(storage)
}

/// One round: copy beside the writer; past the threshold, catch up behind the gate.
fn checkpoint(conn: &Connection, db_path: &Path, gate: &Gate) -> Result<(), StoreError> {
    let (_, frames, _) = passive(conn)?;
    if frames < CHECKPOINT_FRAMES {
        return Ok(());
    }
    // Even when this pass caught up, the writer has usually committed again meanwhile; the
    // WAL restarts only if the writer starts a transaction right after a complete pass.
    let started = std::time::Instant::now();
    // Flush what was copied while the writer runs, so the gated pass syncs little.
    std::fs::File::open(db_path)
        .and_then(|f| f.sync_data())
        .map_err(storage)?;
    let synced = started.elapsed();
    let (busy, frames, done) = {
        let _paused = gate.lock().map_err(|_| storage("store gate poisoned"))?;
        passive(conn)?
    };
    tracing::debug!(
        busy,
        wal_frames = frames,
        checkpointed = done,
        sync_micros = synced.as_micros() as u64,
        gated_micros = (started.elapsed() - synced).as_micros() as u64,
        "checkpoint caught up"
    );
    Ok(())
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}
