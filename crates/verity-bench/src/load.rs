//! A timed run: `concurrency` workers repeat one job back to back until the time is up;
//! jobs that end during the warm-up are done but not counted.

use std::future::Future;
use std::time::{Duration, Instant};

/// How hard and how long.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Jobs in flight at once.
    pub concurrency: usize,
    /// Jobs that end before this are not counted.
    pub warmup: Duration,
    /// How long to count after the warm-up.
    pub measure: Duration,
}

/// What a run did.
#[derive(Debug)]
pub struct Tally {
    /// The time each counted job took, shortest first.
    latencies: Vec<Duration>,
    /// Every job that completed, warm-up included.
    pub all: u64,
}

impl Tally {
    /// Jobs that ended inside the measured window.
    pub fn counted(&self) -> usize {
        self.latencies.len()
    }

    /// The `p`th percentile of the counted jobs' latencies in milliseconds (0 if none).
    pub fn percentile_ms(&self, p: usize) -> f64 {
        let last = self.latencies.len().saturating_sub(1);
        self.latencies
            .get((self.latencies.len() * p / 100).min(last))
            .map_or(0.0, |latency| latency.as_secs_f64() * 1e3)
    }
}

/// Runs `job` on `run.concurrency` workers until the warm-up and the measured window have
/// passed. Any job's error stops its worker, and the run answers with that error.
pub async fn drive<Job, Done>(run: Run, job: Job) -> anyhow::Result<Tally>
where
    Job: Fn() -> Done + Clone + Send + 'static,
    Done: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let counted_from = Instant::now() + run.warmup;
    let deadline = counted_from + run.measure;
    let workers: Vec<_> = (0..run.concurrency)
        .map(|_| {
            let job = job.clone();
            tokio::spawn(async move {
                let (mut latencies, mut all) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let began = Instant::now();
                    job().await?;
                    all += 1;
                    let ended = Instant::now();
                    if ended >= counted_from && ended <= deadline {
                        latencies.push(ended.duration_since(began));
                    }
                }
                anyhow::Ok((latencies, all))
            })
        })
        .collect();
    let mut tally = Tally {
        latencies: Vec::new(),
        all: 0,
    };
    for worker in workers {
        let (latencies, all) = worker.await??;
        tally.latencies.extend(latencies);
        tally.all += all;
    }
    tally.latencies.sort();
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(millis: &[u64]) -> Tally {
        let mut latencies: Vec<_> = millis.iter().copied().map(Duration::from_millis).collect();
        latencies.sort();
        Tally {
            latencies,
            all: millis.len() as u64,
        }
    }

    #[test]
    fn percentiles_pick_from_the_sorted_latencies() {
        let tally = tally(&[40, 10, 30, 20]);
        assert_eq!(tally.percentile_ms(50), 30.0);
        assert_eq!(tally.percentile_ms(99), 40.0);
        assert_eq!(tally.percentile_ms(0), 10.0);
    }

    #[test]
    fn no_counted_jobs_give_zero() {
        assert_eq!(tally(&[]).percentile_ms(99), 0.0);
    }

    #[tokio::test]
    async fn a_failing_job_fails_the_run() {
        let run = Run {
            concurrency: 2,
            warmup: Duration::ZERO,
            measure: Duration::from_secs(5),
        };
        let error = drive(run, || async { anyhow::bail!("refused") })
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "refused");
    }

    #[tokio::test]
    async fn jobs_in_the_warm_up_are_done_but_not_counted() {
        let run = Run {
            concurrency: 1,
            warmup: Duration::from_millis(500),
            measure: Duration::from_millis(500),
        };
        let tally = drive(run, || async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(())
        })
        .await
        .unwrap();
        assert!(tally.all > tally.counted() as u64, "{tally:?}");
        assert!(tally.counted() > 0, "{tally:?}");
    }
}
