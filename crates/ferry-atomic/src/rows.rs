//! Turning one row's text fields into a [`Record`]: decoding each value and bringing old schema generations to
//! the current shape (table and column renames, single email and phone columns folded into the jsonb arrays).
//! Both readers use this, so a live database and its dump give the same records.

use std::borrow::Cow;

use ferry_core::{Problem, Record};
use serde_json::{Map, Value, json};

use crate::model::Table;
use crate::pgtext::{self, ColType};
use crate::standard::{self, Detection};

#[derive(Debug, Clone)]
enum Role {
    Plain,
    /// Old `contacts.email`: becomes `email_jsonb`.
    LegacyEmail,
    /// Old `contacts.phone_N_number` / `phone_N_type`, folded into `phone_jsonb`.
    LegacyPhone,
}

#[derive(Debug, Clone)]
struct ColDec {
    stored: String,
    out: String,
    ty: ColType,
    role: Role,
}

/// Decodes rows of one table whose fields arrive in a given column order.
#[derive(Debug, Clone)]
pub struct RowDecoder {
    /// `schema.table` as stored.
    pub table: String,
    /// The object name records get (`contact_notes` for `public."contactNotes"`, `schema.table` outside public).
    pub object: String,
    cols: Vec<ColDec>,
    key_cols: Vec<usize>,
    phone_slots: [Option<usize>; 4],
}

/// The object name ferry gives the records of `table`.
pub fn object_name(table: &Table) -> String {
    if table.schema == "public" {
        standard::canonical_table(&table.name).map(str::to_string).unwrap_or_else(|| table.name.clone())
    } else {
        table.qualified()
    }
}

impl RowDecoder {
    /// A decoder for `table` whose rows list `order` columns (the table's own order when `None`).
    /// Unknown column names in `order` are decoded as text.
    pub fn new(table: &Table, order: Option<&[String]>, detection: Option<&Detection>) -> RowDecoder {
        let object = object_name(table);
        let standard_table = table.schema == "public" && standard::canonical_table(&table.name).is_some();
        let names: Vec<String> = match order {
            Some(o) => o.to_vec(),
            None => table.columns.iter().map(|c| c.name.clone()).collect(),
        };
        let legacy_email = object == "contacts" && standard_table && detection.is_some_and(|d| !d.email_jsonb);
        let legacy_phone = object == "contacts" && standard_table && detection.is_some_and(|d| !d.phone_jsonb);
        let mut phone_slots = [None; 4];
        let cols = names
            .iter()
            .enumerate()
            .map(|(idx, name)| {
                let native = table.column(name).map(|c| c.native_type.as_str()).unwrap_or("text");
                let out = if standard_table { standard::canonical_column(&object, name) } else { name };
                let role = match name.as_str() {
                    "email" if legacy_email => Role::LegacyEmail,
                    n if legacy_phone && n.starts_with("phone_") => {
                        let slot = match n {
                            "phone_1_number" => Some((0, true)),
                            "phone_1_type" => Some((0, false)),
                            "phone_2_number" => Some((1, true)),
                            "phone_2_type" => Some((1, false)),
                            _ => None,
                        };
                        match slot {
                            Some((p, is_num)) => {
                                phone_slots[p * 2 + usize::from(!is_num)] = Some(idx);
                                Role::LegacyPhone
                            }
                            None => Role::Plain,
                        }
                    }
                    _ => Role::Plain,
                };
                ColDec { stored: name.clone(), out: out.to_string(), ty: ColType::parse(native), role }
            })
            .collect::<Vec<_>>();
        let mut key_cols: Vec<usize> =
            table.primary_key.iter().filter_map(|pk| cols.iter().position(|c| &c.stored == pk)).collect();
        if key_cols.len() != table.primary_key.len() || key_cols.is_empty() {
            key_cols = cols.iter().position(|c| c.stored == "id").into_iter().collect();
        }
        RowDecoder { table: table.qualified(), object, cols, key_cols, phone_slots }
    }

