//! The automation of an Atomic CRM installation — triggers, functions, views, row-level-security policies,
//! pg_cron jobs and Supabase edge functions — listed as items that ferry does not migrate, each with what it does.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AtomicError;

/// The kind of an automation item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutomationKind {
    /// A table trigger.
    Trigger,
    /// A SQL or PL/pgSQL function.
    Function,
    /// A view.
    View,
    /// A materialized view.
    MaterializedView,
    /// A row-level-security policy.
    Policy,
    /// A pg_cron job.
    CronJob,
    /// A Supabase edge function (Deno).
    EdgeFunction,
}

impl AutomationKind {
    /// Human name.
    pub fn as_str(self) -> &'static str {
        match self {
            AutomationKind::Trigger => "trigger",
            AutomationKind::Function => "function",
            AutomationKind::View => "view",
            AutomationKind::MaterializedView => "materialized view",
            AutomationKind::Policy => "policy",
            AutomationKind::CronJob => "cron job",
            AutomationKind::EdgeFunction => "edge function",
        }
    }
}

/// One automation item. None of them migrate: the destination needs its own workflows or permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationItem {
    /// What it is.
    pub kind: AutomationKind,
    /// Its name (`schema.name` for database objects).
    pub name: String,
    /// The table it is attached to (triggers, policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// What it does: from Atomic CRM's documentation for the objects it ships, from the definition otherwise.
    pub description: String,
    /// Whether Atomic CRM ships this object (false: the user added it).
    pub standard: bool,
    /// The definition, shortened (SQL, schedule and command, or the file path).
    pub definition: String,
    /// Always false: automation is listed, not migrated.
    pub migrates: bool,
}

const MAX_DEFINITION: usize = 400;

