//! PostgreSQL's text representation of values, as found in `COPY … TO STDOUT` output (live) and in dumps, and
//! its decoding into JSON. The live reader and the dump reader both go through this module, which is what makes
//! them produce the same records.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

/// The family of a column type, as far as decoding is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseType {
    /// smallint, integer, bigint, oid.
    Int,
    /// real, double precision.
    Float,
    /// numeric / decimal.
    Numeric,
    /// boolean.
    Bool,
    /// text, varchar, char, citext, uuid, enum types, name: kept as a string.
    Text,
    /// json, jsonb.
    Json,
    /// date (kept as `YYYY-MM-DD`).
    Date,
    /// timestamptz (converted to RFC 3339 in UTC).
    TimestampTz,
    /// timestamp without time zone (`YYYY-MM-DDTHH:MM:SS[.ffffff]`).
    Timestamp,
    /// Anything else (interval, bytea, inet, …): kept as PostgreSQL prints it.
    Other,
}

/// A column type reduced to what decoding needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColType {
    /// The element family.
    pub base: BaseType,
    /// Array dimensions (0 for scalars).
    pub dims: u8,
}

impl ColType {
    /// Whether values of this type are kept as the text PostgreSQL prints.
    pub fn keeps_text(self) -> bool {
        self.dims == 0 && matches!(self.base, BaseType::Text | BaseType::Date | BaseType::Other)
    }

    /// Reads a type as `format_type()` / pg_dump prints it (`bigint`, `jsonb[]`, `extensions.citext`,
    /// `timestamp(3) with time zone`, `character varying(20)`, `public.my_enum`).
    pub fn parse(native: &str) -> ColType {
        let mut t = native.trim().to_ascii_lowercase();
        let mut dims = 0u8;
        while let Some(stripped) = t.strip_suffix("[]") {
            t = stripped.trim_end().to_string();
            dims += 1;
        }
        // `integer ARRAY` / `integer array[3]` spellings
        if let Some(idx) = t.find(" array") {
            t.truncate(idx);
            dims = dims.max(1);
        }
        // strip type modifiers: numeric(5,2), timestamp(3) with time zone
        let mut plain = String::with_capacity(t.len());
        let mut depth = 0;
        for c in t.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => plain.push(c),
                _ => {}
            }
        }
        let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
        let unqualified = plain.rsplit('.').next().unwrap_or(&plain).trim_matches('"');
        let base = match unqualified {
            "smallint" | "integer" | "bigint" | "int" | "int2" | "int4" | "int8" | "oid" | "smallserial" | "serial"
            | "bigserial" => BaseType::Int,
            "real" | "double precision" | "float4" | "float8" | "float" => BaseType::Float,
            "numeric" | "decimal" => BaseType::Numeric,
            "boolean" | "bool" => BaseType::Bool,
            "json" | "jsonb" => BaseType::Json,
            "date" => BaseType::Date,
            "timestamp with time zone" | "timestamptz" => BaseType::TimestampTz,
            "timestamp without time zone" | "timestamp" => BaseType::Timestamp,
            "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "citext" | "uuid" | "name" => {
                BaseType::Text
            }
            "interval"
            | "bytea"
            | "inet"
            | "cidr"
            | "macaddr"
            | "money"
            | "time without time zone"
            | "time with time zone"
            | "time"
            | "timetz"
            | "tsvector"
            | "xml"
            | "bit"
            | "bit varying"
            | "point" => BaseType::Other,
            // user-defined types (enums, domains) print as strings
            _ => BaseType::Text,
        };
        ColType { base, dims }
    }
}

