//! Fetching files over HTTP from a local server: 200, 404, 403, 503, large (declared and streamed), slow, stalled,
//! refused connections, `data:` URLs, spooling to disk.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use ferry_atomic::attachments::{
    ClassifyContext, FetchFailureKind, FetchOptions, FetchedFile, Fetcher, FileContent, FileRef, classify, read_content,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

const PDF: &[u8] = b"%PDF-1.4\n% ferry test file\n1 0 obj << >> endobj\n%%EOF\n";
const LARGE: usize = 3 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

fn large_body() -> Vec<u8> {
    (0..LARGE).map(|i| (i % 251) as u8).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A server on 127.0.0.1:<random>, stopped when the test's runtime ends.
async fn serve() -> SocketAddr {
    let app = Router::new()
        .route(
            "/storage/v1/object/public/attachments/0.5.pdf",
            get(|| async { ([(header::CONTENT_TYPE, "application/pdf")], PDF) }),
        )
        .route("/missing.png", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/storage/v1/object/public/attachments/gone.png",
            get(|| async { (StatusCode::NOT_FOUND, "Object not found") }),
        )
        .route("/forbidden", get(|| async { StatusCode::FORBIDDEN }))
        .route("/unavailable", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route("/large.bin", get(|| async { ([(header::CONTENT_TYPE, "application/octet-stream")], large_body()) }))
        .route(
            "/large-chunked.bin",
            get(|| async {
                let chunks = large_body()
                    .chunks(CHUNK)
                    .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c)))
                    .collect::<Vec<_>>();
                Response::builder()
                    .header(header::CONTENT_TYPE, "image/png")
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .unwrap()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/stall.bin",
            get(|| async {
                // 512 KiB at once, then nothing for 10 s.
                let first = futures::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(vec![7u8; 512 * 1024]))]);
                let stall = futures::stream::once(async {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    Ok::<_, std::io::Error>(Bytes::from_static(b"too late"))
                });
                use futures::StreamExt as _;
                Body::from_stream(first.chain(stall)).into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn base(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

fn one(value: serde_json::Value, ctx: &ClassifyContext) -> FileRef {
    let mut refs = classify(&value, ctx);
    assert_eq!(refs.len(), 1);
    refs.remove(0)
}

fn fetcher(options: FetchOptions) -> Fetcher {
    Fetcher::new(options).unwrap()
}

async fn bytes_of(f: &FetchedFile) -> Vec<u8> {
    read_content(&f.content).await.unwrap()
}

#[tokio::test]
async fn a_storage_attachment_is_fetched_with_size_hash_type_and_name() {
    let addr = serve().await;
    let project = Url::parse(&base(addr)).unwrap();
    let ctx = ClassifyContext::new("contact_notes", "12", "attachments").with_project_url(project);
    // The stored src points at the hosted project; the project URL given wins.
    let r = one(
        json!([{ "src": "https://abc.supabase.co/storage/v1/object/public/attachments/0.5.pdf", "path": "0.5.pdf",
                 "title": "Signed contract.pdf", "type": "application/pdf", "rawFile": {} }]),
        &ctx,
    );
    let f = fetcher(FetchOptions::default()).fetch(&r).await.unwrap();
    assert_eq!(f.size, PDF.len() as u64);
    assert_eq!(f.sha256, sha256_hex(PDF));
    assert_eq!(f.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(f.file_name, "Signed contract.pdf");
    assert_eq!(f.url, format!("http://{addr}/storage/v1/object/public/attachments/0.5.pdf"));
    assert_eq!(f.content, FileContent::Memory(PDF.to_vec()));
}

#[tokio::test]
async fn not_found_names_the_row_column_url_and_what_to_do() {
    let addr = serve().await;
    let ctx =
        ClassifyContext::new("deal_notes", "77", "attachments").with_project_url(Url::parse(&base(addr)).unwrap());
    let r = one(json!([{ "path": "gone.png", "title": "gone.png" }]), &ctx);
    let err = fetcher(FetchOptions::default()).fetch(&r).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::NotFound);
    assert!(!err.is_retryable());
    let p = &err.problem;
    assert_eq!(p.object, "deal_notes");
    assert_eq!(p.record.as_deref(), Some("77"));
    assert_eq!(p.field.as_deref(), Some("attachments[0]"));
    assert_eq!(
        p.value.as_deref(),
        Some(format!("http://{addr}/storage/v1/object/public/attachments/gone.png").as_str())
    );
    assert!(p.message.contains("404"), "{p}");
    assert!(p.hint.as_deref().unwrap().contains("bucket \"attachments\""), "{p}");

    // An external URL gets an external hint.
    let r =
        one(json!({ "src": format!("{}/missing.png", base(addr)) }), &ClassifyContext::new("companies", "3", "logo"));
    let err = fetcher(FetchOptions::default()).fetch(&r).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::NotFound);
    assert!(err.problem.hint.as_deref().unwrap().contains("gone from that server"), "{}", err.problem);
    assert!(err.to_string().starts_with("companies #3.logo = "), "{err}");
}

#[tokio::test]
async fn forbidden_and_server_errors_are_classified() {
    let addr = serve().await;
    let f = fetcher(FetchOptions::default());
    let ctx = ClassifyContext::new("contacts", "1", "avatar");
    let err = f.fetch(&one(json!({ "src": format!("{}/forbidden", base(addr)) }), &ctx)).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::Forbidden);
    let err = f.fetch(&one(json!({ "src": format!("{}/unavailable", base(addr)) }), &ctx)).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::HttpStatus(503));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn too_large_is_refused_from_the_header_and_while_streaming() {
    let addr = serve().await;
    let f = fetcher(FetchOptions { max_bytes: 1024 * 1024, ..FetchOptions::default() });
    let ctx = ClassifyContext::new("contact_notes", "5", "attachments");
    for path in ["large.bin", "large-chunked.bin"] {
        let r = one(json!([{ "src": format!("{}/{path}", base(addr)), "title": path }]), &ctx);
        let err = f.fetch(&r).await.unwrap_err();
        assert_eq!(err.kind, FetchFailureKind::TooLarge, "{path}: {err}");
        assert!(err.problem.message.contains("1048576 bytes"), "{path}: {err}");
        assert!(err.problem.hint.as_deref().unwrap().contains("raise the file size limit"), "{err}");
    }
}

#[tokio::test]
async fn large_files_stream_to_the_spool_directory_named_by_hash() {
    let addr = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let f = fetcher(FetchOptions {
        memory_limit: 256 * 1024,
        spool_dir: Some(dir.path().to_path_buf()),
        ..FetchOptions::default()
    });
    let expected = large_body();
    let ctx = ClassifyContext::new("contact_notes", "5", "attachments");
    for path in ["large.bin", "large-chunked.bin"] {
        let r = one(json!([{ "src": format!("{}/{path}", base(addr)), "title": "scan" }]), &ctx);
        let got = f.fetch(&r).await.unwrap();
        assert_eq!(got.size, LARGE as u64);
        assert_eq!(got.sha256, sha256_hex(&expected));
        let FileContent::Spooled(p) = &got.content else { panic!("{path} stayed in memory") };
        assert_eq!(p, &dir.path().join(&got.sha256));
        assert_eq!(bytes_of(&got).await, expected);
        assert_eq!(got.file_name, "scan", "`.bin` is not a known extension, so the title is kept as is");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "both downloads share one content-addressed file: {leftovers:?}");
    // Small files stay in memory even with a spool directory.
    let pdf_ctx =
        ClassifyContext::new("contact_notes", "6", "attachments").with_project_url(Url::parse(&base(addr)).unwrap());
    let small = f.fetch(&one(json!({ "path": "0.5.pdf" }), &pdf_ctx)).await.unwrap();
    assert!(matches!(small.content, FileContent::Memory(_)));
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let addr = serve().await;
    let f = fetcher(FetchOptions { timeout: Duration::from_millis(300), ..FetchOptions::default() });
    let r = one(json!({ "src": format!("{}/slow", base(addr)) }), &ClassifyContext::new("sales", "2", "avatar"));
    let started = std::time::Instant::now();
    let err = f.fetch(&r).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::Timeout, "{err}");
    assert!(err.is_retryable());
    assert!(err.problem.hint.as_deref().unwrap().contains("raise the timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4), "the 5 s response was awaited");
}

#[tokio::test]
async fn a_stalled_download_times_out_and_leaves_no_partial_file() {
    let addr = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let f = fetcher(FetchOptions {
        read_timeout: Duration::from_millis(300),
        memory_limit: 64 * 1024,
        spool_dir: Some(dir.path().to_path_buf()),
        ..FetchOptions::default()
    });
    let r = one(
        json!([{ "src": format!("{}/stall.bin", base(addr)) }]),
        &ClassifyContext::new("deal_notes", "9", "attachments"),
    );
    let err = f.fetch(&r).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::Timeout, "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the .part file was removed");
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let r = one(json!({ "src": format!("http://{addr}/x.png") }), &ClassifyContext::new("companies", "8", "logo"));
    let err = fetcher(FetchOptions::default()).fetch(&r).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::Connection, "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn data_urls_broken_refs_and_unknown_storage_urls_need_no_server() {
    let f = fetcher(FetchOptions::default());
    let ctx = ClassifyContext::new("sales", "0", "avatar");
    let got =
        f.fetch(&one(json!({ "src": "data:image/svg+xml;base64,PHN2Zy8+", "title": "Jane" }), &ctx)).await.unwrap();
    assert_eq!(got.content, FileContent::Memory(b"<svg/>".to_vec()));
    assert_eq!(got.sha256, sha256_hex(b"<svg/>"));
    assert_eq!(got.content_type.as_deref(), Some("image/svg+xml"));
    assert_eq!(got.file_name, "Jane");
    assert_eq!(got.url, "data:image/svg+xml;base64,…");

    let err = f.fetch(&one(json!({ "src": "ERROR" }), &ctx)).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::NotFetchable);
    assert!(err.problem.message.contains("error marker"), "{err}");

    let err = f.fetch(&one(json!({ "path": "0.7.png" }), &ctx)).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::NotFetchable);
    assert!(err.problem.hint.as_deref().unwrap().contains("project URL"), "{err}");

    let tiny = fetcher(FetchOptions { max_bytes: 3, ..FetchOptions::default() });
    let err = tiny.fetch(&one(json!({ "src": "data:,abcdef" }), &ctx)).await.unwrap_err();
    assert_eq!(err.kind, FetchFailureKind::TooLarge);
}
