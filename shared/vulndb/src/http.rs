//! HTTPS export fetcher (the public OSV bucket): hyper 1 + rustls with the system roots, the same stack the
//! AWS SDK already links, so no extra TLS library. GET only, HTTP/1.1, one overall timeout, streaming to a
//! file with a SHA-256; 404 means "no export for this ecosystem".

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{VulnDbError, io_err};
use crate::sync::{ExportFetcher, Fetched};

/// Overall time allowed for one export download.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(600);

/// Fetches `<base>/<Ecosystem>/all.zip` over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpsFetcher {
    base: String,
}

impl HttpsFetcher {
    /// A fetcher over an `https://` base URL.
    pub fn new(base: impl Into<String>) -> HttpsFetcher {
        HttpsFetcher { base: base.into() }
    }
}

#[async_trait]
impl ExportFetcher for HttpsFetcher {
    async fn fetch(&self, ecosystem: &str, dest: &Path) -> Result<Option<Fetched>, VulnDbError> {
        let url = crate::sync::SourceUrl::Https(self.base.clone()).export_url(ecosystem);
        match tokio::time::timeout(FETCH_TIMEOUT, get_to_file(&url, dest)).await {
            Ok(r) => r,
            Err(_) => Err(VulnDbError::Fetch {
                url,
                message: format!("no complete response within {FETCH_TIMEOUT:?}"),
            }),
        }
    }
}

async fn get_to_file(url: &str, dest: &Path) -> Result<Option<Fetched>, VulnDbError> {
    let fail = |message: String| VulnDbError::Fetch {
        url: url.to_string(),
        message,
    };
    let uri: http::Uri = url.parse().map_err(|e| fail(format!("bad URL: {e}")))?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| fail(format!("loading the system CA roots: {e}")))?
        .https_only()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let resp = client.get(uri).await.map_err(|e| fail(e.to_string()))?;
    let status = resp.status();
    if status == http::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    let header = |name: http::header::HeaderName| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_string())
    };
    let etag = header(http::header::ETAG);
    let last_modified = header(http::header::LAST_MODIFIED);
    let mut body = resp.into_body();
    let mut file = tokio::fs::File::create(dest).await.map_err(io_err(dest))?;
    let mut h = Sha256::new();
    let mut size: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| fail(format!("reading body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            h.update(&data);
            size += data.len() as u64;
            file.write_all(&data).await.map_err(io_err(dest))?;
        }
    }
    file.flush().await.map_err(io_err(dest))?;
    Ok(Some(Fetched {
        url: url.to_string(),
        etag,
        last_modified,
        size,
        sha256: hex::encode(h.finalize()),
    }))
}
