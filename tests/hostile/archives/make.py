#!/usr/bin/env python3
"""Regenerate the hostile archive corpus (tests/hostile/archives/).

    python3 tests/hostile/archives/make.py

Tar headers are written by hand (not with `tarfile`), so each file holds exactly the
malformation it is meant to hold; gzip output is reproducible (mtime 0). README.md lists
every file, what it attacks and the error the scanner must give;
scanner/tests/hostile_corpus.rs checks each one.
"""
import gzip
import io
import json
import os
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = 512


def octal(n, width):
    return (b"%0*o" % (width - 1, n)) + b"\0"


def header(name, size=0, kind=b"0", link=b"", mode=0o644, size_field=None, magic=b"ustar\x0000"):
    if isinstance(name, str):
        name = name.encode()
    if isinstance(link, str):
        link = link.encode()
    assert len(name) <= 100 and len(link) <= 100
    h = bytearray(BLOCK)
    h[0:len(name)] = name
    h[100:108] = octal(mode, 8)
    h[108:116] = octal(0, 8)
    h[116:124] = octal(0, 8)
    h[124:136] = size_field if size_field is not None else octal(size, 12)
    h[136:148] = octal(0, 12)
    h[148:156] = b" " * 8
    h[156:157] = kind
    h[157:157 + len(link)] = link
    h[257:265] = magic
    h[329:337] = octal(0, 8)
    h[337:345] = octal(0, 8)
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def pad(data):
    return data + b"\0" * (-len(data) % BLOCK)


def entry(name, data=b"", kind=b"0", **kw):
    if isinstance(data, str):
        data = data.encode()
    return header(name, len(data), kind, **kw) + pad(data)


def pax(records, name="PaxHeaders/x", kind=b"x"):
    body = b""
    for key, value in records:
        if isinstance(value, str):
            value = value.encode()
        rec = b" " + key.encode() + b"=" + value + b"\n"
        # The length prefix counts itself.
        digits = 1
        while len(str(len(rec) + digits)) != digits:
            digits += 1
        body += str(len(rec) + digits).encode() + rec
    return entry(name, body, kind=kind)


def gnu_longname(name):
    if isinstance(name, str):
        name = name.encode()
    return entry("././@LongLink", name + b"\0", kind=b"L")


END = b"\0" * (2 * BLOCK)


def tar(*entries):
    return b"".join(entries) + END


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


PACKAGE_JSON = json.dumps({"name": "@acme/hostile", "version": "1.0.0"})


def manifest(name="@acme/hostile", entrypoint="dist/guard.wasm"):
    return json.dumps({
        "version": "1.0.0",
        "name": name,
        "guards": [{"name": "hostile", "entrypoint": entrypoint, "handles": ["file_write"]}],
    })


# A minimal valid component: a component type section is not needed; this is the
# 8-byte preamble of an empty component (valid, but exports nothing).
EMPTY_COMPONENT = b"\0asm\x0d\x00\x01\x00"
# A minimal valid core module.
CORE_MODULE = b"\0asm\x01\x00\x00\x00"


def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def section(sid, body):
    return bytes([sid]) + leb(len(body)) + body


def name_bytes(s):
    s = s.encode()
    return leb(len(s)) + s


def component_importing(*interfaces):
    """A component importing each interface as an empty instance type."""
    types = leb(len(interfaces)) + b"".join(b"\x42\x00" for _ in interfaces)  # instance type, 0 decls
    imports = leb(len(interfaces)) + b"".join(
        b"\x00" + name_bytes(i) + b"\x05" + leb(n) for n, i in enumerate(interfaces)
    )
    return EMPTY_COMPONENT + section(7, types) + section(10, imports)


