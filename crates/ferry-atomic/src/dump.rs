//! Reading a plain-SQL dump (pg_dump, `supabase db dump`, a downloaded Supabase backup) without a database.
//!
//! The file is read twice, streaming both times: a first pass collects the structure (`CREATE TABLE`, enum
//! types, constraints, functions, triggers, views, policies, cron jobs) while skipping data; a second pass decodes
//! `COPY … FROM stdin` blocks and `INSERT` statements row by row. Nothing but one statement or one row is held
//! in memory at a time.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use ferry_core::{Problem, Record};

use crate::automation::{self, AutomationItem, AutomationKind};
use crate::error::AtomicError;
use crate::model::{Catalog, Column, EnumType, ForeignKey, Table, is_system_schema};
use crate::rows::{Decoded, RowDecoder, decode_line, split_copy_line};
use crate::sql::{self, Spanned, Tok};
use crate::standard::{self, Detection, Generation};

const READ_BUFFER: usize = 256 * 1024;

/// Receives one COPY data line and its line number.
type RowFn<'a> = dyn FnMut(&[u8], u64) -> Result<(), AtomicError> + 'a;

/// What the scanner should do with the rows of a `COPY … FROM stdin` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CopyMode {
    Skip,
    Read,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum LexState {
    Normal,
    Single { escapes: bool },
    Double,
    Dollar(String),
    Block(u32),
}

/// Splits a dump into statements and COPY data lines, tracking line numbers.
struct Scanner<R: BufRead> {
    reader: R,
    path: PathBuf,
    line: u64,
    buf: Vec<u8>,
    stmt: String,
    stmt_line: u64,
    state: LexState,
    saw_header: bool,
    saw_footer: bool,
}

/// A statement's text and its first line.
struct Stmt<'a> {
    text: &'a str,
    line: u64,
}

impl<R: BufRead> Scanner<R> {
    fn new(reader: R, path: &Path) -> Self {
        Scanner {
            reader,
            path: path.to_path_buf(),
            line: 0,
            buf: Vec::with_capacity(64 * 1024),
            stmt: String::new(),
            stmt_line: 0,
            state: LexState::Normal,
            saw_header: false,
            saw_footer: false,
        }
    }

    fn err(
        &self,
        line: u64,
        table: Option<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> AtomicError {
        AtomicError::Dump { path: self.path.clone(), line, table, message: message.into(), hint: hint.into() }
    }

    fn read_line(&mut self) -> Result<bool, AtomicError> {
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf).map_err(|e| AtomicError::io(&self.path, e))?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        Ok(true)
    }

