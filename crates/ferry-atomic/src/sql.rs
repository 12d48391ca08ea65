//! A small SQL lexer for the statements pg_dump writes: enough to read `CREATE TABLE`, `ALTER TABLE`, `CREATE
//! TYPE … AS ENUM`, `INSERT`, `CREATE FUNCTION/TRIGGER/VIEW/POLICY` without a database.

/// One token, with its byte span in the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// An identifier or keyword; `quoted` for `"Name"`. Unquoted ones are lowercased.
    Ident { text: String, quoted: bool },
    /// A string literal's value (escapes resolved).
    Str(String),
    /// A number as written.
    Num(String),
    /// A dollar-quoted body.
    Dollar(String),
    /// Punctuation or operator (`(`, `)`, `,`, `;`, `.`, `::`, `=`, `[`, `]`, `-`, …).
    Punct(String),
}

/// A token and where it is in the statement text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    /// The token.
    pub tok: Tok,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

impl Spanned {
    /// Whether this is the unquoted keyword `kw` (lowercase).
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Ident { text, quoted: false } if text == kw)
    }

    /// Whether this is the punctuation `p`.
    pub fn is_punct(&self, p: &str) -> bool {
        matches!(&self.tok, Tok::Punct(x) if x == p)
    }

    /// The identifier text (quoted or not).
    pub fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Splits a statement into tokens. Comments are skipped. Errors name what is unterminated.
