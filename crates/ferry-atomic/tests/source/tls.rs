//! TLS with rustls: `sslmode=require` encrypts (without verifying, as libpq does), `verify-full` refuses a
//! certificate no trusted authority signed. Needs the test server to have `ssl = on` (Debian's default).

use ferry_atomic::live;
use ferry_atomic::source::PgUrl;

use crate::common::{TestDb, admin_url};

fn with_sslmode(url: &str, mode: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.query_pairs_mut().append_pair("sslmode", mode);
    u.to_string()
}

#[tokio::test]
async fn sslmode_require_encrypts_and_verify_full_checks_the_certificate() {
    let db = TestDb::new().await;
    let ssl_on = db.client().await.query_one("SHOW ssl", &[]).await.unwrap().get::<_, String>(0) == "on";
    assert!(ssl_on, "the test server must run with ssl = on (Debian's default); enable it to test TLS");

    let url = PgUrl::new(&with_sslmode(&db.url, "require")).unwrap();
    let client = live::connect(&url).await.expect("TLS connection with sslmode=require");
    let row = client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap();
    assert!(row.get::<_, bool>(0), "the connection is encrypted");

    // a local URL without sslmode stays plain TCP
    let plain = live::connect(&PgUrl::new(&db.url).unwrap()).await.unwrap();
    let row = plain.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap();
    assert!(!row.get::<_, bool>(0));

    let mut secret = url::Url::parse(&with_sslmode(&admin_url(), "verify-full")).unwrap();
    let _ = secret.set_password(Some("Hunter2Secret"));
    let err = match live::connect(&PgUrl::new(secret.as_str()).unwrap()).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("verify-full accepted a self-signed certificate"),
    };
    assert!(!err.contains("Hunter2Secret") && err.contains("***"), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