    /// Runs through the whole file. `on_stmt` sees every statement; when it is a `COPY … FROM stdin`, its
    /// answer says whether `on_row` receives the data lines.
    fn run(
        &mut self,
        on_stmt: &mut dyn FnMut(Stmt<'_>, &Path) -> Result<CopyMode, AtomicError>,
        on_row: &mut RowFn<'_>,
    ) -> Result<(), AtomicError> {
        while self.read_line()? {
            if self.line == 1 {
                if self.buf.starts_with(b"PGDMP") {
                    return Err(self.err(
                        1,
                        None,
                        "this is a pg_dump custom-format archive, not a plain-SQL dump",
                        "convert it with `pg_restore --file=dump.sql <archive>` and point ferry at dump.sql",
                    ));
                }
                if self.buf.starts_with(&[0x1f, 0x8b]) {
                    return Err(self.err(
                        1,
                        None,
                        "this file is gzip-compressed",
                        "decompress it first (gunzip) and point ferry at the .sql file",
                    ));
                }
            }
            let raw = std::mem::take(&mut self.buf);
            let result = self.feed_line(&raw, on_stmt, on_row);
            self.buf = raw;
            result?;
        }
        if self.state != LexState::Normal || !self.stmt.trim().is_empty() {
            return Err(self.err(
                self.stmt_line,
                None,
                format!("the file ends in the middle of a statement that starts at line {}", self.stmt_line),
                "the dump is truncated or not SQL; download or produce the backup again",
            ));
        }
        if self.saw_header && !self.saw_footer {
            return Err(self.err(
                self.line,
                None,
                "the dump ends without pg_dump's \"dump complete\" line",
                "the file is truncated; download or produce the backup again",
            ));
        }
        Ok(())
    }

    fn feed_line(
        &mut self,
        raw: &[u8],
        on_stmt: &mut dyn FnMut(Stmt<'_>, &Path) -> Result<CopyMode, AtomicError>,
        on_row: &mut RowFn<'_>,
    ) -> Result<(), AtomicError> {
        let line = match std::str::from_utf8(raw) {
            Ok(l) => l,
            Err(e) => {
                return Err(self.err(
                    self.line,
                    None,
                    format!("not valid UTF-8 text ({e})"),
                    "ferry reads UTF-8 dumps; re-create the dump with --encoding=UTF8",
                ));
            }
        };
        if self.state == LexState::Normal && self.stmt.trim().is_empty() {
            let t = line.trim_start();
            if t.starts_with("-- PostgreSQL database dump complete") {
                self.saw_footer = true;
                return Ok(());
            }
            if t.starts_with("-- PostgreSQL database dump") || t.starts_with("-- PostgreSQL database cluster dump") {
                self.saw_header = true;
                return Ok(());
            }
            // psql meta-commands (\restrict, \connect, \unrestrict) are not SQL
            if t.starts_with('\\') {
                return Ok(());
            }
        }
        let bytes = line.as_bytes();
        let mut i = 0;
        let mut seg_start = 0;
        while i < bytes.len() {
            let c = bytes[i];
            match &mut self.state {
                LexState::Normal => {
                    if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
                        // line comment: keep what came before, drop the rest of the line
                        self.push_seg(&line[seg_start..i]);
                        if !self.stmt.is_empty() {
                            self.stmt.push('\n');
                        }
                        seg_start = bytes.len();
                        i = bytes.len();
                        continue;
                    }
                    if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        self.state = LexState::Block(1);
                        i += 2;
                        continue;
                    }
                    if c == b'\'' {
                        let escapes = i > 0
                            && matches!(bytes[i - 1], b'e' | b'E')
                            && (i < 2 || !(bytes[i - 2].is_ascii_alphanumeric() || bytes[i - 2] == b'_'));
                        self.state = LexState::Single { escapes };
                    } else if c == b'"' {
                        self.state = LexState::Double;
                    } else if c == b'$' {
                        let mut j = i + 1;
                        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                            j += 1;
                        }
                        let prev_ident = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
                        if bytes.get(j) == Some(&b'$')
                            && !prev_ident
                            && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                        {
                            self.state = LexState::Dollar(line[i..=j].to_string());
                            i = j + 1;
                            continue;
                        }
                    } else if c == b';' {
                        self.push_seg(&line[seg_start..=i]);
                        seg_start = i + 1;
                        let stmt = std::mem::take(&mut self.stmt);
                        let stmt_line = self.stmt_line;
                        let mode = on_stmt(Stmt { text: &stmt, line: stmt_line }, &self.path)?;
                        let copy = is_copy_from_stdin(&stmt);
                        if copy {
                            self.read_copy(&stmt, stmt_line, mode, on_row)?;
                            return Ok(());
                        }
                    }
                }
                LexState::Single { escapes } => {
                    if *escapes && c == b'\\' {
                        i += 2;
                        continue;
                    }
                    if c == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        self.state = LexState::Normal;
                    }
                }
                LexState::Double => {
                    if c == b'"' {
                        self.state = LexState::Normal;
                    }
                }
                LexState::Dollar(tag) => {
                    if c == b'$' && line[i..].starts_with(tag.as_str()) {
                        i += tag.len();
                        self.state = LexState::Normal;
                        continue;
                    }
                }
                LexState::Block(depth) => {
                    if c == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        *depth -= 1;
                        if *depth == 0 {
                            self.state = LexState::Normal;
                        }
                        i += 2;
                        continue;
                    }
                    if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        *depth += 1;
                        i += 2;
                        continue;
                    }
                }
            }
            i += 1;
        }
        if seg_start < bytes.len() {
            self.push_seg(&line[seg_start..]);
        }
        Ok(())
    }

    fn push_seg(&mut self, seg: &str) {
        if self.stmt.trim().is_empty() {
            if seg.trim().is_empty() {
                self.stmt.clear();
                return;
            }
            self.stmt.clear();
            self.stmt_line = self.line;
            self.stmt.push_str(seg.trim_start());
            return;
        }
        self.stmt.push_str(seg);
    }

    fn read_copy(
        &mut self,
        stmt: &str,
        stmt_line: u64,
        mode: CopyMode,
        on_row: &mut RowFn<'_>,
    ) -> Result<(), AtomicError> {
        if mode == CopyMode::Skip {
            return self.skip_copy(stmt, stmt_line);
        }
        loop {
            if !self.read_line()? {
                let table = copy_target(stmt);
                return Err(self.err(
                    self.line,
                    table.clone(),
                    format!("the file ends inside the COPY data that starts at line {stmt_line} (no \\. terminator)"),
                    "the dump is truncated; download or produce the backup again",
                ));
            }
            let mut end = self.buf.len();
            if end > 0 && self.buf[end - 1] == b'\n' {
                end -= 1;
                if end > 0 && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
            } else if self.buf[..end] != *b"\\." {
                // last line without a newline: the file was cut inside a row
                let table = copy_target(stmt);
                return Err(self.err(
                    self.line,
                    table,
                    format!("the file ends in the middle of a row of the COPY data that starts at line {stmt_line}"),
                    "the dump is truncated; download or produce the backup again",
                ));
            }
            if self.buf[..end] == *b"\\." {
                return Ok(());
            }
            if mode == CopyMode::Read {
                let line_no = self.line;
                let buf = std::mem::take(&mut self.buf);
                let r = on_row(&buf[..end], line_no);
                self.buf = buf;
                r?;
            }
        }
    }
}

impl<R: BufRead> Scanner<R> {
    /// Skips the data of a COPY block without copying it: scans the reader's buffer for the `\.` line and counts
    /// newlines on the way.
    fn skip_copy(&mut self, stmt: &str, stmt_line: u64) -> Result<(), AtomicError> {
        // `at_line_start`: the next byte begins a line; `partial`: bytes of the current line seen so far that
        // could still be the terminator (`\.` then `\n` or `\r\n`).
        let mut at_line_start = true;
        let mut partial: Vec<u8> = Vec::with_capacity(4);
        loop {
            let buf = self.reader.fill_buf().map_err(|e| AtomicError::io(&self.path, e))?;
            if buf.is_empty() {
                if partial == b"\\." {
                    return Ok(());
                }
                let table = copy_target(stmt);
                return Err(self.err(
                    self.line,
                    table,
                    format!("the file ends inside the COPY data that starts at line {stmt_line} (no \\. terminator)"),
                    "the dump is truncated; download or produce the backup again",
                ));
            }
            let len = buf.len();
            let mut pos = 0;
            let mut found = None;
            while pos < len {
                if at_line_start || !partial.is_empty() {
                    // collect up to the end of this line, at most 3 bytes matter
                    let end = memchr::memchr(b'\n', &buf[pos..]).map(|p| pos + p);
                    let chunk_end = end.unwrap_or(len);
                    if partial.len() < 4 {
                        let take = (chunk_end - pos).min(4 - partial.len());
                        partial.extend_from_slice(&buf[pos..pos + take]);
                    }
                    match end {
                        Some(e) => {
                            self.line += 1;
                            let is_end = partial == b"\\." || partial == b"\\.\r";
                            partial.clear();
                            pos = e + 1;
                            at_line_start = true;
                            if is_end {
                                found = Some(pos);
                                break;
                            }
                        }
                        None => {
                            at_line_start = false;
                            pos = len;
                        }
                    }
                    continue;
                }
                match memchr::memchr(b'\n', &buf[pos..]) {
                    Some(p) => {
                        self.line += 1;
                        pos += p + 1;
                        at_line_start = true;
                    }
                    None => pos = len,
                }
            }
            match found {
                Some(consumed) => {
                    self.reader.consume(consumed);
                    return Ok(());
                }
                None => self.reader.consume(len),
            }
        }
    }
}

