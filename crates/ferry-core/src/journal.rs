//! The migration journal: one SQLite file per migration that remembers every write.
//!
//! The journal is written *ahead* of the destination: a batch is recorded as `sent` (with the destination ids it
//! will create) and committed to disk before the request leaves, and recorded as `written` once the destination
//! confirms it. After a crash, every row still `sent` is a write whose outcome is unknown; the loader asks the
//! destination which of those ids exist instead of sending them blindly again. Rollback, verify and the report are
//! queries over the same file.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Problem;

/// A problem as the journal keeps it.
fn problem_json(problem: &Problem) -> String {
    serde_json::to_string(problem).unwrap_or_else(|e| format!("{{\"message\":\"{e}\"}}"))
}

/// Where a source record stands in a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// Handed to the destination; whether it arrived is not known yet.
    Sent,
    /// Confirmed by the destination.
    Written,
    /// Refused by the destination; the reason is in the journal's rejections.
    Rejected,
    /// Deliberately not sent (the plan or the data says why).
    Skipped,
}

impl RowState {
    fn as_str(self) -> &'static str {
        match self {
            RowState::Sent => "sent",
            RowState::Written => "written",
            RowState::Rejected => "rejected",
            RowState::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Option<RowState> {
        Some(match s {
            "sent" => RowState::Sent,
            "written" => RowState::Written,
            "rejected" => RowState::Rejected,
            "skipped" => RowState::Skipped,
            _ => return None,
        })
    }
}

/// A change the migration made to the destination's data model, kept so rollback can undo exactly that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaChange {
    /// Order in which changes were made (rollback goes backwards).
    pub seq: i64,
    pub kind: SchemaChangeKind,
    /// The destination object concerned.
    pub object: String,
    /// The destination field concerned (none for a created object).
    pub field: Option<String>,
    /// The destination's id of what was created or changed.
    pub dest_id: String,
    /// For a change to something that existed before (e.g. options added to an existing field): its state before,
    /// as the destination described it.
    pub before: Option<serde_json::Value>,
}

/// What kind of data-model change a [`SchemaChange`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChangeKind {
    ObjectCreated,
    FieldCreated,
    FieldUpdated,
}

impl SchemaChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            SchemaChangeKind::ObjectCreated => "object_created",
            SchemaChangeKind::FieldCreated => "field_created",
            SchemaChangeKind::FieldUpdated => "field_updated",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "object_created" => SchemaChangeKind::ObjectCreated,
            "field_created" => SchemaChangeKind::FieldCreated,
            "field_updated" => SchemaChangeKind::FieldUpdated,
            _ => return None,
        })
    }
}

/// Counts of one object's rows by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectCounts {
    pub object: String,
    pub sent: u64,
    pub written: u64,
    pub rejected: u64,
    pub skipped: u64,
}

/// A journal that cannot be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot open the journal {path}: {source} (check that the folder exists and is writable)")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("journal {path}: {source}")]
    Sql { path: PathBuf, source: rusqlite::Error },
    #[error(
        "journal {path} was written by a newer ferry (journal format {found}, this ferry knows up to {known}); use that ferry or a new journal"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("journal {path} holds an unknown value {value:?} in {column}: the file was edited or is damaged")]
    Corrupt { path: PathBuf, column: &'static str, value: String },
}

/// Most memory SQLite keeps as a page cache for one journal connection, in KiB (its default is 2 MiB): every
/// record's state is written twice and read at least once in key order, which is not the file's order, so a small
/// cache reads most pages back from the operating system each time.
const JOURNAL_CACHE_KIB: i64 = 32 * 1024;

impl From<JournalError> for std::io::Error {
    fn from(e: JournalError) -> Self {
        std::io::Error::other(e)
    }
}

/// The journal format this code writes.
const FORMAT: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS row_state (
    object TEXT NOT NULL,
    source_key TEXT NOT NULL,
    dest_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sent', 'written', 'rejected', 'skipped')),
    seq INTEGER NOT NULL,
    PRIMARY KEY (object, source_key)
) STRICT;
-- A row's seq is its rowid (both are MAX + 1 when the row is first recorded, and an update keeps both), so no
-- index is kept on seq; nor on (object, state), read once per object per run: each index cost every state change
-- an index update (sent → written is two), a quarter of apply's CPU time. Journals made before drop them.
DROP INDEX IF EXISTS row_state_by_state;
DROP INDEX IF EXISTS row_state_by_seq;
CREATE TABLE IF NOT EXISTS problem (
    seq INTEGER PRIMARY KEY,
    object TEXT NOT NULL,
    source_key TEXT,
    json TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS problem_by_record ON problem (object, source_key);
CREATE TABLE IF NOT EXISTS schema_change (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    object TEXT NOT NULL,
    field TEXT,
    dest_id TEXT NOT NULL,
    before TEXT,
    undone INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE IF NOT EXISTS before_image (
    object TEXT NOT NULL,
    dest_id TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (object, dest_id)
) STRICT;
CREATE TABLE IF NOT EXISTS throughput (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    object TEXT NOT NULL,
    records INTEGER NOT NULL
) STRICT;
";

/// One migration's journal file.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
    migration: Uuid,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).field("migration", &self.migration).finish()
    }
}