/// Unescapes one field of a text-format COPY row. Returns `None` for `\N` (NULL).
pub fn unescape_copy_field(field: &[u8]) -> Result<Option<Cow<'_, str>>, String> {
    if field == b"\\N" {
        return Ok(None);
    }
    let Some(first) = memchr::memchr(b'\\', field) else {
        return match std::str::from_utf8(field) {
            Ok(s) => Ok(Some(Cow::Borrowed(s))),
            Err(e) => Err(format!("not valid UTF-8: {e}")),
        };
    };
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    let mut next = Some(first);
    while let Some(p) = next {
        out.extend_from_slice(&field[i..p]);
        if p + 1 == field.len() {
            out.push(b'\\');
            i = field.len();
            break;
        }
        let n = field[p + 1];
        i = p + 2;
        match n {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(n - b'0');
                let mut k = 0;
                while k < 2 && i < field.len() && (b'0'..=b'7').contains(&field[i]) {
                    v = v * 8 + u32::from(field[i] - b'0');
                    i += 1;
                    k += 1;
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let mut v = 0u32;
                let mut k = 0;
                while k < 2 && i < field.len() && field[i].is_ascii_hexdigit() {
                    v = v * 16 + char::from(field[i]).to_digit(16).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                if k == 0 {
                    out.push(b'x');
                } else {
                    out.push(v as u8);
                }
            }
            other => out.push(other),
        }
        next = memchr::memchr(b'\\', &field[i..]).map(|q| q + i);
    }
    out.extend_from_slice(&field[i..]);
    String::from_utf8(out).map(|s| Some(Cow::Owned(s))).map_err(|e| format!("not valid UTF-8: {e}"))
}

/// [`unescape_copy_field`] for a field already known to be UTF-8.
pub fn unescape_copy_str(field: &str) -> Result<Option<Cow<'_, str>>, String> {
    if field == "\\N" {
        return Ok(None);
    }
    let bytes = field.as_bytes();
    let Some(first) = memchr::memchr(b'\\', bytes) else {
        return Ok(Some(Cow::Borrowed(field)));
    };
    // Escapes that stand for one character keep the text UTF-8, so it is not checked again; octal and hex escapes
    // (which PostgreSQL never writes, but a hand-made dump may hold) can make any byte: those take the byte path.
    let mut out = String::with_capacity(field.len());
    let mut i = 0;
    let mut next = Some(first);
    while let Some(p) = next {
        out.push_str(&field[i..p]);
        if p + 1 == bytes.len() {
            out.push('\\');
            i = bytes.len();
            break;
        }
        let c = match bytes[p + 1] {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'v' => '\u{b}',
            b'0'..=b'7' | b'x' => return unescape_copy_field(bytes),
            // any other character stands for itself: it starts the next run of text
            _ => {
                i = p + 1;
                next = memchr::memchr(b'\\', &bytes[p + 2..]).map(|q| q + p + 2);
                continue;
            }
        };
        out.push(c);
        i = p + 2;
        next = memchr::memchr(b'\\', &bytes[i..]).map(|q| q + i);
    }
    out.push_str(&field[i..]);
    Ok(Some(Cow::Owned(out)))
}

/// Escapes a string for a text-format COPY field.
pub fn escape_copy_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
}

/// Decodes one value from its PostgreSQL text form, reusing the string when it is kept as text.
pub fn decode_owned(text: Cow<'_, str>, ty: ColType) -> Result<Value, String> {
    if ty.keeps_text() {
        return Ok(Value::String(text.into_owned()));
    }
    decode(&text, ty)
}

/// Decodes one value from its PostgreSQL text form. Errors say what is wrong with the text.
pub fn decode(text: &str, ty: ColType) -> Result<Value, String> {
    if ty.dims > 0 {
        return decode_array(text, ty.base);
    }
    decode_scalar(text, ty.base)
}

fn decode_scalar(text: &str, base: BaseType) -> Result<Value, String> {
    match base {
        BaseType::Text | BaseType::Date | BaseType::Other => Ok(Value::String(text.to_string())),
        BaseType::Int => text.trim().parse::<i64>().map(Value::from).map_err(|_| format!("{text:?} is not an integer")),
        BaseType::Float | BaseType::Numeric => decode_number(text),
        BaseType::Bool => match text.trim() {
            "t" | "true" | "TRUE" | "True" | "y" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
            "f" | "false" | "FALSE" | "False" | "n" | "no" | "off" | "0" => Ok(Value::Bool(false)),
            other => Err(format!("{other:?} is not a boolean")),
        },
        BaseType::Json => serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e})")),
        BaseType::TimestampTz => timestamptz_to_rfc3339(text).map(Value::String),
        BaseType::Timestamp => Ok(Value::String(text.replacen(' ', "T", 1))),
    }
}

