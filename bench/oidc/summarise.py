#!/usr/bin/env python3
"""Summarises run.sh's raw.txt: medians per row, ratios against the peer, targets.

    python3 bench/oidc/summarise.py OUT_DIR/raw.txt
"""
import json, re, statistics, sys

rows, signs, loads, marks, access = {}, {}, [], {}, []
for line in open(sys.argv[1]).read().splitlines():
    if line.startswith("# round"):
        loads.append(line.split("load ")[1].split()[0])
    elif line.startswith("sign|"):
        alg = line.split("|")[1].split()[0]
        rate = re.search(r'"signatures_per_second":([\d.]+)', line)
        signs.setdefault(alg, []).append(float(rate.group(1)))
    elif line.startswith("access|"):
        access.append(json.loads(line.split("|", 1)[1].rsplit(" load=", 1)[0]))
    elif line.startswith(("verity_idle", "verity_end", "peer_idle", "peer_end")):
        key, rest = line.split("|", 1)
        for k, v in re.findall(r"(\w+)=(\d+)", rest):
            marks.setdefault(f"{key}.{k}", []).append(int(v))
    elif line.count("|") >= 2:
        who, label, rest = line.split("|", 2)
        rows.setdefault((who, label), []).append(dict(re.findall(r"(\w+)=([\d.]+)", rest)))

med = lambda xs: statistics.median(xs) if xs else float("nan")
def col(key, field="rps"):
    return [float(x[field]) for x in rows.get(key, []) if field in x]
def cell(key):
    v = col(key)
    return f"**{med(v):,.0f}** ({' / '.join(f'{x:,.0f}' for x in v)})"
def cap(key):
    c = med(col(key, "cpu_us_per_req"))
    return f"{c:,.1f} µs ({1e6 / c:,.0f}/s)"

print("load average (1 min) at the start of each round:", ", ".join(loads))
print()
print("| endpoint | Verity req/s, median (runs) | peer req/s, median (runs) | ratio | target | met? | Verity CPU/request (one-core capacity) | peer CPU/request |")
print("|---|---:|---:|---:|---|---|---:|---:|")
for name, label, target in [
    ("GET /.well-known/openid-configuration", "GET discovery", 5.0),
    ("GET /jwks", "GET jwks", 5.0),
    ("POST /token client_credentials, RS256 JWT", "POST token cc RS256 JWT", 1.5),
]:
    v, p = med(col(("verity", label))), med(col(("peer", label)))
    print(f"| {name} | {cell(('verity', label))} | {cell(('peer', label))} | {v / p:.2f}x | >= {target:g}x "
          f"| {'yes' if v / p >= target else 'NO'} | {cap(('verity', label))} | {cap(('peer', label))} |")
v = med(col(("verity", "POST token cc RS256 JWT")))
s = med(signs.get("RS256", []))
print(f"| client_credentials RS256 / one-core RS256 signing rate | {v:,.0f} | signing {s:,.0f}/s "
      f"({' / '.join(f'{x:,.0f}' for x in signs['RS256'])}) | {v / s:.0%} | >= 85% | {'yes' if v / s >= 0.85 else 'NO'} | | |")
for alg in ["ES256", "EdDSA"]:
    key = ("verity", f"POST token cc {alg} JWT")
    v = med(col(key))
    peer = cell(("peer", key[1])) if ("peer", key[1]) in rows else "n/a"
    print(f"| POST /token client_credentials, {alg} JWT | {cell(key)} | {peer} | | >= 15,000 | {'yes' if v >= 15000 else 'NO'} | {cap(key)} | "
          f"{cap(('peer', key[1])) if ('peer', key[1]) in rows else ''} |")
print(f"| (peer, opaque client_credentials token) | | {cell(('peer', 'POST token cc opaque'))} | | | | | {cap(('peer', 'POST token cc opaque'))} |")
intro = ("verity", "POST introspection ES256 JWT")
v = med(col(intro))
for peer_label, what in [("POST introspection person", "its person's opaque token"),
                         ("POST introspection", "its client_credentials opaque token, as its bench.sh")]:
    p = med(col(("peer", peer_label)))
    print(f"| POST /introspect, a person's ES256 JWT access token, revocation check included (peer: {what}) "
          f"| {cell(intro)} | {cell(('peer', peer_label))} | {v / p:.2f}x | >= 3x "
          f"| {'yes' if v / p >= 3 else 'NO'} | {cap(intro)} | {cap(('peer', peer_label))} |")
once = ("verity", "POST introspection ES256 JWT seen once")
if once in rows:
    v, p = med(col(once)), med(col(("peer", "POST introspection person")))
    tokens = min(int(x.get("tokens", 0)) for x in rows[once])
    inactive = sum(int(x.get("inactive", 0)) for x in rows[once])
    void = " (VOID: some answers were not active)" if inactive else ""
    note = "" if tokens > 4096 else f" (only {tokens} tokens: some were remembered)"
    print(f"| POST /introspect, the person's ES256 tokens each seen once: a signature verified each time{note}{void} "
          f"(peer: its person's opaque token) | {cell(once)} | {cell(('peer', 'POST introspection person'))} "
          f"| {v / p:.2f}x | >= 3x | {'yes' if v / p >= 3 and not inactive else 'NO'} | {cap(once)} "
          f"| {cap(('peer', 'POST introspection person'))} |")
info, peer_info = ("verity", "GET userinfo ES256 JWT"), ("peer", "GET userinfo person")
v, p = med(col(info)), med(col(peer_info))
print(f"| GET /userinfo, the same token, revocation check included (peer: its person's opaque token) "
      f"| {cell(info)} | {cell(peer_info)} | {v / p:.2f}x | >= 0.95x | {'yes' if v / p >= 0.95 else 'NO'} "
      f"| {cap(info)} | {cap(peer_info)} |")
# The revocation check's share of a userinfo request: what the sessions read model adds
# to the token's own checks (verity bench access, a repeated token as userinfo gets), over
# the rest of the request's CPU time, round by round.
shares = []
for round_access, round_info in zip(access, rows.get(info, [])):
    repeated = round_access["repeated_token"]
    extra_us = (repeated["with_read_model_ns"] - repeated["bytes_only_ns"]) / 1000
    shares.append(extra_us / (float(round_info["cpu_us_per_req"]) - extra_us))
if shares:
    print(f"| userinfo: the revocation check over the request without it (bench access extra / CPU per request) "
          f"| {med(shares):.2%} ({' / '.join(f'{x:.2%}' for x in shares)}) | | | <= 5% "
          f"| {'yes' if med(shares) <= 0.05 else 'NO'} | | |")
for alg in ["RS256", "ES256"]:
    key = ("verity", f"POST token authorization_code {alg}")
    print(f"| POST /token authorization_code, {alg} ID and access token | {cell(key)} | | | measured | | {cap(key)} | |")
print()
print("signing rates, one thread on CPU 0 (median; runs):",
      {alg: f"{med(v):,.0f} ({' / '.join(f'{x:,.0f}' for x in v)})" for alg, v in signs.items()})
for round_access in access:
    print("bench access:", {k: round_access[k] for k in ("alg", "people", "sessions_live", "batches",
                                                          "repeated_token", "token_seen_once")})
errors = {f"{w}:{l}": sum(int(x.get("non2xx3xx", 0)) + int(x.get("sockerr", 0)) for x in xs) for (w, l), xs in rows.items()}
print("errors (non-2xx + socket):", {k: v for k, v in errors.items() if v} or "none")
for key, values in marks.items():
    print(f"{key}: {' / '.join(f'{v / 1024:.1f} MiB' if 'kib' in key else str(v) for v in values)}")