fn shorten(s: &str) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > MAX_DEFINITION {
        let cut: String = flat.chars().take(MAX_DEFINITION).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

/// What Atomic CRM's own objects do (reference §1.2–§1.5 and §5).
fn known(kind: AutomationKind, name: &str) -> Option<&'static str> {
    let bare = name.rsplit('.').next().unwrap_or(name);
    Some(match (kind, bare) {
        (AutomationKind::Function, "handle_new_user") => {
            "creates a sales row for each new auth user; the first one becomes administrator"
        }
        (AutomationKind::Function, "handle_update_user") => "copies auth user name and email changes into sales",
        (AutomationKind::Function, "set_sales_id_default") => {
            "fills a missing sales_id (owner) with the current user's sale on insert"
        }
        (AutomationKind::Function, "handle_company_saved") => {
            "sets a company's logo to a favicon.show URL from its website when it has none"
        }
        (AutomationKind::Function, "lowercase_email_jsonb") => "lowercases every contact e-mail address on save",
        (AutomationKind::Function, "handle_contact_saved") => {
            "sets a contact's avatar from gravatar or the e-mail domain's favicon when it has none"
        }
        (AutomationKind::Function, "get_avatar_for_email") => {
            "looks up a gravatar (synchronous HTTP call), falls back to the domain favicon; returns 'ERROR' on failure"
        }
        (AutomationKind::Function, "get_domain_favicon") => {
            "builds a favicon.show URL for a domain unless it is a webmail domain"
        }
        (AutomationKind::Function, "handle_contact_note_created_or_updated") => {
            "bumps contacts.last_seen to the note's date"
        }
        (AutomationKind::Function, "cleanup_note_attachments") => {
            "calls the delete_note_attachments edge function when a note or its attachments are deleted"
        }
        (AutomationKind::Function, "get_note_attachments_function_url") => {
            "derives the edge-functions URL from the JWT issuer"
        }
        (AutomationKind::Function, "get_user_id_by_email") => "finds an auth user id by e-mail (service role only)",
        (AutomationKind::Function, "is_admin") => {
            "tells whether the current user is an administrator (used by policies)"
        }
        (AutomationKind::Function, "merge_contacts") => {
            "merges two contacts: moves tasks, notes, deals, e-mails, phones and tags to the winner"
        }
        (AutomationKind::Trigger, "on_auth_user_created") => {
            "auth.users insert → handle_new_user: creates the CRM user (sales row)"
        }
        (AutomationKind::Trigger, "on_auth_user_updated") => {
            "auth.users update → handle_update_user: syncs names and e-mail"
        }
        (AutomationKind::Trigger, "company_saved") => "companies insert/update → handle_company_saved: favicon logo",
        (AutomationKind::Trigger, "10_lowercase_contact_emails") => "contacts save → lowercase_email_jsonb",
        (AutomationKind::Trigger, "20_contact_saved") => {
            "contacts save → handle_contact_saved: gravatar/favicon avatar"
        }
        (AutomationKind::Trigger, "on_public_contact_notes_created_or_updated") => {
            "contact note insert → bumps the contact's last_seen"
        }
        (AutomationKind::View, "companies_summary") => {
            "companies with nb_deals and nb_contacts; the app lists companies through it"
        }
        (AutomationKind::View, "contacts_summary") => {
            "contacts with company_name, e-mail/phone search text and open task count; the app lists contacts through it"
        }
        (AutomationKind::View, "activity_log") => {
            "the dashboard's activity feed: a union of created companies, contacts, notes and deals"
        }
        (AutomationKind::View, "init_state") => "tells the login page whether any user exists yet",
        (AutomationKind::EdgeFunction, "users") => {
            "creates, invites, updates and disables CRM users through Supabase Auth (service role)"
        }
        (AutomationKind::EdgeFunction, "postmark") => {
            "inbound e-mail webhook: finds or creates the contact and company and adds a note with the attachments"
        }
        (AutomationKind::EdgeFunction, "delete_note_attachments") => {
            "deletes a note's files from the attachments bucket when the note or its attachments go away"
        }
        (AutomationKind::EdgeFunction, "merge_contacts") => "merges two contacts on behalf of the UI",
        (AutomationKind::EdgeFunction, "mcp") => {
            "MCP server: lets AI assistants read and change CRM data (Supabase OAuth)"
        }
        _ => {
            if kind == AutomationKind::Trigger {
                if bare.starts_with("set_") && bare.ends_with("sales_id_trigger") {
                    return Some("insert → set_sales_id_default: fills the owner from the current user");
                }
                if bare.contains("delete_note_attachments") {
                    return Some("note delete or attachment change → cleanup_note_attachments (edge function call)");
                }
            }
            return None;
        }
    })
}

impl AutomationItem {
    /// Builds an item, describing it from Atomic CRM's documentation when it is one of its objects, else from
    /// `fallback` (derived from the definition).
    pub fn new(kind: AutomationKind, name: String, on: Option<String>, definition: &str, fallback: String) -> Self {
        let k = known(kind, &name);
        let standard = k.is_some() || (kind == AutomationKind::Policy && on.as_deref().is_some_and(is_atomic_table));
        AutomationItem {
            kind,
            description: k.map(str::to_string).unwrap_or(fallback),
            standard,
            name,
            on,
            definition: shorten(definition),
            migrates: false,
        }
    }
}

fn is_atomic_table(t: &str) -> bool {
    let bare = t.rsplit('.').next().unwrap_or(t);
    crate::standard::canonical_table(bare).is_some() || t == "storage.objects"
}

/// Describes a trigger from its definition: timing, events, table and function.
pub fn describe_trigger(def: &str) -> String {
    let lower = def.to_ascii_lowercase();
    let timing =
        ["before", "after", "instead of"].into_iter().find(|w| lower.contains(&format!(" {w} "))).unwrap_or("");
    let func = lower
        .find("execute function ")
        .or_else(|| lower.find("execute procedure "))
        .map(|p| def[p..].split_whitespace().nth(2).unwrap_or("").to_string())
        .unwrap_or_default();
    format!("runs {func} {timing} changes (user-defined trigger)").replace("  ", " ")
}