fn decode_number(text: &str) -> Result<Value, String> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Value::from(i));
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => {
            Number::from_f64(f).map(Value::Number).ok_or_else(|| format!("{t:?} is not a number"))
        }
        // NaN, Infinity, or beyond f64: keep the exact text
        Ok(_) => Ok(Value::String(t.to_string())),
        Err(_) => Err(format!("{t:?} is not a number")),
    }
}

/// Converts PostgreSQL's ISO timestamptz output (`2024-03-01 10:20:30.5+01`) to RFC 3339 in UTC
/// (`2024-03-01T09:20:30.5Z`). `infinity` and `-infinity` are kept as they are.
pub fn timestamptz_to_rfc3339(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t == "infinity" || t == "-infinity" {
        return Ok(t.to_string());
    }
    if let Some(s) = utc_fast_path(t) {
        return Ok(s);
    }
    let ts = parse_timestamptz(t).ok_or_else(|| format!("{t:?} is not a timestamp with time zone"))?;
    Ok(ts.to_string())
}

/// The shape a session in UTC prints, `YYYY-MM-DD HH:MM:SS[.ffffff]+00`, rewritten without parsing it into a
/// timestamp: the result is exactly what `jiff::Timestamp`'s display gives for it (fraction without trailing
/// zeros, `Z`). Anything else — another offset, a date that does not exist, a leap second, year 9999 — returns `None` and
/// takes the general path.
fn utc_fast_path(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let body = b.strip_suffix(b"+00")?;
    if body.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        body[r].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let seps = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| body[i] != c) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // jiff's timestamps end late on 9999-12-30: leave the last year to the general path
    if year == 0 || year > 9998 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    jiff::civil::Date::new(year as i16, month as i8, day as i8).ok()?;
    let frac = &body[19..];
    let digits = match frac {
        [] => &frac[..0],
        [b'.', d @ ..] if (1..=9).contains(&d.len()) && d.iter().all(u8::is_ascii_digit) => d,
        _ => return None,
    };
    let kept = digits.len() - digits.iter().rev().take_while(|&&c| c == b'0').count();
    let mut out = String::with_capacity(21 + kept);
    out.push_str(&t[..10]);
    out.push('T');
    out.push_str(&t[11..19]);
    if kept > 0 {
        out.push('.');
        out.push_str(&t[20..20 + kept]);
    }
    out.push('Z');
    Some(out)
}

fn parse_timestamptz(t: &str) -> Option<jiff::Timestamp> {
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Some(ts);
    }
    // PostgreSQL prints offsets as +HH, +HH:MM or +HH:MM:SS; normalise to +HH:MM[:SS] and retry.
    let bytes = t.as_bytes();
    let pos = t.rfind(['+', '-']).filter(|&p| p > 10)?;
    let (head, off) = t.split_at(pos);
    let sign = off.chars().next()?;
    let parts: Vec<&str> = off[1..].split(':').collect();
    let norm = match parts.as_slice() {
        [h] if h.len() == 2 => format!("{sign}{h}:00"),
        [h, m] => format!("{sign}{h}:{m}"),
        [h, m, s] => {
            // sub-minute historical offsets (LMT): apply exactly via seconds arithmetic
            let secs: i32 = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60 + s.parse::<i32>().ok()?;
            let civil: jiff::civil::DateTime = head.trim().replacen(' ', "T", 1).parse().ok()?;
            let offset = jiff::tz::Offset::from_seconds(if sign == '-' { -secs } else { secs }).ok()?;
            return offset.to_timestamp(civil).ok();
        }
        _ => return None,
    };
    let _ = bytes;
    format!("{}{}", head.trim().replacen(' ', "T", 1), norm).parse::<jiff::Timestamp>().ok()
}

