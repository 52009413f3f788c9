//! A deterministic daily-price source on loopback HTTP, with a request log, for the
//! pull-through tests.
//!
//! `GET /daily/{symbol}?start=YYYY-MM-DD&last=YYYY-MM-DD` answers CSV `symbol,day,price`, one
//! row per day (price = days since the epoch + the symbol's length), except: symbol `EMPTY`
//! has no rows, `DOWN` answers 503, `MISSING` answers 404, and while `fail_next` is above zero
//! each request answers 503 and counts it down. Every request waits `delay` first.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The running server.
#[derive(Clone)]
pub struct Source {
    /// `http://127.0.0.1:port`.
    pub base: String,
    log: Arc<Mutex<Vec<String>>>,
    /// Requests to fail with 503 before answering.
    pub fail_next: Arc<AtomicUsize>,
    /// Milliseconds each request waits before answering.
    pub delay_ms: Arc<AtomicU64>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

/// The price the source gives `symbol` on `day` (days since the epoch).
pub fn price(symbol: &str, day: i64) -> f64 {
    (day + symbol.len() as i64) as f64
}

fn day_of(text: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some((d - epoch).num_days())
}

/// Percent-decoding of a path or query part.
fn unescape(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

impl Source {
    /// Start serving on a free loopback port.
    pub async fn start() -> Source {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let source = Source {
            base: format!("http://{}", listener.local_addr().unwrap()),
            log: Arc::default(),
            fail_next: Arc::default(),
            delay_ms: Arc::default(),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
        };
        let s = source.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let target = head.split(' ').nth(1).unwrap_or("/").to_string();
                    let (status, body) = s.answer(&target).await;
                    let reply = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: text/csv\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(reply.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        source
    }

    async fn answer(&self, target: &str) -> (&'static str, String) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let answer = self.respond(target);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        answer
    }

    fn respond(&self, target: &str) -> (&'static str, String) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let symbol = unescape(path.strip_prefix("/daily/").unwrap_or(""));
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .map(unescape)
        };
        let start = param("start").unwrap_or_default();
        let last = param("last").unwrap_or_default();
        self.log
            .lock()
            .unwrap()
            .push(format!("{symbol} {start}..{last}"));
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return ("503 Service Unavailable", "busy, try again".into());
        }
        match symbol.as_str() {
            "DOWN" => return ("503 Service Unavailable", "the source is down".into()),
            "MISSING" => return ("404 Not Found", "no such symbol".into()),
            _ => {}
        }
        let (Some(a), Some(b)) = (day_of(&start), day_of(&last)) else {
            return ("400 Bad Request", format!("bad range {start}..{last}"));
        };
        let mut body = String::from("symbol,day,price\n");
        if symbol != "EMPTY" {
            for d in a..=b {
                let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                    + chrono::Duration::days(d);
                body.push_str(&format!("\"{symbol}\",{date},{}\n", price(&symbol, d)));
            }
        }
        ("200 OK", body)
    }

    /// The requests so far (`SYMBOL start..last`), sorted, and forgotten.
    pub fn take_log(&self) -> Vec<String> {
        let mut l = std::mem::take(&mut *self.log.lock().unwrap());
        l.sort();
        l
    }

    /// The most requests that were in flight at once so far (and reset).
    pub fn take_max_in_flight(&self) -> usize {
        self.max_in_flight.swap(0, Ordering::SeqCst)
    }
}
