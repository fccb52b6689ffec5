//! The verifier: fed the log's events in position order, it recomputes the chain and checks
//! every checkpoint it meets — in the log and kept outside — against the pinned key and
//! against the hashes the log holds. The same code checks a database, a bundle and, from
//! the newest checkpoint on, the log at server start.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use verity_domain::RecordedEvent;
use verity_domain::audit::{self, AuditEvent, Checkpoint};
use verity_store::chain::{ChainVerifier, GENESIS, Hash};

use crate::checkpoint;
use crate::key::AuditPublicKey;
use crate::tampering::Tampering;

/// How far back from itself a checkpoint may sign a head: the events appended between a
/// node reading the head and its checkpoint landing. Far more than a busy log appends in
/// that time; the hashes of this many recent events are kept (about 2.5 MB).
pub const LOOKBACK: u64 = 1 << 16;

/// A checkpoint kept outside the database, with where it came from (`FILE:LINE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    /// Where it was read, for messages.
    pub origin: String,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
}

/// The newest checkpoint seen, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Where it is: `log:POSITION` or `FILE:LINE`.
    pub origin: String,
}

/// What a verified log showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The head position (the number of events).
    pub events: u64,
    /// The head hash, hex.
    pub head: String,
    /// The position verification started after (0: the whole chain).
    pub from: u64,
    /// Checkpoints in the log that were checked.
    pub log_checkpoints: u64,
    /// Checkpoints kept outside that were checked.
    pub external_checkpoints: u64,
    /// The fingerprint of the key the signatures were checked with; `None`: no key was
    /// given, and no signature was checked.
    pub key: Option<String>,
    /// The newest checkpoint (by the position it signs).
    pub newest: Option<Newest>,
    /// The position of the last checkpoint event met in the log.
    pub last_in_log: Option<u64>,
}

impl Report {
    /// How many events come after the newest checkpoint's head: those only the chain
    /// protects.
    pub fn after_newest(&self) -> u64 {
        self.events
            - self
                .newest
                .as_ref()
                .map_or(0, |newest| newest.checkpoint.position.min(self.events))
    }

    /// How old the newest checkpoint is at `now`.
    pub fn newest_age(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.newest
            .as_ref()
            .map(|newest| now - newest.checkpoint.signed_at)
    }
}

/// The checkpoint in the log seen last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LastInLog {
    /// Its event's position.
    event: u64,
    /// The position it signs.
    signed: u64,
}

/// Checks a log event by event; see the module documentation.
#[derive(Debug)]
pub struct Verifier {
    chain: ChainVerifier,
    from: u64,
    key: Option<AuditPublicKey>,
    /// The hashes of the last [`LOOKBACK`] positions.
    recent: VecDeque<(u64, Hash)>,
    last_in_log: Option<LastInLog>,
    /// The last head a checkpoint in the log signed and the log still held.
    last_matched: u64,
    log_checkpoints: u64,
    /// Checkpoints kept outside, by the position they sign; `next_external` is the first
    /// whose position was not reached yet.
    externals: Vec<(External, Hash)>,
    next_external: usize,
    /// Which externals were met among the log's checkpoints, by signature.
    external_by_signature: HashMap<String, usize>,
    externals_in_log: Vec<bool>,
    newest: Option<Newest>,
}

impl Verifier {
    /// Verifies from the first event. Checkpoints are checked with `key` when given (and
    /// only for their hashes when not); `externals` are checkpoints kept outside the
    /// database, which need the key.
    pub fn new(key: Option<AuditPublicKey>, externals: Vec<External>) -> Result<Self, Tampering> {
        Self::build(ChainVerifier::default(), key, externals, None)
    }

    /// Verifies from after `position`, whose hash `hash` is trusted: the head signed by the
    /// log's newest checkpoint whose signature and event were checked. `previous` is the
    /// event position of the checkpoint before that one, if any.
    pub fn resume(
        position: u64,
        hash: Hash,
        previous: Option<u64>,
        key: AuditPublicKey,
        externals: Vec<External>,
    ) -> Result<Self, Tampering> {
        let previous = previous.map(|event| LastInLog { event, signed: 0 });
        let mut verifier = Self::build(
            ChainVerifier::resume(position, hash),
            Some(key),
            externals,
            previous,
        )?;
        verifier.from = position;
        verifier.last_matched = position;
        verifier.remember(position, hash);
        Ok(verifier)
    }