fn decode_array(text: &str, base: BaseType) -> Result<Value, String> {
    let t = text.trim();
    // optional dimension decoration: [1:3]={...}
    let body = if t.starts_with('[') { t.split_once('=').map(|(_, b)| b).unwrap_or(t) } else { t };
    let mut p = ArrayParser { s: body.as_bytes(), i: 0 };
    let v = p.parse(base)?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the array in {t:?}"));
    }
    Ok(v)
}

struct ArrayParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl ArrayParser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn parse(&mut self, base: BaseType) -> Result<Value, String> {
        self.skip_ws();
        if self.s.get(self.i) != Some(&b'{') {
            return Err("an array starts with '{'".into());
        }
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b'{') => items.push(self.parse(base)?),
                Some(b'"') => {
                    self.i += 1;
                    let mut buf = Vec::new();
                    loop {
                        match self.s.get(self.i) {
                            None => return Err("unterminated quoted array element".into()),
                            Some(b'\\') => {
                                if let Some(&c) = self.s.get(self.i + 1) {
                                    buf.push(c);
                                }
                                self.i += 2;
                            }
                            Some(b'"') => {
                                self.i += 1;
                                break;
                            }
                            Some(&c) => {
                                buf.push(c);
                                self.i += 1;
                            }
                        }
                    }
                    let s = String::from_utf8(buf).map_err(|e| format!("not valid UTF-8: {e}"))?;
                    items.push(decode_scalar(&s, base)?);
                }
                Some(_) => {
                    let start = self.i;
                    while self.i < self.s.len() && self.s[self.i] != b',' && self.s[self.i] != b'}' {
                        self.i += 1;
                    }
                    let raw = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?.trim();
                    if raw.eq_ignore_ascii_case("null") {
                        items.push(Value::Null);
                    } else {
                        items.push(decode_scalar(raw, base)?);
                    }
                }
                None => return Err("unterminated array".into()),
            }
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err("expected ',' or '}' in array".into()),
            }
        }
    }
}