def npm(*extra, manifest_text=None, wasm=None):
    files = [entry("package/package.json", PACKAGE_JSON)]
    files.append(entry("package/clawdstrike.plugin.json", manifest_text or manifest()))
    if wasm is not None:
        files.append(entry("package/dist/guard.wasm", wasm))
    return files + list(extra)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def main():
    ok = entry("package/package.json", PACKAGE_JSON)

    write("path-traversal.tgz", gz(tar(ok, entry("package/../../etc/x", "pwned"))))
    write("absolute-path.tgz", gz(tar(ok, entry("/etc/cron.d/x", "pwned"))))
    write("backslash.tgz", gz(tar(ok, entry("package\\..\\..\\x", "pwned"))))
    write("control-char.tgz", gz(tar(ok, entry("package/evil\n.js", "x"))))
    write("non-utf8-path.tgz", gz(tar(ok, entry(b"package/\xff\xfe.js", "x"))))
    write("dot-component.tgz", gz(tar(ok, entry("package/./package.json", "{}"))))
    write("outside-root.tgz", gz(tar(ok, entry("other/x.js", "x"))))
    write("top-level-file.tgz", gz(tar(entry("package.json", PACKAGE_JSON))))
    write("deep-path.tgz", gz(tar(ok, entry("package/" + "d/" * 20 + "x", "x"))))
    write("long-path.tgz", gz(tar(ok, pax([("path", "package/" + "a" * 300)]), entry("package/short", "x"))))
    write("symlink.tgz", gz(tar(ok, entry("package/link", kind=b"2", link="/etc/passwd"))))
    write("hardlink.tgz", gz(tar(ok, entry("package/hl", kind=b"1", link="/etc/shadow"))))
    write("device.tgz", gz(tar(ok, entry("package/dev", kind=b"3"))))
    write("fifo.tgz", gz(tar(ok, entry("package/fifo", kind=b"6"))))
    write("pax-global-header.tgz", gz(tar(pax([("path", "package/x")], name="pax_global_header", kind=b"g"), ok)))
    write("duplicate-entry.tgz", gz(tar(ok, entry("package/package.json", '{"name":"evil","version":"6.6.6"}'))))
    write("case-collision.tgz", gz(tar(ok, entry("package/README.md", "a"), entry("package/readme.md", "b"))))
    write("file-dir-conflict.tgz", gz(tar(ok, entry("package/lib", "x"), entry("package/lib/index.js", "y"))))

    # Extensions applied after the header: the path that counts is the PAX/GNU one.
    write("pax-path-traversal.tgz", gz(tar(ok, pax([("path", "package/../../etc/x")]), entry("package/harmless.txt", "pwned"))))
    write("gnu-longname-traversal.tgz", gz(tar(ok, gnu_longname("package/x/../../../etc/x"), entry("package/harmless.txt", "pwned"))))
    write("pax-nul-path.tgz", gz(tar(ok, pax([("path", b"package/a.wasm\0.txt")]), entry("package/a.txt", "x"))))
    write("pax-vs-gnu-path.tgz", gz(tar(ok, pax([("path", "package/seen-by-others.js")]), gnu_longname("package/seen-by-tar-rs.js"), entry("package/x.js", "x"))))
    write("pax-size-mismatch.tgz", gz(tar(ok, pax([("size", "3")]), entry("package/x.js", "abcdefgh"))))

    # Sizes and counts.
    write("huge-size-header.tgz", gz(ok + header("package/big.bin", size_field=b"77777777777\0") + END))
    write("gzip-bomb.tgz", gz(tar(ok, entry("package/dist/zeros.bin", b"\0" * (30 * 1024 * 1024)))))
    write("zeros-bomb.tgz", gz(b"\0" * (64 * 1024 * 1024)))
    write("too-many-entries.tgz", gz(tar(ok, *[entry("package/f/%d" % i, "") for i in range(2001)])))

    # Gzip and tar framing.
    valid = gz(tar(ok))
    write("not-gzip.tgz", tar(ok))
    write("truncated.tgz", valid[: len(valid) // 2])
    write("trailing-data.tgz", valid + gz(tar(entry("package/extra.js", "x"))))
    write("corrupt-deflate.tgz", valid[:10] + bytes([0xFF] * 40))
    bad_sum = bytearray(ok)
    bad_sum[0] ^= 0x01  # name changed, checksum not
    write("bad-header-checksum.tgz", gz(tar(bytes(bad_sum))))
    write("no-end-marker.tgz", gz(ok))
    write("empty.tgz", gz(END))

    # Packages whose archive is fine but whose content is not.
    write("core-module-package.tgz", gz(tar(*npm(wasm=CORE_MODULE))))
    write("manifest-name-mismatch.tgz", gz(tar(*npm(manifest_text=manifest(name="@acme/other"), wasm=EMPTY_COMPONENT))))
    write("missing-entrypoint.tgz", gz(tar(*npm(manifest_text=manifest(entrypoint="dist/missing.wasm")))))
    write("crate-root-mismatch.crate", gz(tar(
        entry("evil-9.9.9/Cargo.toml", '[package]\nname = "acme"\nversion = "0.1.0"\n'),
        entry("evil-9.9.9/clawdstrike.plugin.toml", "")
    )))

    # Components (fed to check_component).
    write("core-module.wasm", CORE_MODULE)
    write("not-wasm.wasm", b"#!/bin/sh\nrm -rf /\n")
    write("no-exports.wasm", EMPTY_COMPONENT)
    write("disallowed-import.wasm", component_importing("wasi:sockets/tcp@0.2.0", "wasi:http/outgoing-handler@0.2.0"))


if __name__ == "__main__":
    main()