fn is_copy_from_stdin(stmt: &str) -> bool {
    let t = stmt.trim_start();
    t.len() > 5
        && t[..5].eq_ignore_ascii_case("copy ")
        && t.trim_end().trim_end_matches(';').trim_end().to_ascii_lowercase().ends_with("from stdin")
}

fn copy_target(stmt: &str) -> Option<String> {
    let toks = sql::lex(stmt).ok()?;
    let (s, n, _) = sql::qualified_name(&toks, 1, "public")?;
    Some(format!("{s}.{n}"))
}

/// Parses `COPY schema.table (cols) FROM stdin`: (schema, table, columns).
fn parse_copy(toks: &[Spanned]) -> Option<(String, String, Option<Vec<String>>)> {
    let (s, n, k) = sql::qualified_name(toks, 1, "public")?;
    let cols = sql::ident_list(toks, k).map(|(c, _)| c);
    Some((s, n, cols))
}

/// One parsed `INSERT`: target and rows of text values.
struct Insert {
    schema: String,
    table: String,
    columns: Option<Vec<String>>,
    rows: Vec<Vec<Option<String>>>,
}

fn parse_insert(text: &str, toks: &[Spanned]) -> Result<Insert, String> {
    // INSERT INTO name [(cols)] VALUES (..), (..) [ON CONFLICT …]
    let (schema, table, mut k) = sql::qualified_name(toks, 2, "public").ok_or("INSERT without a table name")?;
    let mut columns = None;
    if toks.get(k).is_some_and(|t| t.is_punct("(")) {
        let (c, next) = sql::ident_list(toks, k).ok_or("bad column list")?;
        columns = Some(c);
        k = next;
    }
    if toks.get(k).is_some_and(|t| t.is_kw("overriding")) {
        k += 3;
    }
    if !toks.get(k).is_some_and(|t| t.is_kw("values")) {
        return Err("only INSERT … VALUES is supported".into());
    }
    k += 1;
    let mut rows = Vec::new();
    while toks.get(k).is_some_and(|t| t.is_punct("(")) {
        let close = sql::matching_paren(toks, k).ok_or("unbalanced parentheses in VALUES")?;
        let mut row = Vec::new();
        for (a, b) in sql::split_commas(toks, k + 1, close) {
            row.push(literal_text(text, &toks[a..b])?);
        }
        rows.push(row);
        k = close + 1;
        if toks.get(k).is_some_and(|t| t.is_punct(",")) {
            k += 1;
        } else {
            break;
        }
    }
    Ok(Insert { schema, table, columns, rows })
}

/// The PostgreSQL text form of one SQL literal as pg_dump writes it in INSERTs.
fn literal_text(text: &str, toks: &[Spanned]) -> Result<Option<String>, String> {
    // cut a trailing cast: 'x'::jsonb
    let mut end = toks.len();
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.is_punct("(") || t.is_punct("[") {
            depth += 1;
        } else if t.is_punct(")") || t.is_punct("]") {
            depth -= 1;
        } else if depth == 0 && t.is_punct("::") {
            end = i;
            break;
        }
    }
    let toks = &toks[..end];
    match toks {
        [] => Err("empty value".into()),
        [t] => Ok(match &t.tok {
            Tok::Str(s) | Tok::Dollar(s) => Some(s.clone()),
            Tok::Num(n) => Some(n.clone()),
            Tok::Ident { text, quoted: false } if text == "null" => None,
            Tok::Ident { text, quoted: false } if text == "true" || text == "false" => Some(text.clone()),
            _ => Some(text[t.start..t.end].to_string()),
        }),
        [sign, n] if sign.is_punct("-") && matches!(n.tok, Tok::Num(_)) => {
            Ok(Some(text[sign.start..n.end].replace(' ', "")))
        }
        [first, .., last] => Ok(Some(text[first.start..last.end].to_string())),
    }
}

/// Builds the catalog from DDL statements.
#[derive(Default)]
struct SchemaBuilder {
    catalog: Catalog,
    /// Tables only seen through COPY/INSERT column lists (data-only dumps).
    inferred: Vec<String>,
    cron_columns: Vec<String>,
    problems: Vec<Problem>,
}

fn kw_seq(toks: &[Spanned], k: usize, words: &[&str]) -> bool {
    words.iter().enumerate().all(|(i, w)| toks.get(k + i).is_some_and(|t| t.is_kw(w)))
}

impl SchemaBuilder {
    fn table_mut(&mut self, schema: &str, name: &str) -> Option<&mut Table> {
        self.catalog.tables.iter_mut().find(|t| t.schema == schema && t.name == name)
    }

    fn wanted_table(schema: &str, name: &str) -> bool {
        !is_system_schema(schema) || (schema == "auth" && name == "users")
    }

