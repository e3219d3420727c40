#!/usr/bin/env bash
# Builds the .deb with CPack from a configured and built tree, checks its metadata and contents, unpacks
# it into a temporary root and runs the binary from there. Usage: deb_test.sh BUILD_DIR VERSION
set -euo pipefail
build_dir=$1 version=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "deb_test: $*" >&2; exit 1; }

for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"
done
(cd "$work" && cpack --config "$build_dir/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$work"/out/memtrace-mcp_"$version"_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { ls -R "$work/out" >&2; fail "no memtrace-mcp_${version}_*.deb was built"; }

info=$(dpkg-deb -I "$deb")
echo "$info"
grep -q "^ Package: memtrace-mcp$" <<<"$info" || fail "wrong package name"
grep -q "^ Version: $version$" <<<"$info" || fail "wrong version"
depends=$(grep "^ Depends:" <<<"$info") || fail "no Depends: field"
for lib in libsqlite3 libhiredis libc6 libstdc++6; do
  grep -q "$lib" <<<"$depends" || fail "Depends: does not name $lib: $depends"
done
# libcrypto (SHA-256) is linked into the binary: the package needs no libssl3.
grep -q "libssl" <<<"$depends" && fail "Depends: names libssl, which the binary does not load: $depends"

contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/memtrace-mcp ./usr/share/man/man1/memtrace-mcp.1.gz \
  ./usr/lib/systemd/system/memtrace-mcp.service \
  ./usr/share/memtrace-mcp/schemas/tools/memtrace_remember.json \
  ./usr/share/doc/memtrace-mcp/examples/claude_desktop_config.json \
  ./usr/share/doc/memtrace-mcp/export-format.md; do
  grep -q " $path$" <<<"$contents" || { echo "$contents" >&2; fail "the package lacks $path"; }
done
grep -q "node_modules" <<<"$contents" && fail "the package carries node_modules"

root="$work/root"
dpkg -x "$deb" "$root"
out=$("$root/usr/bin/memtrace-mcp" --version)
[ "$out" = "memtrace-mcp $version" ] || fail "--version printed '$out'"
man_page=$(zcat "$root/usr/share/man/man1/memtrace-mcp.1.gz")
grep -qF -- '\fB\-\-store\fR' <<<"$man_page" || fail "the man page does not list --store"
grep -qF '~/.local/share/memtrace/memtrace.db' <<<"$man_page" || fail "the man page names the builder's home"
unit="$root/usr/lib/systemd/system/memtrace-mcp.service"
for line in "ExecStart=/usr/bin/memtrace-mcp" "DynamicUser=yes" "StateDirectory=memtrace" \
  "Environment=MEMTRACE_STORE=sqlite:/var/lib/memtrace/memtrace.db" "Environment=MEMTRACE_TRANSPORT=http"; do
  grep -qx "$line" "$unit" || fail "the unit lacks $line"
done
# The unpacked binary serves a request from its temporary root.
reply=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"deb-test","version":"1"}}}' |
  "$root/usr/bin/memtrace-mcp" --store memory --log-level off)
grep -q '"serverInfo"' <<<"$reply" || fail "the unpacked binary did not answer initialize: $reply"
echo "1 passed, 0 failed"