    /// How many fields a row must have.
    pub fn width(&self) -> usize {
        self.cols.len()
    }

    /// The stored column names in field order.
    pub fn stored_columns(&self) -> impl Iterator<Item = &str> {
        self.cols.iter().map(|c| c.stored.as_str())
    }

    /// The record key of a row: its primary key (or `id`) values joined by `,`, else `#ordinal`.
    pub fn key_of(&self, fields: &[Option<Cow<'_, str>>], ordinal: u64) -> String {
        if self.key_cols.is_empty() {
            return format!("#{ordinal}");
        }
        if let [k] = self.key_cols[..] {
            return fields.get(k).and_then(|f| f.as_deref()).unwrap_or("").to_string();
        }
        let parts: Vec<&str> =
            self.key_cols.iter().map(|&k| fields.get(k).and_then(|f| f.as_deref()).unwrap_or("")).collect();
        parts.join(",")
    }

    /// Decodes one row. Values that do not decode are kept as text and reported in `problems`.
    pub fn decode(&self, mut fields: Vec<Option<Cow<'_, str>>>, ordinal: u64, problems: &mut Vec<Problem>) -> Record {
        let key = self.key_of(&fields, ordinal);
        let mut values = Map::with_capacity(self.cols.len());
        let mut phones_done = false;
        for (idx, col) in self.cols.iter().enumerate() {
            match col.role {
                Role::Plain => {
                    let field = fields.get_mut(idx).and_then(Option::take);
                    let v = match field {
                        None => Value::Null,
                        Some(text) if col.ty.keeps_text() => Value::String(text.into_owned()),
                        Some(text) => match pgtext::decode(&text, col.ty) {
                            Ok(v) => v,
                            Err(msg) => {
                                problems.push(
                                    Problem::new(&self.object, format!("cannot read the value: {msg}"))
                                        .record(&key)
                                        .field(&col.out)
                                        .value(&text)
                                        .hint(format!(
                                            "the value is migrated as text; fix it in {} if it should be a proper value",
                                            self.table
                                        )),
                                );
                                Value::String(text.into_owned())
                            }
                        },
                    };
                    values.insert(col.out.clone(), v);
                }
                Role::LegacyEmail => {
                    let v = match fields.get(idx).and_then(|f| f.as_deref()).map(str::trim).filter(|s| !s.is_empty()) {
                        Some(e) => json!([{"email": e, "type": "Work"}]),
                        None => Value::Null,
                    };
                    values.insert("email_jsonb".into(), v);
                }
                Role::LegacyPhone => {
                    if phones_done {
                        continue;
                    }
                    phones_done = true;
                    let get = |slot: Option<usize>| {
                        slot.and_then(|k| fields.get(k))
                            .and_then(|f| f.as_deref())
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                    };
                    let mut list = Vec::new();
                    for p in 0..2 {
                        if let Some(number) = get(self.phone_slots[p * 2]) {
                            let ty = get(self.phone_slots[p * 2 + 1]).unwrap_or("Work");
                            list.push(json!({"number": number, "type": ty}));
                        }
                    }
                    values.insert("phone_jsonb".into(), if list.is_empty() { Value::Null } else { Value::Array(list) });
                }
            }
        }
        Record { object: self.object.clone(), key, values }
    }
}

/// One decoded row's output, in order.
#[derive(Debug)]
pub(crate) enum Decoded {
    Record(Record),
    Problem(Problem),
}

/// Decodes one COPY line (without its newline) into `out`. `location` is (file, line number) for dumps.
pub(crate) fn decode_line(
    decoder: &RowDecoder,
    line: &[u8],
    ordinal: u64,
    location: Option<(&str, u64)>,
    out: &mut Vec<Decoded>,
    problems: &mut Vec<Problem>,
) {
    let place = || location.map(|(path, l)| format!("{path}:{l}: ")).unwrap_or_default();
    let fields = match split_copy_line(line) {
        Ok(f) => f,
        Err(e) => {
            out.push(Decoded::Problem(
                Problem::new(&decoder.object, format!("{}row cannot be read ({e}); it is not migrated", place()))
                    .record(format!("#{ordinal}"))
                    .hint("repair the row's encoding in the source"),
            ));
            return;
        }
    };
    if fields.len() != decoder.width() {
        out.push(Decoded::Problem(
            Problem::new(
                &decoder.object,
                format!(
                    "{}the row has {} values but {} has {} columns; it is not migrated",
                    place(),
                    fields.len(),
                    decoder.table,
                    decoder.width()
                ),
            )
            .record(decoder.key_of(&fields, ordinal))
            .hint("the row is damaged; repair it in the source or take a new backup"),
        ));
        return;
    }
    let rec = decoder.decode(fields, ordinal, problems);
    out.extend(problems.drain(..).map(Decoded::Problem));
    out.push(Decoded::Record(rec));
}

/// Splits one text-format COPY line (without its newline) into unescaped fields.
pub fn split_copy_line(line: &[u8]) -> Result<Vec<Option<Cow<'_, str>>>, String> {
    // The usual case: the whole line is UTF-8, checked once (SIMD); fields are then cut at tabs (ASCII, so always
    // on a character boundary). A line that is not UTF-8 as a whole goes field by field, so the error names the
    // field's own bytes.
    if let Ok(text) = simdutf8::basic::from_utf8(line) {
        let mut out = Vec::with_capacity(24);
        let mut start = 0;
        for tab in memchr::memchr_iter(b'\t', line) {
            out.push(pgtext::unescape_copy_str(&text[start..tab])?);
            start = tab + 1;
        }
        out.push(pgtext::unescape_copy_str(&text[start..])?);
        return Ok(out);
    }
    let mut out = Vec::with_capacity(24);
    let mut start = 0;
    for tab in memchr::memchr_iter(b'\t', line) {
        out.push(pgtext::unescape_copy_field(&line[start..tab])?);
        start = tab + 1;
    }
    out.push(pgtext::unescape_copy_field(&line[start..])?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Column;

    fn col(name: &str, ty: &str) -> Column {
        Column { name: name.into(), native_type: ty.into(), nullable: true, default: None }
    }

    #[test]
    fn legacy_contacts_fold_into_jsonb_columns() {
        let table = Table {
            schema: "public".into(),
            name: "contacts".into(),
            columns: vec![
                col("id", "bigint"),
                col("email", "text"),
                col("phone_1_number", "text"),
                col("phone_1_type", "text"),
                col("phone_2_number", "text"),
                col("phone_2_type", "text"),
            ],
            primary_key: vec!["id".into()],
            foreign_keys: vec![],
            rls_enabled: false,
        };
        let mut cat = crate::model::Catalog::default();
        cat.tables.push(table.clone());
        let det = Detection {
            generation: standard::Generation::Legacy2024,
            email_jsonb: false,
            phone_jsonb: false,
            snake_case_notes: false,
            snake_case_state_abbr: false,
            configuration_table: false,
            website_citext: false,
            expected_closing_date_is_date: false,
            tasks_due_date_nullable: false,
            favicons_excluded_domains: false,
            enum_labels: true,
        };
        let dec = RowDecoder::new(&table, None, Some(&det));
        let line = b"7\tbob@x.io\t+33 1\tHome\t\\N\t\\N";
        let fields = split_copy_line(line).unwrap();
        let mut problems = vec![];
        let r = dec.decode(fields, 1, &mut problems);
        assert_eq!(r.key, "7");
        assert_eq!(r.get("email_jsonb"), &json!([{"email": "bob@x.io", "type": "Work"}]));
        assert_eq!(r.get("phone_jsonb"), &json!([{"number": "+33 1", "type": "Home"}]));
        assert!(r.values.get("phone_1_number").is_none());
        assert!(problems.is_empty());
    }
}
