//! The browser app's files over real HTTP: encodings chosen by `Accept-Encoding` and
//! decompressing to the file, caching headers by name, ETags and 304, HEAD, unknown paths, the
//! app read from `--static-dir` on disk, and the app built into the binary.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use backend::http::assets::{IMMUTABLE, REVALIDATE, embedded_files};
use clap::Parser as _;
use reqwest::Response;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, VARY,
};
use test_support::{TestApp, poll, spawn_app_with};

const JS: &str = "app-0123456789abcdef.js";
const WASM: &str = "app-0123456789abcdef_bg.wasm";
const INDEX: &str =
    "<!doctype html><title>the app</title><script src=\"/app-0123456789abcdef.js\"></script>\n";

/// A small built app: index.html, a hashed script and wasm (compressible, a few KB), an
/// unhashed picture.
fn dist() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let js: String = (0..400)
        .map(|i| format!("export function f{i}() {{ return {i}; }}\n"))
        .collect();
    let wasm: Vec<u8> = b"\0asm\x01\0\0\0"
        .iter()
        .copied()
        .chain((0..20_000u32).map(|i| (i % 7 * 31 + i / 1000) as u8))
        .collect();
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
    std::fs::write(dir.path().join(JS), js).unwrap();
    std::fs::write(dir.path().join(WASM), wasm).unwrap();
    std::fs::write(
        dir.path().join("logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n".repeat(50),
    )
    .unwrap();
    dir
}

async fn serving(dir: &Path) -> TestApp {
    let dir = dir.to_owned();
    spawn_app_with(|c| c.static_dir = dir).await
}

async fn get(app: &TestApp, path: &str, accept: &str) -> Response {
    app.http
        .get(app.url(path))
        .header(ACCEPT_ENCODING, accept)
        .send()
        .await
        .unwrap()
}

fn header(r: &Response, name: reqwest::header::HeaderName) -> &str {
    r.headers()
        .get(&name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

/// The answer once `encoding` is ready (files are compressed in the background at start).
async fn encoded(app: &TestApp, path: &str, encoding: &str) -> Response {
    poll(
        Duration::from_secs(20),
        &format!("{path} as {encoding}"),
        async || {
            let r = get(app, path, encoding).await;
            match header(&r, CONTENT_ENCODING) {
                e if e == encoding => Ok(r),
                e => Err(format!("Content-Encoding {e:?}")),
            }
        },
    )
    .await
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => brotli::Decompressor::new(body, 4096)
            .read_to_end(&mut out)
            .unwrap(),
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap(),
        _ => panic!("{encoding}"),
    };
    out
}

#[tokio::test]
async fn brotli_gzip_and_identity_are_chosen_by_accept_encoding_and_hold_the_same_bytes() {
    let dir = dist();
    let app = serving(dir.path()).await;
    for (name, kind) in [
        (JS, "text/javascript; charset=utf-8"),
        (WASM, "application/wasm"),
    ] {
        let file = std::fs::read(dir.path().join(name)).unwrap();
        let path = format!("/{name}");
        let brotli = encoded(&app, &path, "br").await;
        let gzip = encoded(&app, &path, "gzip").await;
        let plain = get(&app, &path, "identity").await;
        // A browser's header: brotli wins over gzip.
        assert_eq!(
            header(
                &get(&app, &path, "gzip, deflate, br, zstd").await,
                CONTENT_ENCODING
            ),
            "br"
        );
        // q=0 refuses one.
        assert_eq!(
            header(&get(&app, &path, "br;q=0, gzip").await, CONTENT_ENCODING),
            "gzip"
        );
        let mut etags = Vec::new();
        for (r, encoding) in [(brotli, "br"), (gzip, "gzip"), (plain, "")] {
            assert_eq!(r.status(), 200);
            assert_eq!(header(&r, CONTENT_TYPE), kind, "{name} {encoding}");
            assert_eq!(header(&r, VARY), "accept-encoding");
            assert_eq!(header(&r, CONTENT_ENCODING), encoding);
            assert_eq!(
                header(&r, "x-content-type-options".parse().unwrap()),
                "nosniff"
            );
            etags.push(header(&r, ETAG).to_owned());
            let length: usize = header(&r, CONTENT_LENGTH).parse().unwrap();
            let body = r.bytes().await.unwrap();
            assert_eq!(length, body.len());
            let bytes = if encoding.is_empty() {
                body.to_vec()
            } else {
                assert!(
                    body.len() < file.len() / 2,
                    "{name} {encoding} is compressed"
                );
                decode(encoding, &body)
            };
            assert!(bytes == file, "{name} as {encoding:?} is the file");
        }
        etags.dedup();
        assert_eq!(etags.len(), 3, "one strong ETag per encoding: {etags:?}");
        assert!(etags.iter().all(|t| t.starts_with('"') && t.ends_with('"')));
    }
    app.shutdown().await;
}

#[tokio::test]
async fn hashed_names_are_immutable_and_index_html_and_the_rest_are_revalidated() {
    let dir = dist();
    let app = serving(dir.path()).await;
    assert_eq!(IMMUTABLE, "public, max-age=31536000, immutable");
    for path in [format!("/{JS}"), format!("/{WASM}")] {
        let r = get(&app, &path, "br, gzip").await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, CACHE_CONTROL), IMMUTABLE, "{path}");
    }
    // index.html, by name, at `/`, and for the app's own routes (the SPA fallback).
    for path in ["/index.html", "/", "/lab", "/console/"] {
        let r = get(&app, path, "br, gzip").await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, CACHE_CONTROL), REVALIDATE, "{path}");
        assert_eq!(
            header(&r, CONTENT_TYPE),
            "text/html; charset=utf-8",
            "{path}"
        );
        let encoding = header(&r, CONTENT_ENCODING).to_owned();
        let body = r.bytes().await.unwrap();
        let html = if encoding.is_empty() {
            body.to_vec()
        } else {
            decode(&encoding, &body)
        };
        assert_eq!(String::from_utf8(html).unwrap(), INDEX, "{path}");
    }
    let r = get(&app, "/logo.svg", "").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, CACHE_CONTROL), REVALIDATE);
    assert_eq!(header(&r, CONTENT_TYPE), "image/svg+xml; charset=utf-8");
    app.shutdown().await;
}

