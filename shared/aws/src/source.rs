//! [`S3Source`]: an S3 object as a `portcullis_core::ArtifactSource`. The GET body is streamed, never
//! buffered whole: a task on the Tokio runtime pulls chunks from the SDK's async `ByteStream` into a bounded
//! channel, and the synchronous `Read` side (used by the reader on a blocking thread) waits on it. Size,
//! ETag and version come from the event; the GET pins them (`versionId`, or `If-Match: etag` on unversioned
//! buckets) so the bytes scanned are the bytes the event named. A missing object (`NoSuchKey`, a deleted
//! version, or an overwritten key whose ETag no longer matches) is `ReaderError::NotFound`, which the tool
//! turns into an explicit `missing` unscannable result.

use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::Client;
use bytes::Bytes;
use portcullis_core::reader::ReaderError;
use portcullis_core::{ArtifactSource, S3ObjectRef};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use crate::s3::{Class, classify_http};

/// Chunks buffered between the network task and the reader.
const CHANNEL_CHUNKS: usize = 8;

/// An S3 object version as an artifact source.
pub struct S3Source {
    s3: Client,
    object: S3ObjectRef,
    handle: Handle,
    /// The last non-"missing" failure (throttling, network): the caller retries instead of storing a result.
    transient: Arc<Mutex<Option<String>>>,
    /// Set by [`S3Source::cancel`]: reads fail from then on, so a walk stops early.
    cancel: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for S3Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Source")
            .field("object", &self.object)
            .finish_non_exhaustive()
    }
}

impl S3Source {
    /// A source for `object`, running its network I/O on `handle`.
    pub fn new(s3: Client, object: S3ObjectRef, handle: Handle) -> S3Source {
        S3Source {
            s3,
            object,
            handle,
            transient: Arc::new(Mutex::new(None)),
            cancel: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Stops the scan reading this object: an open fails, and a reader in progress gets a "scan
    /// cancelled" error after the chunks already buffered (the scanner calls this when its duplicate check, run
    /// concurrently with the scan, finds the result already stored).
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
    }

    fn is_cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// A transient S3 failure seen while reading, if any (the scan result must then not be stored).
    pub fn transient_error(&self) -> Option<String> {
        self.transient
            .lock()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn record_transient(&self, message: String) {
        record(&self.transient, message);
    }

    fn name(&self) -> String {
        format!("s3://{}/{}", self.object.bucket, self.object.key)
    }
}

enum Opened {
    Body(aws_sdk_s3::primitives::ByteStream),
    Missing(String),
    Failed(String),
}

impl ArtifactSource for S3Source {
    fn open(&self) -> Result<Box<dyn Read + Send>, ReaderError> {
        if self.is_cancelled() {
            return Err(ReaderError::Io {
                path: self.name(),
                source: cancelled_error(),
            });
        }
        let s3 = self.s3.clone();
        let o = self.object.clone();
        let (tx, rx) = oneshot::channel();
        self.handle.spawn(async move {
            let mut req = s3.get_object().bucket(&o.bucket).key(&o.key);
            if let Some(v) = &o.version_id {
                req = req.version_id(v);
            } else if let Some(etag) = &o.etag {
                req = req.if_match(format!("\"{etag}\""));
            }
            let opened = match req.send().await {
                Ok(out) => Opened::Body(out.body),
                Err(e) => match classify_http(&e) {
                    Class::NotFound => {
                        Opened::Missing("the object or version no longer exists".into())
                    }
                    Class::PreconditionFailed => {
                        Opened::Missing("the key now holds different bytes (ETag changed)".into())
                    }
                    Class::Other(m) => Opened::Failed(m),
                },
            };
            let _ = tx.send(opened);
        });
        // Works on any thread: a plain park/unpark wait, no Tokio context needed.
        let opened = futures::executor::block_on(rx)
            .unwrap_or_else(|_| Opened::Failed("GET task cancelled".into()));
        match opened {
            Opened::Body(body) => {
                let (ctx, crx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_CHUNKS);
                self.handle.spawn(pump(
                    body,
                    ctx,
                    Arc::clone(&self.transient),
                    self.cancel.subscribe(),
                ));
                Ok(Box::new(ChannelReader {
                    rx: crx,
                    current: Bytes::new(),
                    done: false,
                    failed: None,
                }))
            }
            Opened::Missing(why) => {
                tracing::warn!(object = %self.name(), why, "artifact missing");
                Err(ReaderError::NotFound { path: self.name() })
            }
            Opened::Failed(m) => {
                self.record_transient(m.clone());
                Err(ReaderError::Io {
                    path: self.name(),
                    source: io::Error::other(m),
                })
            }
        }
    }

    fn local_path(&self) -> Option<&Path> {
        None
    }

    fn size_hint(&self) -> Option<u64> {
        self.object.size
    }

    fn display_name(&self) -> String {
        self.name()
    }
}

fn record(slot: &Mutex<Option<String>>, message: String) {
    match slot.lock() {
        Ok(mut g) => *g = Some(message),
        Err(p) => *p.into_inner() = Some(message),
    }
}

/// Not `Interrupted`: std's read loops retry that kind, and would take the reader's end for the object's.
fn cancelled_error() -> io::Error {
    io::Error::other("scan cancelled")
}

/// Resolves when the source is cancelled (never, if the source is dropped without being cancelled).
async fn until_cancelled(mut rx: tokio::sync::watch::Receiver<bool>) {
    if rx.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn pump(
    mut body: aws_sdk_s3::primitives::ByteStream,
    tx: mpsc::Sender<io::Result<Bytes>>,
    transient: Arc<Mutex<Option<String>>>,
    cancel: tokio::sync::watch::Receiver<bool>,
) {
    let cancelled = until_cancelled(cancel);
    tokio::pin!(cancelled);
    loop {
        let next = tokio::select! {
            biased;
            () = &mut cancelled => {
                let _ = tx.send(Err(cancelled_error())).await;
                return;
            }
            next = body.try_next() => next,
        };
        match next {
            Ok(Some(chunk)) => {
                if tx.send(Ok(chunk)).await.is_err() {
                    return; // reader dropped (walk stopped early)
                }
            }
            Ok(None) => return,
            Err(e) => {
                let m = format!("S3 body stream: {e}");
                record(&transient, m.clone());
                let _ = tx.send(Err(io::Error::other(m))).await;
                return;
            }
        }
    }
}

struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    done: bool,
    /// The error that ended the stream, returned again by every later read: a caller that goes on reading
    /// after an error must not see the end of a truncated object as its end.
    failed: Option<String>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            if let Some(m) = &self.failed {
                return Err(io::Error::other(m.clone()));
            }
            if self.done {
                return Ok(0);
            }
            match futures::executor::block_on(self.rx.recv()) {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => {
                    self.done = true;
                    self.failed = Some(e.to_string());
                    return Err(e);
                }
                None => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
