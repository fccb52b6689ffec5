//! `verity role grant | revoke | list`: the operator makes the first instance admin and
//! delegates an organization; every refusal is one clear line and writes nothing.

use crate::support::{Target, assert_clear_error, json_lines};

fn event_count(target: &Target) -> usize {
    target.ok(&["events", "export"]).lines().count()
}

#[test]
fn the_operator_grants_lists_and_revokes_roles() {
    let target = Target::sqlite();
    target.ok(&["org", "create", "Acme"]);
    for (org, email) in [("Acme", "ada@example.org"), ("Default", "bob@example.org")] {
        target.ok(&[
            "user", "create", "--org", org, "--email", email, "--name", "N",
        ]);
    }

    let granted = target.ok(&["role", "grant", "ada@example.org", "instance-admin"]);
    assert_eq!(
        granted.trim(),
        "granted instance-admin in the instance to ada@example.org"
    );
    target.ok(&[
        "role",
        "grant",
        "bob@example.org",
        "org-admin",
        "--org",
        "Default",
    ]);
    target.ok(&["role", "grant", "bob@example.org", "auditor"]);

    let listed = json_lines(&target.ok(&["role", "list", "--json"]));
    let summary: Vec<(String, String, bool)> = listed
        .iter()
        .map(|line| {
            (
                line["holder"]["email"].as_str().unwrap().to_owned(),
                line["role"].as_str().unwrap().to_owned(),
                line["org_id"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("ada@example.org".into(), "instance-admin".into(), true),
            ("bob@example.org".into(), "auditor".into(), true),
            ("bob@example.org".into(), "org-admin".into(), false),
        ]
    );
    let in_default = json_lines(&target.ok(&["role", "list", "--org", "Default", "--json"]));
    assert_eq!(in_default.len(), 1);
    assert_eq!(in_default[0]["role"], "org-admin");

    let granted = json_lines(&target.ok(&["events", "export", "--type", "role.granted"]));
    assert_eq!(granted.len(), 3);
    assert_eq!(
        granted[0]["metadata"]["actor"]["kind"], "cli",
        "the operator is named"
    );

    target.ok(&["role", "revoke", "bob@example.org", "auditor"]);
    assert_eq!(json_lines(&target.ok(&["role", "list", "--json"])).len(), 2);
}

#[test]
fn a_role_command_that_makes_no_sense_is_one_clear_error_and_writes_nothing() {
    let target = Target::sqlite();
    target.ok(&["org", "create", "Acme"]);
    target.ok(&[
        "user",
        "create",
        "--org",
        "Acme",
        "--email",
        "ada@example.org",
        "--name",
        "A",
    ]);
    target.ok(&[
        "user",
        "create",
        "--org",
        "Default",
        "--email",
        "ada@example.org",
        "--name",
        "B",
    ]);
    let before = event_count(&target);
    for (args, expected) in [
        (
            &["role", "grant", "ada@example.org", "instance-admin"][..],
            "in 2 organizations: name the organization",
        ),
        (
            &["role", "grant", "ada@example.org", "admin", "--org", "Acme"],
            "unknown role \"admin\"",
        ),
        (
            &[
                "role",
                "grant",
                "ada@example.org",
                "instance-admin",
                "--org",
                "Acme",
            ],
            "not of one organization",
        ),
        (
            &[
                "role",
                "grant",
                "ada@example.org",
                "org-admin",
                "--org",
                "Nowhere",
            ],
            "no organization \"Nowhere\"",
        ),
        (
            &[
                "role",
                "grant",
                "nobody@example.org",
                "auditor",
                "--org",
                "Acme",
            ],
            "no user nobody@example.org in organization Acme",
        ),
        (
            &[
                "role",
                "revoke",
                "ada@example.org",
                "auditor",
                "--org",
                "Acme",
            ],
            "they do not hold auditor",
        ),
        (
            &["role", "grant", "--client", "nope", "auditor"],
            "no client \"nope\"",
        ),
        (
            &[
                "role",
                "grant",
                "--client",
                "nope",
                "ada@example.org",
                "auditor",
            ],
            "with --client, give the role only",
        ),
    ] {
        assert_clear_error(&target.run(args), expected);
    }
    target.ok(&[
        "role",
        "grant",
        "ada@example.org",
        "auditor",
        "--org",
        "Acme",
    ]);
    assert_clear_error(
        &target.run(&[
            "role",
            "grant",
            "ada@example.org",
            "auditor",
            "--org",
            "Acme",
        ]),
        "they already hold auditor",
    );
    assert_eq!(event_count(&target), before + 1);
}
