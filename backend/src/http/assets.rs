//! The browser app's files, served the way a CDN would: from the app built into the binary
//! (or from `--static-dir` on disk), compressed once with brotli and gzip in the background
//! and chosen by `Accept-Encoding`, hashed names cached for a year, `index.html` revalidated,
//! a strong ETag on every file and `If-None-Match` answered with 304.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/app.rs"));
}

/// The app built into this binary (`dist/` when it was built; see `build.rs`): path, contents.
/// Empty when it was built without one.
pub fn embedded_files() -> &'static [(&'static str, &'static [u8])] {
    embedded::FILES
}

/// What hashed file names (`frontend-b362421505e690f3.js`) are sent with: they never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// What every other file is sent with: kept, but asked after (a 304 when unchanged).
pub const REVALIDATE: &str = "no-cache";

/// Brotli's best for a release build (4.7 s for the 1 MB wasm, on a thread of its own at
/// start); a debug build, much slower at it, trades size for time.
const BROTLI_QUALITY: u32 = if cfg!(debug_assertions) { 5 } else { 11 };
const BROTLI_WINDOW: u32 = 22;

/// The message every page gets from a relay with no app to serve.
const NO_APP: &str = "This relay was built without the browser app and no --static-dir was found.\n\
Build the app (`trunk build --release`, into dist/) and then the relay, or start the relay with \
--static-dir pointing at a built app. The API is at /api.\n";

/// The app's files and where they come from.
pub struct Assets {
    source: Source,
    files: RwLock<HashMap<String, Arc<Asset>>>,
}

enum Source {
    /// Read from this directory; a file changed on disk is read (and compressed) again.
    Disk(PathBuf),
    Embedded,
    None,
}

/// One file: its bytes as they are and, once compressed, as brotli and gzip.
struct Asset {
    identity: Bytes,
    content_type: HeaderValue,
    cache_control: &'static str,
    /// Hex of the contents' SHA-256 (its first 20 digits); the ETag of each encoding derives
    /// from it.
    hash: String,
    /// Length and modification time of the file on disk it was read from.
    stamp: Option<(u64, SystemTime)>,
    /// `Some(None)` once tried and not smaller than the original.
    brotli: OnceLock<Option<Bytes>>,
    gzip: OnceLock<Option<Bytes>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    fn token(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some("br"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }
}

impl Asset {
    fn new(name: &str, identity: Bytes, stamp: Option<(u64, SystemTime)>) -> Self {
        let digest = Sha256::digest(&identity);
        let hash = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            content_type: content_type(name),
            cache_control: if is_hashed(name) {
                IMMUTABLE
            } else {
                REVALIDATE
            },
            identity,
            hash,
            stamp,
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
        }
    }

    fn etag(&self, encoding: Encoding) -> String {
        match encoding {
            Encoding::Brotli => format!("\"{}-br\"", self.hash),
            Encoding::Gzip => format!("\"{}-gz\"", self.hash),
            Encoding::Identity => format!("\"{}\"", self.hash),
        }
    }

    /// The smallest encoding the client takes that is ready, and its bytes.
    fn select(&self, accepted: Accepted) -> (Encoding, Bytes) {
        if accepted.brotli
            && let Some(Some(bytes)) = self.brotli.get()
        {
            return (Encoding::Brotli, bytes.clone());
        }
        if accepted.gzip
            && let Some(Some(bytes)) = self.gzip.get()
        {
            return (Encoding::Gzip, bytes.clone());
        }
        (Encoding::Identity, self.identity.clone())
    }

    fn compress_gzip(&self) {
        self.gzip.get_or_init(|| {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(self.identity.len() / 2),
                flate2::Compression::best(),
            );
            encoder
                .write_all(&self.identity)
                .expect("writing to memory");
            smaller(encoder.finish().expect("writing to memory"), &self.identity)
        });
    }

    fn compress_brotli(&self) {
        self.brotli.get_or_init(|| {
            let mut out = Vec::with_capacity(self.identity.len() / 2);
            {
                let mut encoder =
                    brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, BROTLI_WINDOW);
                encoder
                    .write_all(&self.identity)
                    .expect("writing to memory");
            }
            smaller(out, &self.identity)
        });
    }
}

fn smaller(compressed: Vec<u8>, identity: &[u8]) -> Option<Bytes> {
    (compressed.len() < identity.len()).then(|| Bytes::from(compressed))
}