    fn statement(&mut self, text: &str, line: u64, path: &Path) -> Result<CopyMode, AtomicError> {
        let toks = match sql::lex(text) {
            Ok(t) => t,
            Err(e) => {
                return Err(AtomicError::Dump {
                    path: path.to_path_buf(),
                    line,
                    table: None,
                    message: format!("cannot read the statement: {e}"),
                    hint: "the dump is damaged or not produced by pg_dump".into(),
                });
            }
        };
        let Some(first) = toks.first() else { return Ok(CopyMode::Skip) };
        let mut k = 1;
        if first.is_kw("create") {
            if kw_seq(&toks, k, &["or", "replace"]) {
                k += 2;
            }
            while toks.get(k).is_some_and(|t| t.is_kw("unlogged") || t.is_kw("constraint") || t.is_kw("temporary")) {
                k += 1;
            }
            let Some(what) = toks.get(k) else { return Ok(CopyMode::Skip) };
            if what.is_kw("table") {
                self.create_table(&toks, k + 1);
            } else if what.is_kw("type") {
                self.create_enum(&toks, k + 1);
            } else if what.is_kw("function") || what.is_kw("procedure") {
                self.create_function(text, &toks, k + 1);
            } else if what.is_kw("trigger") {
                self.create_trigger(text, &toks, k + 1);
            } else if what.is_kw("view") || kw_seq(&toks, k, &["materialized", "view"]) {
                let mat = what.is_kw("materialized");
                self.create_view(text, &toks, k + if mat { 2 } else { 1 }, mat);
            } else if what.is_kw("policy") {
                self.create_policy(text, &toks, k + 1);
            } else if what.is_kw("extension") {
                let mut j = k + 1;
                if kw_seq(&toks, j, &["if", "not", "exists"]) {
                    j += 3;
                }
                if let Some(n) = toks.get(j).and_then(Spanned::ident) {
                    self.catalog.extensions.push(n.to_string());
                }
            }
        } else if first.is_kw("alter") && toks.get(1).is_some_and(|t| t.is_kw("table")) {
            self.alter_table(text, &toks);
        } else if first.is_kw("copy") {
            if let Some((schema, name, cols)) = parse_copy(&toks) {
                if schema == "cron" && name == "job" {
                    self.cron_columns = cols.unwrap_or_default();
                    return Ok(CopyMode::Read);
                }
                if let Some(cols) = cols {
                    self.infer_table(&schema, &name, &cols);
                }
            }
        } else if first.is_kw("insert") {
            if let Ok(ins) = parse_insert(text, &toks) {
                if ins.schema == "cron" && ins.table == "job" {
                    let cols = ins.columns.clone().unwrap_or_default();
                    for row in &ins.rows {
                        self.cron_row(&cols, row);
                    }
                } else if let Some(cols) = &ins.columns {
                    self.infer_table(&ins.schema, &ins.table, cols);
                }
            }
        } else if first.is_kw("select") {
            self.cron_schedule(&toks);
        }
        Ok(CopyMode::Skip)
    }

    fn infer_table(&mut self, schema: &str, name: &str, cols: &[String]) {
        if !Self::wanted_table(schema, name) || self.catalog.table(schema, name).is_some() {
            return;
        }
        // a data-only dump: take types from Atomic CRM's standard schema, text for anything else
        let columns = cols
            .iter()
            .map(|c| {
                let ty = Generation::ALL
                    .iter()
                    .rev()
                    .flat_map(|g| standard::standard_tables(*g))
                    .filter(|t| schema == "public" && t.name == name)
                    .flat_map(|t| t.columns)
                    .find(|sc| sc.name == c)
                    .map(|sc| sc.ty.to_string());
                let known = ty.is_some();
                let ty = ty.unwrap_or_else(|| match (schema, c.as_str()) {
                    ("auth", "id") => "uuid".into(),
                    ("auth", n) if n.ends_with("_at") || n == "banned_until" => "timestamp with time zone".into(),
                    _ => "text".into(),
                });
                if !known && schema != "auth" {
                    self.problems.push(
                        Problem::new(format!("{schema}.{name}"), "the dump has no CREATE TABLE for this table; the column's type is unknown and its values are read as text")
                            .field(c)
                            .hint("use a dump that includes the schema (not --data-only) to get typed values"),
                    );
                }
                Column { name: c.clone(), native_type: ty, nullable: true, default: None }
            })
            .collect();
        self.inferred.push(format!("{schema}.{name}"));
        let primary_key = if cols.iter().any(|c| c == "id") { vec!["id".to_string()] } else { vec![] };
        self.catalog.tables.push(Table {
            schema: schema.into(),
            name: name.into(),
            columns,
            primary_key,
            foreign_keys: vec![],
            rls_enabled: false,
        });
    }

    fn create_table(&mut self, toks: &[Spanned], mut k: usize) {
        if kw_seq(toks, k, &["if", "not", "exists"]) {
            k += 3;
        }
        let Some((schema, name, k)) = sql::qualified_name(toks, k, "public") else { return };
        if !Self::wanted_table(&schema, &name) || !toks.get(k).is_some_and(|t| t.is_punct("(")) {
            return;
        }
        let Some(close) = sql::matching_paren(toks, k) else { return };
        let mut table = Table {
            schema: schema.clone(),
            name: name.clone(),
            columns: vec![],
            primary_key: vec![],
            foreign_keys: vec![],
            rls_enabled: false,
        };
        for (a, b) in sql::split_commas(toks, k + 1, close) {
            let el = &toks[a..b];
            let Some(head) = el.first() else { continue };
            let is_constraint = head.is_kw("constraint")
                || head.is_kw("primary")
                || head.is_kw("foreign")
                || head.is_kw("unique")
                || head.is_kw("check")
                || head.is_kw("exclude")
                || head.is_kw("like");
            if is_constraint {
                table_constraint(&mut table, el);
            } else {
                column_def(&mut table, el);
            }
        }
        self.catalog.tables.retain(|t| !(t.schema == schema && t.name == name));
        self.catalog.tables.push(table);
    }