#[tokio::test]
async fn a_matching_etag_is_answered_with_304_and_no_body() {
    let dir = dist();
    let app = serving(dir.path()).await;
    let path = format!("/{JS}");
    let first = encoded(&app, &path, "br").await;
    let etag = header(&first, ETAG).to_owned();
    let identity_etag = header(&get(&app, &path, "").await, ETAG).to_owned();
    for (accept, tag) in [
        ("br", etag.clone()),
        ("br", format!("W/{etag}")),
        ("br", format!("\"other\", {etag}")),
        ("br", identity_etag.clone()),
        ("", identity_etag.clone()),
        ("gzip", "*".to_owned()),
    ] {
        let r = app
            .http
            .get(app.url(&path))
            .header(ACCEPT_ENCODING, accept)
            .header(IF_NONE_MATCH, &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "If-None-Match {tag} with {accept:?}");
        assert_eq!(header(&r, CACHE_CONTROL), IMMUTABLE);
        assert_eq!(header(&r, VARY), "accept-encoding");
        assert!(!header(&r, ETAG).is_empty());
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let stale = app
        .http
        .get(app.url(&path))
        .header(ACCEPT_ENCODING, "br")
        .header(IF_NONE_MATCH, "\"0123456789abcdef0123\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    // index.html too: a reload costs a 304.
    let index = get(&app, "/", "").await;
    let tag = header(&index, ETAG).to_owned();
    let again = app
        .http
        .get(app.url("/"))
        .header(IF_NONE_MATCH, &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, CACHE_CONTROL), REVALIDATE);
    app.shutdown().await;
}

#[tokio::test]
async fn head_answers_the_headers_of_get_without_a_body() {
    let dir = dist();
    let app = serving(dir.path()).await;
    let path = format!("/{WASM}");
    let got = encoded(&app, &path, "gzip").await;
    let head = app
        .http
        .head(app.url(&path))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    for name in [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        CONTENT_ENCODING,
        ETAG,
        CACHE_CONTROL,
        VARY,
    ] {
        assert_eq!(
            header(&head, name.clone()),
            header(&got, name.clone()),
            "{name}"
        );
    }
    assert!(head.bytes().await.unwrap().is_empty());
    app.shutdown().await;
}

#[tokio::test]
async fn a_missing_file_is_404_while_the_apps_own_routes_get_index_html() {
    let dir = dist();
    let app = serving(dir.path()).await;
    for path in [
        "/app-fedcba9876543210.js",
        "/nothing.css",
        "/a/b/c.wasm",
        "/../Cargo.toml",
    ] {
        let r = get(&app, path, "br").await;
        assert_eq!(r.status(), 404, "{path}");
    }
    let api = get(&app, "/api/no-such-thing", "").await;
    test_support::expect_error(api, 404, "not_found").await;
    let posted = app.http.post(app.url("/lab")).send().await.unwrap();
    assert_eq!(posted.status(), 405);
    let r = get(&app, "/instructor", "").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), INDEX);
    app.shutdown().await;
}