/// Compresses `assets` on a thread of its own: gzip for all first (fast), then brotli. Until
/// an encoding is ready, requests get the next best one.
fn compress_in_background(assets: Vec<Arc<Asset>>) {
    if assets.is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("compress-assets".into())
        .spawn(move || {
            for asset in &assets {
                asset.compress_gzip();
            }
            for asset in &assets {
                asset.compress_brotli();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "the app's files are served uncompressed");
    }
}

impl Assets {
    /// The app from `static_dir` when that directory exists, else the one built in, else none.
    pub fn new(static_dir: Option<&Path>) -> Self {
        let assets = match static_dir.filter(|d| d.is_dir()) {
            Some(dir) => Self::from_disk(dir),
            None if !embedded_files().is_empty() => Self::embedded(),
            None => Self {
                source: Source::None,
                files: RwLock::default(),
            },
        };
        let count = assets.files.read().expect("not poisoned").len();
        match &assets.source {
            Source::Disk(dir) => {
                tracing::info!(dir = %dir.display(), files = count, "serving the app from disk")
            }
            Source::Embedded => tracing::info!(files = count, "serving the app built in"),
            Source::None => tracing::warn!("no app to serve: {}", NO_APP.lines().next().unwrap()),
        }
        assets
    }

    /// The built-in files, hashed and compressed once per process however many relays it
    /// starts (the tests start hundreds).
    fn embedded() -> Self {
        static EMBEDDED: OnceLock<HashMap<String, Arc<Asset>>> = OnceLock::new();
        let files = EMBEDDED.get_or_init(|| {
            let files: HashMap<String, Arc<Asset>> = embedded_files()
                .iter()
                .map(|(name, bytes)| {
                    let asset = Asset::new(name, Bytes::from_static(bytes), None);
                    ((*name).to_owned(), Arc::new(asset))
                })
                .collect();
            compress_in_background(files.values().cloned().collect());
            files
        });
        Self {
            source: Source::Embedded,
            files: RwLock::new(files.clone()),
        }
    }

    /// Reads every file under `dir` now, so compression starts at once.
    fn from_disk(dir: &Path) -> Self {
        let mut names = Vec::new();
        list(dir, "", 0, &mut names);
        let mut files = HashMap::new();
        let mut new = Vec::new();
        for name in names {
            if let Some((asset, fresh)) = read(dir, &name) {
                if fresh {
                    new.push(asset.clone());
                }
                files.insert(name, asset);
            }
        }
        compress_in_background(new);
        Self {
            source: Source::Disk(dir.to_owned()),
            files: RwLock::new(files),
        }
    }

    /// The file at `name`, read again from disk if it changed there.
    async fn get(&self, name: &str) -> Option<Arc<Asset>> {
        let known = self.files.read().expect("not poisoned").get(name).cloned();
        let Source::Disk(dir) = &self.source else {
            return known;
        };
        let path = dir.join(name);
        let metadata = tokio::fs::metadata(&path).await.ok();
        let stamp = metadata.filter(|m| m.is_file()).map(stamp_of);
        let Some(stamp) = stamp else {
            self.files.write().expect("not poisoned").remove(name);
            return None;
        };
        if let Some(asset) = known.filter(|a| a.stamp == Some(stamp)) {
            return Some(asset);
        }
        let (dir, owned) = (dir.clone(), name.to_owned());
        let (asset, fresh) = tokio::task::spawn_blocking(move || read(&dir, &owned))
            .await
            .ok()
            .flatten()?;
        self.files
            .write()
            .expect("not poisoned")
            .insert(name.to_owned(), asset.clone());
        if fresh {
            compress_in_background(vec![asset.clone()]);
        }
        Some(asset)
    }

    /// Answers a GET or HEAD for a path outside `/api`.
    pub async fn serve(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
        if method != Method::GET && method != Method::HEAD {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET, HEAD")],
                "the app's files are read with GET or HEAD\n",
            )
                .into_response();
        }
        if matches!(self.source, Source::None) {
            return (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                NO_APP,
            )
                .into_response();
        }
        let name = name_of(uri.path());
        let found = match &name {
            Some(name) => self.get(name).await,
            None => None,
        };
        let asset = match found {
            Some(asset) => asset,
            // The app routes on its own (`/lab`, `/console`): a path that names no file gets
            // index.html; one that does (`/old-1234abcd.js`) is not there.
            None if !looks_like_a_file(uri.path()) => match self.get("index.html").await {
                Some(index) => index,
                None => return not_found(),
            },
            None => return not_found(),
        };
        respond(&asset, method, headers)
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "no such file in the app\n",
    )
        .into_response()
}

fn respond(asset: &Asset, method: &Method, headers: &HeaderMap) -> Response {
    let accepted = Accepted::parse(headers);
    let (encoding, body) = asset.select(accepted);
    let etag = asset.etag(encoding);
    let mut response = if none_match(headers, asset) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().insert(header::ETAG, value(&etag));
        response
    } else {
        let length = body.len();
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(body)
        };
        let mut response = Response::new(body);
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, asset.content_type.clone());
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        h.insert(header::ETAG, value(&etag));
        if let Some(token) = encoding.token() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
        }
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    };
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(asset.cache_control),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

fn value(etag: &str) -> HeaderValue {
    HeaderValue::from_str(etag).expect("an ETag is hex in quotes")
}