impl Journal {
    /// Opens the journal at `path`, creating it when missing. A new journal gets a fresh migration id; an existing
    /// one keeps the id it was created with, so destination ids stay the same across runs.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let conn = Connection::open(path).map_err(|source| JournalError::Open { path: path.to_path_buf(), source })?;
        let mut journal = Journal { conn, path: path.to_path_buf(), migration: Uuid::nil() };
        journal.init()?;
        Ok(journal)
    }

    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T, JournalError> {
        r.map_err(|source| JournalError::Sql { path: self.path.clone(), source })
    }

    fn init(&mut self) -> Result<(), JournalError> {
        // Durability over speed: a lost "sent" row could turn into a duplicate in the destination.
        let r = self.conn.pragma_update(None, "journal_mode", "WAL");
        self.sql(r)?;
        let r = self.conn.pragma_update(None, "synchronous", "FULL");
        self.sql(r)?;
        let r = self.conn.pragma_update(None, "busy_timeout", 5000);
        self.sql(r)?;
        let r = self.conn.pragma_update(None, "cache_size", -JOURNAL_CACHE_KIB);
        self.sql(r)?;
        let version: i64 = {
            let r = self.conn.pragma_query_value(None, "user_version", |row| row.get(0));
            self.sql(r)?
        };
        if version > FORMAT {
            return Err(JournalError::TooNew { path: self.path.clone(), found: version, known: FORMAT });
        }
        let r = self.conn.execute_batch(SCHEMA);
        self.sql(r)?;
        let r = self.conn.pragma_update(None, "user_version", FORMAT);
        self.sql(r)?;
        let existing = self.meta("migration_id")?;
        self.migration = match existing {
            Some(s) => Uuid::parse_str(&s).map_err(|_| JournalError::Corrupt {
                path: self.path.clone(),
                column: "meta.migration_id",
                value: s.clone(),
            })?,
            None => {
                let id = Uuid::new_v4();
                self.set_meta("migration_id", &id.to_string())?;
                id
            }
        };
        Ok(())
    }

    /// The file this journal lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The migration's id: the namespace of every destination id it writes.
    pub fn migration_id(&self) -> Uuid {
        self.migration
    }

    /// A free-form setting kept with the journal (e.g. the plan's fingerprint).
    pub fn meta(&self, key: &str) -> Result<Option<String>, JournalError> {
        let r = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get::<_, String>(0))
            .optional();
        self.sql(r)
    }

    /// Stores a free-form setting.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), JournalError> {
        let r = self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        );
        self.sql(r).map(drop)
    }

    /// Sets the state of `rows` and, when given, keeps the problem that explains it — in one transaction, so a row is
    /// never rejected or skipped without its reason (and one sync instead of two).
    fn set_state(
        &mut self,
        object: &str,
        rows: &[(&str, &str)],
        state: RowState,
        problem: Option<&Problem>,
    ) -> Result<(), JournalError> {
        let tx = self.conn.transaction().map_err(|source| JournalError::Sql { path: self.path.clone(), source })?;
        let path = self.path.clone();
        let wrap = |source| JournalError::Sql { path: path.clone(), source };
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO row_state (object, source_key, dest_id, state, seq)
                     VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(rowid), 0) + 1 FROM row_state))
                     ON CONFLICT (object, source_key) DO UPDATE SET dest_id = excluded.dest_id, state = excluded.state",
                )
                .map_err(wrap)?;
            for (key, dest) in rows {
                stmt.execute(params![object, key, dest, state.as_str()]).map_err(wrap)?;
            }
        }
        if let Some(problem) = problem {
            tx.execute(
                "INSERT INTO problem (object, source_key, json) VALUES (?1, ?2, ?3)",
                params![problem.object, problem.record, problem_json(problem)],
            )
            .map_err(wrap)?;
        }
        tx.commit().map_err(wrap)
    }

    /// Records, before the request leaves, that these `(source key, destination id)` rows are being sent.
    pub fn mark_sent(&mut self, object: &str, rows: &[(&str, &str)]) -> Result<(), JournalError> {
        // New rows (the usual case) go in with one statement; a batch holding a row the journal has (halves of a
        // refused batch, rows sent again after a crash) takes the row-by-row way.
        if self.insert_sent(object, rows)? {
            return Ok(());
        }
        self.set_state(object, rows, RowState::Sent, None)
    }

    /// Inserts `rows` as `sent` in one statement when none of them is journalled yet; returns whether it did
    /// (otherwise nothing changed). Each row's seq is the rowid it gets: the last one plus its place in `rows`.
    fn insert_sent(&mut self, object: &str, rows: &[(&str, &str)]) -> Result<bool, JournalError> {
        self.all_rows_at_once(
            "INSERT INTO row_state (object, source_key, dest_id, state, seq)
             SELECT ?1, value ->> 0, value ->> 1, 'sent', (SELECT COALESCE(MAX(rowid), 0) FROM row_state) + key + 1
             FROM json_each(?2) ORDER BY key",
            object,
            rows,
        )
    }

    /// Runs `sql` — `?1` the object, `?2` the rows as a JSON array of `[key, destination id]` pairs — in a
    /// transaction kept only when the statement changed every row; returns whether it was kept. A constraint the
    /// statement breaks (a row already there) counts as not every row.
    fn all_rows_at_once(&mut self, sql: &str, object: &str, rows: &[(&str, &str)]) -> Result<bool, JournalError> {
        let pairs: Vec<[&str; 2]> = rows.iter().map(|(k, d)| [*k, *d]).collect();
        // Strings always serialise; an empty list would change no row and send the rows the row-by-row way.
        let pairs = serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_string());
        let path = self.path.clone();
        let wrap = |source| JournalError::Sql { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(wrap)?;
        let changed = tx.prepare_cached(sql).and_then(|mut stmt| stmt.execute(params![object, pairs]));
        match changed {
            Ok(n) if n == rows.len() => {
                tx.commit().map_err(wrap)?;
                Ok(true)
            }
            Ok(_)
            | Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error { code: ErrorCode::ConstraintViolation, .. },
                _,
            )) => {
                tx.rollback().map_err(wrap)?;
                Ok(false)
            }
            Err(e) => Err(wrap(e)),
        }
    }

    /// Records that the destination confirmed these rows.
    ///
    /// Committed without its own sync (the next synced commit — the next batch's `sent` — carries it to disk): a
    /// process killed at any point keeps it (the commit is in the operating system's hands), and a machine that
    /// loses power before the next sync loses only this mark, leaving the rows `sent`, which the next run settles by
    /// asking the destination. One sync per batch instead of two.
    pub fn mark_written(&mut self, object: &str, rows: &[(&str, &str)]) -> Result<(), JournalError> {
        self.relaxed(|j| {
            // Rows journalled `sent` with these ids (the usual case) change state in one statement; any other
            // (a row that was never sent) takes the row-by-row way.
            if j.update_sent_to_written(object, rows)? {
                return Ok(());
            }
            j.set_state(object, rows, RowState::Written, None)
        })
    }

    /// Sets `rows` written in one statement when every one of them is journalled with its id; returns whether it
    /// did (otherwise nothing changed).
    fn update_sent_to_written(&mut self, object: &str, rows: &[(&str, &str)]) -> Result<bool, JournalError> {
        self.all_rows_at_once(
            "UPDATE row_state SET state = 'written'
             WHERE object = ?1 AND (source_key, dest_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?2))",
            object,
            rows,
        )
    }

    /// Runs `f` with commits not synced to disk, then returns to synced commits.
    fn relaxed<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, JournalError>) -> Result<T, JournalError> {
        let r = self.conn.pragma_update(None, "synchronous", "NORMAL");
        self.sql(r)?;
        let out = f(self);
        let r = self.conn.pragma_update(None, "synchronous", "FULL");
        self.sql(r)?;
        out
    }

    /// Records that the destination refused one row, and why. Committed without its own sync, like
    /// [`Journal::mark_written`]: a lost mark leaves the row `sent` (or unknown), and the next run sends it again and
    /// is refused again.
    pub fn mark_rejected(&mut self, key: &str, dest_id: &str, problem: &Problem) -> Result<(), JournalError> {
        self.relaxed(|j| j.set_state(&problem.object, &[(key, dest_id)], RowState::Rejected, Some(problem)))
    }

    /// Records that one row is deliberately not sent, and why. Committed without its own sync: a lost mark (with
    /// its problem: they commit together) leaves the row unknown, and the next run decides it again.
    pub fn mark_skipped(&mut self, key: &str, dest_id: &str, problem: &Problem) -> Result<(), JournalError> {
        self.relaxed(|j| j.set_state(&problem.object, &[(key, dest_id)], RowState::Skipped, Some(problem)))
    }

    /// Keeps a problem for the report without changing any row's state (e.g. a warning about a value).
    ///
    /// Committed without its own sync when the connection syncs otherwise: the loader adds problems about a record
    /// before journalling its batch `sent`, whose synced commit carries them to disk before the request leaves.
    pub fn add_problem(&self, problem: &Problem) -> Result<(), JournalError> {
        let r = self.conn.pragma_update(None, "synchronous", "NORMAL");
        self.sql(r)?;
        let r = self.conn.execute(
            "INSERT INTO problem (object, source_key, json) VALUES (?1, ?2, ?3)",
            params![problem.object, problem.record, problem_json(problem)],
        );
        let restored = self.conn.pragma_update(None, "synchronous", "FULL");
        self.sql(r)?;
        self.sql(restored)
    }

    /// Keeps these problems for the report in one transaction, leaving out each one the journal already holds
    /// (same object, record and content): a run that repeats work after a crash does not report a problem twice.
    pub fn add_problems_once(&self, problems: &[Problem]) -> Result<(), JournalError> {
        if problems.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let wrap = |source| JournalError::Sql { path: path.clone(), source };
        let tx = self.conn.unchecked_transaction().map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO problem (object, source_key, json) SELECT ?1, ?2, ?3 WHERE NOT EXISTS
                     (SELECT 1 FROM problem WHERE object = ?1 AND source_key IS ?2 AND json = ?3)",
                )
                .map_err(wrap)?;
            for problem in problems {
                stmt.execute(params![problem.object, problem.record, problem_json(problem)]).map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    /// Forgets what describes a run rather than the destination — problems, the throughput timeline and settings
    /// whose key starts with `meta_prefix` — once rollback has undone that run, so the next run reports afresh.
    /// Row states and schema changes are not touched.
    pub fn clear_run_history(&mut self, meta_prefix: &str) -> Result<(), JournalError> {
        let path = self.path.clone();
        let wrap = |source| JournalError::Sql { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute("DELETE FROM problem", []).map_err(wrap)?;
        tx.execute("DELETE FROM throughput", []).map_err(wrap)?;
        tx.execute("DELETE FROM meta WHERE substr(key, 1, length(?1)) = ?1", [meta_prefix]).map_err(wrap)?;
        tx.commit().map_err(wrap)
    }

    /// How many problems the journal holds (without reading them: a large migration has hundreds of thousands).
    pub fn problem_count(&self) -> Result<u64, JournalError> {
        let r = self.conn.query_row("SELECT COUNT(*) FROM problem", [], |row| row.get::<_, i64>(0));
        self.sql(r).map(|n| n.max(0) as u64)
    }

    /// Every problem kept, in the order they happened — as kept, a repeat included (see
    /// [`Journal::for_each_problem`] for each once).
    pub fn problems(&self) -> Result<Vec<Problem>, JournalError> {
        let mut out = Vec::new();
        self.walk_problems(false, |p| {
            out.push(p);
            Ok::<_, JournalError>(())
        })?;
        Ok(out)
    }

    /// Calls `f` with every problem kept, in the order they happened, read one at a time (a large migration has
    /// hundreds of thousands). A problem kept twice (a run resumed after a crash may meet the same one again) is
    /// handed over once, at its first place. Stops at the first error `f` returns.
    pub fn for_each_problem<E: From<JournalError>>(&self, f: impl FnMut(Problem) -> Result<(), E>) -> Result<(), E> {
        self.walk_problems(true, f)
    }

    fn walk_problems<E: From<JournalError>>(
        &self,
        once: bool,
        mut f: impl FnMut(Problem) -> Result<(), E>,
    ) -> Result<(), E> {
        let sql = |source| JournalError::Sql { path: self.path.clone(), source };
        let mut stmt = self.conn.prepare("SELECT json FROM problem ORDER BY seq").map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        // Fingerprints, not copies, of the problems met: 16 bytes each.
        let mut seen = std::collections::HashSet::new();
        while let Some(row) = rows.next().map_err(sql)? {
            let json: String = row.get(0).map_err(sql)?;
            if once && !seen.insert(crate::ids::fingerprint(&[&json])) {
                continue;
            }
            let problem = serde_json::from_str(&json).map_err(|_| JournalError::Corrupt {
                path: self.path.clone(),
                column: "problem.json",
                value: json.clone(),
            })?;
            f(problem)?;
        }
        Ok(())
    }

    /// The written rows among `(object, key)` pairs, with their destination ids, read in one transaction (one
    /// lock and one look at the log for all of them, where [`Journal::state`] takes both per row).
    pub fn written_among(&self, rows: &[(&str, &str)]) -> Result<Vec<(usize, String)>, JournalError> {
        let path = self.path.clone();
        let wrap = |source| JournalError::Sql { path: path.clone(), source };
        let tx = self.conn.unchecked_transaction().map_err(wrap)?;
        let mut out = Vec::new();
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT dest_id FROM row_state WHERE object = ?1 AND source_key = ?2 AND state = 'written'",
                )
                .map_err(wrap)?;
            for (i, (object, key)) in rows.iter().enumerate() {
                if let Some(dest) =
                    stmt.query_row(params![object, key], |row| row.get::<_, String>(0)).optional().map_err(wrap)?
                {
                    out.push((i, dest));
                }
            }
        }
        tx.commit().map_err(wrap)?;
        Ok(out)
    }

    /// The state of one source row, with its destination id.
    pub fn state(&self, object: &str, key: &str) -> Result<Option<(RowState, String)>, JournalError> {
        // Asked once per record by the loader and by verify: the statement is prepared once.
        let r = self
            .conn
            .prepare_cached("SELECT state, dest_id FROM row_state WHERE object = ?1 AND source_key = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(params![object, key], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                    .optional()
            });
        match self.sql(r)? {
            None => Ok(None),
            Some((state, dest)) => Ok(Some((self.parse_state(state)?, dest))),
        }
    }

    fn parse_state(&self, s: String) -> Result<RowState, JournalError> {
        RowState::parse(&s).ok_or(JournalError::Corrupt {
            path: self.path.clone(),
            column: "row_state.state",
            value: s,
        })
    }

    /// Whether the journal holds any row of `object`.
    pub fn has_rows(&self, object: &str) -> Result<bool, JournalError> {
        let r = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM row_state WHERE object = ?1)", [object], |row| row.get(0));
        self.sql(r)
    }

    /// The `(source key, destination id)` rows of `object` in `state`, in the order they were first recorded.
    pub fn rows_in_state(&self, object: &str, state: RowState) -> Result<Vec<(String, String)>, JournalError> {
        let mut stmt = self.sql(
            self.conn
                .prepare("SELECT source_key, dest_id FROM row_state WHERE object = ?1 AND state = ?2 ORDER BY seq"),
        )?;
        let rows = stmt.query_map(params![object, state.as_str()], |row| Ok((row.get(0)?, row.get(1)?)));
        let rows = rows.map_err(|source| JournalError::Sql { path: self.path.clone(), source })?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|source| JournalError::Sql { path: self.path.clone(), source })
    }

    /// Row counts by state for every object the journal has seen, by object name.
    pub fn counts(&self) -> Result<Vec<ObjectCounts>, JournalError> {
        let mut stmt = self.sql(
            self.conn.prepare("SELECT object, state, COUNT(*) FROM row_state GROUP BY object, state ORDER BY object"),
        )?;
        let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get(2)?)));
        let rows = rows.map_err(|source| JournalError::Sql { path: self.path.clone(), source })?;
        let mut out: Vec<ObjectCounts> = Vec::new();
        for row in rows {
            let (object, state, n): (String, String, i64) =
                row.map_err(|source| JournalError::Sql { path: self.path.clone(), source })?;
            if out.last().is_none_or(|c| c.object != object) {
                out.push(ObjectCounts { object: object.clone(), ..ObjectCounts::default() });
            }
            let c = out.last_mut().expect("pushed above");
            let n = n as u64;
            match self.parse_state(state)? {
                RowState::Sent => c.sent = n,
                RowState::Written => c.written = n,
                RowState::Rejected => c.rejected = n,
                RowState::Skipped => c.skipped = n,
            }
        }
        Ok(out)
    }

    /// Records a change to the destination's data model, returning its sequence number.
    pub fn record_schema_change(
        &self,
        kind: SchemaChangeKind,
        object: &str,
        field: Option<&str>,
        dest_id: &str,
        before: Option<&serde_json::Value>,
    ) -> Result<i64, JournalError> {
        let before = before.map(|v| v.to_string());
        let r = self.conn.execute(
            "INSERT INTO schema_change (kind, object, field, dest_id, before) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![kind.as_str(), object, field, dest_id, before],
        );
        self.sql(r)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The data-model changes not undone yet, newest first (the order rollback undoes them in).
    pub fn schema_changes_to_undo(&self) -> Result<Vec<SchemaChange>, JournalError> {
        let mut stmt = self.sql(self.conn.prepare(
            "SELECT seq, kind, object, field, dest_id, before FROM schema_change WHERE undone = 0 ORDER BY seq DESC",
        ))?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, Option<String>>(5)?,
            ))
        });
        let rows = rows.map_err(|source| JournalError::Sql { path: self.path.clone(), source })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, kind, object, field, dest_id, before) =
                row.map_err(|source| JournalError::Sql { path: self.path.clone(), source })?;
            let kind = SchemaChangeKind::parse(&kind).ok_or_else(|| JournalError::Corrupt {
                path: self.path.clone(),
                column: "schema_change.kind",
                value: kind.clone(),
            })?;
            let before = match before {
                None => None,
                Some(s) => Some(serde_json::from_str(&s).map_err(|_| JournalError::Corrupt {
                    path: self.path.clone(),
                    column: "schema_change.before",
                    value: s.clone(),
                })?),
            };
            out.push(SchemaChange { seq, kind, object, field, dest_id, before });
        }
        Ok(out)
    }

    /// Marks a data-model change as undone.
    pub fn mark_schema_change_undone(&self, seq: i64) -> Result<(), JournalError> {
        let r = self.conn.execute("UPDATE schema_change SET undone = 1 WHERE seq = ?1", [seq]);
        self.sql(r).map(drop)
    }

    /// Keeps a destination record's state before the migration changed it. The first image kept wins: a later run
    /// must not overwrite the true "before" with a state the migration itself produced.
    pub fn save_before_image(&self, object: &str, dest_id: &str, json: &serde_json::Value) -> Result<(), JournalError> {
        let r = self.conn.execute(
            "INSERT INTO before_image (object, dest_id, json) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![object, dest_id, json.to_string()],
        );
        self.sql(r).map(drop)
    }

    /// Every before-image kept, as `(object, destination id, record)`.
    pub fn before_images(&self) -> Result<Vec<(String, String, serde_json::Value)>, JournalError> {
        let mut stmt = self.sql(self.conn.prepare("SELECT object, dest_id, json FROM before_image ORDER BY rowid"))?;
        let rows = stmt
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)));
        let rows = rows.map_err(|source| JournalError::Sql { path: self.path.clone(), source })?;
        let mut out = Vec::new();
        for row in rows {
            let (object, dest, json) = row.map_err(|source| JournalError::Sql { path: self.path.clone(), source })?;
            let value = serde_json::from_str(&json).map_err(|_| JournalError::Corrupt {
                path: self.path.clone(),
                column: "before_image.json",
                value: json.clone(),
            })?;
            out.push((object, dest, value));
        }
        Ok(out)
    }

    /// Forgets the rows of `object` after rollback deleted them from the destination.
    pub fn forget_rows(&mut self, object: &str, keys: &[&str]) -> Result<(), JournalError> {
        let path = self.path.clone();
        let wrap = |source| JournalError::Sql { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            let mut stmt =
                tx.prepare_cached("DELETE FROM row_state WHERE object = ?1 AND source_key = ?2").map_err(wrap)?;
            for key in keys {
                stmt.execute(params![object, key]).map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    /// Notes that `records` records of `object` were written at `at_ms` (milliseconds since the Unix epoch), for the
    /// report's throughput timeline.
    pub fn record_throughput(&self, at_ms: i64, object: &str, records: u64) -> Result<(), JournalError> {
        let r = self.conn.execute(
            "INSERT INTO throughput (at_ms, object, records) VALUES (?1, ?2, ?3)",
            params![at_ms, object, records as i64],
        );
        self.sql(r).map(drop)
    }

    /// The throughput timeline: `(at_ms, object, records)` in time order.
    pub fn throughput(&self) -> Result<Vec<(i64, String, u64)>, JournalError> {
        let mut stmt =
            self.sql(self.conn.prepare("SELECT at_ms, object, records FROM throughput ORDER BY at_ms, seq"))?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get::<_, i64>(2)? as u64)));
        let rows = rows.map_err(|source| JournalError::Sql { path: self.path.clone(), source })?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|source| JournalError::Sql { path: self.path.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("m.journal")).unwrap();
        (dir, j)
    }

    fn seqs(j: &Journal) -> Vec<(String, i64, i64, String)> {
        let mut stmt = j.conn.prepare("SELECT source_key, seq, rowid, state FROM row_state ORDER BY rowid").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn a_batch_marked_sent_in_one_statement_gets_seqs_in_order_equal_to_the_rowids() {
        let (_d, mut j) = journal();
        j.mark_sent("companies", &[("b", "d-b"), ("a", "d-a"), ("c", "d-c")]).unwrap();
        j.mark_sent("companies", &[("e", "d-e"), ("d", "d-d")]).unwrap();
        let rows = seqs(&j);
        let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c", "e", "d"], "the batch's order is kept");
        for (key, seq, rowid, state) in &rows {
            assert_eq!(seq, rowid, "{key}");
            assert_eq!(state, "sent");
        }
        assert_eq!(j.rows_in_state("companies", RowState::Sent).unwrap()[3], ("e".to_string(), "d-e".to_string()));
    }

    #[test]
    fn a_batch_with_a_row_already_journalled_is_marked_sent_row_by_row() {
        let (_d, mut j) = journal();
        j.mark_sent("companies", &[("a", "d-a")]).unwrap();
        j.mark_written("companies", &[("a", "d-a")]).unwrap();
        // Sent again with a new row beside it: the one statement fails on "a" and changes nothing; the rows are
        // then marked one by one.
        j.mark_sent("companies", &[("b", "d-b"), ("a", "d-a")]).unwrap();
        assert_eq!(j.state("companies", "a").unwrap(), Some((RowState::Sent, "d-a".to_string())));
        assert_eq!(j.state("companies", "b").unwrap(), Some((RowState::Sent, "d-b".to_string())));
        let rows = seqs(&j);
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|(_, seq, rowid, _)| seq == rowid));
    }

    #[test]
    fn rows_never_sent_or_sent_with_another_id_are_still_marked_written() {
        let (_d, mut j) = journal();
        j.mark_sent("companies", &[("a", "d-a"), ("b", "d-b")]).unwrap();
        // "c" was never sent and "b" is confirmed under another id: the one-statement update does not apply.
        j.mark_written("companies", &[("a", "d-a"), ("b", "d-b2"), ("c", "d-c")]).unwrap();
        assert_eq!(j.state("companies", "a").unwrap(), Some((RowState::Written, "d-a".to_string())));
        assert_eq!(j.state("companies", "b").unwrap(), Some((RowState::Written, "d-b2".to_string())));
        assert_eq!(j.state("companies", "c").unwrap(), Some((RowState::Written, "d-c".to_string())));
        j.mark_sent("companies", &[("d", "d-d"), ("e", "d-e")]).unwrap();
        j.mark_written("companies", &[("d", "d-d"), ("e", "d-e")]).unwrap();
        assert_eq!(j.rows_in_state("companies", RowState::Written).unwrap().len(), 5);
        assert!(j.rows_in_state("companies", RowState::Sent).unwrap().is_empty());
    }

    #[test]
    fn loss_of_the_reason_for_a_skipped_row_cannot_happen_state_and_problem_commit_together() {
        let (dir, mut j) = journal();
        // The problem cannot be kept (its table is gone): the row must not be marked skipped without it.
        let other = Connection::open(dir.path().join("m.journal")).unwrap();
        other.execute_batch("DROP TABLE problem").unwrap();
        let p = Problem::new("contacts.avatar", "the file could not be read").record("7/0");
        assert!(j.mark_skipped("7/0", "d-1", &p).is_err());
        assert_eq!(j.state("contacts.avatar", "7/0").unwrap(), None, "no skipped row without its reason");
    }

    #[test]
    fn rows_are_marked_sent_with_synced_commits_even_after_an_unsynced_written_mark() {
        let (_dir, mut j) = journal();
        j.mark_sent("companies", &[("1", "d-1")]).unwrap();
        j.mark_written("companies", &[("1", "d-1")]).unwrap();
        let sync: i64 = j.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "FULL again after the written mark, so the next `sent` is on disk before its request");
        assert_eq!(j.state("companies", "1").unwrap(), Some((RowState::Written, "d-1".to_string())));
    }

    #[test]
    fn migration_id_survives_reopening() {
        let (dir, j) = journal();
        let id = j.migration_id();
        assert!(!id.is_nil());
        drop(j);
        let again = Journal::open(&dir.path().join("m.journal")).unwrap();
        assert_eq!(again.migration_id(), id);
    }

    #[test]
    fn rows_move_from_sent_to_written_and_survive_reopening() {
        let (dir, mut j) = journal();
        j.mark_sent("companies", &[("1", "d1"), ("2", "d2")]).unwrap();
        assert_eq!(j.rows_in_state("companies", RowState::Sent).unwrap().len(), 2);
        j.mark_written("companies", &[("1", "d1")]).unwrap();
        drop(j);
        let j = Journal::open(&dir.path().join("m.journal")).unwrap();
        assert_eq!(j.state("companies", "1").unwrap(), Some((RowState::Written, "d1".into())));
        assert_eq!(j.rows_in_state("companies", RowState::Sent).unwrap(), vec![("2".into(), "d2".into())]);
        let counts = j.counts().unwrap();
        assert_eq!(
            counts,
            vec![ObjectCounts { object: "companies".into(), sent: 1, written: 1, ..Default::default() }]
        );
    }

    #[test]
    fn rejections_keep_the_problem_for_the_report() {
        let (_dir, mut j) = journal();
        let p = Problem::new("contacts", "A duplicate entry was detected").record("9").field("email").value("a@b.c");
        j.mark_rejected("9", "d9", &p).unwrap();
        assert_eq!(j.state("contacts", "9").unwrap().unwrap().0, RowState::Rejected);
        assert_eq!(j.problems().unwrap(), vec![p]);
    }

    #[test]
    fn schema_changes_are_undone_newest_first_and_only_once() {
        let (_dir, j) = journal();
        let a = j.record_schema_change(SchemaChangeKind::ObjectCreated, "deal", None, "o1", None).unwrap();
        let before = serde_json::json!({"options": [{"value": "A"}]});
        let b =
            j.record_schema_change(SchemaChangeKind::FieldUpdated, "opportunity", Some("stage"), "f1", Some(&before));
        let b = b.unwrap();
        let todo = j.schema_changes_to_undo().unwrap();
        assert_eq!(todo.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![b, a]);
        assert_eq!(todo[0].before.as_ref(), Some(&before));
        j.mark_schema_change_undone(b).unwrap();
        assert_eq!(j.schema_changes_to_undo().unwrap().len(), 1);
    }

    #[test]
    fn the_first_before_image_wins() {
        let (_dir, j) = journal();
        j.save_before_image("company", "c1", &serde_json::json!({"name": "original"})).unwrap();
        j.save_before_image("company", "c1", &serde_json::json!({"name": "changed by us"})).unwrap();
        let images = j.before_images().unwrap();
        assert_eq!(images, vec![("company".into(), "c1".into(), serde_json::json!({"name": "original"}))]);
    }

    #[test]
    fn forgetting_rows_removes_them() {
        let (_dir, mut j) = journal();
        j.mark_written("notes", &[("1", "a"), ("2", "b")]).unwrap();
        j.forget_rows("notes", &["1"]).unwrap();
        assert_eq!(j.state("notes", "1").unwrap(), None);
        assert!(j.state("notes", "2").unwrap().is_some());
    }

    #[test]
    fn problems_added_once_are_not_repeated_and_history_clears() {
        let (_dir, mut j) = journal();
        let p = Problem::new("contacts", "type labels are lost").record("9").field("emails");
        let other = Problem::new("contacts", "type labels are lost").record("10").field("emails");
        j.add_problems_once(&[p.clone(), other.clone()]).unwrap();
        j.add_problems_once(std::slice::from_ref(&p)).unwrap();
        assert_eq!(j.problems().unwrap(), vec![p, other]);
        assert_eq!(j.problem_count().unwrap(), 2, "counted without reading them");
        j.record_throughput(1, "contacts", 2).unwrap();
        j.set_meta("intent:x", "pending").unwrap();
        j.set_meta("migration_note", "kept").unwrap();
        j.clear_run_history("intent:").unwrap();
        assert!(j.problems().unwrap().is_empty());
        assert!(j.throughput().unwrap().is_empty());
        assert_eq!(j.meta("intent:x").unwrap(), None);
        assert_eq!(j.meta("migration_note").unwrap().as_deref(), Some("kept"));
    }

    #[test]
    fn a_journal_from_a_newer_ferry_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.journal");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", FORMAT + 1).unwrap();
        let err = Journal::open(&path).unwrap_err();
        assert!(matches!(err, JournalError::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("m.journal"));
    }

    #[test]
    fn each_problem_is_handed_over_once_at_its_first_place() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j")).unwrap();
        let p = |key: &str, message: &str| Problem::new("contacts", message).record(key).field("emails");
        for problem in [p("1", "a"), p("2", "a"), p("1", "a"), p("1", "b"), p("2", "a"), p("3", "a")] {
            j.add_problem(&problem).unwrap();
        }
        let mut once = Vec::new();
        j.for_each_problem(|p| {
            once.push(p);
            Ok::<_, JournalError>(())
        })
        .unwrap();
        assert_eq!(once, vec![p("1", "a"), p("2", "a"), p("1", "b"), p("3", "a")]);
        assert_eq!(j.problems().unwrap().len(), 6, "problems() shows what is kept, repeats included");
        let mut calls = 0;
        let stopped = j.for_each_problem(|_| {
            calls += 1;
            Err(JournalError::Corrupt { path: dir.path().into(), column: "test", value: String::new() })
        });
        assert!(stopped.is_err() && calls == 1, "stops at the first error");
    }
}
