"""Verity's SCIM service, driven by an independent SCIM client (conformance/scim/README.md).

Two parts, both with Python's scim2 libraries (pinned in requirements.txt):

- ``tester``: scim2-tester's RFC 7643/7644 checks (discovery, 405 on discovery writes,
  404 on unknown URLs, create, read, list and search with attributes, replace, PATCH
  add/replace/remove, delete), with the resource models Verity publishes at /Schemas.
- ``client``: a provisioning scenario written with scim2-client's typed requests, the
  way an identity system provisions people: create, filters, paging, attribute
  selection, PATCH with and without a path, replace, delete, and the errors
  (uniqueness, invalidFilter, invalidValue, 401, another organization's token).

Environment: VERITY_SCIM_URL (``<issuer>/scim/v2``), VERITY_SCIM_TOKEN (a token of the
organization under test), VERITY_SCIM_OTHER_TOKEN (a token of another organization).
Every check prints one line, ``ok NAME`` or ``FAIL NAME: why`` (the tester's results as
``tester STATUS TITLE: reason``); the exit code is 1 when anything failed. The Rust test
``scim_client`` runs this script and checks every expected line is there.
"""

import os
import sys
import uuid

import scim2_tester.checkers.patch_add as patch_add
import scim2_tester.checkers.patch_replace as patch_replace
import scim2_tester.filling as filling
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Error, PatchOp, SearchRequest
from scim2_tester import Status, check_server

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
FAILED = []


def check(name, condition, why=""):
    if condition:
        print(f"ok {name}")
    else:
        FAILED.append(name)
        print(f"FAIL {name}: {why}")


def client(base, token):
    http = Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    scim = SyncSCIMClient(http)
    scim.discover()
    return scim


def address(name):
    return f"{name}-{uuid.uuid4().hex[:8]}@example.org"


# Verity's userName is the person's sign-in address (RFC 7643 §4.1.1 leaves its form to
# the service provider); scim2-tester fills every string with a UUID, so its value
# generator gets addresses for userName. Nothing else about its checks changes.
_generate = filling.generate_random_value


def _generate_with_addresses(context, path, mutability=None, required=None):
    value = _generate(context, path, mutability=mutability, required=required)
    if value is not None and str(path).rsplit(":", 1)[-1].lower() == "username":
        return address("tester")
    return value


filling.generate_random_value = _generate_with_addresses
patch_add.generate_random_value = _generate_with_addresses
patch_replace.generate_random_value = _generate_with_addresses


def run_tester(base, token):
    results = check_server(client(base, token))
    for result in results:
        reason = (result.reason or "").replace("\n", " ")
        print(f"tester {result.status.name} {result.title}: {reason}")
        if result.status in (Status.ERROR, Status.CRITICAL):
            FAILED.append(f"tester {result.title}")


def is_error(answer, status, scim_type=None):
    return (
        isinstance(answer, Error)
        and str(answer.status) == str(status)
        and (scim_type is None or answer.scim_type == scim_type)
    )


