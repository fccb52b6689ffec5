#!/usr/bin/env python3
"""Gets an access token of the peer's person (node-oidc-provider's bench-web client,
the code flow through its built-in login and consent pages) and prints it.

    peer_token.py ISSUER

The token is the peer's opaque access token (no resource indicator), kept in its
memory adapter with its grant and session: what its userinfo and introspection look
up, as Verity's checks look up a person's session and grant. Redirects are followed by
hand and stop at the client's redirect URI, which is never requested (on the bench
machine its port is one of Verity's).
"""
import base64, http.cookiejar, json, sys, urllib.error, urllib.parse, urllib.request

issuer = sys.argv[1].rstrip("/")
CLIENT_ID, CLIENT_SECRET = "bench-web", "bench-web-secret-0123456789abcdef"
REDIRECT = "http://127.0.0.1:8080/cb"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def request(url, form=None, headers=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(urllib.parse.urljoin(issuer + "/", url), data=data, headers=headers or {})
    try:
        resp = opener.open(req)
    except urllib.error.HTTPError as error:
        resp = error
    return resp.status, resp.headers.get("Location"), resp.read().decode("utf-8", "replace")


def follow(location):
    """Follows redirects until an interaction page or the client's redirect URI."""
    for _ in range(10):
        if location.startswith(REDIRECT):
            return location
        if "/interaction/" in location:
            return location
        status, location, body = request(location)
        if location is None:
            sys.exit(f"the peer answered {status} without a redirect: {body[:300]}")
    sys.exit("too many redirects")


query = urllib.parse.urlencode({
    "client_id": CLIENT_ID, "response_type": "code", "scope": "openid email profile",
    "redirect_uri": REDIRECT, "state": "s", "nonce": "n",
})
location = follow(f"/auth?{query}")
for prompt in ("login", "consent"):
    if location.startswith(REDIRECT):
        break
    form = {"prompt": prompt}
    if prompt == "login":
        form.update(login="user-1", password="any")
    status, next_location, body = request(urllib.parse.urlsplit(location).path, form)
    if next_location is None:
        sys.exit(f"{prompt}: the peer answered {status}: {body[:300]}")
    location = follow(next_location)
code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
if not code:
    sys.exit(f"no code in {location}")
basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
status, _, body = request("/token", {
    "grant_type": "authorization_code", "code": code[0], "redirect_uri": REDIRECT,
}, {"Authorization": f"Basic {basic}"})
if status != 200:
    sys.exit(f"token: {status} {body[:300]}")
print(json.loads(body)["access_token"])