/// Describes a function from its language, result and body.
pub fn describe_function(language: &str, result: &str, body: &str) -> String {
    let b = body.to_ascii_lowercase();
    let mut acts = Vec::new();
    for (needle, what) in [
        ("insert into", "inserts rows"),
        ("update ", "updates rows"),
        ("delete from", "deletes rows"),
        ("http", "makes HTTP calls"),
        ("net.", "queues HTTP requests (pg_net)"),
        ("raise exception", "can reject changes"),
    ] {
        if b.contains(needle) {
            acts.push(what);
        }
    }
    let acts = if acts.is_empty() { "computes a value".to_string() } else { acts.join(", ") };
    format!("user-defined {language} function returning {result}: {acts}")
}

/// Describes a view from its definition: the tables it reads.
pub fn describe_view(def: &str) -> String {
    let toks = crate::sql::lex(def).unwrap_or_default();
    let mut tables: Vec<String> = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let mut j = k + 1;
        while toks.get(j).is_some_and(|x| x.is_punct("(")) {
            j += 1;
        }
        if (t.is_kw("from") || t.is_kw("join"))
            && let Some((schema, name, _)) = crate::sql::qualified_name(&toks, j, "public")
        {
            let q = if schema == "public" { name } else { format!("{schema}.{name}") };
            if !tables.contains(&q) {
                tables.push(q);
            }
        }
    }
    if tables.is_empty() {
        "user-defined view".into()
    } else {
        format!("user-defined view reading {}", tables.join(", "))
    }
}

/// Describes a policy: command, roles and condition.
pub fn describe_policy(command: &str, roles: &str, using: Option<&str>, check: Option<&str>) -> String {
    let mut s = format!("allows {} to {roles}", command.to_ascii_uppercase());
    if let Some(u) = using {
        s.push_str(&format!(" where {}", shorten(u)));
    }
    if let Some(c) = check {
        s.push_str(&format!(" with check {}", shorten(c)));
    }
    s
}

/// Describes a pg_cron job.
pub fn describe_cron(schedule: &str, command: &str) -> String {
    format!("runs `{}` on schedule `{schedule}` (pg_cron)", shorten(command))
}

/// Lists the edge functions of a Supabase project. `dir` may be the project folder, its `supabase` folder or
/// `supabase/functions` itself. Folders starting with `_` or `.` (shared code) are skipped.
pub fn edge_functions(dir: &Path) -> Result<Vec<AutomationItem>, AtomicError> {
    let candidates = [dir.join("supabase").join("functions"), dir.join("functions"), dir.to_path_buf()];
    let functions_dir: PathBuf = candidates
        .iter()
        .find(|p| p.ends_with("functions") && p.is_dir())
        .cloned()
        .ok_or_else(|| AtomicError::io(dir, std::io::Error::new(std::io::ErrorKind::NotFound, "no supabase/functions folder here; point at the Supabase project folder (the one containing supabase/)")))?;
    let mut items = Vec::new();
    let entries = std::fs::read_dir(&functions_dir).map_err(|e| AtomicError::io(&functions_dir, e))?;
    let mut dirs: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for d in dirs {
        let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let index = ["index.ts", "index.js", "index.tsx", "main.ts"].iter().map(|f| d.join(f)).find(|p| p.is_file());
        let (definition, fallback) = match &index {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| AtomicError::io(p, e))?;
                let comment = text
                    .lines()
                    .map(str::trim)
                    .find(|l| l.starts_with("//") || l.starts_with("/**") || l.starts_with("* "))
                    .map(|l| l.trim_start_matches(['/', '*', ' ']).to_string())
                    .filter(|l| !l.is_empty());
                let what = comment.unwrap_or_else(|| "user-defined edge function".into());
                (p.display().to_string(), format!("{what} ({} lines of Deno code)", text.lines().count()))
            }
            None => (d.display().to_string(), "edge function folder without an index file".into()),
        };
        items.push(AutomationItem::new(AutomationKind::EdgeFunction, name, None, &definition, fallback));
    }
    Ok(items)
}
