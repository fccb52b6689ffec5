#!/usr/bin/env python3
"""Summarises run.sh's raw.txt: medians per row, ratios against the peer, targets.

    python3 bench/oidc/summarise.py OUT_DIR/raw.txt
"""
import re, statistics, sys

rows, signs, loads, marks = {}, {}, [], {}
for line in open(sys.argv[1]).read().splitlines():
    if line.startswith("# round"):
        loads.append(line.split("load ")[1].split()[0])
    elif line.startswith("sign|"):
        alg = line.split("|")[1].split()[0]
        rate = re.search(r'"signatures_per_second":([\d.]+)', line)
        signs.setdefault(alg, []).append(float(rate.group(1)))
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
v, p = med(col(("verity", "POST introspection ES256 JWT"))), med(col(("peer", "POST introspection")))
print(f"| POST /introspect, a person's ES256 JWT access token, revocation check included (peer: its opaque token) "
      f"| {cell(('verity', 'POST introspection ES256 JWT'))} | {cell(('peer', 'POST introspection'))} | {v / p:.2f}x | >= 3x "
      f"| {'yes' if v / p >= 3 else 'NO'} | {cap(('verity', 'POST introspection ES256 JWT'))} | {cap(('peer', 'POST introspection'))} |")
key = ("verity", "GET userinfo ES256 JWT")
print(f"| GET /userinfo, the same token, revocation check included | {cell(key)} | | | measured | | {cap(key)} | |")
for alg in ["RS256", "ES256"]:
    key = ("verity", f"POST token authorization_code {alg}")
    print(f"| POST /token authorization_code, {alg} ID and access token | {cell(key)} | | | measured | | {cap(key)} | |")
print()
print("signing rates, one thread on CPU 0 (median; runs):",
      {alg: f"{med(v):,.0f} ({' / '.join(f'{x:,.0f}' for x in v)})" for alg, v in signs.items()})
errors = {f"{w}:{l}": sum(int(x.get("non2xx3xx", 0)) + int(x.get("sockerr", 0)) for x in xs) for (w, l), xs in rows.items()}
print("errors (non-2xx + socket):", {k: v for k, v in errors.items() if v} or "none")
for key, values in marks.items():
    print(f"{key}: {' / '.join(f'{v / 1024:.1f} MiB' if 'kib' in key else str(v) for v in values)}")
