#!/usr/bin/env bash
# Boots Swiftlet in QEMU with the serial console on this terminal, or on stdout.
#
# usage: scripts/qemu.sh [--iso] [--cmdline TEXT] [--timeout SECONDS] [--debug] [--icount]
#                        [--disk PATH] [--disk-options OPTIONS] [--slow-disk MS] [--suite NAME]
#                        [--net virtio|e1000|none] [--netport N] [--httpport N]
#                        [--net-options OPTIONS]
#                        [--frames QEMU_PORT:TEST_PORT] [--pcap FILE] [--monitor SOCKET]
#                        [--no-slirp]
#
# On a terminal, Ctrl-A X quits. Without one (a script, a pipe, </dev/null), stdin is
# fed to the kernel's shell followed by a `shutdown` line, so the command returns.
# Exit status: 0 the kernel finished well (tests passed, shutdown), 1 tests failed,
# 2 the kernel panicked, 3 QEMU stopped without the kernel saying how (a triple fault
# resets the guest, and -no-reboot turns that into an exit), 124 timed out, other:
# QEMU itself failed. ACCEL=kvm uses KVM instead of TCG; MEMORY sets the guest RAM;
# BUILD names the build directory (default: build/). --icount makes the TSC count
# guest instructions (-icount shift=0), for deterministic benchmark figures. --disk
# attaches the raw image PATH as a virtio-blk PCI device; --disk-options adds QEMU device
# properties to it (e.g. disable-modern=on: a legacy-only device, which the driver refuses).
# --slow-disk MS attaches instead a virtio-blk device on QEMU's null block driver: 64 MiB
# that read as zeros, each request taking MS milliseconds (past the driver's timeout, a
# device that does not complete requests in time).
# --suite NAME boots the domains of a test suite (build/NAME/*.so, e.g. the hostile suite
# of tests/hostile) besides the usual ones.
#
# --net attaches a NIC on QEMU user networking (slirp: the guest is 10.0.2.15, the host
# 10.0.2.2) and forwards host 127.0.0.1:N (--netport, default 5555), UDP and TCP, to the
# guest's port 7, and host 127.0.0.1:N (--httpport, default 8080), TCP, to the guest's
# port 80, the status page: virtio is a modern-only virtio-net-pci (1af4:1041), e1000 the 82540EM.
# --net none boots with no NIC at all; without --net, the machine keeps QEMU's default
# e1000 (the PCI tests use it), on a restricted user network with nothing forwarded: the
# guest can take its address by DHCP and nothing it sends leaves QEMU. --net-options
# adds properties to the NIC (e.g. mitigation=off for the e1000). --frames
# QEMU_PORT:TEST_PORT puts the NIC on a hub with slirp and a raw-frame port: QEMU takes
# Ethernet frames, one per UDP datagram, on 127.0.0.1:QEMU_PORT and sends every frame on
# the hub (the guest's, slirp's) to 127.0.0.1:TEST_PORT; with --no-slirp the hub has no
# slirp, so only the test's frames reach the NIC (nothing answers DHCP or ARP, nothing
# is forwarded). --pcap FILE records the NIC's frames, both ways. Tests run all this
# inside a network namespace with only loopback (tests/qemu/netguest.py).
# --monitor SOCKET puts QEMU's human monitor on the Unix socket SOCKET
# (scripts/profile_net.py uses it to switch instruction tracing on and off around what it
# measures).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
iso=0 cmdline="" timeout="" debug=0 icount=0 disk= disk_options= slow_disk= suite=
net= netport=5555 httpport=8080 net_options= frames= pcap= monitor= slirp=1
while [ $# -gt 0 ]; do
  case "$1" in
    --iso) iso=1 ;;
    --cmdline) cmdline=${2-}; shift ;;
    --timeout) timeout=${2-}; shift ;;
    --debug) debug=1 ;;
    --icount) icount=1 ;;
    --disk) disk=${2-}; shift ;;
    --disk-options) disk_options=${2-}; shift ;;
    --slow-disk) slow_disk=${2-}; shift ;;
    --suite) suite=${2-}; shift ;;
    --net) net=${2-}; shift ;;
    --netport) netport=${2-}; shift ;;
    --httpport) httpport=${2-}; shift ;;
    --net-options) net_options=${2-}; shift ;;
    --frames) frames=${2-}; shift ;;
    --pcap) pcap=${2-}; shift ;;
    --monitor) monitor=${2-}; shift ;;
    --no-slirp) slirp=0 ;;
    *) echo "qemu.sh: unknown option '$1' (see the usage at the top of $0)" >&2; exit 64 ;;
  esac
  shift
done

args=(qemu-system-x86_64 -m "${MEMORY:-256M}" -display none -no-reboot)
case "${ACCEL:-tcg}" in
  tcg)
    if [ $icount -eq 1 ]; then args+=(-accel tcg,thread=single -icount shift=0 -cpu max)
    else args+=(-accel tcg -cpu max); fi ;;
  kvm) args+=(-accel kvm -cpu host,-arch-capabilities) ;;
  *) echo "qemu.sh: ACCEL must be tcg or kvm, not '${ACCEL}'" >&2; exit 64 ;;
esac
if [ $iso -eq 1 ]; then
  args+=(-cdrom "$build/swiftlet.iso" -boot d)
