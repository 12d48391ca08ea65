//! `searchVector`: the generated `tsvector` column, emulating PostgreSQL's `to_tsvector('simple', …)` on the
//! expressions the recording shows (02, settings.asExpression) closely enough for the usual text: words,
//! hyphenated words (whole + parts), numbers (signed), e-mails, hosts, URLs (url + host + path), file paths.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::schema::ObjectMeta;

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn sub(row: &Map<String, Value>, field: &str, s: &str) -> String {
    text(row.get(field).and_then(|v| v.get(s)))
}

/// PostgreSQL's text form of a jsonb value (`[{"url": "x", "label": "y"}]`).
fn jsonb_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Array(items) => format!("[{}]", items.iter().map(jsonb_text_inner).collect::<Vec<_>>().join(", ")),
        other => jsonb_text_inner(other),
    }
}

fn jsonb_text_inner(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), jsonb_text_inner(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(_) => jsonb_text(v),
        other => other.to_string(),
    }
}

fn translate(s: &str, from: &str) -> String {
    s.chars().map(|c| if from.contains(c) { ' ' } else { c }).collect()
}

fn strip_keys(s: &str, keys: &[&str]) -> String {
    let mut out = s.to_string();
    for k in keys {
        let pat = format!("\"{k}\": ");
        out = out.replace(&pat, "");
    }
    out
}

/// The search text of a row, per the object's generated-column expression.
pub fn search_text(obj: &ObjectMeta, row: &Map<String, Value>) -> String {
    let t = |k: &str| unaccent(&text(row.get(k)));
    match obj.name_singular.as_str() {
        "company" => {
            let links = row.get("domainName").and_then(|d| d.get("secondaryLinks")).map(jsonb_text).unwrap_or_default();
            [
                t("name"),
                unaccent(&sub(row, "domainName", "primaryLinkLabel")),
                unaccent(&sub(row, "domainName", "primaryLinkUrl")),
                unaccent(&translate(&strip_keys(&links, &["label", "url"]), "[]{}\",:")),
            ]
            .join(" ")
        }
        "person" => {
            let email = sub(row, "emails", "primaryEmail");
            let domain = email.split_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
            let extra = row.get("emails").and_then(|e| e.get("additionalEmails")).map(jsonb_text).unwrap_or_default();
            let phone = sub(row, "phones", "primaryPhoneNumber");
            let calling = sub(row, "phones", "primaryPhoneCallingCode");
            let has_phone = !row.get("phones").and_then(|p| p.get("primaryPhoneNumber")).is_none_or(Value::is_null);
            let has_calling =
                !row.get("phones").and_then(|p| p.get("primaryPhoneCallingCode")).is_none_or(Value::is_null);
            let both = if has_phone && has_calling { format!("{calling}{phone}") } else { String::new() };
            let both_plain =
                if has_phone && has_calling { format!("{}{phone}", calling.replace('+', "")) } else { String::new() };
            let zero = if has_phone { format!("0{phone}") } else { String::new() };
            let more = row.get("phones").and_then(|p| p.get("additionalPhones")).map(jsonb_text).unwrap_or_default();
            [
                unaccent(&sub(row, "name", "firstName")),
                unaccent(&sub(row, "name", "lastName")),
                unaccent(&email),
                unaccent(&domain),
                unaccent(&translate(&extra, "[]\",")),
                unaccent(&translate(&extra.replace('@', " "), "[]\",")),
                phone,
                calling,
                both,
                both_plain,
                zero,
                translate(&strip_keys(&more, &["number", "countryCode", "callingCode"]), "[]{}\",:"),
                t("jobTitle"),
            ]
            .join(" ")
        }
        "task" | "note" => [t("title"), unaccent(&sub(row, "bodyV2", "markdown"))].join(" "),
        "dashboard" => t("title"),
        "workspaceMember" => {
            [unaccent(&sub(row, "name", "firstName")), unaccent(&sub(row, "name", "lastName")), t("userEmail")]
                .join(" ")
        }
        _ => {
            let ident = obj.label_identifier.clone().unwrap_or_else(|| "name".into());
            match row.get(&ident) {
                Some(Value::Object(_)) => [sub(row, &ident, "firstName"), sub(row, &ident, "lastName")].join(" "),
                v => unaccent(&text(v)),
            }
        }
    }
}

/// The `searchVector` value of a row.
pub fn search_vector(obj: &ObjectMeta, row: &Map<String, Value>) -> Value {
    Value::String(to_tsvector(&search_text(obj, row)))
}

