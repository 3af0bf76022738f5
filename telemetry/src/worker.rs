//! The per-request telemetry work off the request thread.
//!
//! The request thread pushes a finished request's [`RequestRecord`] on a bounded queue. A
//! thread of its own, `sluice-telemetry`, records its metrics, evaluates the log filter and
//! CEL fields, formats the log line, builds the span (queued for export as before) and writes
//! the lines to stdout, one `write` per batch. A request's metrics are recorded before its
//! line is written, so once the line is out a scrape sees the request.
//!
//! Nothing is dropped: when the queue is full, or the thread is gone, the request thread does
//! the work itself, as [`Telemetry::record`] does. Under load the thread lingers
//! [`LINGER`] between batches instead of waiting on the queue, so a push finds nobody to wake
//! and costs no system call; idle, it blocks, and the first request wakes it.
//!
//! Lines are written in the order requests finished, except those done inline while the
//! queue was full. [`RecordQueue::flush_blocking`] returns once everything pushed before it
//! is written and its spans are queued for export (shutdown calls it before the span flush).

use std::io::Write;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use crate::facts::RequestRecord;
use crate::Telemetry;

/// Records waiting for the telemetry thread at most; past it the request thread does the work.
pub const QUEUE_CAPACITY: usize = 1024;

/// How long the thread waits between batches while requests keep coming.
pub const LINGER: Duration = Duration::from_millis(1);

/// Written out as soon as the pending lines reach this size, whatever the batch.
const WRITE_AT: usize = 64 * 1024;

enum Job {
    /// Boxed: a record is ~700 bytes, and every slot of the queue is as large as a job.
    Record(Arc<Telemetry>, Box<RequestRecord>),
    Flush(SyncSender<()>),
}

/// The request threads' side of the telemetry thread.
#[derive(Clone, Debug)]
pub struct RecordQueue {
    tx: SyncSender<Job>,
}

impl RecordQueue {
    /// Starts the telemetry thread.
    pub fn start() -> std::io::Result<RecordQueue> {
        Self::start_writing_to(std::io::stdout)
    }

    /// Starts the telemetry thread writing lines to what `out` returns (stdout, or a test's
    /// buffer).
    fn start_writing_to<W, F>(out: F) -> std::io::Result<RecordQueue>
    where
        W: Write,
        F: Fn() -> W + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("sluice-telemetry".to_string())
            .spawn(move || run(rx, out))?;
        Ok(RecordQueue { tx })
    }

    /// Queues `rec` for its metrics, log line and span; does it all here when the queue is
    /// full.
    pub fn submit(&self, telemetry: &Arc<Telemetry>, rec: RequestRecord) {
        match self
            .tx
            .try_send(Job::Record(telemetry.clone(), Box::new(rec)))
        {
            Ok(()) => {}
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                if let Job::Record(telemetry, rec) = job {
                    telemetry.record(&rec);
                }
            }
        }
    }

    /// Blocks until every record pushed before the call has its line written and its span
    /// queued, or `timeout` passes; false then, or when the thread is gone.
    pub fn flush_blocking(&self, timeout: Duration) -> bool {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let deadline = std::time::Instant::now() + timeout;
        let mut job = Job::Flush(ack_tx);
        // The flush waits its turn behind the queued records.
        loop {
            match self.tx.try_send(job) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(j)) => {
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    job = j;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        ack_rx.recv_timeout(left).is_ok()
    }
}

fn run<W: Write>(rx: Receiver<Job>, out: impl Fn() -> W) {
    let mut lines = Vec::with_capacity(WRITE_AT);
    // Blocks only when idle: the first record after a pause wakes the thread.
    while let Ok(job) = rx.recv() {
        let mut next = Some(job);
        while let Some(job) = next.take() {
            handle(job, &mut lines, &out);
            while let Ok(job) = rx.try_recv() {
                handle(job, &mut lines, &out);
                if lines.len() >= WRITE_AT {
                    write_lines(&mut out(), &mut lines);
                }
            }
            write_lines(&mut out(), &mut lines);
            // Let the next records gather rather than have each one wake the thread (a
            // system call on the request thread); block again only after a quiet spell.
            std::thread::sleep(LINGER);
            match rx.try_recv() {
                Ok(job) => next = Some(job),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => return,
            }
        }
    }
}

fn handle<W: Write>(job: Job, lines: &mut Vec<u8>, out: &impl Fn() -> W) {
    match job {
        Job::Record(telemetry, rec) => telemetry.record_into(&rec, lines),
        Job::Flush(ack) => {
            write_lines(&mut out(), lines);
            let _ = ack.send(());
        }
    }
}

/// Writes and clears `lines`. A closed stdout must not take the gateway down: the lines are
/// lost, nothing else.
fn write_lines(out: &mut impl Write, lines: &mut Vec<u8>) {
    if !lines.is_empty() {
        let _ = out.write_all(lines).and_then(|()| out.flush());
        lines.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::export::TelemetryStats;
    use crate::{FieldRules, LogFormat, Metrics};

    /// A `Write` into a shared buffer, one per call of the thread's `out`.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn telemetry() -> Arc<Telemetry> {
        let stats = Arc::new(TelemetryStats::default());
        Arc::new(Telemetry::new(
            "sluice".into(),
            LogFormat::Text,
            FieldRules::default(),
            None,
            stats.clone(),
            Arc::new(Metrics::new(stats)),
        ))
    }

    fn record(i: u16) -> RequestRecord {
        RequestRecord {
            path: format!("/{i}"),
            ..crate::facts::sample_record()
        }
    }

    #[test]
    fn every_line_is_written_in_order_by_the_flush() {
        let buf = Shared::default();
        let sink = buf.clone();
        let queue = RecordQueue::start_writing_to(move || sink.clone()).unwrap();
        let t = telemetry();
        for i in 0..100 {
            queue.submit(&t, record(i));
        }
        assert!(queue.flush_blocking(Duration::from_secs(5)));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let paths: Vec<&str> = text
            .lines()
            .map(|l| {
                l.split(" http.path=")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
            })
            .collect();
        let expected: Vec<String> = (0..100).map(|i| format!("/{i}")).collect();
        assert_eq!(paths, expected);
        assert!(t
            .metrics
            .encode(0)
            .contains("sluice_requests_total{route=\"chat\",status=\"200\""));
    }

    #[test]
    fn a_gone_thread_leaves_the_work_to_the_caller() {
        let (tx, rx) = mpsc::sync_channel(1);
        drop(rx);
        let queue = RecordQueue { tx };
        let t = telemetry();
        queue.submit(&t, record(1));
        assert!(t
            .metrics
            .encode(0)
            .contains("sluice_requests_total{route=\"chat\",status=\"200\""));
        assert!(!queue.flush_blocking(Duration::from_millis(10)));
    }
}