/// Renders a PostgreSQL array literal (`{1,2}` / `{"a b",NULL}`) from already-rendered element texts.
pub fn array_literal<I, S>(items: I) -> String
where
    I: IntoIterator<Item = Option<S>>,
    S: AsRef<str>,
{
    let mut out = String::from("{");
    for (n, item) in items.into_iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        match item {
            None => out.push_str("NULL"),
            Some(s) => {
                out.push('"');
                for c in s.as_ref().chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    out.push('}');
    out
}

/// An empty JSON object, for building records.
pub fn obj() -> Map<String, Value> {
    Map::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(s: &str) -> ColType {
        ColType::parse(s)
    }

    #[test]
    fn type_names_map_to_families() {
        assert_eq!(ty("bigint"), ColType { base: BaseType::Int, dims: 0 });
        assert_eq!(ty("jsonb[]"), ColType { base: BaseType::Json, dims: 1 });
        assert_eq!(ty("extensions.citext"), ColType { base: BaseType::Text, dims: 0 });
        assert_eq!(ty("timestamp(3) with time zone").base, BaseType::TimestampTz);
        assert_eq!(ty("numeric(5,2)").base, BaseType::Numeric);
        assert_eq!(ty("public.deal_priority").base, BaseType::Text);
        assert_eq!(ty("text[][]").dims, 2);
    }

    #[test]
    fn copy_escapes_round_trip() {
        let mut s = String::new();
        escape_copy_into(&mut s, "a\tb\nc\\d\r");
        assert_eq!(unescape_copy_field(s.as_bytes()).unwrap().unwrap(), "a\tb\nc\\d\r");
        assert_eq!(unescape_copy_field(b"\\N").unwrap(), None);
        assert_eq!(unescape_copy_field(b"\\101\\x42").unwrap().unwrap(), "AB");
    }

    #[test]
    fn unescaping_text_gives_what_unescaping_bytes_gives() {
        let pieces = [
            "a", "é", "😀", "\\\\", "\\n", "\\t", "\\r", "\\b", "\\f", "\\v", "\\é", "\\\"", "\\101", "\\x41", "\\x",
            "\\N", "N",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..5_000 {
            let mut field = String::new();
            for _ in 0..(n % 7) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                field.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            if n % 11 == 0 {
                field.push('\\');
            }
            assert_eq!(unescape_copy_str(&field), unescape_copy_field(field.as_bytes()), "{field:?}");
        }
        assert_eq!(unescape_copy_str("a\\nb\\\\c").unwrap().unwrap(), "a\nb\\c");
    }

    #[test]
    fn timestamps_become_utc_rfc3339() {
        assert_eq!(timestamptz_to_rfc3339("2024-03-01 10:20:30.5+01").unwrap(), "2024-03-01T09:20:30.5Z");
        assert_eq!(timestamptz_to_rfc3339("2024-03-01 10:20:30+05:30").unwrap(), "2024-03-01T04:50:30Z");
        assert_eq!(timestamptz_to_rfc3339("2024-03-01 10:20:30+00").unwrap(), "2024-03-01T10:20:30Z");
        assert_eq!(timestamptz_to_rfc3339("1890-01-01 00:00:00+00:09:21").unwrap(), "1889-12-31T23:50:39Z");
        assert!(timestamptz_to_rfc3339("yesterday").is_err());
    }

    #[test]
    fn utc_fast_path_matches_the_general_path() {
        // every shape the fast path takes must give exactly what parsing into a timestamp gives
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let fracs = ["", ".5", ".000001", ".123456", ".100000", ".0", ".120", ".999999999"];
        let mut checked = 0;
        for _ in 0..20_000 {
            let text = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{}+00",
                [1, 999, 1000, 1970, 2000, 2024, 2038, 9999][next(8) as usize],
                next(13),
                next(32),
                next(25),
                next(61),
                next(61),
                fracs[next(fracs.len() as u64) as usize]
            );
            let general = parse_timestamptz(&text).map(|ts| ts.to_string());
            if let Some(fast) = utc_fast_path(&text) {
                assert_eq!(Some(&fast), general.as_ref(), "{text}");
                checked += 1;
            }
        }
        assert!(checked > 10_000, "the fast path took only {checked} values");
        for odd in
            ["2024-02-30 10:00:00+00", "2024-03-01 24:00:00+00", "2024-03-01 10:00:60+00", "0000-01-01 00:00:00+00"]
        {
            assert_eq!(utc_fast_path(odd), None, "{odd}");
        }
        assert_eq!(utc_fast_path("2024-03-01 10:00:00+01"), None);
        assert_eq!(timestamptz_to_rfc3339("2024-03-01 10:20:30.120+00").unwrap(), "2024-03-01T10:20:30.12Z");
    }

    #[test]
    fn arrays_decode_with_quotes_nulls_and_json() {
        assert_eq!(decode("{1,2,NULL}", ty("bigint[]")).unwrap(), json!([1, 2, null]));
        assert_eq!(
            decode(r#"{"{\"src\": \"a,b\"}","{\"x\": 1}"}"#, ty("jsonb[]")).unwrap(),
            json!([{"src": "a,b"}, {"x": 1}])
        );
        assert_eq!(decode(r#"{"a \"b\"",c}"#, ty("text[]")).unwrap(), json!(["a \"b\"", "c"]));
        assert_eq!(decode("{}", ty("text[]")).unwrap(), json!([]));
        let lit = array_literal([Some("a\"b"), None, Some("c,d")]);
        assert_eq!(decode(&lit, ty("text[]")).unwrap(), json!(["a\"b", null, "c,d"]));
    }

    #[test]
    fn scalars_decode() {
        assert_eq!(decode("t", ty("boolean")).unwrap(), json!(true));
        assert_eq!(decode("12.50", ty("numeric")).unwrap(), json!(12.5));
        assert_eq!(decode("NaN", ty("numeric")).unwrap(), json!("NaN"));
        assert!(decode("{oops", ty("jsonb")).is_err());
        assert_eq!(
            decode("2024-02-29 10:00:00", ty("timestamp without time zone")).unwrap(),
            json!("2024-02-29T10:00:00")
        );
    }
}