/// Removes accents from Latin letters (PostgreSQL `unaccent`), for the common cases.
pub fn unaccent(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
            'ç' => 'c',
            'Ç' => 'C',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'È' | 'É' | 'Ê' | 'Ë' => 'E',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
            'ñ' => 'n',
            'Ñ' => 'N',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
            'ý' | 'ÿ' => 'y',
            'Ý' => 'Y',
            other => other,
        })
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn is_host_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Tries to read a host (`label.label…`, last label with a letter) at the start of `s`; returns its length.
fn host_len(s: &[char]) -> Option<usize> {
    let mut i = 0;
    let mut labels = 0;
    let mut last_label_has_alpha;
    loop {
        let start = i;
        while i < s.len() && is_host_label_char(s[i]) {
            i += 1;
        }
        if i == start || s[start] == '-' || s[i - 1] == '-' {
            return None;
        }
        labels += 1;
        last_label_has_alpha = s[start..i].iter().any(|c| c.is_ascii_alphabetic());
        if i + 1 < s.len() && s[i] == '.' && is_host_label_char(s[i + 1]) {
            i += 1;
            continue;
        }
        break;
    }
    (labels >= 2 && last_label_has_alpha).then_some(i)
}

fn url_path_len(s: &[char]) -> usize {
    s.iter().take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<' | '>' | '\'')).count()
}