#[tokio::test]
async fn the_static_dir_overrides_and_is_read_from_disk_as_it_changes() {
    let config = backend::Config::parse_from(["backend", "--static-dir", "/some/app"]);
    assert_eq!(config.static_dir, Path::new("/some/app"));
    let dir = dist();
    let app = serving(dir.path()).await;
    assert_eq!(get(&app, "/", "").await.text().await.unwrap(), INDEX);
    // A rebuilt app on disk is served without restarting the relay, compressed as well.
    let rebuilt = "<!doctype html><title>rebuilt, and longer than before</title>\n".repeat(20);
    std::fs::write(dir.path().join("index.html"), &rebuilt).unwrap();
    std::fs::write(
        dir.path().join("new-00112233aabbccdd.js"),
        "export {};\n".repeat(100),
    )
    .unwrap();
    assert_eq!(get(&app, "/", "").await.text().await.unwrap(), rebuilt);
    let r = encoded(&app, "/", "br").await;
    assert_eq!(decode("br", &r.bytes().await.unwrap()), rebuilt.as_bytes());
    let new = get(&app, "/new-00112233aabbccdd.js", "").await;
    assert_eq!(new.status(), 200);
    assert_eq!(header(&new, CACHE_CONTROL), IMMUTABLE);
    std::fs::remove_file(dir.path().join(JS)).unwrap();
    assert_eq!(get(&app, &format!("/{JS}"), "").await.status(), 404);
    app.shutdown().await;
}

/// The app built into the binary (`dist/` when the relay was built, `CLAIMSTREAM_DIST` to
/// name another): every file served as it was embedded. Built without one, every page says so.
#[tokio::test]
async fn without_a_static_dir_the_app_built_in_is_served_or_a_page_says_there_is_none() {
    let app = spawn_app_with(|c| c.static_dir = "does-not-exist".into()).await;
    let files = embedded_files();
    if files.is_empty() {
        let r = get(&app, "/", "br").await;
        assert_eq!(r.status(), 404);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("built without the browser app"),
        );
    } else {
        for (name, bytes) in files {
            let r = get(&app, &format!("/{name}"), "gzip").await;
            assert_eq!(r.status(), 200, "{name}");
            let encoding = header(&r, CONTENT_ENCODING).to_owned();
            let cache = if backend::http::assets::is_hashed(name) {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            assert_eq!(header(&r, CACHE_CONTROL), cache, "{name}");
            let body = r.bytes().await.unwrap().to_vec();
            let body = if encoding.is_empty() {
                body
            } else {
                decode(&encoding, &body)
            };
            assert!(body == *bytes, "{name} is served as it was built in");
        }
        let index = files.iter().find(|(n, _)| *n == "index.html").unwrap().1;
        let r = get(&app, "/lab", "").await;
        assert_eq!(r.bytes().await.unwrap(), index);
    }
    app.shutdown().await;
}
