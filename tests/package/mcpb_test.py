#!/usr/bin/env python3
"""Checks the MCP Bundle (build/memtrace-mcp.mcpb): the manifest's required fields (MANIFEST.md, spec
0.3), every tool of schemas/tools/ listed, the entry point present and executable, and the bundled
binary answering --version. Usage: mcpb_test.py BUNDLE SCHEMA_DIR VERSION"""
import json
import os
import pathlib
import stat
import subprocess
import sys
import tempfile
import zipfile


def main() -> int:
    bundle, schema_dir, version = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    failures = []

    def check(condition, message):
        if not condition:
            failures.append(message)

    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        check("manifest.json" in names, f"no manifest.json in {names}")
        manifest = json.loads(archive.read("manifest.json"))
        with tempfile.TemporaryDirectory() as root:
            archive.extractall(root)
            entry = pathlib.Path(root) / manifest["server"]["entry_point"]
            check(entry.is_file(), f"entry point {entry} missing")
            # zip keeps the mode in external_attr; extractall does not restore it.
            info = archive.getinfo(manifest["server"]["entry_point"])
            check(info.external_attr >> 16 & stat.S_IXUSR, "the entry point is not executable in the zip")
            os.chmod(entry, 0o755)
            out = subprocess.run([str(entry), "--version"], capture_output=True, text=True, timeout=30)
            check(out.stdout.strip() == f"memtrace-mcp {version}", f"--version printed {out.stdout!r}")

    check(manifest.get("manifest_version") == "0.3", "manifest_version is not 0.3")
    check(manifest.get("name") == "memtrace-mcp", "name")
    check(manifest.get("version") == version, f"version {manifest.get('version')} != {version}")
    check(bool(manifest.get("description")), "description empty")
    check(bool(manifest.get("author", {}).get("name")), "author.name missing")
    server = manifest.get("server", {})
    check(server.get("type") == "binary", "server.type is not binary")
    config = server.get("mcp_config", {})
    check(config.get("command") == "${__dirname}/server/memtrace-mcp", f"mcp_config.command {config.get('command')}")
    for key, value in config.get("env", {}).items():
        option = value.removeprefix("${user_config.").removesuffix("}")
        check(option in manifest.get("user_config", {}), f"env {key} names unknown user_config {option}")
    check("linux" in manifest.get("compatibility", {}).get("platforms", []), "linux not among the platforms")

    expected = sorted(json.loads(p.read_text())["name"] for p in schema_dir.glob("*.json"))
    listed = sorted(t["name"] for t in manifest.get("tools", []))
    check(listed == expected, f"tools {listed} != schemas {expected}")
    check(all(t.get("description") for t in manifest.get("tools", [])), "a tool without description")

    for failure in failures:
        print("mcpb_test:", failure, file=sys.stderr)
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