else
  args+=(-kernel "$build/swiftlet32.elf" -append "$cmdline")
  # Every domain image is a boot module; the kernel names each by its file name.
  modules=$(ls "$build"/domains/*.so ${suite:+"$build/$suite"/*.so} 2>/dev/null | paste -sd, -)
  [ -n "$modules" ] && args+=(-initrd "$modules")
  [ -e /usr/share/qemu/qboot.rom ] && args+=(-bios /usr/share/qemu/qboot.rom)
fi
if [ -n "$disk" ]; then
  [ -f "$disk" ] || { echo "qemu.sh: --disk: no file '$disk'" >&2; exit 64; }
  args+=(-drive "file=$disk,if=none,id=disk0,format=raw" -device "virtio-blk-pci,drive=disk0${disk_options:+,$disk_options}")
elif [ -n "$slow_disk" ]; then
  [[ $slow_disk =~ ^[0-9]+$ ]] || { echo "qemu.sh: --slow-disk takes milliseconds, not '$slow_disk'" >&2; exit 64; }
  args+=(-drive "driver=null-co,size=64M,read-zeroes=on,latency-ns=${slow_disk}000000,if=none,id=disk0"
    -device "virtio-blk-pci,drive=disk0${disk_options:+,$disk_options}")
fi
port_number='^[0-9]+$'
case "$net" in
  virtio) nic=(virtio-net-pci disable-legacy=on) ;;
  e1000) nic=(e1000) ;;
  none | "") nic=() ;;
  *) echo "qemu.sh: --net must be virtio, e1000 or none, not '$net'" >&2; exit 64 ;;
esac
for option in netport httpport; do
  value=${!option}
  if [[ ! $value =~ $port_number ]] || [ "$value" -lt 1 ] || [ "$value" -gt 65535 ]; then
    echo "qemu.sh: --$option must be a port number (1-65535), not '$value'" >&2; exit 64
  fi
done
if [ "$netport" = "$httpport" ]; then
  echo "qemu.sh: --netport and --httpport must differ (both are $netport)" >&2; exit 64
fi
if [ -n "$frames$pcap$net_options" ] && [ ${#nic[@]} -eq 0 ]; then
  echo "qemu.sh: --frames, --pcap and --net-options need a NIC (--net virtio or --net e1000)" >&2
  exit 64
fi
if [ $slirp -eq 0 ] && [ -z "$frames" ]; then
  echo "qemu.sh: --no-slirp needs --frames (a NIC with nothing on its network is no use)" >&2
  exit 64
fi
if [ "$net" = none ]; then
  args+=(-nic none)
elif [ -z "$net" ]; then
  args+=(-nic user,model=e1000,restrict=on)
elif [ ${#nic[@]} -gt 0 ]; then
  forward="hostfwd=udp:127.0.0.1:$netport-10.0.2.15:7,hostfwd=tcp:127.0.0.1:$netport-10.0.2.15:7"
  forward+=",hostfwd=tcp:127.0.0.1:$httpport-10.0.2.15:80"
  device=$(IFS=,; echo "${nic[*]}")
  if [ -n "$frames" ]; then
    if [[ ! $frames =~ ^([0-9]+):([0-9]+)$ ]]; then
      echo "qemu.sh: --frames takes QEMU_PORT:TEST_PORT (two port numbers), not '$frames'" >&2; exit 64
    fi
    # A hub floods every frame to every port: the NIC (hub port nic0), slirp and the
    # test's raw-frame port all see everything the others send.
    args+=(-netdev hubport,id=nic0,hubid=0)
    [ $slirp -eq 1 ] && args+=(-netdev "user,id=slirp0,$forward" -netdev hubport,id=hub1,hubid=0,netdev=slirp0)
    args+=(-netdev "dgram,id=frames0,local.type=inet,local.host=127.0.0.1,local.port=${BASH_REMATCH[1]},remote.type=inet,remote.host=127.0.0.1,remote.port=${BASH_REMATCH[2]}"
      -netdev hubport,id=hub2,hubid=0,netdev=frames0)
  else
    args+=(-netdev "user,id=nic0,$forward")
  fi
  args+=(-device "$device,netdev=nic0${net_options:+,$net_options}")
  [ -n "$pcap" ] && args+=(-object "filter-dump,id=pcap0,netdev=nic0,file=$pcap")
fi
if [ $debug -eq 1 ]; then
  # No isa-debug-exit: a panic halts and stays there for gdb to look at.
  args+=(-s -S)
  echo "QEMU is waiting for gdb. In another terminal:" >&2
  echo "  gdb $build/swiftlet.elf -ex 'set architecture i386:x86-64' -ex 'target remote :1234'" >&2
else
  args+=(-device isa-debug-exit,iobase=0xf4,iosize=0x04)
fi
[ -n "$timeout" ] && args=(timeout -k 5 "$timeout" "${args[@]}")

if [ -t 0 ]; then
  interactive=1
  "${args[@]}" -serial mon:stdio
  status=$?
else
  interactive=0
  if [ -n "$monitor" ]; then monitor_args=(-monitor "unix:$monitor,server=on,wait=off")
  else monitor_args=(-monitor none); fi
  { cat; printf '\nshutdown\n'; } | "${args[@]}" -serial stdio "${monitor_args[@]}"
  status=$?
fi

case $status in
  33) exit 0 ;;
  35) echo "qemu.sh: the kernel reported failures" >&2; exit 1 ;;
  37) echo "qemu.sh: the kernel panicked" >&2; exit 2 ;;
  124) echo "qemu.sh: timed out after ${timeout}s" >&2; exit 124 ;;
  0)
    [ $interactive -eq 1 ] && exit 0
    echo "qemu.sh: QEMU stopped without the kernel's exit status: the guest reset (triple fault?) or powered off" >&2
    exit 3 ;;
  *) echo "qemu.sh: QEMU failed with status $status" >&2; exit "$status" ;;
esac
