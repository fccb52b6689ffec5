//! For any sequence of commands, the live projection equals a rebuild from position 0.

use std::time::Duration;

use proptest::prelude::*;
use uuid::Uuid;
use verity_domain::aggregate::ExecuteError;
use verity_domain::organization::{Organization, OrganizationCommand};
use verity_domain::user::{User, UserCommand};
use verity_domain::{AppendOutcome, StoreError, execute};
use verity_projection::{Projector, ReadModels, rebuild};

use crate::support::{HASH, TestStore, WAIT, context, create_user_command};

/// Names and addresses that collide once case is ignored, so the unique keys refuse some.
const ORG_NAMES: [&str; 4] = ["Acme", " acme", "Globex", "Initech"];
const EMAILS: [&str; 5] = [
    "ada@example.org",
    "ADA@Example.org",
    "bob@example.org",
    "carol+work@example.org",
    "dave@sub.example.org",
];

#[derive(Debug, Clone)]
enum Op {
    CreateOrg { name: usize },
    CreateUser { org: usize, email: usize },
    ChangePassword { user: usize },
    Disable { user: usize },
    Enable { user: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..ORG_NAMES.len()).prop_map(|name| Op::CreateOrg { name }),
        3 => (0..8usize, 0..EMAILS.len()).prop_map(|(org, email)| Op::CreateUser { org, email }),
        2 => (0..16usize).prop_map(|user| Op::ChangePassword { user }),
        1 => (0..16usize).prop_map(|user| Op::Disable { user }),
        1 => (0..16usize).prop_map(|user| Op::Enable { user }),
    ]
}

/// The ids commands were tried with (refused ones too, so later commands hit missing
/// organizations and users as well) and what was accepted.
#[derive(Default)]
struct Run {
    org_ids: Vec<Uuid>,
    user_ids: Vec<Uuid>,
    orgs_created: usize,
    users_created: usize,
    last_position: u64,
}

impl Run {
    fn pick(ids: &[Uuid], index: usize) -> Uuid {
        if ids.is_empty() {
            Uuid::from_u128(0xdead)
        } else {
            ids[index % ids.len()]
        }
    }

    /// Notes an accepted command; a refusal is fine, any other failure is not.
    fn note<E: std::error::Error>(
        &mut self,
        outcome: Result<AppendOutcome, ExecuteError<E>>,
    ) -> bool {
        match outcome {
            Ok(appended) => {
                self.last_position = appended.position;
                true
            }
            Err(ExecuteError::Rejected(_))
            | Err(ExecuteError::Store(StoreError::UniqueKeyTaken { .. })) => false,
            Err(error) => panic!("command failed: {error}"),
        }
    }

    async fn run(&mut self, test: &TestStore, op: &Op) {
        let store = test.store.as_ref();
        let ctx = context();
        match op {
            Op::CreateOrg { name } => {
                let org_id = Uuid::new_v4();
                self.org_ids.push(org_id);
                let command = OrganizationCommand::Create {
                    org_id,
                    name: ORG_NAMES[*name].into(),
                };
                let stream = verity_domain::organization::stream(org_id);
                let outcome = execute::<Organization>(store, &stream, &command, &ctx).await;
                if self.note(outcome) {
                    self.orgs_created += 1;
                }
            }
            Op::CreateUser { org, email } => {
                let user_id = Uuid::new_v4();
                self.user_ids.push(user_id);
                let command =
                    create_user_command(user_id, Self::pick(&self.org_ids, *org), EMAILS[*email]);
                let stream = verity_domain::user::stream(user_id);
                let outcome = execute::<User>(store, &stream, &command, &ctx).await;
                if self.note(outcome) {
                    self.users_created += 1;
                }
            }
            Op::ChangePassword { user } | Op::Disable { user } | Op::Enable { user } => {
                let command = match op {
                    Op::ChangePassword { .. } => UserCommand::ChangePassword {
                        password_hash: format!("{HASH}{user}"),
                        end_sessions: verity_domain::user::EndSessions::None,
                    },
                    Op::Disable { .. } => UserCommand::Disable,
                    _ => UserCommand::Enable,
                };
                let stream = verity_domain::user::stream(Self::pick(&self.user_ids, *user));
                let outcome = execute::<User>(store, &stream, &command, &ctx).await;
                self.note(outcome);
            }
        }
    }
}

async fn live_equals_rebuilt(ops: Vec<Op>) {
    let test = TestStore::new().await;
    let projector = Projector::<ReadModels>::start(test.events(), test.snapshots())
        .await
        .unwrap();

    let mut run = Run::default();
    for op in &ops {
        run.run(&test, op).await;
    }
    projector.wait_for(run.last_position, WAIT).await.unwrap();

    let (rebuilt, position) = rebuild::<ReadModels>(test.events().as_ref(), |_| {})
        .await
        .unwrap();
    assert_eq!(position, run.last_position);
    assert_eq!(rebuilt.organizations.len(), run.orgs_created);
    assert_eq!(rebuilt.users.len(), run.users_created);
    projector.read(|live| assert_eq!(*live, rebuilt));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_live_projection_equals_a_rebuild(ops in proptest::collection::vec(op(), 0..24)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), live_equals_rebuilt(ops))
                .await
                .unwrap();
        });
    }
}