/// PostgreSQL-like `to_tsvector('simple', s)`.
pub fn to_tsvector(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut lexemes: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let rest = &chars[i..];
        // protocol: letters followed by "://" (not indexed)
        if c.is_ascii_alphabetic() {
            let n = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            if rest.len() > n + 2 && rest[n] == ':' && rest[n + 1] == '/' && rest[n + 2] == '/' {
                i += n + 3;
                continue;
            }
        }
        // e-mail
        if is_host_label_char(c) || c == '.' || c == '+' {
            let local =
                rest.iter().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')).count();
            if local > 0
                && rest.len() > local + 1
                && rest[local] == '@'
                && let Some(h) = host_len(&rest[local + 1..])
            {
                let email: String = rest[..local + 1 + h].iter().collect();
                lexemes.push(email.to_lowercase());
                i += local + 1 + h;
                continue;
            }
        }
        // host / url
        if is_host_label_char(c)
            && let Some(h) = host_len(rest)
        {
            let host: String = rest[..h].iter().collect();
            if rest.len() > h && rest[h] == '/' {
                let p = url_path_len(&rest[h..]);
                let path: String = rest[h..h + p].iter().collect();
                lexemes.push(format!("{host}{path}").to_lowercase());
                lexemes.push(host.to_lowercase());
                lexemes.push(path.to_lowercase());
                i += h + p;
            } else {
                lexemes.push(host.to_lowercase());
                i += h;
            }
            continue;
        }
        // file path
        if c == '/' && rest.len() > 1 && (rest[1].is_alphanumeric() || rest[1] == '.') {
            let p = url_path_len(rest);
            let path: String = rest[..p].iter().collect();
            lexemes.push(path.to_lowercase());
            i += p;
            continue;
        }
        // signed / unsigned numbers and decimals
        if c.is_ascii_digit() || ((c == '+' || c == '-') && rest.len() > 1 && rest[1].is_ascii_digit()) {
            let start_word = i == 0 || !is_word_char(chars[i - 1]);
            if start_word {
                let mut n = 1;
                while n < rest.len() && rest[n].is_ascii_digit() {
                    n += 1;
                }
                if n + 1 < rest.len() && rest[n] == '.' && rest[n + 1].is_ascii_digit() {
                    n += 1;
                    while n < rest.len() && rest[n].is_ascii_digit() {
                        n += 1;
                    }
                }
                if n >= rest.len() || !rest[n].is_alphabetic() && rest[n] != '-' {
                    let num: String = rest[..n].iter().collect();
                    lexemes.push(num);
                    i += n;
                    continue;
                }
            }
        }
        // words and hyphenated words
        if is_word_char(c) {
            let mut parts: Vec<String> = Vec::new();
            let mut j = i;
            loop {
                let start = j;
                while j < chars.len() && is_word_char(chars[j]) {
                    j += 1;
                }
                parts.push(chars[start..j].iter().collect::<String>().to_lowercase());
                if j + 1 < chars.len() && chars[j] == '-' && is_word_char(chars[j + 1]) {
                    j += 1;
                    continue;
                }
                break;
            }
            if parts.len() > 1 {
                lexemes.push(parts.join("-"));
            }
            lexemes.extend(parts);
            i = j;
            continue;
        }
        i += 1;
    }
    // Lexemes in byte order, each with its positions in order (a stable sort keeps them so), written straight
    // into the answer: `'lexeme':1,4 'other':2`.
    let mut entries: Vec<(String, usize)> =
        lexemes.into_iter().enumerate().map(|(n, l)| (l, (n + 1).min(16383))).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::with_capacity(entries.iter().map(|(l, _)| l.len() + 8).sum());
    let mut previous: Option<&str> = None;
    for (lexeme, position) in &entries {
        if previous == Some(lexeme.as_str()) {
            out.push(',');
        } else {
            if previous.is_some() {
                out.push(' ');
            }
            out.push('\'');
            for c in lexeme.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\'' => out.push_str("''"),
                    c => out.push(c),
                }
            }
            out.push_str("':");
            previous = Some(lexeme);
        }
        let _ = write!(out, "{position}");
    }
    // Kept in every stored row: no spare capacity.
    out.shrink_to_fit();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TargetColumns;
    use crate::schema::Schema;
    use serde_json::json;

    fn obj(name: &str) -> ObjectMeta {
        Schema::standard("2026-01-01T00:00:00.000Z", TargetColumns::Plain, false)
            .ok()
            .and_then(|s| s.object(name).cloned())
            .expect("object")
    }

    #[test]
    fn repeated_lexemes_gather_their_positions_in_byte_order() {
        let v = to_tsvector("b a B O'Neil back\\slash a-b Zed zed 10 b");
        assert_eq!(v, "'10':13 'a':2,9 'a-b':8 'b':1,3,10,14 'back':6 'neil':5 'o':4 'slash':7 'zed':11,12");
    }

    #[test]
    fn company_vector_matches_the_recording() {
        let row = json!({"name": "CTR-Acme", "domainName": {"primaryLinkLabel": "Acme", "primaryLinkUrl": "https://ctr-acme.example.com",
            "secondaryLinks": [{"url": "https://shop.ctr-acme.example.com", "label": "Shop"}]}});
        let v = search_vector(&obj("company"), row.as_object().expect("object"));
        assert_eq!(
            v,
            json!(
                "'/shop.ctr-acme.example.com':7 'acme':3,4 'ctr':2 'ctr-acme':1 'ctr-acme.example.com':5 'https':6 'shop':8"
            )
        );
    }

    #[test]
    fn person_vector_matches_the_recording() {
        let row = json!({"name": {"firstName": "Ada", "lastName": "Lovelace"},
            "emails": {"primaryEmail": "ada@ctr.example.com", "additionalEmails": ["ada.l@ctr.example.com"]},
            "phones": {"primaryPhoneNumber": "612345678", "primaryPhoneCountryCode": "FR", "primaryPhoneCallingCode": "+33",
                "additionalPhones": [{"number": "5550100", "callingCode": "+1", "countryCode": "US"}]},
            "jobTitle": "Analyst"});
        let v = search_vector(&obj("person"), row.as_object().expect("object"));
        assert_eq!(
            v,
            json!(
                "'+1':14 '+33':9 '+33612345678':10 '0612345678':12 '33612345678':11 '5550100':13 '612345678':8 'ada':1 'ada.l':6 'ada.l@ctr.example.com':5 'ada@ctr.example.com':3 'analyst':16 'ctr.example.com':4,7 'lovelace':2 'us':15"
            )
        );
    }

    #[test]
    fn task_and_note_vectors_match_the_recording() {
        let row = json!({"title": "CTR-Call Ada", "bodyV2": {"markdown": "# Call Ada\n\n- ask about the **renewal**\n- send the [deck](https://example.com/deck)\n"}});
        assert_eq!(
            search_vector(&obj("task"), row.as_object().expect("object")),
            json!(
                "'/deck)':16 'about':8 'ada':4,6 'ask':7 'call':3,5 'ctr':2 'ctr-call':1 'deck':13 'example.com':15 'example.com/deck)':14 'renewal':10 'send':11 'the':9,12"
            )
        );
        let row = json!({"title": "CTR-Kickoff notes", "bodyV2": {"markdown": "Kickoff with **Acme**.\n\n1. scope\n2. timeline\n"}});
        assert_eq!(
            search_vector(&obj("note"), row.as_object().expect("object")),
            json!(
                "'1':8 '2':10 'acme':7 'ctr':2 'ctr-kickoff':1 'kickoff':3,5 'notes':4 'scope':9 'timeline':11 'with':6"
            )
        );
    }

    #[test]
    fn bulk_company_and_member_vectors() {
        let row = json!({"name": "CTR-Bulk 121", "domainName": {"primaryLinkLabel": "", "primaryLinkUrl": "https://ctr-bulk-121.example.com", "secondaryLinks": []}});
        assert_eq!(
            search_vector(&obj("company"), row.as_object().expect("object")),
            json!("'121':4 'bulk':3 'ctr':2 'ctr-bulk':1 'ctr-bulk-121.example.com':5")
        );
        let row = json!({"name": {"firstName": "Tim", "lastName": "Apple"}, "userEmail": "tim@apple.dev"});
        assert_eq!(
            search_vector(&obj("workspaceMember"), row.as_object().expect("object")),
            json!("'apple':2 'tim':1 'tim@apple.dev':3")
        );
    }
}