    fn build(
        chain: ChainVerifier,
        key: Option<AuditPublicKey>,
        mut externals: Vec<External>,
        last_in_log: Option<LastInLog>,
    ) -> Result<Self, Tampering> {
        externals.sort_by_key(|external| external.checkpoint.position);
        // The same checkpoint from two copies (a bundle's file and the auditor's) counts once.
        let mut seen = std::collections::HashSet::new();
        externals.retain(|external| seen.insert(external.checkpoint.signature.clone()));
        let mut checked = Vec::with_capacity(externals.len());
        let mut newest: Option<Newest> = None;
        for external in externals {
            let hash = match &key {
                Some(key) => checkpoint::verify(key, &external.checkpoint),
                None => Err(checkpoint::CheckpointError::OtherKey {
                    found: external.checkpoint.key.clone(),
                    pinned: "(none given)".into(),
                }),
            }
            .map_err(|error| Tampering::ExternalSignature {
                origin: external.origin.clone(),
                error,
            })?;
            newest = Some(Newest {
                checkpoint: external.checkpoint.clone(),
                origin: external.origin.clone(),
            });
            checked.push((external, hash));
        }
        let external_by_signature = checked
            .iter()
            .enumerate()
            .map(|(index, (external, _))| (external.checkpoint.signature.clone(), index))
            .collect();
        let mut verifier = Self {
            chain,
            from: 0,
            key,
            recent: VecDeque::new(),
            last_in_log,
            last_matched: 0,
            log_checkpoints: 0,
            externals_in_log: vec![false; checked.len()],
            externals: checked,
            next_external: 0,
            external_by_signature,
            newest,
        };
        // A checkpoint of the empty log signs position 0 and the genesis hash.
        verifier.compare_externals(0, &GENESIS)?;
        Ok(verifier)
    }

    /// Checks the next event.
    pub fn check(&mut self, event: &RecordedEvent) -> Result<(), Tampering> {
        self.chain.check(event)?;
        let hash = *self.chain.head_hash();
        self.remember(event.position, hash);
        self.compare_externals(event.position, &hash)?;
        if event.event_type == audit::CHECKPOINT_SIGNED {
            self.check_log_checkpoint(event)?;
        }
        Ok(())
    }

    /// The report once every event was fed; fails when a checkpoint kept outside signs a
    /// head beyond the log's end or is missing from the log.
    pub fn finish(self) -> Result<Report, Tampering> {
        let head = self.chain.position();
        if let Some((external, _)) = self.externals.get(self.next_external) {
            return Err(Tampering::ExternalBeyondHead {
                origin: external.origin.clone(),
                signed: external.checkpoint.position,
                head,
            });
        }
        // Only checkpoints at or after where verification started can have been met.
        let missing = self
            .externals
            .iter()
            .zip(&self.externals_in_log)
            .find(|((external, _), found)| !**found && external.checkpoint.position >= self.from);
        if let Some(((external, _), _)) = missing {
            let after = match &self.last_in_log {
                Some(last) if last.signed > 0 => format!(
                    " (its newest checkpoint, at position {}, signs position {})",
                    last.event, last.signed
                ),
                _ => " (it holds none)".to_owned(),
            };
            return Err(Tampering::ExternalNotInLog {
                origin: external.origin.clone(),
                signed: external.checkpoint.position,
                signed_at: external.checkpoint.signed_at.to_rfc3339(),
                after,
            });
        }
        let report = self.chain.report();
        Ok(Report {
            events: report.events,
            head: report.head,
            from: self.from,
            log_checkpoints: self.log_checkpoints,
            external_checkpoints: self.externals.len() as u64,
            key: self.key.map(|key| key.fingerprint().to_owned()),
            newest: self.newest,
            last_in_log: self.last_in_log.map(|last| last.event),
        })
    }