    fn create_enum(&mut self, toks: &[Spanned], k: usize) {
        let Some((schema, name, k)) = sql::qualified_name(toks, k, "public") else { return };
        if !kw_seq(toks, k, &["as", "enum"]) || is_system_schema(&schema) {
            return;
        }
        let open = k + 2;
        let Some(close) = sql::matching_paren(toks, open) else { return };
        let labels = toks[open + 1..close]
            .iter()
            .filter_map(|t| match &t.tok {
                Tok::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        self.catalog.enums.push(EnumType { schema, name, labels });
    }

    fn alter_table(&mut self, text: &str, toks: &[Spanned]) {
        let mut k = 2;
        if kw_seq(toks, k, &["if", "exists"]) {
            k += 2;
        }
        if toks.get(k).is_some_and(|t| t.is_kw("only")) {
            k += 1;
        }
        let Some((schema, name, k)) = sql::qualified_name(toks, k, "public") else { return };
        let Some(table) = self.table_mut(&schema, &name) else { return };
        if kw_seq(toks, k, &["add", "constraint"])
            || kw_seq(toks, k, &["add", "primary"])
            || kw_seq(toks, k, &["add", "foreign"])
        {
            table_constraint(table, &toks[k + 1..]);
        } else if kw_seq(toks, k, &["alter", "column"]) {
            let Some(col) = toks.get(k + 2).and_then(Spanned::ident).map(str::to_string) else { return };
            let j = k + 3;
            let default = if kw_seq(toks, j, &["add", "generated", "by", "default", "as", "identity"]) {
                Some("generated by default as identity".to_string())
            } else if kw_seq(toks, j, &["add", "generated", "always", "as", "identity"]) {
                Some("generated always as identity".to_string())
            } else if kw_seq(toks, j, &["set", "default"]) {
                toks.get(j + 2).map(|first| {
                    text[first.start..toks.last().map_or(first.end, |l| l.end)].trim_end_matches(';').trim().to_string()
                })
            } else if kw_seq(toks, j, &["set", "not", "null"]) {
                if let Some(c) = table.columns.iter_mut().find(|c| c.name == col) {
                    c.nullable = false;
                }
                None
            } else {
                None
            };
            if let Some(d) = default
                && let Some(c) = table.columns.iter_mut().find(|c| c.name == col)
            {
                c.default = Some(d);
            }
        } else if kw_seq(toks, k, &["enable", "row", "level", "security"]) {
            table.rls_enabled = true;
        }
    }

    fn create_function(&mut self, text: &str, toks: &[Spanned], k: usize) {
        let Some((schema, name, k)) = sql::qualified_name(toks, k, "public") else { return };
        if is_system_schema(&schema) {
            return;
        }
        let args = if toks.get(k).is_some_and(|t| t.is_punct("(")) {
            sql::matching_paren(toks, k).map(|c| text[toks[k].start..toks[c].end].to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let mut language = "sql".to_string();
        let mut result = String::from("void");
        let mut body = String::new();
        let mut definer = false;
        for (i, t) in toks.iter().enumerate() {
            if t.is_kw("language")
                && let Some(l) = toks.get(i + 1).and_then(Spanned::ident)
            {
                language = l.to_string();
            }
            if t.is_kw("returns") {
                let stop = toks[i + 1..]
                    .iter()
                    .position(|x| {
                        x.is_kw("language")
                            || x.is_kw("as")
                            || x.is_kw("security")
                            || x.is_kw("stable")
                            || x.is_kw("immutable")
                            || x.is_kw("volatile")
                            || x.is_kw("set")
                            || x.is_kw("strict")
                    })
                    .map_or(toks.len(), |p| i + 1 + p);
                result = sql::render_type(&toks[i + 1..stop]);
            }
            if t.is_kw("definer") {
                definer = true;
            }
            if t.is_kw("as")
                && let Some(Tok::Dollar(b) | Tok::Str(b)) = toks.get(i + 1).map(|x| &x.tok)
            {
                body = b.clone();
            }
        }
        let full = format!("{schema}.{name}{args}");
        let mut fallback = automation::describe_function(&language, &result, &body);
        if definer {
            fallback.push_str(" (runs with its owner's rights)");
        }
        self.catalog.automation.push(AutomationItem::new(AutomationKind::Function, full, None, &body, fallback));
    }

    fn create_trigger(&mut self, text: &str, toks: &[Spanned], k: usize) {
        let Some(name) = toks.get(k).and_then(Spanned::ident).map(str::to_string) else { return };
        let Some(on) = toks.iter().position(|t| t.is_kw("on")) else { return };
        let Some((schema, table, _)) = sql::qualified_name(toks, on + 1, "public") else { return };
        if is_system_schema(&schema) && !(schema == "auth" && table == "users") {
            return;
        }
        let def = text.trim_end_matches(';');
        self.catalog.automation.push(AutomationItem::new(
            AutomationKind::Trigger,
            name,
            Some(format!("{schema}.{table}")),
            def,
            automation::describe_trigger(def),
        ));
    }

    fn create_view(&mut self, text: &str, toks: &[Spanned], k: usize, materialized: bool) {
        let Some((schema, name, _)) = sql::qualified_name(toks, k, "public") else { return };
        if is_system_schema(&schema) {
            return;
        }
        let body = toks
            .iter()
            .position(|t| t.is_kw("as"))
            .map(|p| &text[toks.get(p + 1).map_or(text.len(), |t| t.start)..])
            .unwrap_or("");
        let kind = if materialized { AutomationKind::MaterializedView } else { AutomationKind::View };
        self.catalog.automation.push(AutomationItem::new(
            kind,
            format!("{schema}.{name}"),
            None,
            body,
            automation::describe_view(body),
        ));
    }

    fn create_policy(&mut self, text: &str, toks: &[Spanned], k: usize) {
        let Some(name) = toks.get(k).and_then(Spanned::ident).map(str::to_string) else { return };
        if !toks.get(k + 1).is_some_and(|t| t.is_kw("on")) {
            return;
        }
        let Some((schema, table, mut j)) = sql::qualified_name(toks, k + 2, "public") else { return };
        let mut command = "all".to_string();
        let mut roles = "public".to_string();
        let mut using = None;
        let mut check = None;
        while j < toks.len() {
            let t = &toks[j];
            if t.is_kw("for") {
                if let Some(c) = toks.get(j + 1).and_then(Spanned::ident) {
                    command = c.to_string();
                }
                j += 2;
            } else if t.is_kw("to") {
                let mut r = Vec::new();
                j += 1;
                while let Some(x) = toks.get(j).and_then(Spanned::ident) {
                    if x == "using" || x == "with" {
                        break;
                    }
                    r.push(x.to_string());
                    j += 1;
                    if toks.get(j).is_some_and(|t| t.is_punct(",")) {
                        j += 1;
                    } else {
                        break;
                    }
                }
                roles = r.join(", ");
            } else if (t.is_kw("using") || kw_seq(toks, j, &["with", "check"])) && {
                let open = if t.is_kw("using") { j + 1 } else { j + 2 };
                toks.get(open).is_some_and(|x| x.is_punct("("))
            } {
                let is_using = t.is_kw("using");
                let open = if is_using { j + 1 } else { j + 2 };
                let close = sql::matching_paren(toks, open).unwrap_or(toks.len() - 1);
                let expr = text[toks[open].end..toks[close].start].trim().to_string();
                if is_using {
                    using = Some(expr);
                } else {
                    check = Some(expr);
                }
                j = close + 1;
            } else {
                j += 1;
            }
        }
        let def = text.trim_end_matches(';');
        self.catalog.automation.push(AutomationItem::new(
            AutomationKind::Policy,
            name,
            Some(format!("{schema}.{table}")),
            def,
            automation::describe_policy(&command, &roles, using.as_deref(), check.as_deref()),
        ));
    }

    fn cron_schedule(&mut self, toks: &[Spanned]) {
        // SELECT cron.schedule('name', 'schedule', $$command$$) or cron.schedule('schedule', 'command')
        let Some(p) = toks
            .windows(3)
            .position(|w| w[0].ident() == Some("cron") && w[1].is_punct(".") && w[2].ident() == Some("schedule"))
        else {
            return;
        };
        let args: Vec<String> = toks[p + 3..]
            .iter()
            .filter_map(|t| match &t.tok {
                Tok::Str(s) | Tok::Dollar(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let (name, schedule, command) = match args.as_slice() {
            [n, s, c, ..] => (n.clone(), s.clone(), c.clone()),
            [s, c] => (String::from("(unnamed)"), s.clone(), c.clone()),
            _ => return,
        };
        self.push_cron(name, &schedule, &command);
    }

    fn cron_row(&mut self, cols: &[String], row: &[Option<String>]) {
        let get = |n: &str| cols.iter().position(|c| c == n).and_then(|i| row.get(i).cloned().flatten());
        let name =
            get("jobname").or_else(|| get("jobid").map(|id| format!("job {id}"))).unwrap_or_else(|| "(unnamed)".into());
        let schedule = get("schedule").unwrap_or_default();
        let command = get("command").unwrap_or_default();
        self.push_cron(name, &schedule, &command);
    }

    fn push_cron(&mut self, name: String, schedule: &str, command: &str) {
        let def = format!("{schedule} {command}");
        self.catalog.automation.push(AutomationItem::new(
            AutomationKind::CronJob,
            name,
            None,
            &def,
            automation::describe_cron(schedule, command),
        ));
    }
}

fn fk_action(toks: &[Spanned], j: usize) -> (Option<String>, usize) {
    // after ON DELETE / ON UPDATE
    let words: Vec<&str> = toks[j..].iter().take(2).filter_map(Spanned::ident).collect();
    match words.as_slice() {
        ["set", x] => (Some(format!("SET {}", x.to_ascii_uppercase())), j + 2),
        ["no", "action", ..] => (None, j + 2),
        [x, ..] => (Some(x.to_ascii_uppercase()), j + 1),
        _ => (None, j),
    }
}

fn references(toks: &[Spanned], k: usize, columns: Vec<String>, name: Option<String>) -> Option<ForeignKey> {
    // toks[k] is REFERENCES
    let (s, n, mut j) = sql::qualified_name(toks, k + 1, "public")?;
    let mut target_columns = vec!["id".to_string()];
    if let Some((c, next)) = sql::ident_list(toks, j) {
        target_columns = c;
        j = next;
    }
    let mut fk =
        ForeignKey { name, columns, target: format!("{s}.{n}"), target_columns, on_delete: None, on_update: None };
    while j < toks.len() {
        if toks[j].is_kw("on") && toks.get(j + 1).is_some_and(|t| t.is_kw("delete")) {
            let (a, next) = fk_action(toks, j + 2);
            fk.on_delete = a;
            j = next;
        } else if toks[j].is_kw("on") && toks.get(j + 1).is_some_and(|t| t.is_kw("update")) {
            let (a, next) = fk_action(toks, j + 2);
            fk.on_update = a;
            j = next;
        } else {
            j += 1;
        }
    }
    Some(fk)
}

fn table_constraint(table: &mut Table, el: &[Spanned]) {
    let mut k = 0;
    let mut name = None;
    if el.first().is_some_and(|t| t.is_kw("constraint")) {
        name = el.get(1).and_then(Spanned::ident).map(str::to_string);
        k = 2;
    }
    if kw_seq(el, k, &["primary", "key"]) {
        if let Some((cols, _)) = sql::ident_list(el, k + 2) {
            table.primary_key = cols;
        }
    } else if kw_seq(el, k, &["foreign", "key"])
        && let Some((cols, next)) = sql::ident_list(el, k + 2)
        && el.get(next).is_some_and(|t| t.is_kw("references"))
        && let Some(fk) = references(el, next, cols, name)
    {
        table.foreign_keys.retain(|f| f.name.is_none() || f.name != fk.name);
        table.foreign_keys.push(fk);
    }
}

const COLUMN_STOP: [&str; 10] =
    ["not", "null", "default", "constraint", "primary", "references", "unique", "check", "collate", "generated"];

fn column_def(table: &mut Table, el: &[Spanned]) {
    let Some(name) = el.first().and_then(Spanned::ident).map(str::to_string) else { return };
    let stop = el[1..].iter().position(|t| COLUMN_STOP.iter().any(|w| t.is_kw(w))).map_or(el.len(), |p| p + 1);
    let native_type = sql::render_type(&el[1..stop]);
    let mut col = Column { name: name.clone(), native_type, nullable: true, default: None };
    let mut j = stop;
    while j < el.len() {
        let t = &el[j];
        if kw_seq(el, j, &["not", "null"]) {
            col.nullable = false;
            j += 2;
        } else if t.is_kw("null") {
            j += 1;
        } else if t.is_kw("default") {
            let mut depth = 0;
            let mut e = j + 1;
            while e < el.len() {
                let x = &el[e];
                if x.is_punct("(") {
                    depth += 1;
                } else if x.is_punct(")") {
                    depth -= 1;
                } else if depth == 0 && COLUMN_STOP.iter().any(|w| x.is_kw(w)) {
                    break;
                }
                e += 1;
            }
            if e > j + 1 {
                col.default = Some(render_expr(&el[j + 1..e]));
            }
            j = e;
        } else if kw_seq(el, j, &["primary", "key"]) {
            table.primary_key = vec![name.clone()];
            col.nullable = false;
            j += 2;
        } else if t.is_kw("references") {
            if let Some(fk) = references(el, j, vec![name.clone()], None) {
                table.foreign_keys.push(fk);
            }
            // skip the rest of the reference clause
            j += 1;
            while j < el.len() && !COLUMN_STOP.iter().any(|w| el[j].is_kw(w)) {
                j += 1;
            }
        } else if kw_seq(el, j, &["generated", "by", "default", "as", "identity"]) {
            col.default = Some("generated by default as identity".into());
            col.nullable = false;
            j += 5;
        } else if kw_seq(el, j, &["generated", "always", "as", "identity"]) {
            col.default = Some("generated always as identity".into());
            col.nullable = false;
            j += 4;
        } else if t.is_punct("(") {
            j = sql::matching_paren(el, j).map_or(el.len(), |c| c + 1);
        } else {
            j += 1;
        }
    }
    table.columns.push(col);
}

fn render_expr(toks: &[Spanned]) -> String {
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        let text = match &t.tok {
            Tok::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Tok::Ident { text, quoted: true } => format!("\"{text}\""),
            Tok::Ident { text, .. } => text.clone(),
            Tok::Num(n) => n.clone(),
            Tok::Dollar(s) => format!("$${s}$$"),
            Tok::Punct(p) => p.clone(),
        };
        let glue = i == 0
            || t.is_punct("(")
            || t.is_punct(")")
            || t.is_punct("::")
            || t.is_punct(".")
            || t.is_punct(",")
            || toks[i - 1].is_punct("(")
            || toks[i - 1].is_punct("::")
            || toks[i - 1].is_punct(".");
        if !glue {
            out.push(' ');
        }
        out.push_str(&text);
        if t.is_punct(",") {
            out.push(' ');
        }
    }
    out
}

fn open(path: &Path) -> Result<BufReader<File>, AtomicError> {
    let f = File::open(path).map_err(|e| AtomicError::io(path, e))?;
    Ok(BufReader::with_capacity(READ_BUFFER, f))
}

/// The structure of a dump file, read without its data (except cron jobs).
pub fn read_catalog(path: &Path) -> Result<(Catalog, Vec<Problem>), AtomicError> {
    read_catalog_from(open(path)?, path)
}

fn read_catalog_from<R: Read>(reader: BufReader<R>, path: &Path) -> Result<(Catalog, Vec<Problem>), AtomicError> {
    let mut builder = SchemaBuilder::default();
    let mut scanner = Scanner::new(reader, path);
    let cron_rows = std::cell::RefCell::new(Vec::<Vec<Option<String>>>::new());
    {
        let b = std::cell::RefCell::new(&mut builder);
        let mut on_stmt = |s: Stmt<'_>, p: &Path| b.borrow_mut().statement(s.text, s.line, p);
        let mut on_row = |line: &[u8], _n: u64| {
            let fields = split_copy_line(line).unwrap_or_default();
            cron_rows.borrow_mut().push(fields.into_iter().map(|f| f.map(|c| c.into_owned())).collect());
            Ok(())
        };
        scanner.run(&mut on_stmt, &mut on_row)?;
    }
    let cols = builder.cron_columns.clone();
    for row in cron_rows.into_inner() {
        builder.cron_row(&cols, &row);
    }
    let SchemaBuilder { catalog, problems, .. } = builder;
    Ok((catalog, problems))
}

/// Which rows a data pass decodes.
pub(crate) enum TableFilter<'a> {
    /// Every user table plus `auth.users`.
    All,
    /// Only these `schema.table` names.
    Only(&'a [&'a str]),
}

/// Streams the records of a dump: every row of every user table (and `auth.users`) goes to `on_record`;
/// values that cannot be read and rows that do not fit their table go to `on_problem`.
pub(crate) fn read_records(
    path: &Path,
    catalog: &Catalog,
    detection: &Detection,
    filter: TableFilter<'_>,
    on_record: &mut dyn FnMut(Record) -> Result<(), AtomicError>,
    on_problem: &mut dyn FnMut(Problem) -> Result<(), AtomicError>,
) -> Result<(), AtomicError> {
    let reader = open(path)?;
    let path_s = path.display().to_string();
    // Rows are decoded on this thread as they are read: decoding on a second thread was measured slower here
    // (records allocated on one thread and freed on another cost more than they save).
    {
        let mut scanner = Scanner::new(reader, path);
        let pipe = std::cell::RefCell::new(Pipe {
            path: path_s.clone(),
            out: Vec::with_capacity(4),
            problems: Vec::new(),
            ordinal: 0,
            decoder: None,
            on_record,
            on_problem,
        });
        let wanted = |schema: &str, name: &str| match &filter {
            TableFilter::All => SchemaBuilder::wanted_table(schema, name),
            TableFilter::Only(list) => list.iter().any(|q| *q == format!("{schema}.{name}")),
        };
        let mut on_stmt = |s: Stmt<'_>, p: &Path| -> Result<CopyMode, AtomicError> {
            let mut pipe = pipe.borrow_mut();
            pipe.decoder = None;
            let t = s.text.trim_start();
            let head = t.get(..6).unwrap_or("").to_ascii_lowercase();
            let lex = |text: &str| {
                sql::lex(text).map_err(|e| AtomicError::Dump {
                    path: p.to_path_buf(),
                    line: s.line,
                    table: None,
                    message: e,
                    hint: "the dump is damaged".into(),
                })
            };
            if head.starts_with("copy ") {
                let toks = lex(s.text)?;
                if let Some((schema, name, cols)) = parse_copy(&toks)
                    && wanted(&schema, &name)
                    && let Some(table) = catalog.table(&schema, &name)
                {
                    pipe.decoder = Some(std::sync::Arc::new(RowDecoder::new(table, cols.as_deref(), Some(detection))));
                    pipe.ordinal = 0;
                    return Ok(CopyMode::Read);
                }
                return Ok(CopyMode::Skip);
            }
            if head == "insert" {
                let toks = lex(s.text)?;
                let ins = match parse_insert(s.text, &toks) {
                    Ok(i) => i,
                    Err(e) => {
                        (pipe.on_problem)(
                            Problem::new("dump", format!("{path_s}:{}: INSERT not understood: {e}", s.line))
                                .hint("rows of this statement are not migrated; re-create the dump with pg_dump"),
                        )?;
                        return Ok(CopyMode::Skip);
                    }
                };
                if !wanted(&ins.schema, &ins.table) {
                    return Ok(CopyMode::Skip);
                }
                let Some(table) = catalog.table(&ins.schema, &ins.table) else { return Ok(CopyMode::Skip) };
                let decoder = RowDecoder::new(table, ins.columns.as_deref(), Some(detection));
                let mut problems = Vec::new();
                for (n, row) in ins.rows.iter().enumerate() {
                    let fields: Vec<Option<std::borrow::Cow<'_, str>>> =
                        row.iter().map(|v| v.as_deref().map(std::borrow::Cow::Borrowed)).collect();
                    if fields.len() != decoder.width() {
                        (pipe.on_problem)(width_problem(
                            &decoder,
                            &path_s,
                            s.line,
                            fields.len(),
                            &decoder.key_of(&fields, n as u64 + 1),
                        ))?;
                        continue;
                    }
                    let rec = decoder.decode(fields, n as u64 + 1, &mut problems);
                    for pr in problems.drain(..) {
                        (pipe.on_problem)(pr)?;
                    }
                    (pipe.on_record)(rec)?;
                }
            }
            Ok(CopyMode::Skip)
        };
        let mut on_row =
            |line: &[u8], line_no: u64| -> Result<(), AtomicError> { pipe.borrow_mut().push(line, line_no) };
        scanner.run(&mut on_stmt, &mut on_row)
    }
}

/// Decodes COPY rows of the current table and hands them to the sinks.
struct Pipe<'a> {
    path: String,
    out: Vec<Decoded>,
    problems: Vec<Problem>,
    ordinal: u64,
    decoder: Option<std::sync::Arc<RowDecoder>>,
    on_record: &'a mut dyn FnMut(Record) -> Result<(), AtomicError>,
    on_problem: &'a mut dyn FnMut(Problem) -> Result<(), AtomicError>,
}

impl Pipe<'_> {
    fn push(&mut self, line: &[u8], line_no: u64) -> Result<(), AtomicError> {
        self.ordinal += 1;
        let Some(decoder) = &self.decoder else { return Ok(()) };
        decode_line(decoder, line, self.ordinal, Some((&self.path, line_no)), &mut self.out, &mut self.problems);
        for item in self.out.drain(..) {
            match item {
                Decoded::Record(r) => (self.on_record)(r)?,
                Decoded::Problem(p) => (self.on_problem)(p)?,
            }
        }
        Ok(())
    }
}

fn width_problem(decoder: &RowDecoder, path: &str, line: u64, got: usize, key: &str) -> Problem {
    Problem::new(
        &decoder.object,
        format!(
            "{path}:{line}: the row has {got} values but {} has {} columns; it is not migrated",
            decoder.table,
            decoder.width()
        ),
    )
    .record(key)
    .hint("the dump is damaged at this line; repair it or take a new backup")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_of(sql: &str) -> Result<Catalog, AtomicError> {
        let r = BufReader::new(sql.as_bytes());
        read_catalog_from(r, Path::new("test.sql")).map(|(c, _)| c)
    }

    #[test]
    fn reads_create_table_with_inline_and_altered_constraints() {
        let c = catalog_of(
            "CREATE TABLE public.\"contactNotes\" (\n id bigint NOT NULL,\n contact_id bigint NOT NULL REFERENCES public.contacts(id) ON UPDATE CASCADE ON DELETE CASCADE,\n \"text\" text,\n date timestamp with time zone DEFAULT now(),\n attachments jsonb[],\n CONSTRAINT x CHECK ((id > 0))\n);\n\
             ALTER TABLE public.\"contactNotes\" ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (\n SEQUENCE NAME public.\"contactNotes_id_seq\"\n START WITH 1\n);\n\
             ALTER TABLE ONLY public.\"contactNotes\"\n ADD CONSTRAINT \"contactNotes_pkey\" PRIMARY KEY (id);\n\
             CREATE TYPE public.prio AS ENUM (\n 'low',\n 'high'\n);\n",
        )
        .unwrap();
        let t = c.table("public", "contactNotes").unwrap();
        assert_eq!(t.primary_key, vec!["id"]);
        assert_eq!(t.column("id").unwrap().default.as_deref(), Some("generated by default as identity"));
        assert_eq!(t.column("date").unwrap().default.as_deref(), Some("now()"));
        assert_eq!(t.column("attachments").unwrap().native_type, "jsonb[]");
        assert_eq!(t.foreign_keys[0].target, "public.contacts");
        assert_eq!(t.foreign_keys[0].on_delete.as_deref(), Some("CASCADE"));
        assert_eq!(c.enums[0].labels, vec!["low", "high"]);
    }

    #[test]
    fn truncated_copy_names_line_and_table() {
        let err = catalog_of(
            "CREATE TABLE public.tags (id bigint, name text);\nCOPY public.tags (id, name) FROM stdin;\n1\tvip\n",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("test.sql:3") && msg.contains("public.tags") && msg.contains("truncated"), "{msg}");
    }

    #[test]
    fn insert_literals_become_text_values() {
        let text =
            "INSERT INTO public.t (a, b, c, d) VALUES (1, 'it''s', NULL, -2.5), (2, '{\"x\": 1}'::jsonb, true, 3);";
        let toks = sql::lex(text).unwrap();
        let ins = parse_insert(text, &toks).unwrap();
        assert_eq!(ins.columns.unwrap(), vec!["a", "b", "c", "d"]);
        assert_eq!(ins.rows[0], vec![Some("1".into()), Some("it's".into()), None, Some("-2.5".into())]);
        assert_eq!(ins.rows[1][1].as_deref(), Some("{\"x\": 1}"));
        assert_eq!(ins.rows[1][2].as_deref(), Some("true"));
    }
}
