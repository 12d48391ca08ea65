//! The staging area: source records kept on local disk between reading and loading.
//!
//! Sources hand records over in whatever order they read them (a dump file lists tables in its own order); the
//! loader needs parents before children. The stage takes records in any order, one transaction per batch, and gives
//! them back object by object in the order they arrived, streaming — memory stays flat whatever the size. It is a
//! SQLite file beside the journal, so a crash after reading does not mean reading again.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use crate::schema::Record;

/// A stage that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("staging file {path}: {source} (check free disk space and that the folder is writable)")]
    Sql { path: PathBuf, source: rusqlite::Error },
    #[error(
        "staging file {path}: record {object} #{key} is damaged ({message}); delete the file to read the source again"
    )]
    Corrupt { path: PathBuf, object: String, key: String, message: String },
}

/// Records buffered before one write transaction.
const BATCH: usize = 2_000;

/// The staging file.
pub struct Stage {
    conn: Connection,
    path: PathBuf,
    pending: Vec<Record>,
    seq: i64,
}

impl std::fmt::Debug for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stage").field("path", &self.path).finish()
    }
}

impl Stage {
    /// Opens (or creates) the staging file at `path`.
    pub fn open(path: &Path) -> Result<Stage, StageError> {
        let wrap = |source| StageError::Sql { path: path.to_path_buf(), source };
        let conn = Connection::open(path).map_err(wrap)?;
        // The stage can always be rebuilt from the source: speed over durability.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "OFF").map_err(wrap)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS staged (
                 object TEXT NOT NULL,
                 key TEXT NOT NULL,
                 seq INTEGER NOT NULL,
                 json TEXT NOT NULL,
                 PRIMARY KEY (object, key)
             ) STRICT, WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS staged_order ON staged (object, seq);",
        )
        .map_err(wrap)?;
        let seq = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM staged", [], |r| r.get(0)).map_err(wrap)?;
        Ok(Stage { conn, path: path.to_path_buf(), pending: Vec::new(), seq })
    }

    fn wrap(&self, source: rusqlite::Error) -> StageError {
        StageError::Sql { path: self.path.clone(), source }
    }

    /// Adds a record. A record with the same object and key as an earlier one replaces it (keeping its place).
    pub fn push(&mut self, record: Record) -> Result<(), StageError> {
        self.pending.push(record);
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes buffered records to disk.
    pub fn flush(&mut self) -> Result<(), StageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let path = self.path.clone();
        let wrap = |source| StageError::Sql { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO staged (object, key, seq, json) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (object, key) DO UPDATE SET json = excluded.json",
                )
                .map_err(wrap)?;
            for r in pending {
                self.seq += 1;
                let json = Value::Object(r.values).to_string();
                stmt.execute(params![r.object, r.key, self.seq, json]).map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    /// How many records of `object` are staged.
    pub fn count(&mut self, object: &str) -> Result<u64, StageError> {
        self.flush()?;
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM staged WHERE object = ?1", [object], |r| r.get(0))
            .map_err(|e| self.wrap(e))?;
        Ok(n as u64)
    }

    /// The objects staged, by name.
    pub fn objects(&mut self) -> Result<Vec<String>, StageError> {
        self.flush()?;
        let mut stmt =
            self.conn.prepare("SELECT DISTINCT object FROM staged ORDER BY object").map_err(|e| self.wrap(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.wrap(e))?;
        rows.collect::<Result<Vec<String>, _>>().map_err(|e| self.wrap(e))
    }

    /// Up to `limit` staged records of `object` that come after position `after` (0 for the start), with their
    /// positions, in arrival order. Paging with the last position returned walks every record once, and lets the
    /// caller await between pages (which [`Stage::for_each`] does not).
    pub fn page(&mut self, object: &str, after: i64, limit: usize) -> Result<Vec<(i64, Record)>, StageError> {
        self.flush()?;
        let path = self.path.clone();
        let wrap = |source| StageError::Sql { path: path.clone(), source };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, key, json FROM staged WHERE object = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")
            .map_err(wrap)?;
        let mut rows = stmt.query(params![object, after, limit as i64]).map_err(wrap)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(wrap)? {
            let seq: i64 = row.get(0).map_err(wrap)?;
            let key: String = row.get(1).map_err(wrap)?;
            let json: String = row.get(2).map_err(wrap)?;
            let values = self.decode(object, &key, &json)?;
            out.push((seq, Record { object: object.to_string(), key, values }));
        }
        Ok(out)
    }

    /// A cursor over every staged record of `object`, `limit` at a time, in the order they were staged.
    pub fn pages(object: &str, limit: usize) -> Pages {
        Pages { object: object.to_string(), after: 0, limit: limit.max(1) }
    }

    /// The staged record `key` of `object`, if any.
    pub fn get(&mut self, object: &str, key: &str) -> Result<Option<Record>, StageError> {
        self.flush()?;
        let path = self.path.clone();
        let wrap = |source| StageError::Sql { path: path.clone(), source };
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT json FROM staged WHERE object = ?1 AND key = ?2")
            .and_then(|mut s| s.query_row(params![object, key], |r| r.get(0)).optional())
            .map_err(wrap)?;
        match json {
            None => Ok(None),
            Some(json) => {
                let values = self.decode(object, key, &json)?;
                Ok(Some(Record { object: object.to_string(), key: key.to_string(), values }))
            }
        }
    }

    fn decode(&self, object: &str, key: &str, json: &str) -> Result<Map<String, Value>, StageError> {
        serde_json::from_str(json).map_err(|e| StageError::Corrupt {
            path: self.path.clone(),
            object: object.to_string(),
            key: key.to_string(),
            message: e.to_string(),
        })
    }

    /// Calls `f` with every staged record of `object`, in the order they were first staged, one at a time.
    /// Stops at the first error `f` returns.
    pub fn for_each<E: From<StageError>>(
        &mut self,
        object: &str,
        mut f: impl FnMut(Record) -> Result<(), E>,
    ) -> Result<(), E> {
        self.flush()?;
        let path = self.path.clone();
        let wrap = |source| StageError::Sql { path: path.clone(), source };
        let mut stmt =
            self.conn.prepare("SELECT key, json FROM staged WHERE object = ?1 ORDER BY seq").map_err(wrap)?;
        let mut rows = stmt.query([object]).map_err(wrap)?;
        while let Some(row) = rows.next().map_err(wrap)? {
            let key: String = row.get(0).map_err(wrap)?;
            let json: String = row.get(1).map_err(wrap)?;
            let values: Map<String, Value> = serde_json::from_str(&json).map_err(|e| StageError::Corrupt {
                path: self.path.clone(),
                object: object.to_string(),
                key: key.clone(),
                message: e.to_string(),
            })?;
            f(Record { object: object.to_string(), key, values })?;
        }
        Ok(())
    }
}

/// Walks one object's staged records a page at a time ([`Stage::pages`]); it holds no borrow of the stage
/// between pages, so the caller can await and use the stage in between.
#[derive(Debug, Clone)]
pub struct Pages {
    object: String,
    after: i64,
    limit: usize,
}

impl Pages {
    /// The next page, or `None` after the last record.
    pub fn next(&mut self, stage: &mut Stage) -> Result<Option<Vec<Record>>, StageError> {
        let page = stage.page(&self.object, self.after, self.limit)?;
        let Some((last, _)) = page.last() else { return Ok(None) };
        self.after = *last;
        Ok(Some(page.into_iter().map(|(_, r)| r).collect()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rec(object: &str, key: &str, name: &str) -> Record {
        let mut r = Record::new(object, key);
        r.values.insert("name".into(), json!(name));
        r
    }

    #[test]
    fn records_come_back_per_object_in_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut stage = Stage::open(&dir.path().join("s")).unwrap();
        stage.push(rec("contacts", "10", "Ada")).unwrap();
        stage.push(rec("companies", "2", "Acme")).unwrap();
        stage.push(rec("contacts", "3", "Bob")).unwrap();
        let mut seen = Vec::new();
        stage
            .for_each::<StageError>("contacts", |r| {
                seen.push((r.key, r.values["name"].clone()));
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, vec![("10".into(), json!("Ada")), ("3".into(), json!("Bob"))]);
        assert_eq!(stage.count("companies").unwrap(), 1);
        assert_eq!(stage.objects().unwrap(), vec!["companies".to_string(), "contacts".to_string()]);
    }

    #[test]
    fn the_same_key_twice_is_kept_once_with_the_latest_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut stage = Stage::open(&dir.path().join("s")).unwrap();
        stage.push(rec("companies", "1", "old")).unwrap();
        stage.push(rec("companies", "2", "other")).unwrap();
        stage.push(rec("companies", "1", "new")).unwrap();
        let mut names = Vec::new();
        stage
            .for_each::<StageError>("companies", |r| {
                names.push(r.values["name"].clone());
                Ok(())
            })
            .unwrap();
        assert_eq!(names, vec![json!("new"), json!("other")]);
    }

    #[test]
    fn pages_walk_every_record_once_and_get_finds_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut stage = Stage::open(&dir.path().join("s")).unwrap();
        for i in 0..7 {
            stage.push(rec("notes", &i.to_string(), "n")).unwrap();
            stage.push(rec("other", &i.to_string(), "o")).unwrap();
        }
        let mut pages = Stage::pages("notes", 3);
        let mut sizes = Vec::new();
        let mut keys = Vec::new();
        while let Some(page) = pages.next(&mut stage).unwrap() {
            sizes.push(page.len());
            keys.extend(page.into_iter().map(|r| r.key));
        }
        assert_eq!(sizes, vec![3, 3, 1]);
        assert_eq!(keys, (0..7).map(|i| i.to_string()).collect::<Vec<_>>());
        assert!(pages.next(&mut stage).unwrap().is_none(), "stays at the end");
        assert!(Stage::pages("nothing", 3).next(&mut stage).unwrap().is_none());
        assert_eq!(stage.get("other", "4").unwrap().unwrap().values["name"], json!("o"));
        assert!(stage.get("notes", "99").unwrap().is_none());
    }

    #[test]
    fn staged_records_survive_reopening_and_large_batches_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        {
            let mut stage = Stage::open(&path).unwrap();
            for i in 0..(BATCH * 2 + 17) {
                stage.push(rec("notes", &i.to_string(), "n")).unwrap();
            }
            stage.flush().unwrap();
        }
        let mut stage = Stage::open(&path).unwrap();
        assert_eq!(stage.count("notes").unwrap(), (BATCH * 2 + 17) as u64);
        stage.push(rec("notes", "new", "n")).unwrap();
        let mut last = String::new();
        stage
            .for_each::<StageError>("notes", |r| {
                last = r.key;
                Ok(())
            })
            .unwrap();
        assert_eq!(last, "new", "records staged after reopening come after the earlier ones");
    }
}