def run_client(base, token, other_token):
    scim = client(base, token)
    User = scim.get_resource_model("User")

    # Create, as Okta or Entra ID would.
    user_name = address("grace")
    tag = uuid.uuid4().hex[:8]
    external_id = f"okta-{tag}"
    display_name = f"Grace Hopper {tag}"
    created = scim.create(
        User(
            user_name=user_name,
            external_id=external_id,
            display_name=display_name,
            name={"given_name": "Grace", "family_name": "Hopper"},
            emails=[{"value": "grace@home.example", "type": "home", "primary": False}],
            active=True,
        )
    )
    check(
        "create",
        created.id and created.user_name == user_name and created.active is True,
        repr(created),
    )
    check(
        "create meta",
        created.meta.location.endswith(f"/Users/{created.id}") and created.meta.version,
        repr(created.meta),
    )
    read = scim.query(User, created.id)
    check(
        "read",
        read.external_id == external_id
        and read.name.family_name == "Hopper"
        and read.emails[0].value == "grace@home.example",
        repr(read),
    )

    # Filters.
    def found(expression):
        answer = scim.search(User, SearchRequest(filter=expression, count=50))
        return [resource.id for resource in answer.resources or []], answer.total_results

    ids, total = found(f'userName eq "{user_name.upper()}"')
    check("filter userName eq in any case", ids == [created.id] and total == 1, f"{ids} {total}")
    ids, _ = found(f'externalId eq "{external_id}"')
    check("filter externalId eq", ids == [created.id], repr(ids))
    ids, _ = found(f'emails.value co "@home.example" and displayName sw "Grace Hopper {tag}"')
    check("filter co, sw, and", ids == [created.id], repr(ids))
    ids, _ = found(f'externalId pr and (active eq false or displayName eq "{display_name}")')
    check("filter pr, or, grouping", created.id in ids, repr(ids))
    ids, _ = found(f'userName ne "{user_name}" and externalId eq "{external_id}"')
    check("filter ne", ids == [], repr(ids))

    # Paging and attribute selection.
    counted = scim.query(User, query_parameters={"count": 0})
    check(
        "count=0 answers only totalResults",
        counted.total_results >= 1 and not counted.resources,
        repr(counted),
    )
    only = scim.query(User, created.id, {"attributes": ["userName"]})
    check(
        "attributes",
        only.user_name == user_name and only.id == created.id and only.display_name is None,
        repr(only),
    )
    without = scim.query(User, created.id, {"excluded_attributes": ["emails"]})
    check(
        "excludedAttributes",
        without.emails is None and without.display_name == display_name,
        repr(without),
    )

    # Errors, as RFC 7644 §3.12 says.
    twin = scim.create(
        User(user_name=user_name.upper(), display_name="Twin"), raise_scim_errors=False
    )
    check("uniqueness 409", is_error(twin, 409, "uniqueness"), repr(twin))
    bad_filter = scim.query(
        User,
        query_parameters={"filter": "userName eq"},
        check_request_payload=False,
        raise_scim_errors=False,
    )
    check("invalidFilter", is_error(bad_filter, 400, "invalidFilter"), repr(bad_filter))
    bad_value = scim.create(
        resource={"schemas": [USER_SCHEMA], "userName": "not an address"},
        url="/Users",
        check_request_payload=False,
        raise_scim_errors=False,
    )
    check("invalidValue", is_error(bad_value, 400, "invalidValue"), repr(bad_value))
    missing = scim.query(User, str(uuid.uuid4()), raise_scim_errors=False)
    check("404", is_error(missing, 404), repr(missing))

    # PATCH with a path, and without one (the form Okta sends).
    disabled = scim.modify(
        User,
        created.id,
        PatchOp[User](operations=[{"op": "replace", "path": "active", "value": False}]),
    )
    check(
        "patch with a path",
        disabled.active is False and disabled.meta.version != created.meta.version,
        repr(disabled),
    )
    enabled = scim.modify(
        User,
        created.id,
        PatchOp[User](
            operations=[
                {"op": "replace", "value": {"active": True, "displayName": "Grace B. Hopper"}}
            ]
        ),
    )
    check(
        "patch without a path",
        enabled.active is True and enabled.display_name == "Grace B. Hopper",
        repr(enabled),
    )
    removed = scim.modify(
        User, created.id, PatchOp[User](operations=[{"op": "remove", "path": "externalId"}])
    )
    check("patch remove leaves it unassigned", removed.external_id is None, repr(removed))

    # Replace.
    whole = scim.query(User, created.id)
    whole.display_name = "Rear Admiral Hopper"
    whole.emails = None
    replaced = scim.replace(whole)
    check(
        "replace",
        replaced.display_name == "Rear Admiral Hopper"
        and replaced.emails is None
        and replaced.meta.version != whole.meta.version,
        repr(replaced),
    )

    # Another organization's token sees nothing; a wrong token nothing at all.
    other = client(base, other_token)
    OtherUser = other.get_resource_model("User")
    hidden = other.query(OtherUser, created.id, raise_scim_errors=False)
    check("another organization's token: 404", is_error(hidden, 404), repr(hidden))
    searched = other.search(
        OtherUser, SearchRequest(filter=f'userName eq "{user_name}"'), raise_scim_errors=False
    )
    check(
        "another organization's token: no results",
        not isinstance(searched, Error) and searched.total_results == 0,
        repr(searched),
    )
    changed = other.modify(
        OtherUser,
        created.id,
        PatchOp[OtherUser](operations=[{"op": "replace", "path": "active", "value": False}]),
        raise_scim_errors=False,
    )
    check("another organization's token: no change", is_error(changed, 404), repr(changed))
    stranger = SyncSCIMClient(
        Client(base_url=base, headers={"Authorization": "Bearer vscim.nope.nope"}),
        provider=scim.provider,
    )
    refused = stranger.query(User, created.id, raise_scim_errors=False)
    check("wrong token: 401", is_error(refused, 401), repr(refused))

    # Delete: the person is gone.
    scim.delete(User, created.id)
    gone = scim.query(User, created.id, raise_scim_errors=False)
    check("delete", is_error(gone, 404), repr(gone))


def main():
    base = os.environ["VERITY_SCIM_URL"]
    token = os.environ["VERITY_SCIM_TOKEN"]
    other_token = os.environ["VERITY_SCIM_OTHER_TOKEN"]
    run_tester(base, token)
    try:
        run_client(base, token, other_token)
    except Exception as error:  # an exception is a failed check, with what it said
        FAILED.append("client")
        print(f"FAIL client: {type(error).__name__}: {error}")
    print(f"scim client: {len(FAILED)} failed: {', '.join(FAILED)}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
