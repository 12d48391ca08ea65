//! CRM users: `sales` rows joined to `auth.users` for their login e-mail and ban state.

use ferry_core::{Problem, Record};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One CRM user (a `sales` row) with what Supabase Auth knows about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// `sales.id`.
    pub sales_id: String,
    /// `sales.user_id` (the auth user's UUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The login e-mail: `auth.users.email` when known, else `sales.email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the e-mail came from `auth.users`.
    pub email_from_auth: bool,
    /// `sales.administrator`.
    pub administrator: bool,
    /// `sales.disabled`, or a ban in `auth.users.banned_until` that has not expired.
    pub disabled: bool,
    /// `auth.users.last_sign_in_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in_at: Option<String>,
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Joins `sales` records with `auth.users` records (None when the source has no `auth.users`).
pub fn join_users(sales: &[Record], auth_users: Option<&[Record]>) -> (Vec<User>, Vec<Problem>) {
    let mut problems = Vec::new();
    if auth_users.is_none() && !sales.is_empty() {
        problems.push(
            Problem::new("auth.users", "the source has no auth.users table; user e-mails come from sales.email")
                .hint("dump the auth schema too (a full Supabase backup has it) to check login e-mails and bans"),
        );
    }
    let now = jiff::Timestamp::now();
    let users = sales
        .iter()
        .map(|r| {
            let user_id = s(r.get("user_id"));
            let auth = auth_users.and_then(|a| {
                user_id.as_deref().and_then(|uid| a.iter().find(|u| s(u.get("id")).as_deref() == Some(uid)))
            });
            if auth_users.is_some() && auth.is_none() {
                problems.push(
                    Problem::new("sales", "no auth.users row for this user; its e-mail comes from sales.email")
                        .record(&r.key)
                        .field("user_id")
                        .value(user_id.clone().unwrap_or_default())
                        .hint("the user will be invited with sales.email"),
                );
            }
            let sales_email = s(r.get("email"));
            let auth_email = auth.and_then(|a| s(a.get("email")));
            if let (Some(a), Some(se)) = (&auth_email, &sales_email)
                && !a.eq_ignore_ascii_case(se)
            {
                problems.push(
                    Problem::new(
                        "sales",
                        "sales.email differs from the login e-mail in auth.users; the login e-mail is used",
                    )
                    .record(&r.key)
                    .field("email")
                    .value(se),
                );
            }
            let banned = auth
                .and_then(|a| s(a.get("banned_until")))
                .and_then(|b| b.parse::<jiff::Timestamp>().ok())
                .is_some_and(|b| b > now);
            User {
                sales_id: r.key.clone(),
                user_id,
                first_name: s(r.get("first_name")),
                last_name: s(r.get("last_name")),
                email_from_auth: auth_email.is_some(),
                email: auth_email.or(sales_email),
                administrator: r.get("administrator").as_bool().unwrap_or(false),
                disabled: r.get("disabled").as_bool().unwrap_or(false) || banned,
                last_sign_in_at: auth.and_then(|a| s(a.get("last_sign_in_at"))),
            }
        })
        .collect();
    (users, problems)
}
