//! Pages of the log read ahead of the fold that needs them.
//!
//! Reading a page (the store's query, splitting its rows, opening sealed personal
//! fields) costs about as much as folding it. With the next pages already being read
//! while one folds, a catch-up keeps every core busy instead of taking turns. The log's
//! positions are gapless, so the page after a full one starts a page further on; a page
//! that does not line up with where the fold stands (after a short page at the log's
//! end) is dropped and read again from there.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::task::JoinHandle;
use verity_domain::store::PersonalReads;
use verity_domain::{EventStore, RecordedEvent, StoreError};

/// How many reads are in flight while a page folds: four kept both cores of a 2-core
/// machine busier than two (replay of 1,000,000 events, docs/performance.md).
const READS_IN_FLIGHT: usize = 4;

type Read = JoinHandle<Result<Vec<RecordedEvent>, StoreError>>;

/// The reads in flight, each with the position it reads after.
pub(crate) struct ReadAhead {
    events: Arc<dyn EventStore>,
    page_size: usize,
    /// What the fold reads of the personal data in events.
    reads: PersonalReads,
    in_flight: VecDeque<(u64, Read)>,
}

/// Why a page read ahead is not there.
#[derive(Debug)]
pub(crate) enum ReadFailed {
    /// The store failed.
    Store(StoreError),
    /// The task reading it ended without an answer.
    Task(String),
}

impl ReadAhead {
    /// Nothing read yet; pages of `page_size` events, for a fold that reads `reads`.
    pub(crate) fn new(events: Arc<dyn EventStore>, page_size: usize, reads: PersonalReads) -> Self {
        Self {
            events,
            page_size,
            reads,
            in_flight: VecDeque::new(),
        }
    }

    /// The page after `after` (empty at the log's head), with the pages after it
    /// already asked for.
    pub(crate) async fn page_after(
        &mut self,
        after: u64,
    ) -> Result<Vec<RecordedEvent>, ReadFailed> {
        if self
            .in_flight
            .front()
            .is_some_and(|(from, _)| *from != after)
        {
            self.cancel();
        }
        let mut next = after;
        while self.in_flight.len() < READS_IN_FLIGHT {
            if let Some((from, _)) = self.in_flight.back() {
                next = from + self.page_size as u64;
            }
            self.read(next);
        }
        let Some((_, read)) = self.in_flight.pop_front() else {
            return Ok(Vec::new());
        };
        read.await
            .map_err(|error| ReadFailed::Task(error.to_string()))?
            .map_err(ReadFailed::Store)
    }

    fn read(&mut self, after: u64) {
        let events = Arc::clone(&self.events);
        let (limit, reads) = (self.page_size, self.reads);
        let read = tokio::spawn(async move { events.read_all_for(after, limit, reads).await });
        self.in_flight.push_back((after, read));
    }

    /// Stops the reads in flight: their pages will not be asked for.
    fn cancel(&mut self) {
        for (_, read) in self.in_flight.drain(..) {
            read.abort();
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use verity_domain::{AppendOutcome, AppendRequest};

    use super::*;

    /// A log of `len` events that counts the reads asked of it.
    struct Log {
        len: Mutex<u64>,
        reads: Mutex<Vec<u64>>,
    }

    fn event(position: u64) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: "s".into(),
            version: position,
            event_type: "t".into(),
            schema: 1,
            data: "{}".into(),
            metadata: "{}".into(),
            recorded_at: chrono::DateTime::UNIX_EPOCH,
            hash: String::new(),
        }
    }

    #[async_trait::async_trait]
    impl EventStore for Log {
        async fn append(&self, _: AppendRequest) -> Result<AppendOutcome, StoreError> {
            Err(StoreError::Unavailable("read only".into()))
        }
        async fn read_stream(&self, _: &str) -> Result<Vec<RecordedEvent>, StoreError> {
            Ok(Vec::new())
        }
        async fn read_stream_back(
            &self,
            _: &str,
            _: usize,
        ) -> Result<Vec<RecordedEvent>, StoreError> {
            Ok(Vec::new())
        }
        async fn read_all(
            &self,
            after: u64,
            limit: usize,
        ) -> Result<Vec<RecordedEvent>, StoreError> {
            self.reads.lock().unwrap().push(after);
            let len = *self.len.lock().unwrap();
            Ok((after + 1..=len).take(limit).map(event).collect())
        }
        async fn head(&self) -> Result<u64, StoreError> {
            Ok(*self.len.lock().unwrap())
        }
        async fn wait_beyond(&self, position: u64, _: Duration) -> Result<u64, StoreError> {
            Ok(position)
        }
    }

    async fn positions(pages: &mut ReadAhead, after: &mut u64) -> Vec<u64> {
        let mut seen = Vec::new();
        loop {
            let page = pages.page_after(*after).await.unwrap();
            let Some(last) = page.last() else {
                return seen;
            };
            *after = last.position;
            seen.extend(page.iter().map(|event| event.position));
        }
    }

    #[tokio::test]
    async fn every_event_comes_once_in_order_across_pages_and_a_growing_log() {
        let log = Arc::new(Log {
            len: Mutex::new(25),
            reads: Mutex::new(Vec::new()),
        });
        let mut pages = ReadAhead::new(log.clone(), 10, PersonalReads::ALL);
        let mut after = 0;
        assert_eq!(
            positions(&mut pages, &mut after).await,
            (1..=25).collect::<Vec<_>>()
        );

        // The log grew after a short page: the page read ahead of it no longer lines up
        // and is read again from where the reader stands.
        *log.len.lock().unwrap() = 32;
        assert_eq!(
            positions(&mut pages, &mut after).await,
            (26..=32).collect::<Vec<_>>()
        );
        let reads = log.reads.lock().unwrap().clone();
        assert!(reads.starts_with(&[0, 10, 20]), "{reads:?}");
        assert!(reads.contains(&25), "{reads:?}");
    }
}
