#!/usr/bin/env python3
"""Signs the bench user in once through the real sign-in journey and prints the SSO
session cookies as one Cookie header value (for minting codes with /authorize).

    signin.py ISSUER CLIENT_ID REDIRECT_URI EMAIL PASSWORD [STATE_FILE]

Handles the journey steps Verity may show after the password: a new password instead of
the temporary one, authenticator set-up (TOTP computed here), recovery codes, the code.
STATE_FILE (default: person.json in the working directory) keeps the chosen password and TOTP
secret between runs.
"""
import base64, hashlib, hmac, html, json, os, re, struct, sys, time, urllib.parse, urllib.request

issuer, client_id, redirect_uri, email, password = sys.argv[1:6]
state_file = sys.argv[6] if len(sys.argv) > 6 else "person.json"
person = json.load(open(state_file)) if os.path.exists(state_file) else {}
CHOSEN = "Violet-Harbor-Quartz-7391-Lantern"
cookies = {}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(NoRedirect)


def request(method, url, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if cookies:
        req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        resp = opener.open(req)
    except urllib.error.HTTPError as error:
        resp = error
    for value in resp.headers.get_all("Set-Cookie") or []:
        pair = value.split(";", 1)[0]
        name, _, val = pair.partition("=")
        if not val or "Max-Age=0" in value:
            cookies.pop(name, None)
        else:
            cookies[name] = val
    return resp.status, resp.headers.get("Location"), resp.read().decode("utf-8", "replace")


def field(body, name):
    match = re.search(rf'name="{name}" value="([^"]*)"', body)
    return html.unescape(match.group(1)) if match else None


def totp(secret, step):
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def next_code():
    step = int(time.time()) // 30
    last = person.get("last_step", 0)
    while step <= last:
        time.sleep(1)
        step = int(time.time()) // 30
    person["last_step"] = step
    return totp(person["secret"], step)


def submit(page, action, fields):
    form = {"tx": field(page, "tx"), "csrf": field(page, "csrf")}
    form.update(fields)
    return request("POST", issuer + action, form)


# Every client must send PKCE (S256); the journey needs no verifier, only the challenge.
VERIFIER = "bench-pkce-verifier-0123456789-abcdefghijklmnopqrstu"
challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
query = urllib.parse.urlencode({
    "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
    "scope": "openid", "state": "s", "nonce": "n",
    "code_challenge": challenge, "code_challenge_method": "S256",
})
status, location, body = request("GET", f"{issuer}/authorize?{query}")
assert 'action="/login"' in body, (status, body[:500])
status, location, body = submit(body, "/login", {"email": email, "password": person.get("password", password)})
for _ in range(8):
    if 'action="/login/password"' in body:
        status, location, body = submit(body, "/login/password", {"new_password": CHOSEN, "confirm_password": CHOSEN})
        person["password"] = CHOSEN
    elif 'action="/login/totp"' in body:
        secret = "".join(re.search(r'id="totp-secret">([^<]*)<', body).group(1).split())
        person["secret"] = secret
        status, location, body = submit(body, "/login/totp", {"app_name": "bench", "code": next_code()})
    elif 'action="/login/continue"' in body:
        status, location, body = submit(body, "/login/continue", {})
    elif 'action="/login/mfa"' in body:
        status, location, body = submit(body, "/login/mfa", {"code": next_code(), "remember_device": "yes"})
    else:
        break
json.dump(person, open(state_file, "w"))
assert location and "code=" in location, (status, location, body[:800])
print("; ".join(f"{k}={v}" for k, v in cookies.items()))
