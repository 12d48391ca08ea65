//! Persistence to a SQLite file: every write is applied to the file as it is committed in memory, so the
//! workspace survives a restart (and a crash).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use serde_json::Value;

use crate::error::SandboxError;
use crate::schema::Schema;
use crate::store::{Change, State, StoredFile, Table};

/// An open state file.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
    path: PathBuf,
}

fn err(path: &Path, e: impl std::fmt::Display) -> SandboxError {
    SandboxError::State { path: path.to_path_buf(), reason: e.to_string() }
}

impl Db {
    /// Opens (or creates) the file.
    pub fn open(path: &Path) -> Result<Db, SandboxError> {
        let conn = Connection::open(path).map_err(|e| err(path, e))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS records (object TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
                 PRIMARY KEY (object, id));
             CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, id TEXT NOT NULL, original_name TEXT NOT NULL,
                 content_type TEXT NOT NULL, created_at TEXT NOT NULL, bytes BLOB NOT NULL);",
        )
        .map_err(|e| err(path, e))?;
        Ok(Db { conn, path: path.to_path_buf() })
    }

    /// Loads a saved workspace into `state` (schema, records, files); false when the file is new.
    pub fn load(&self, state: &mut State) -> Result<bool, SandboxError> {
        let p = &self.path;
        let schema: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0))
            .map(Some)
            .or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(None) } else { Err(e) })
            .map_err(|e| err(p, e))?;
        let Some(schema) = schema else { return Ok(false) };
        state.schema = serde_json::from_str::<Schema>(&schema).map_err(|e| err(p, format!("metadata: {e}")))?;
        if let Ok(ws) = self.conn.query_row("SELECT value FROM meta WHERE key = 'workspace_id'", [], |r| r.get(0)) {
            state.workspace_id = ws;
        }
        state.tables = state.schema.objects.iter().map(|o| (o.name_singular.clone(), Table::default())).collect();
        let mut stmt = self.conn.prepare("SELECT object, id, data FROM records").map_err(|e| err(p, e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(|e| err(p, e))?;
        for row in rows {
            let (object, id, data) = row.map_err(|e| err(p, e))?;
            let v: Value = serde_json::from_str(&data).map_err(|e| err(p, format!("record {object} {id}: {e}")))?;
            if let Value::Object(m) = v {
                state.tables.entry(object).or_default().rows.insert(id, std::sync::Arc::new(m));
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT path, id, original_name, content_type, created_at, bytes FROM files")
            .map_err(|e| err(p, e))?;
        let files = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    StoredFile {
                        id: r.get(1)?,
                        original_name: r.get(2)?,
                        content_type: r.get(3)?,
                        created_at: r.get(4)?,
                        bytes: r.get(5)?,
                    },
                ))
            })
            .map_err(|e| err(p, e))?;
        for f in files {
            let (path, file) = f.map_err(|e| err(p, e))?;
            state.files.insert(path, file);
        }
        state.reindex_all();
        state.pending.clear();
        Ok(true)
    }

    /// Folds the write-ahead log into the database file.
    pub fn checkpoint(&mut self) -> Result<(), SandboxError> {
        let p = self.path.clone();
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(|e| err(&p, e))
    }

    /// Writes the whole workspace (a new file).
    pub fn save_all(&mut self, state: &State) -> Result<(), SandboxError> {
        let mut changes = vec![Change::Schema];
        for (object, t) in &state.tables {
            changes.extend(t.rows.keys().map(|id| Change::Row(object.clone(), id.clone())));
        }
        changes.extend(state.files.keys().map(|p| Change::File(p.clone())));
        self.apply(state, &changes)
    }

    /// Applies committed changes in one transaction.
    pub fn apply(&mut self, state: &State, changes: &[Change]) -> Result<(), SandboxError> {
        if changes.is_empty() {
            return Ok(());
        }
        let p = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| err(&p, e))?;
        for c in changes {
            match c {
                Change::Row(object, id) => {
                    match state.tables.get(object).and_then(|t| t.rows.get(id)) {
                        Some(row) => tx.execute(
                            "INSERT OR REPLACE INTO records (object, id, data) VALUES (?1, ?2, ?3)",
                            params![object, id, serde_json::to_string(&**row).unwrap_or_default()],
                        ),
                        None => tx.execute("DELETE FROM records WHERE object = ?1 AND id = ?2", params![object, id]),
                    }
                    .map_err(|e| err(&p, e))?;
                }
                Change::Removed(object, id) => {
                    tx.execute("DELETE FROM records WHERE object = ?1 AND id = ?2", params![object, id])
                        .map_err(|e| err(&p, e))?;
                }
                Change::Schema => {
                    let schema = serde_json::to_string(&state.schema).map_err(|e| err(&p, e))?;
                    tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?1)", params![schema])
                        .map_err(|e| err(&p, e))?;
                    tx.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('workspace_id', ?1)",
                        params![state.workspace_id],
                    )
                    .map_err(|e| err(&p, e))?;
                    let known: Vec<String> = state.schema.objects.iter().map(|o| o.name_singular.clone()).collect();
                    let mut stmt = tx.prepare("SELECT DISTINCT object FROM records").map_err(|e| err(&p, e))?;
                    let present: Vec<String> = stmt
                        .query_map([], |r| r.get::<_, String>(0))
                        .map_err(|e| err(&p, e))?
                        .filter_map(Result::ok)
                        .collect();
                    drop(stmt);
                    for o in present.iter().filter(|o| !known.contains(o)) {
                        tx.execute("DELETE FROM records WHERE object = ?1", params![o]).map_err(|e| err(&p, e))?;
                    }
                }
                Change::File(path) => {
                    if let Some(f) = state.files.get(path) {
                        tx.execute(
                            "INSERT OR REPLACE INTO files (path, id, original_name, content_type, created_at, bytes)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![path, f.id, f.original_name, f.content_type, f.created_at, f.bytes],
                        )
                        .map_err(|e| err(&p, e))?;
                    }
                }
            }
        }
        tx.commit().map_err(|e| err(&p, e))
    }
}
