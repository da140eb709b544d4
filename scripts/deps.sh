#!/usr/bin/env bash
# Installs what building, running and testing Swiftlet needs and is missing, with apt-get.
# Idempotent, and quick when everything is there: it only looks for each tool.
set -euo pipefail

swift_bin=/opt/swift/usr/bin
missing=()
need() { # need COMMAND-OR-PATH PACKAGE
  if [[ $1 == /* ]]; then [ -e "$1" ] || missing+=("$2")
  else command -v "$1" >/dev/null 2>&1 || missing+=("$2"); fi
}
need qemu-system-x86_64 qemu-system-x86
need nasm nasm
need grub-mkrescue grub-common
need /usr/lib/grub/i386-pc/multiboot2.mod grub-pc-bin
need xorriso xorriso
need mformat mtools
need python3 python3
# The HTTP tests: curl fetches the status pages, headless Chromium renders one.
need curl curl
need chromium chromium
python3 -c 'import pytest' >/dev/null 2>&1 || missing+=(python3-pytest)
# The Swift toolchain brings clang, ld.lld and llvm-objcopy; fall back to Debian's.
[ -x "$swift_bin/ld.lld" ] || need ld.lld lld
[ -x "$swift_bin/llvm-objcopy" ] || need llvm-objcopy llvm

if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
