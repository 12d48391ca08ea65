//! A throwaway PostgreSQL database per test, shared by ferry-atomic's tests and ferry-cli's end-to-end tests
//! (which include this file by path).
//!
//! Reads `FERRY_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), creates
//! `ferry_test_<random>` and drops it when the guard goes out of scope (unless `FERRY_KEEP_TEST_DB` is set). When no
//! server answers, the test fails with instructions (never a silent skip).

#![allow(dead_code)]

use ferry_atomic::source::SourceSpec;

/// The server the tests use.
pub fn admin_url() -> String {
    std::env::var("FERRY_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for the life of this value.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// A URL to it.
    pub url: String,
    admin: String,
}

fn with_db(admin: &str, db: &str) -> String {
    let mut u = url::Url::parse(admin).expect("FERRY_TEST_DATABASE_URL is not a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

async fn admin_client(admin: &str) -> tokio_postgres::Client {
    match tokio_postgres::connect(admin, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
        }
        Err(e) => panic!(
            "no PostgreSQL answers at {} ({e}).\n  Start one: `scripts/test` starts a throwaway server, or `pg_ctlcluster 15 main start`,\n  or point FERRY_TEST_DATABASE_URL at a server where this user may CREATE DATABASE.",
            ferry_atomic::redact_url(admin)
        ),
    }
}

impl TestDb {
    /// Creates a fresh empty database.
    pub async fn new() -> TestDb {
        let admin = admin_url();
        let client = admin_client(&admin).await;
        let name = format!("ferry_test_{}", uuid::Uuid::new_v4().simple());
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("CREATE DATABASE failed");
        TestDb { url: with_db(&admin, &name), name, admin }
    }

    /// A connected client.
    pub async fn client(&self) -> tokio_postgres::Client {
        admin_client(&self.url).await
    }

    /// The source spec of this database.
    pub fn spec(&self) -> SourceSpec {
        SourceSpec::parse(&self.url).expect("test URL")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("FERRY_KEEP_TEST_DB").is_some() {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a separate thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                if let Ok((client, conn)) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}
