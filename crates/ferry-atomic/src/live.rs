//! Reading a live Atomic CRM database: connection (rustls TLS for remote hosts, plain TCP for localhost), the
//! catalog, and every table streamed through `COPY (SELECT …) TO STDOUT` inside one
//! `REPEATABLE READ READ ONLY` transaction, so that all tables come from the same snapshot.

use std::sync::Arc;

use ferry_core::{Problem, Record};
use futures::StreamExt;
use tokio_postgres::{Client, IsolationLevel, NoTls, SimpleQueryMessage, Transaction, config::Host, config::SslMode};

use crate::automation::{self, AutomationItem, AutomationKind};
use crate::error::AtomicError;
use crate::model::{Catalog, Column, EnumType, ForeignKey, Table, is_system_schema, quote_ident};
use crate::rows::{Decoded, RowDecoder, decode_line};
use crate::source::PgUrl;
use crate::standard::Detection;

/// How the connection is secured, from the URL's `sslmode` and the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsChoice {
    /// Plain TCP or Unix socket (`sslmode=disable`, or a local host without an explicit sslmode).
    Plain,
    /// TLS without certificate verification (`sslmode=require`/`prefer`, libpq's semantics).
    Encrypt { required: bool },
    /// TLS with certificate and host name verification (`sslmode=verify-ca`/`verify-full`).
    Verify,
}

/// Decides TLS from `sslmode` and the host.
pub fn tls_choice(sslmode: Option<&str>, local: bool) -> Result<TlsChoice, String> {
    Ok(match sslmode {
        Some("disable") => TlsChoice::Plain,
        Some("allow") | Some("prefer") => {
            if local {
                TlsChoice::Plain
            } else {
                TlsChoice::Encrypt { required: false }
            }
        }
        Some("require") => TlsChoice::Encrypt { required: true },
        Some("verify-ca") | Some("verify-full") => TlsChoice::Verify,
        Some(other) => {
            return Err(format!("unknown sslmode {other:?} (use disable, prefer, require, verify-ca or verify-full)"));
        }
        None if local => TlsChoice::Plain,
        None => TlsChoice::Encrypt { required: true },
    })
}

#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn rustls_config(choice: TlsChoice, root_cert: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    if choice == TlsChoice::Verify {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(path) = root_cert {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read sslrootcert {path}: {e}"))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("cannot read sslrootcert {path}: {e}"))?;
                roots.add(cert).map_err(|e| format!("bad certificate in {path}: {e}"))?;
            }
        } else {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    } else {
        Ok(builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider))).with_no_client_auth())
    }
}

/// Opens a connection. Errors carry the URL with its password redacted.
pub async fn connect(url: &PgUrl) -> Result<Client, AtomicError> {
    let redacted = url.redacted();
    let fail = |message: String| AtomicError::Connect { url: redacted.clone(), message };
    let mut parsed = url::Url::parse(url.expose()).map_err(|e| fail(e.to_string()))?;
    let mut sslmode = None;
    let mut root_cert = None;
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| match k.as_ref() {
            "sslmode" => {
                sslmode = Some(v.into_owned());
                None
            }
            "sslrootcert" => {
                root_cert = Some(v.into_owned());
                None
            }
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    parsed.set_query(None);
    if !kept.is_empty() {
        parsed.query_pairs_mut().extend_pairs(kept);
    }
    let mut config: tokio_postgres::Config =
        parsed.as_str().parse().map_err(|e: tokio_postgres::Error| fail(e.to_string()))?;
    if config.get_application_name().is_none() {
        config.application_name("ferry");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(20));
    }
    let local = config.get_hosts().iter().all(|h| match h {
        Host::Tcp(name) => name == "localhost" || name.starts_with("127.") || name == "::1",
        Host::Unix(_) => true,
    });
    let choice = tls_choice(sslmode.as_deref(), local).map_err(fail)?;
    let client = match choice {
        TlsChoice::Plain => {
            config.ssl_mode(SslMode::Disable);
            let (client, conn) = config.connect(NoTls).await.map_err(|e| fail(describe_pg_error(&e)))?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::warn!("database connection closed: {e}");
                }
            });
            client
        }
        TlsChoice::Encrypt { .. } | TlsChoice::Verify => {
            config.ssl_mode(match choice {
                TlsChoice::Encrypt { required: false } => SslMode::Prefer,
                _ => SslMode::Require,
            });
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(
                rustls_config(choice, root_cert.as_deref()).map_err(fail)?,
            );
            let (client, conn) = config.connect(tls).await.map_err(|e| fail(describe_pg_error(&e)))?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::warn!("database connection closed: {e}");
                }
            });
            client
        }
    };
    Ok(client)
}