pub fn lex(s: &str) -> Result<Vec<Spanned>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 1;
            i += 2;
            while i < b.len() && depth > 0 {
                if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            continue;
        }
        // E'...' strings with backslash escapes
        if (c == b'e' || c == b'E') && b.get(i + 1) == Some(&b'\'') {
            i += 2;
            let mut v = Vec::new();
            loop {
                match b.get(i) {
                    None => return Err("unterminated string literal".into()),
                    Some(b'\\') => {
                        let n = *b.get(i + 1).ok_or("unterminated string literal")?;
                        i += 2;
                        match n {
                            b'n' => v.push(b'\n'),
                            b't' => v.push(b'\t'),
                            b'r' => v.push(b'\r'),
                            b'b' => v.push(8),
                            b'f' => v.push(12),
                            other => v.push(other),
                        }
                    }
                    Some(b'\'') if b.get(i + 1) == Some(&b'\'') => {
                        v.push(b'\'');
                        i += 2;
                    }
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        v.push(x);
                        i += 1;
                    }
                }
            }
            out.push(Spanned { tok: Tok::Str(String::from_utf8_lossy(&v).into_owned()), start, end: i });
            continue;
        }
        if c == b'\'' {
            i += 1;
            let mut v = String::new();
            loop {
                let rest = &s[i..];
                match rest.find('\'') {
                    None => return Err("unterminated string literal".into()),
                    Some(p) => {
                        v.push_str(&rest[..p]);
                        i += p + 1;
                        if b.get(i) == Some(&b'\'') {
                            v.push('\'');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            out.push(Spanned { tok: Tok::Str(v), start, end: i });
            continue;
        }
        if c == b'"' {
            i += 1;
            let mut v = String::new();
            loop {
                let rest = &s[i..];
                match rest.find('"') {
                    None => return Err("unterminated quoted identifier".into()),
                    Some(p) => {
                        v.push_str(&rest[..p]);
                        i += p + 1;
                        if b.get(i) == Some(&b'"') {
                            v.push('"');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            out.push(Spanned { tok: Tok::Ident { text: v, quoted: true }, start, end: i });
            continue;
        }
        if c == b'$' {
            // $tag$ … $tag$ or $$ … $$ ; otherwise a positional parameter $1
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if b.get(j) == Some(&b'$') && !b[i + 1..j].first().is_some_and(u8::is_ascii_digit) {
                let tag = &s[i..=j];
                let body_start = j + 1;
                match s[body_start..].find(tag) {
                    None => return Err(format!("unterminated dollar-quoted string {tag}")),
                    Some(p) => {
                        let body = s[body_start..body_start + p].to_string();
                        i = body_start + p + tag.len();
                        out.push(Spanned { tok: Tok::Dollar(body), start, end: i });
                        continue;
                    }
                }
            }
            i = j;
            out.push(Spanned { tok: Tok::Punct(s[start..i].to_string()), start, end: i });
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                i += 1;
            }
            out.push(Spanned {
                tok: Tok::Ident { text: s[start..i].to_ascii_lowercase(), quoted: false },
                start,
                end: i,
            });
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || b[i] == b'.'
                    || ((b[i] == b'+' || b[i] == b'-') && matches!(b[i - 1], b'e' | b'E')))
            {
                i += 1;
            }
            out.push(Spanned { tok: Tok::Num(s[start..i].to_string()), start, end: i });
            continue;
        }
        if c == b':' && b.get(i + 1) == Some(&b':') {
            i += 2;
            out.push(Spanned { tok: Tok::Punct("::".into()), start, end: i });
            continue;
        }
        // one character of punctuation (UTF-8 safe: ASCII here)
        i += 1;
        out.push(Spanned { tok: Tok::Punct((c as char).to_string()), start, end: i });
    }
    Ok(out)
}

/// Index of the token closing the parenthesis opened at `open`.
pub fn matching_paren(toks: &[Spanned], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if t.is_punct("(") || t.is_punct("[") {
            depth += 1;
        } else if t.is_punct(")") || t.is_punct("]") {
            depth -= 1;
            if depth == 0 {
                return Some(k);
            }
        }
    }
    None
}

/// Splits `toks[from..to]` at top-level commas.
pub fn split_commas(toks: &[Spanned], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = from;
    for (k, t) in toks.iter().enumerate().take(to).skip(from) {
        if t.is_punct("(") || t.is_punct("[") {
            depth += 1;
        } else if t.is_punct(")") || t.is_punct("]") {
            depth -= 1;
        } else if depth == 0 && t.is_punct(",") {
            parts.push((start, k));
            start = k + 1;
        }
    }
    if start < to {
        parts.push((start, to));
    }
    parts
}

/// Reads a possibly qualified name at `toks[k..]`: returns (schema, name, next index). Unqualified names get
/// `default_schema`.
pub fn qualified_name(toks: &[Spanned], k: usize, default_schema: &str) -> Option<(String, String, usize)> {
    let first = toks.get(k)?.ident()?.to_string();
    if toks.get(k + 1).is_some_and(|t| t.is_punct(".")) {
        let second = toks.get(k + 2)?.ident()?.to_string();
        Some((first, second, k + 3))
    } else {
        Some((default_schema.to_string(), first, k + 1))
    }
}

/// Renders a type from its tokens the way `format_type` prints it (`character varying(20)`, `jsonb[]`,
/// `public."MyType"`).
pub fn render_type(toks: &[Spanned]) -> String {
    let mut out = String::new();
    let mut prev_glue = true;
    for t in toks {
        let (text, glue_before, glue_after) = match &t.tok {
            Tok::Ident { text, quoted: true } => (format!("\"{text}\""), false, false),
            Tok::Ident { text, quoted: false } => (text.clone(), false, false),
            Tok::Num(n) => (n.clone(), false, false),
            Tok::Str(s) => (format!("'{s}'"), false, false),
            Tok::Dollar(s) => (s.clone(), false, false),
            Tok::Punct(p) => {
                let glue_after = matches!(p.as_str(), "(" | "." | "[" | ",");
                (p.clone(), true, glue_after)
            }
        };
        if !out.is_empty() && !glue_before && !prev_glue {
            out.push(' ');
        }
        out.push_str(&text);
        prev_glue = glue_after;
    }
    out
}

/// A column or identifier list `(a, "B", c)` starting at the `(` at `k`: returns the names and the index past `)`.
pub fn ident_list(toks: &[Spanned], k: usize) -> Option<(Vec<String>, usize)> {
    if !toks.get(k)?.is_punct("(") {
        return None;
    }
    let close = matching_paren(toks, k)?;
    let names =
        split_commas(toks, k + 1, close).into_iter().filter_map(|(a, _)| toks[a].ident().map(str::to_string)).collect();
    Some((names, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_strings_dollar_bodies_and_identifiers() {
        let t = lex("CREATE FUNCTION public.f() AS $_$ select 'x;' $_$; -- c\n'it''s' E'a\\nb' \"Mixed\"").unwrap();
        assert!(t[0].is_kw("create"));
        assert!(t.iter().any(|x| x.tok == Tok::Dollar(" select 'x;' ".into())));
        assert!(t.iter().any(|x| x.tok == Tok::Str("it's".into())));
        assert!(t.iter().any(|x| x.tok == Tok::Str("a\nb".into())));
        assert!(t.iter().any(|x| x.tok == Tok::Ident { text: "Mixed".into(), quoted: true }));
        assert!(lex("'open").is_err());
    }

    #[test]
    fn renders_types_like_format_type() {
        let t = lex("character varying(20)").unwrap();
        assert_eq!(render_type(&t), "character varying(20)");
        let t = lex("numeric(5, 2)").unwrap();
        assert_eq!(render_type(&t), "numeric(5,2)");
        let t = lex("jsonb []").unwrap();
        assert_eq!(render_type(&t), "jsonb[]");
        let t = lex("extensions.citext").unwrap();
        assert_eq!(render_type(&t), "extensions.citext");
    }
}