/// Whether `If-None-Match` names this file's contents in any encoding (compared weakly, as
/// RFC 9110 asks for this header), or is `*`.
fn none_match(headers: &HeaderMap, asset: &Asset) -> bool {
    let tags = [Encoding::Brotli, Encoding::Gzip, Encoding::Identity].map(|e| asset.etag(e));
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .map(|t| t.strip_prefix("W/").unwrap_or(t))
        .any(|t| t == "*" || tags.iter().any(|tag| tag == t))
}

/// The encodings a client takes, from `Accept-Encoding` (`q=0` refuses one).
#[derive(Clone, Copy, Default)]
struct Accepted {
    brotli: bool,
    gzip: bool,
}

impl Accepted {
    fn parse(headers: &HeaderMap) -> Self {
        let mut accepted = Accepted::default();
        let mut wildcard = None;
        let (mut brotli, mut gzip) = (None, None);
        for item in headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
        {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            match coding.as_str() {
                "br" => brotli = Some(!refused),
                "gzip" | "x-gzip" => gzip = Some(!refused),
                "*" => wildcard = Some(!refused),
                _ => {}
            }
        }
        accepted.brotli = brotli.or(wildcard).unwrap_or(false);
        accepted.gzip = gzip.or(wildcard).unwrap_or(false);
        accepted
    }
}

/// The file a request path names, relative to the app's root: `/` and `…/` are their
/// `index.html`; `None` for a path that tries to leave the root.
fn name_of(path: &str) -> Option<String> {
    let decoded = percent_decode(path.trim_start_matches('/'))?;
    let mut segments = Vec::new();
    for segment in decoded.split('/') {
        if segment == ".."
            || segment == "."
            || segment.contains('\\')
            || segment.contains('\0')
            || segment.starts_with('.')
        {
            return None;
        }
        segments.push(segment);
    }
    let mut name = segments.join("/");
    if name.is_empty() || name.ends_with('/') {
        name.push_str("index.html");
    }
    Some(name)
}

fn looks_like_a_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether a file's name carries a hash of its contents, as Trunk writes them:
/// `frontend-b362421505e690f3.js`, `frontend-b362421505e690f3_bg.wasm`, `style-95678fe45accca3d.css`.
pub fn is_hashed(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    let stem = file.split('.').next().unwrap_or(file);
    let Some((_, tail)) = stem.rsplit_once('-') else {
        return false;
    };
    let hash = tail.strip_suffix("_bg").unwrap_or(tail);
    (8..=64).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

fn content_type(name: &str) -> HeaderValue {
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let text = mime.type_() == mime_guess::mime::TEXT
        || mime.essence_str() == "application/javascript"
        || mime.essence_str() == "application/json"
        || mime.essence_str() == "image/svg+xml";
    let value = if text && mime.get_param("charset").is_none() {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

fn stamp_of(metadata: std::fs::Metadata) -> (u64, SystemTime) {
    let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    (metadata.len(), modified)
}

/// The file `name` under `dir`, and whether it was read now (to be compressed) rather than
/// found as it is on disk among the files this process read before: relays started one after
/// the other on the same `dist/` (the browser tests) hash and compress it once.
fn read(dir: &Path, name: &str) -> Option<(Arc<Asset>, bool)> {
    static READ: OnceLock<Mutex<HashMap<PathBuf, Arc<Asset>>>> = OnceLock::new();
    let path = dir.join(name);
    let stamp = stamp_of(std::fs::metadata(&path).ok()?);
    let read = READ.get_or_init(Mutex::default);
    if let Some(known) = read.lock().expect("not poisoned").get(&path)
        && known.stamp == Some(stamp)
    {
        return Some((known.clone(), false));
    }
    let bytes = std::fs::read(&path).ok()?;
    let asset = Arc::new(Asset::new(name, Bytes::from(bytes), Some(stamp)));
    read.lock()
        .expect("not poisoned")
        .insert(path, asset.clone());
    Some((asset, true))
}

/// The files under `dir` (`prefix` names it relative to the root), dot files left out.
fn list(dir: &Path, prefix: &str, depth: usize, names: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let relative = format!("{prefix}{name}");
        if path.is_dir() && depth < 8 {
            list(&path, &format!("{relative}/"), depth + 1, names);
        } else if path.is_file() {
            names.push(relative);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_names_are_hashed_and_others_are_not() {
        assert!(is_hashed("frontend-b362421505e690f3.js"));
        assert!(is_hashed("frontend-b362421505e690f3_bg.wasm"));
        assert!(is_hashed("style-95678fe45accca3d.css"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("favicon.ico"));
        assert!(!is_hashed("claim-form.svg"));
    }

    #[test]
    fn a_path_cannot_leave_the_root() {
        assert_eq!(name_of("/").as_deref(), Some("index.html"));
        assert_eq!(name_of("/a/b.js").as_deref(), Some("a/b.js"));
        assert_eq!(name_of("/../etc/passwd"), None);
        assert_eq!(name_of("/a/%2e%2e/b"), None);
        assert_eq!(name_of("/.stage/x"), None);
    }
}