    /// The last position checked.
    pub fn position(&self) -> u64 {
        self.chain.position()
    }

    /// The hash of the last event checked.
    pub fn head_hash(&self) -> &Hash {
        self.chain.head_hash()
    }

    fn remember(&mut self, position: u64, hash: Hash) {
        if self.recent.len() as u64 >= LOOKBACK {
            self.recent.pop_front();
        }
        self.recent.push_back((position, hash));
    }

    /// The hash the log holds at `position`, if it is among the recent ones.
    fn recent_hash(&self, position: u64) -> Option<&Hash> {
        let (first, _) = self.recent.front()?;
        let index = usize::try_from(position.checked_sub(*first)?).ok()?;
        self.recent
            .get(index)
            .filter(|(at, _)| *at == position)
            .map(|(_, hash)| hash)
    }

    fn compare_externals(&mut self, position: u64, hash: &Hash) -> Result<(), Tampering> {
        while let Some((external, signed)) = self.externals.get(self.next_external) {
            if external.checkpoint.position > position {
                break;
            }
            // Before where verification started: checked by the caller, not here.
            if external.checkpoint.position == position && signed != hash {
                return Err(Tampering::ExternalMismatch {
                    origin: external.origin.clone(),
                    signed: position,
                    expected: hex::encode(signed),
                    found: hex::encode(hash),
                });
            }
            self.next_external += 1;
        }
        Ok(())
    }