fn describe_pg_error(e: &tokio_postgres::Error) -> String {
    let mut s = e.to_string();
    if let Some(db) = e.as_db_error() {
        s = format!("{} ({})", db.message(), db.code().code());
    } else if let Some(src) = std::error::Error::source(e) {
        s = format!("{s}: {src}");
    }
    s
}

/// A read-only snapshot of a live database.
pub struct LiveSnapshot<'a> {
    txn: Transaction<'a>,
    url: String,
}

const SESSION: &str = "SET search_path = ''; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; \
    SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'";

impl<'a> LiveSnapshot<'a> {
    /// Prepares the session (UTC, ISO dates, empty search_path so types print schema-qualified like pg_dump)
    /// and starts the `REPEATABLE READ READ ONLY` transaction.
    pub async fn begin(client: &'a mut Client, url: &PgUrl) -> Result<LiveSnapshot<'a>, AtomicError> {
        let redacted = url.redacted();
        client.batch_execute(SESSION).await.map_err(|e| db_err(&redacted, "preparing the session", &e))?;
        let txn = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| db_err(&redacted, "starting a read-only snapshot transaction", &e))?;
        Ok(LiveSnapshot { txn, url: redacted })
    }

    async fn rows(&self, context: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, AtomicError> {
        let msgs = self.txn.simple_query(sql).await.map_err(|e| db_err(&self.url, context, &e))?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect()),
                _ => None,
            })
            .collect())
    }

    /// Reads the catalog: user tables with columns, keys and foreign keys, `auth.users`, enum types and all
    /// automation.
    pub async fn catalog(&self) -> Result<Catalog, AtomicError> {
        let user_schema = "n.nspname NOT IN ('pg_catalog','information_schema','pg_toast','auth','storage','extensions','graphql','graphql_public','realtime','_realtime','vault','pgsodium','pgsodium_masks','net','cron','pgbouncer','_analytics','supabase_functions','supabase_migrations','_supavisor','pgtle','topology') AND n.nspname NOT LIKE 'pg\\_%'";
        let mut catalog = Catalog::default();
        let cols = self
            .rows(
                "reading table columns",
                &format!(
                    "SELECT n.nspname, c.relname, c.relrowsecurity::text, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                     (NOT a.attnotnull)::text, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity::text, a.attgenerated::text \
                     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                     LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum \
                     WHERE c.relkind IN ('r','p') AND NOT c.relispartition AND (({user_schema}) OR (n.nspname = 'auth' AND c.relname = 'users')) AND {} \
                     ORDER BY n.nspname, c.relname, a.attnum",
                    not_ext("c.oid", "pg_catalog.pg_class")
                ),
            )
            .await?;
        for r in cols {
            let [schema, name, rls, col, ty, nullable, default, identity, generated] = &r[..] else { continue };
            let (Some(schema), Some(name), Some(col), Some(ty)) = (schema, name, col, ty) else { continue };
            if catalog.table(schema, name).is_none() {
                catalog.tables.push(Table {
                    schema: schema.clone(),
                    name: name.clone(),
                    columns: vec![],
                    primary_key: vec![],
                    foreign_keys: vec![],
                    rls_enabled: rls.as_deref() == Some("true"),
                });
            }
            let default = match (identity.as_deref(), generated.as_deref()) {
                (Some("d"), _) => Some("generated by default as identity".to_string()),
                (Some("a"), _) => Some("generated always as identity".to_string()),
                (_, Some("s")) => default.clone().map(|d| format!("generated always as ({d}) stored")),
                _ => default.clone(),
            };
            if let Some(t) = catalog.tables.iter_mut().find(|t| &t.schema == schema && &t.name == name) {
                t.columns.push(Column {
                    name: col.clone(),
                    native_type: ty.clone(),
                    nullable: nullable.as_deref() == Some("true"),
                    default,
                });
            }
        }
        let cons = self
            .rows(
                "reading keys",
                "SELECT n.nspname, c.relname, con.conname, con.contype::text, \
                 (SELECT string_agg(a.attname, chr(31) ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord) JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum), \
                 fn.nspname || '.' || fc.relname, \
                 (SELECT string_agg(a.attname, chr(31) ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord) JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum), \
                 con.confupdtype::text, con.confdeltype::text \
                 FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace \
                 WHERE con.contype IN ('p','f') ORDER BY n.nspname, c.relname, con.conname",
            )
            .await?;
        let action = |a: Option<&str>| match a {
            Some("c") => Some("CASCADE".to_string()),
            Some("r") => Some("RESTRICT".to_string()),
            Some("n") => Some("SET NULL".to_string()),
            Some("d") => Some("SET DEFAULT".to_string()),
            _ => None,
        };
        for r in cons {
            let [schema, name, conname, contype, cols, target, tcols, upd, del] = &r[..] else { continue };
            let (Some(schema), Some(name)) = (schema, name) else { continue };
            let Some(t) = catalog.tables.iter_mut().find(|t| &t.schema == schema && &t.name == name) else { continue };
            let split = |s: &Option<String>| {
                s.as_deref().map(|s| s.split('\u{1f}').map(str::to_string).collect::<Vec<_>>()).unwrap_or_default()
            };
            if contype.as_deref() == Some("p") {
                t.primary_key = split(cols);
            } else {
                t.foreign_keys.push(ForeignKey {
                    name: conname.clone(),
                    columns: split(cols),
                    target: target.clone().unwrap_or_default(),
                    target_columns: split(tcols),
                    on_delete: action(del.as_deref()),
                    on_update: action(upd.as_deref()),
                });
            }
        }
        let enums = self
            .rows(
                "reading enum types",
                &format!(
                    "SELECT n.nspname, t.typname, string_agg(e.enumlabel, chr(31) ORDER BY e.enumsortorder) \
                     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
                     WHERE {user_schema} GROUP BY 1, 2 ORDER BY 1, 2"
                ),
            )
            .await?;
        for r in enums {
            if let [Some(schema), Some(name), labels] = &r[..] {
                catalog.enums.push(EnumType {
                    schema: schema.clone(),
                    name: name.clone(),
                    labels: labels
                        .as_deref()
                        .map(|l| l.split('\u{1f}').map(str::to_string).collect())
                        .unwrap_or_default(),
                });
            }
        }
        catalog.extensions = self
            .rows("reading extensions", "SELECT extname FROM pg_catalog.pg_extension ORDER BY 1")
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        catalog.automation = self.automation(user_schema).await?;
        Ok(catalog)
    }

    async fn automation(&self, user_schema: &str) -> Result<Vec<AutomationItem>, AtomicError> {
        let mut items = Vec::new();
        let triggers = self
            .rows(
                "reading triggers",
                &format!(
                    "SELECT n.nspname, c.relname, t.tgname, pg_catalog.pg_get_triggerdef(t.oid) \
                     FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     WHERE NOT t.tgisinternal AND (({user_schema}) OR (n.nspname = 'auth' AND c.relname = 'users')) ORDER BY 1, 2, 3"
                ),
            )
            .await?;
        for r in triggers {
            if let [Some(schema), Some(table), Some(name), Some(def)] = &r[..] {
                items.push(AutomationItem::new(
                    AutomationKind::Trigger,
                    name.clone(),
                    Some(format!("{schema}.{table}")),
                    def,
                    automation::describe_trigger(def),
                ));
            }
        }
        let functions = self
            .rows(
                "reading functions",
                &format!(
                    "SELECT n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid), l.lanname, p.prosecdef::text, \
                     COALESCE(pg_catalog.pg_get_function_result(p.oid), 'void'), p.prosrc \
                     FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
                     WHERE {user_schema} AND {} ORDER BY 1, 2",
                    not_ext("p.oid", "pg_catalog.pg_proc")
                ),
            )
            .await?;
        for r in functions {
            if let [Some(schema), Some(name), args, Some(lang), definer, Some(result), body] = &r[..] {
                let body = body.clone().unwrap_or_default();
                let mut fallback = automation::describe_function(lang, result, &body);
                if definer.as_deref() == Some("true") {
                    fallback.push_str(" (runs with its owner's rights)");
                }
                let full = format!("{schema}.{name}({})", args.clone().unwrap_or_default());
                items.push(AutomationItem::new(AutomationKind::Function, full, None, &body, fallback));
            }
        }
        let views = self
            .rows(
                "reading views",
                &format!(
                    "SELECT n.nspname, c.relname, c.relkind::text, pg_catalog.pg_get_viewdef(c.oid, true) \
                     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relkind IN ('v','m') AND {user_schema} AND {} ORDER BY 1, 2",
                    not_ext("c.oid", "pg_catalog.pg_class")
                ),
            )
            .await?;
        for r in views {
            if let [Some(schema), Some(name), kind, def] = &r[..] {
                let def = def.clone().unwrap_or_default();
                let kind =
                    if kind.as_deref() == Some("m") { AutomationKind::MaterializedView } else { AutomationKind::View };
                items.push(AutomationItem::new(
                    kind,
                    format!("{schema}.{name}"),
                    None,
                    &def,
                    automation::describe_view(&def),
                ));
            }
        }
        let policies = self
            .rows(
                "reading row-level-security policies",
                "SELECT schemaname, tablename, policyname, cmd, array_to_string(roles, ', '), qual, with_check \
                 FROM pg_catalog.pg_policies ORDER BY 1, 2, 3",
            )
            .await?;
        for r in policies {
            if let [Some(schema), Some(table), Some(name), cmd, roles, qual, check] = &r[..] {
                if is_system_schema(schema) && schema != "storage" {
                    continue;
                }
                let def = format!(
                    "POLICY {name} ON {schema}.{table} FOR {} TO {}{}{}",
                    cmd.as_deref().unwrap_or("ALL"),
                    roles.as_deref().unwrap_or("public"),
                    qual.as_deref().map(|q| format!(" USING ({q})")).unwrap_or_default(),
                    check.as_deref().map(|q| format!(" WITH CHECK ({q})")).unwrap_or_default()
                );
                items.push(AutomationItem::new(
                    AutomationKind::Policy,
                    name.clone(),
                    Some(format!("{schema}.{table}")),
                    &def,
                    automation::describe_policy(
                        cmd.as_deref().unwrap_or("all"),
                        roles.as_deref().unwrap_or("public"),
                        qual.as_deref(),
                        check.as_deref(),
                    ),
                ));
            }
        }
        let has_cron =
            self.rows("looking for pg_cron", "SELECT pg_catalog.to_regclass('cron.job') IS NOT NULL").await?;
        if has_cron.first().and_then(|r| r.first().cloned().flatten()).as_deref() == Some("t") {
            let jobs = self
                .rows(
                    "reading pg_cron jobs",
                    "SELECT jobid::text, jobname, schedule, command FROM cron.job ORDER BY jobid",
                )
                .await?;
            for r in jobs {
                if let [id, name, schedule, command] = &r[..] {
                    let name = name.clone().unwrap_or_else(|| format!("job {}", id.clone().unwrap_or_default()));
                    let schedule = schedule.clone().unwrap_or_default();
                    let command = command.clone().unwrap_or_default();
                    items.push(AutomationItem::new(
                        AutomationKind::CronJob,
                        name,
                        None,
                        &format!("{schedule} {command}"),
                        automation::describe_cron(&schedule, &command),
                    ));
                }
            }
        }
        Ok(items)
    }

    /// Streams every row of `table` (ordered by primary key) as records.
    pub async fn read_table(
        &self,
        table: &Table,
        detection: &Detection,
        on_record: &mut (dyn FnMut(Record) -> Result<(), AtomicError> + Send),
        on_problem: &mut (dyn FnMut(Problem) -> Result<(), AtomicError> + Send),
    ) -> Result<u64, AtomicError> {
        let decoder = RowDecoder::new(table, None, Some(detection));
        let cols: Vec<String> = decoder.stored_columns().map(quote_ident).collect();
        let order = if table.primary_key.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", table.primary_key.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "))
        };
        let sql = format!("COPY (SELECT {} FROM {}{order}) TO STDOUT", cols.join(", "), table.sql_name());
        let context = format!("reading table {}", table.qualified());
        let stream = self.txn.copy_out(sql.as_str()).await.map_err(|e| db_err(&self.url, &context, &e))?;
        let mut stream = std::pin::pin!(stream);
        // Rows are decoded right here, as their CopyData messages arrive (PostgreSQL sends one per row), while the
        // connection task reads the socket on another worker. A second decoding thread was tried: handing every
        // record across threads cost more (allocator contention, wake-ups) than the parallelism gained.
        // Only a row split across messages is copied; memory stays bounded by one row whatever the table size.
        let mut pending: Vec<u8> = Vec::new();
        let mut out: Vec<Decoded> = Vec::with_capacity(16);
        let mut problems: Vec<Problem> = Vec::new();
        let mut next_ordinal = 1u64;
        let mut decode_lines = |lines: &[u8], next_ordinal: &mut u64| -> Result<(), AtomicError> {
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', lines) {
                decode_line(&decoder, &lines[start..end], *next_ordinal, None, &mut out, &mut problems);
                *next_ordinal += 1;
                start = end + 1;
                for item in out.drain(..) {
                    match item {
                        Decoded::Record(r) => on_record(r)?,
                        Decoded::Problem(p) => on_problem(p)?,
                    }
                }
            }
            Ok(())
        };
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| db_err(&self.url, &context, &e))?;
            if pending.is_empty() && chunk.ends_with(b"\n") {
                decode_lines(&chunk, &mut next_ordinal)?;
            } else {
                pending.extend_from_slice(&chunk);
                if let Some(p) = memchr::memrchr(b'\n', &pending) {
                    decode_lines(&pending[..=p], &mut next_ordinal)?;
                    pending.drain(..=p);
                }
            }
        }
        if !pending.is_empty() {
            pending.push(b'\n');
            decode_lines(&pending, &mut next_ordinal)?;
        }
        Ok(next_ordinal - 1)
    }

    /// Ends the snapshot.
    pub async fn finish(self) -> Result<(), AtomicError> {
        let url = self.url.clone();
        self.txn.rollback().await.map_err(|e| db_err(&url, "closing the read-only transaction", &e))
    }
}

/// A condition excluding objects that belong to an extension.
fn not_ext(obj: &str, class: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = {obj} AND d.classid = '{class}'::pg_catalog.regclass AND d.deptype = 'e')"
    )
}

fn db_err(url: &str, context: &str, e: &tokio_postgres::Error) -> AtomicError {
    AtomicError::Database { url: url.to_string(), context: context.to_string(), message: describe_pg_error(e) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_follows_sslmode_and_host() {
        assert_eq!(tls_choice(None, true).unwrap(), TlsChoice::Plain);
        assert_eq!(tls_choice(None, false).unwrap(), TlsChoice::Encrypt { required: true });
        assert_eq!(tls_choice(Some("require"), true).unwrap(), TlsChoice::Encrypt { required: true });
        assert_eq!(tls_choice(Some("verify-full"), false).unwrap(), TlsChoice::Verify);
        assert_eq!(tls_choice(Some("disable"), false).unwrap(), TlsChoice::Plain);
        assert!(tls_choice(Some("bogus"), false).is_err());
        assert!(rustls_config(TlsChoice::Encrypt { required: true }, None).is_ok());
    }
}