    fn check_log_checkpoint(&mut self, event: &RecordedEvent) -> Result<(), Tampering> {
        let position = event.position;
        if event.stream != audit::STREAM {
            return Err(Tampering::CheckpointElsewhere {
                position,
                stream: event.stream.clone(),
            });
        }
        let checkpoint = match AuditEvent::checkpoint_of(event) {
            Ok(Some(checkpoint)) => checkpoint,
            Ok(None) => return Ok(()),
            Err(error) => {
                return Err(Tampering::UnreadableCheckpoint {
                    position,
                    reason: error.to_string(),
                });
            }
        };
        let signed_hash = match &self.key {
            Some(key) => checkpoint::verify(key, &checkpoint)
                .map_err(|error| Tampering::LogCheckpointSignature { position, error })?,
            None => verity_store::chain::parse_hash(&checkpoint.hash).ok_or(
                Tampering::LogCheckpointSignature {
                    position,
                    error: checkpoint::CheckpointError::BadHash,
                },
            )?,
        };
        let previous = self.last_in_log.map_or(0, |last| last.event);
        let signed = checkpoint.position;
        if signed >= position || (previous > 0 && signed < previous) {
            return Err(Tampering::CheckpointOutOfOrder {
                position,
                signed,
                previous,
            });
        }
        let Some(found) = self.recent_hash(signed) else {
            // Further back than any checkpointer signs: treated as moved.
            return Err(Tampering::CheckpointOutOfOrder {
                position,
                signed,
                previous,
            });
        };
        if *found != signed_hash {
            return Err(Tampering::LogCheckpointMismatch {
                position,
                signed,
                expected: checkpoint.hash.clone(),
                found: hex::encode(found),
                since: self.last_matched + 1,
            });
        }
        self.last_matched = signed;
        self.last_in_log = Some(LastInLog {
            event: position,
            signed,
        });
        self.log_checkpoints += 1;
        if let Some(index) = self.external_by_signature.get(&checkpoint.signature)
            && let Some(found) = self.externals_in_log.get_mut(*index)
        {
            *found = true;
        }
        if self
            .newest
            .as_ref()
            .is_none_or(|newest| newest.checkpoint.position <= signed)
        {
            self.newest = Some(Newest {
                checkpoint,
                origin: format!("log:{position}"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use verity_domain::DomainEvent as _;
    use verity_store::chain::EventFields;

    use super::*;
    use crate::checkpoint::sign;
    use crate::key::{AuditKey, SEED_LEN};

    /// A log of `count` plain events, and a way to append a checkpoint of its head.
    struct Log {
        events: Vec<RecordedEvent>,
        /// Each stream's version, so appending stays cheap on a log of [`LOOKBACK`] events.
        versions: HashMap<String, u64>,
        key: AuditKey,
    }

    impl Log {
        fn new(count: u64) -> Self {
            let mut log = Self {
                events: Vec::new(),
                versions: HashMap::new(),
                key: AuditKey::from_seed([2; SEED_LEN]),
            };
            for index in 0..count {
                log.push("test-1", "test.happened", format!("{{\"i\":{index}}}"));
            }
            log
        }

        fn push(&mut self, stream: &str, event_type: &str, data: String) {
            let previous = self.events.last().map_or(GENESIS, |event| {
                verity_store::chain::parse_hash(&event.hash).unwrap()
            });
            let version = self.versions.entry(stream.to_owned()).or_default();
            *version += 1;
            let version = *version;
            let mut event = RecordedEvent {
                position: self.events.len() as u64 + 1,
                stream: stream.into(),
                version,
                event_type: event_type.into(),
                schema: 1,
                data,
                metadata: "{}".into(),
                recorded_at: DateTime::UNIX_EPOCH,
                hash: String::new(),
            };
            event.hash = hex::encode(EventFields::of(&event).hash(&previous));
            self.events.push(event);
        }

        /// Signs the head as it is (or `signs`, when given) and appends the checkpoint.
        fn checkpoint(&mut self, signs: Option<u64>) -> Checkpoint {
            let position = signs.unwrap_or(self.events.len() as u64);
            let hash =
                verity_store::chain::parse_hash(&self.events[position as usize - 1].hash).unwrap();
            let checkpoint = sign(&self.key, position, &hash, DateTime::UNIX_EPOCH);
            let data = AuditEvent::CheckpointSigned(checkpoint.clone()).to_data();
            self.push(audit::STREAM, audit::CHECKPOINT_SIGNED, data);
            checkpoint
        }

        fn verify(&self, externals: Vec<External>) -> Result<Report, Tampering> {
            let mut verifier = Verifier::new(Some(self.key.public().clone()), externals)?;
            for event in &self.events {
                verifier.check(event)?;
            }
            verifier.finish()
        }
    }

    fn external(checkpoint: &Checkpoint, origin: &str) -> External {
        External {
            origin: origin.into(),
            checkpoint: checkpoint.clone(),
        }
    }

    #[test]
    fn the_report_counts_checkpoints_and_what_comes_after_the_newest() {
        let mut log = Log::new(5);
        log.checkpoint(None);
        log.push("test-2", "test.happened", "{}".into());
        let newest = log.checkpoint(None);
        log.push("test-2", "test.happened", "{}".into());
        // The same checkpoint from two copies counts once, and is found in the log.
        let report = log
            .verify(vec![external(&newest, "a:1"), external(&newest, "b:7")])
            .unwrap();
        assert_eq!(report.events, 9);
        assert_eq!(report.log_checkpoints, 2);
        assert_eq!(report.external_checkpoints, 1);
        assert_eq!(report.newest.unwrap().checkpoint, newest);
        assert_eq!(report.last_in_log, Some(8));
    }

    #[test]
    fn a_checkpoint_of_a_head_further_back_than_any_node_signs_is_refused() {
        let mut log = Log::new(LOOKBACK + 10);
        log.checkpoint(Some(5));
        let refused = log.verify(Vec::new()).unwrap_err();
        assert!(
            matches!(refused, Tampering::CheckpointOutOfOrder { signed: 5, .. }),
            "{refused}"
        );
        let mut log = Log::new(LOOKBACK + 10);
        log.checkpoint(Some(12));
        assert!(log.verify(Vec::new()).is_ok());
    }

    #[test]
    fn a_kept_checkpoint_missing_from_the_log_is_named() {
        let mut log = Log::new(3);
        let kept = log.checkpoint(None);
        // The log as it was before the checkpoint was appended: cut back to its head.
        log.events.truncate(3);
        let refused = log
            .verify(vec![external(&kept, "kept.jsonl:1")])
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("checkpoint kept.jsonl:1 (position 3"),
            "{refused}"
        );
        assert!(refused.to_string().contains("(it holds none)"), "{refused}");
    }
}
