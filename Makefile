# Swiftlet build. `make help` lists the targets.
#
# The kernel is nasm objects (boot/) plus Embedded Swift modules (kernel/), linked twice:
# the first link gives the addresses for the symbol table, the second adds it. Modules
# under kernel/bootinfo, kernel/mem, kernel/elf and kernel/pci are portable:
# Package.swift builds them for the host too, for `swift test`.

SWIFT_BIN  ?= /opt/swift/usr/bin
SWIFTC     := $(SWIFT_BIN)/swiftc
LD         := $(SWIFT_BIN)/ld.lld
OBJCOPY    := $(SWIFT_BIN)/llvm-objcopy
NASM       := nasm
PYTHON     := python3
BUILD      := build
CMDLINE    ?=
ISO        ?= 0

# Embedded Swift for the bare-metal target, whole-module and optimized; warnings are errors.
EMBEDDED_FLAGS := -target x86_64-unknown-none-elf -enable-experimental-feature Embedded \
  -wmo -O -parse-as-library -swift-version 6 -warnings-as-errors \
  -Xfrontend -disable-stack-protector
SWIFT_FLAGS := $(EMBEDDED_FLAGS) -enable-experimental-feature Extern -I $(BUILD)/swift
# String comparison needs Unicode normalization data; this archive has no other needs.
UNICODE_TABLES := $(dir $(SWIFTC))../lib/swift/embedded/x86_64-unknown-linux-gnu/libswiftUnicodeDataTables.a

ASM_OBJECTS := $(patsubst boot/%.asm,$(BUILD)/boot/%.o,$(wildcard boot/*.asm))
# Portable modules, in dependency order. Packets (the network protocols) is domain code
# the kernel also links: the network interfaces, which the kernel's shell calls, use its
# address types.
PORTABLE := BootInfo:kernel/bootinfo Memory:kernel/mem ELF:kernel/elf PCI:kernel/pci \
  Packets:domains/lib/packets
PORTABLE_NAMES := $(foreach m,$(PORTABLE),$(word 1,$(subst :, ,$(m))))
PORTABLE_OBJECTS := $(foreach n,$(PORTABLE_NAMES),$(BUILD)/swift/$(n).o)
PORTABLE_DIRS := $(foreach m,$(PORTABLE),$(word 2,$(subst :, ,$(m))))
KERNEL_SOURCES := $(filter-out $(addsuffix /%,$(PORTABLE_DIRS)),$(sort $(shell find kernel -name '*.swift')))
# The kernel calls domains through the same generated proxies domains use.
KERNEL_DOMAIN_OBJECTS := $(BUILD)/swift/SwiftletLib.o $(BUILD)/swift/SwiftletInterfaces.o
OBJECTS := $(ASM_OBJECTS) $(PORTABLE_OBJECTS) $(KERNEL_DOMAIN_OBJECTS) $(BUILD)/swift/Kernel.o

.PHONY: all kernel domains hostile iso run debug test unit harness lint lint-domains format clean deps help bench bench-net faults soak fuzz
.DELETE_ON_ERROR:

all: kernel domains

kernel: $(BUILD)/swiftlet.elf $(BUILD)/swiftlet32.elf

help:
	@echo "make           build the kernel (build/swiftlet.elf, and build/swiftlet32.elf for QEMU -kernel)"
	@echo "make run       boot in QEMU, serial console on this terminal (Ctrl-A X quits)"
	@echo "               CMDLINE='test=all' passes a command line; ISO=1 boots through GRUB; ACCEL=kvm"
	@echo "               NET=virtio (default), e1000 or none: the NIC; NETPORT=5555: host port forwarded to the echo; HTTPPORT=8080: to the status page"
	@echo "make test      host unit tests, then boot tests in QEMU (what CI runs)"
	@echo "make iso       GRUB rescue ISO (build/swiftlet.iso)"
	@echo "make debug     boot paused with QEMU's gdb stub and print the gdb command"
	@echo "make bench     run the benchmark boot; write bench/results/latest.{json,md,png} (MODE=tsc for wall clock)"
	@echo "               then make bench-net: UDP echo round trips and throughput on each NIC"
	@echo "make faults    the fault campaign under load: SEED=n (random), COUNT=10000 faults, SECONDS=600, NET=virtio|e1000;"
	@echo "               writes bench/results/faults-latest.{json,md,png}, non-zero if a fault was not contained"
	@echo "make soak      a fault a second under load for MINUTES=10, memory heartbeat every HEARTBEAT=60 s;"
	@echo "               same checks as the campaign; writes bench/results/soak-latest.{json,md,png}"
	@echo "make fuzz      libFuzzer over every parser of untrusted input, FUZZ_SECONDS (60) per target"
	@echo "               FUZZ_TARGET=name for one ($(FUZZ_TARGETS)); FUZZ_RUNS=n for n inputs each"
	@echo "make format    format all Swift sources with swift-format; make lint checks them"
	@echo "make lint-domains  check that domain code is safe Swift (also part of every build)"
	@echo "make clean     remove build/"

deps:
	@scripts/deps.sh

# The call boundary's layouts and status words, defined once (scripts/callabi.py) and
# written for the assembly and the kernel.
CALL_ABI := $(BUILD)/generated/abi
$(CALL_ABI)/callabi.inc $(CALL_ABI)/CallABI.swift &: scripts/callabi.py domains/lib/CallStatus.swift
	$(PYTHON) scripts/callabi.py $(CALL_ABI) domains/lib/CallStatus.swift

$(BUILD)/boot/%.o: boot/%.asm $(CALL_ABI)/callabi.inc | deps
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -I $(CALL_ABI)/ -o $@ $<

define portable_module
$(BUILD)/swift/$(1).o: $(wildcard $(2)/*.swift)
	@mkdir -p $(BUILD)/swift
	$(SWIFTC) $(SWIFT_FLAGS) -module-name $(1) -emit-module -emit-module-path $(BUILD)/swift/$(1).swiftmodule -c $$^ -o $$@
endef
$(foreach m,$(PORTABLE),$(eval $(call portable_module,$(word 1,$(subst :, ,$(m))),$(word 2,$(subst :, ,$(m))))))

$(BUILD)/swift/SwiftletLib.o: $(wildcard domains/lib/*.swift)
	@mkdir -p $(BUILD)/swift
	$(SWIFTC) $(SWIFT_FLAGS) -strict-memory-safety -module-name SwiftletLib -emit-module \
	  -emit-module-path $(BUILD)/swift/SwiftletLib.swiftmodule -c $^ -o $@

$(BUILD)/swift/SwiftletInterfaces.o: $(wildcard domains/interfaces/*.swift) $(BUILD)/generated/.stamp $(BUILD)/swift/SwiftletLib.o $(BUILD)/swift/Packets.o | $(BUILD)/domains.lint
	$(SWIFTC) $(SWIFT_FLAGS) -strict-memory-safety -module-name SwiftletInterfaces -emit-module \
	  -emit-module-path $(BUILD)/swift/SwiftletInterfaces.swiftmodule \
	  -c $(wildcard domains/interfaces/*.swift) $(BUILD)/generated/interfaces/Proxies.swift -o $@

$(BUILD)/swift/Kernel.o: $(KERNEL_SOURCES) $(CALL_ABI)/CallABI.swift $(PORTABLE_OBJECTS) $(KERNEL_DOMAIN_OBJECTS)
	$(SWIFTC) $(SWIFT_FLAGS) -module-name Kernel -c $(KERNEL_SOURCES) $(CALL_ABI)/CallABI.swift -o $@

LINK = $(LD) -T linker.ld -nostdlib -static -z max-page-size=4096 --no-dynamic-linker

$(BUILD)/swiftlet.nosyms.elf: $(OBJECTS) linker.ld
	$(LINK) -o $@ $(OBJECTS) $(UNICODE_TABLES)

$(BUILD)/ksyms.o: $(BUILD)/swiftlet.nosyms.elf scripts/mksyms.py
	$(PYTHON) scripts/mksyms.py build $< $(BUILD)/ksyms.bin
	printf 'section .ksyms\nincbin "%s"\n' $(BUILD)/ksyms.bin > $(BUILD)/ksyms.asm
	$(NASM) -f elf64 -o $@ $(BUILD)/ksyms.asm

$(BUILD)/swiftlet.elf: $(OBJECTS) $(BUILD)/ksyms.o linker.ld
	$(LINK) -o $@ $(OBJECTS) $(BUILD)/ksyms.o $(UNICODE_TABLES)
	$(PYTHON) scripts/mksyms.py check $@ $(BUILD)/ksyms.bin

# ---- Domains -------------------------------------------------------------------------
# Each domain (domains/manifest.json) is its own module and ELF shared object, linked
# with the trusted library and the interfaces, loaded by the kernel as a boot module.
# tools/proxygen writes the proxies and each domain's entry points into build/generated.

HOST_SWIFT_LIBS := $(SWIFT_BIN)/../lib/swift/host
PROXYGEN := $(BUILD)/tools/proxygen
DOMAINS := $(shell $(PYTHON) -c "import json; print(' '.join(d['name'] for d in json.load(open('domains/manifest.json'))['domains']))")
DOMAIN_BUILD := $(BUILD)/domains
# The hostile suite's domains (tests/hostile, below).
HOSTILE_MANIFEST := tests/hostile/manifest.json
HOSTILE_DOMAINS := $(shell $(PYTHON) -c "import json; print(' '.join(d['name'] for d in json.load(open('$(HOSTILE_MANIFEST)'))['domains']))")
DOMAIN_IMAGES := $(foreach d,$(DOMAINS),$(DOMAIN_BUILD)/$(d).so)
DEVICE_LIBRARIES := $(DOMAIN_BUILD)/Registers.o $(DOMAIN_BUILD)/Virtio.o $(DOMAIN_BUILD)/E1000.o \
  $(DOMAIN_BUILD)/DeviceAccess.o
# What every domain links: the trusted library, the network protocols (the interfaces use
# their address types) and the interfaces with their proxies.
DOMAIN_BASE := $(DOMAIN_BUILD)/SwiftletLib.o $(DOMAIN_BUILD)/Packets.o $(DOMAIN_BUILD)/SwiftletInterfaces.o
# The libraries a domain links besides SwiftletLib and the interfaces: its manifest's
# "libraries" (device access for drivers), in dependency order.
domain_libraries = $(foreach l,$(shell $(PYTHON) -c "import json; print(' '.join(next(d for m in ('domains/manifest.json', 'tests/hostile/manifest.json') for d in json.load(open(m))['domains'] if d['name'] == '$(1)').get('libraries', [])))"),$(DOMAIN_BUILD)/$(l).o)
# Domain modules cannot even declare C functions: only the trusted library (LIB_FLAGS)
# gets the Extern feature. Every function gets a section of its own, so that a domain's
# link keeps only what it reaches (LINK_DOMAIN).
DOMAIN_FLAGS := $(EMBEDDED_FLAGS) -I $(DOMAIN_BUILD) -strict-memory-safety -Werror StrictMemorySafety \
  -Xfrontend -function-sections
LIB_FLAGS := $(DOMAIN_FLAGS) -enable-experimental-feature Extern
# An image exports only the three functions the kernel looks up by name
# (domains/exports.map); everything else is local, and --gc-sections drops every section
# those three do not reach: the library's and the interfaces' code the domain never uses.
DOMAIN_EXPORTS := domains/exports.map
LINK_DOMAIN = $(LD) -shared --hash-style=sysv -z max-page-size=4096 -z noexecstack \
  --gc-sections --version-script=$(DOMAIN_EXPORTS)

domains: $(DOMAIN_IMAGES) $(DEVICE_LIBRARIES)

# Invariant 1: domain code is safe Swift. -strict-memory-safety lets some constructs
# through (the `unsafe` marker among them); scripts/lint-domains.py rejects them, and
# domains/TRUSTED names the only places exempt from it.
DOMAIN_SOURCES := $(shell find domains tests/hostile -name '*.swift')
$(BUILD)/domains.lint: scripts/lint-domains.py domains/TRUSTED $(DOMAIN_SOURCES)
	@mkdir -p $(BUILD)
	$(PYTHON) scripts/lint-domains.py --trusted domains/TRUSTED domains
	$(PYTHON) scripts/lint-domains.py --trusted domains/TRUSTED tests/hostile
	@touch $@

lint-domains: $(BUILD)/domains.lint

$(PROXYGEN): $(wildcard tools/proxygen/Core/*.swift) $(wildcard tools/proxygen/Main/*.swift)
	@mkdir -p $(BUILD)/tools
	$(SWIFTC) -O -warnings-as-errors -wmo -parse-as-library -module-name ProxyGeneratorCore \
	  -I $(HOST_SWIFT_LIBS) -emit-module -emit-module-path $(BUILD)/tools/ProxyGeneratorCore.swiftmodule \
	  -c $(wildcard tools/proxygen/Core/*.swift) -o $(BUILD)/tools/ProxyGeneratorCore.o
	$(SWIFTC) -O -warnings-as-errors -I $(BUILD)/tools -I $(HOST_SWIFT_LIBS) -L $(HOST_SWIFT_LIBS) \
	  -lSwiftSyntax -lSwiftParser -Xlinker -rpath -Xlinker $(HOST_SWIFT_LIBS) \
	  $(wildcard tools/proxygen/Main/*.swift) $(BUILD)/tools/ProxyGeneratorCore.o -o $@

$(BUILD)/generated/.stamp: $(PROXYGEN) $(wildcard domains/interfaces/*.swift) domains/manifest.json $(HOSTILE_MANIFEST)
	$(PROXYGEN) --interfaces domains/interfaces --manifest domains/manifest.json \
	  --suite $(HOSTILE_MANIFEST) --output $(BUILD)/generated
	@touch $@

$(DOMAIN_BUILD)/SwiftletLib.o: $(wildcard domains/lib/*.swift)
	@mkdir -p $(DOMAIN_BUILD)
	$(SWIFTC) $(LIB_FLAGS) -module-name SwiftletLib -emit-module \
	  -emit-module-path $(DOMAIN_BUILD)/SwiftletLib.swiftmodule -c $^ -o $@

# The network protocols (domains/lib/packets): safe Swift but for the checksum's word loads
# (WordLoads.swift, listed in domains/TRUSTED), no kernel calls; also built for
# the host (Package.swift) and, above, for the kernel.
$(DOMAIN_BUILD)/Packets.o: $(wildcard domains/lib/packets/*.swift) | $(BUILD)/domains.lint
	@mkdir -p $(DOMAIN_BUILD)
	$(SWIFTC) $(DOMAIN_FLAGS) -module-name Packets -emit-module \
	  -emit-module-path $(DOMAIN_BUILD)/Packets.swiftmodule -c $(wildcard domains/lib/packets/*.swift) -o $@

$(DOMAIN_BUILD)/SwiftletInterfaces.o: $(wildcard domains/interfaces/*.swift) $(BUILD)/generated/.stamp $(DOMAIN_BUILD)/SwiftletLib.o $(DOMAIN_BUILD)/Packets.o | $(BUILD)/domains.lint
	$(SWIFTC) $(DOMAIN_FLAGS) -module-name SwiftletInterfaces -emit-module \
	  -emit-module-path $(DOMAIN_BUILD)/SwiftletInterfaces.swiftmodule \
	  -c $(wildcard domains/interfaces/*.swift) $(BUILD)/generated/interfaces/Proxies.swift -o $@

# Device-access libraries (domains/lib/registers, domains/lib/virtio, domains/lib/e1000): safe Swift with
# no kernel calls, so they build with the domains' flags and need no Extern. Driver
# domains link their objects and import their modules; Package.swift tests them on the host.
# Registers and DeviceAccess form one Swift package: only its members can make a
# DMARegion from an address (a `package` initializer). Virtio and the domains are left
# out, so they can only narrow regions DeviceAccess made from memory the domain owns.
DEVICE_PACKAGE := -package-name SwiftletDeviceAccess
$(DOMAIN_BUILD)/Registers.o: $(wildcard domains/lib/registers/*.swift) | $(BUILD)/domains.lint
	@mkdir -p $(DOMAIN_BUILD)
	$(SWIFTC) $(DOMAIN_FLAGS) $(DEVICE_PACKAGE) -module-name Registers -emit-module \
	  -emit-module-path $(DOMAIN_BUILD)/Registers.swiftmodule -c $(wildcard domains/lib/registers/*.swift) -o $@

$(DOMAIN_BUILD)/Virtio.o: $(wildcard domains/lib/virtio/*.swift) $(DOMAIN_BUILD)/Registers.o | $(BUILD)/domains.lint
	$(SWIFTC) $(DOMAIN_FLAGS) -module-name Virtio -emit-module \
	  -emit-module-path $(DOMAIN_BUILD)/Virtio.swiftmodule -c $(wildcard domains/lib/virtio/*.swift) -o $@

# The 82540EM driver core (domains/lib/e1000): like Virtio, outside the package, so it
# only narrows DMA regions it is given.
$(DOMAIN_BUILD)/E1000.o: $(wildcard domains/lib/e1000/*.swift) $(DOMAIN_BUILD)/Registers.o $(DOMAIN_BUILD)/Packets.o | $(BUILD)/domains.lint
	$(SWIFTC) $(DOMAIN_FLAGS) -module-name E1000 -emit-module \
	  -emit-module-path $(DOMAIN_BUILD)/E1000.swiftmodule -c $(wildcard domains/lib/e1000/*.swift) -o $@

# The trusted half of device access: MMIO windows, DMA buffers and regions, and the
# device's kernel calls (domains/lib/device), over the Registers protocols and RRef.
$(DOMAIN_BUILD)/DeviceAccess.o: $(wildcard domains/lib/device/*.swift) $(DOMAIN_BUILD)/Registers.o $(DOMAIN_BUILD)/SwiftletLib.o | $(BUILD)/domains.lint
	$(SWIFTC) $(LIB_FLAGS) $(DEVICE_PACKAGE) -module-name DeviceAccess -emit-module \
	  -emit-module-path $(DOMAIN_BUILD)/DeviceAccess.swiftmodule -c $(wildcard domains/lib/device/*.swift) -o $@

# domain_module NAME, SOURCE_DIR, OUTPUT_DIR
# A domain's object depends on every library object it imports, not only the last in the
# chain: code from SwiftletLib is inlined into the domain, and swiftc leaves an object
# whose contents did not change untouched (its date too), so a chain through the
# interfaces would miss a change in SwiftletLib.
define domain_module
$(3)/$(1).o: $(wildcard $(2)/$(1)/*.swift) $(BUILD)/generated/.stamp $(DOMAIN_BASE) $(call domain_libraries,$(1)) | $(BUILD)/domains.lint
	@mkdir -p $(3)
	$(SWIFTC) $(DOMAIN_FLAGS) -module-name $(1)_domain \
	  -c $(wildcard $(2)/$(1)/*.swift) $(BUILD)/generated/$(1)/Exports.swift -o $$@
$(3)/$(1).so: $(3)/$(1).o $(call domain_libraries,$(1)) $(DOMAIN_BASE) $(DOMAIN_EXPORTS)
	$(LINK_DOMAIN) -o $$@ $$(filter %.o,$$^)
endef
$(foreach d,$(DOMAINS),$(eval $(call domain_module,$(d),domains,$(DOMAIN_BUILD))))

# The hostile suite (tests/hostile): domains written to attack, built exactly as domains
# are (same lint, same flags) into build/hostile, and booted only by the hostile tests
# (scripts/qemu.sh --suite hostile).
HOSTILE_IMAGES := $(foreach d,$(HOSTILE_DOMAINS),$(BUILD)/hostile/$(d).so)
$(foreach d,$(HOSTILE_DOMAINS),$(eval $(call domain_module,$(d),tests/hostile,$(BUILD)/hostile)))
hostile: $(HOSTILE_IMAGES)

# ---- Exclusivity: no dynamic access in domain code may overlap another -----------------
# Embedded Swift compiles the run-time exclusivity check away, so the build rejects every
# dynamic access in code that runs inside a domain that the optimizer could not prove free
# of nested conflicts (scripts/check-exclusivity.py; the argument is docs/EXCLUSIVITY.md).
# It reads the module's SIL twice, from separate `swiftc -emit-sil` runs with the flags and
# sources of its object (the optimizer is deterministic, so the first is the object's SIL):
#   <module>.sil       as optimized for the object file;
#   <module>.kept.sil  with every pass switched off that forwards, moves or deletes loads,
#                      stores or objects (or removes accesses in bulk): such a pass may make
#                      an overlapping access unused, and a dead access is deleted before the
#                      optimizer judges it (a local object's attack then leaves no marker at
#                      all in <module>.sil). What stays is inlining, specialization,
#                      devirtualization and reference-count work, enough for the same proofs.
# Each module's flags and sources are in exclusivity_input.<module>; a module that moves
# sources (say, the generated Exports.swift) changes only that line.
EXCLUSIVITY_BUILD := $(DOMAIN_BUILD)/exclusivity
EXCLUSIVITY_KEEP_ACCESSES := -Xllvm -sil-disable-pass=dce,dead-store-elimination,deadobject-elim,$\
sil-combine,mem2reg,sroa,cse,redundant-load-elimination,temp-rvalue-elimination,$\
temp-lvalue-elimination,simplification,loop-invariant-code-motion,codemotion,code-sinking,$\
cow-opts,cowarray-opt,redundant-phi-elimination,phi-expansion,array-count-propagation,$\
access-enforcement-wmo,access-enforcement-dom
EXCLUSIVITY_MODULES := SwiftletLib Packets SwiftletInterfaces Registers Virtio E1000 DeviceAccess \
  $(DOMAINS) \
  $(HOSTILE_DOMAINS)

exclusivity_input.SwiftletLib := $(LIB_FLAGS) -module-name SwiftletLib $(wildcard domains/lib/*.swift)
exclusivity_input.Packets := $(DOMAIN_FLAGS) -module-name Packets $(wildcard domains/lib/packets/*.swift)
exclusivity_input.SwiftletInterfaces := $(DOMAIN_FLAGS) -module-name SwiftletInterfaces \
  $(wildcard domains/interfaces/*.swift) $(BUILD)/generated/interfaces/Proxies.swift
exclusivity_input.Registers := $(DOMAIN_FLAGS) $(DEVICE_PACKAGE) -module-name Registers $(wildcard domains/lib/registers/*.swift)
exclusivity_input.Virtio := $(DOMAIN_FLAGS) -module-name Virtio $(wildcard domains/lib/virtio/*.swift)
exclusivity_input.E1000 := $(DOMAIN_FLAGS) -module-name E1000 $(wildcard domains/lib/e1000/*.swift)
exclusivity_input.DeviceAccess := $(LIB_FLAGS) $(DEVICE_PACKAGE) -module-name DeviceAccess $(wildcard domains/lib/device/*.swift)
$(foreach d,$(DOMAINS),$(eval exclusivity_input.$(d) := $(DOMAIN_FLAGS) -module-name $(d)_domain \
  $(wildcard domains/$(d)/*.swift) $(BUILD)/generated/$(d)/Exports.swift))
$(foreach d,$(HOSTILE_DOMAINS),$(eval exclusivity_input.$(d) := $(DOMAIN_FLAGS) -module-name $(d)_domain \
  $(wildcard tests/hostile/$(d)/*.swift) $(BUILD)/generated/$(d)/Exports.swift))

# What a module's SIL needs first: the modules it imports (their .o rules write them) and
# the generated sources (the generator's stamp).
exclusivity_needs.SwiftletLib :=
exclusivity_needs.Packets :=
exclusivity_needs.SwiftletInterfaces := $(BUILD)/generated/.stamp $(DOMAIN_BUILD)/SwiftletLib.o $(DOMAIN_BUILD)/Packets.o
exclusivity_needs.Registers :=
exclusivity_needs.Virtio := $(DOMAIN_BUILD)/Registers.o
exclusivity_needs.E1000 := $(DOMAIN_BUILD)/Registers.o $(DOMAIN_BUILD)/Packets.o
exclusivity_needs.DeviceAccess := $(DOMAIN_BUILD)/Registers.o $(DOMAIN_BUILD)/SwiftletLib.o
$(foreach d,$(DOMAINS) $(HOSTILE_DOMAINS),$(eval exclusivity_needs.$(d) := $(BUILD)/generated/.stamp \
  $(DOMAIN_BUILD)/SwiftletInterfaces.o $(call domain_libraries,$(d))))

define exclusivity_check
$(DOMAIN_BUILD)/$(1).exclusivity: $(filter-out $(BUILD)/%,$(filter %.swift,$(exclusivity_input.$(1)))) \
    $(exclusivity_needs.$(1)) scripts/check-exclusivity.py | $(BUILD)/domains.lint
	@mkdir -p $(EXCLUSIVITY_BUILD)
	$(SWIFTC) $(exclusivity_input.$(1)) -emit-sil -Xllvm -sil-print-debuginfo -o $(EXCLUSIVITY_BUILD)/$(1).sil
	$(SWIFTC) $(exclusivity_input.$(1)) -emit-sil -Xllvm -sil-print-debuginfo $(EXCLUSIVITY_KEEP_ACCESSES) \
	  -o $(EXCLUSIVITY_BUILD)/$(1).kept.sil
	$(PYTHON) scripts/check-exclusivity.py $(EXCLUSIVITY_BUILD)/$(1).sil $(EXCLUSIVITY_BUILD)/$(1).kept.sil
	@touch $$@
endef
$(foreach m,$(EXCLUSIVITY_MODULES),$(eval $(call exclusivity_check,$(m))))

# Nothing that runs in a domain is linked before its check passed (order-only: the
# recipes above link and compile `$^`).
$(foreach m,SwiftletLib Packets SwiftletInterfaces Registers Virtio E1000 DeviceAccess,\
  $(eval $(DOMAIN_BUILD)/$(m).o: | $(DOMAIN_BUILD)/$(m).exclusivity))
$(foreach d,$(DOMAINS),$(eval $(DOMAIN_BUILD)/$(d).so: | $(DOMAIN_BUILD)/$(d).exclusivity))
$(foreach d,$(HOSTILE_DOMAINS),$(eval $(BUILD)/hostile/$(d).so: | $(DOMAIN_BUILD)/$(d).exclusivity))
domains: $(foreach m,$(EXCLUSIVITY_MODULES),$(DOMAIN_BUILD)/$(m).exclusivity)

# The flags the check compiles domain code with, for tests/lint/test_exclusivity.py.
.PHONY: exclusivity-flags
exclusivity-flags:
	@echo '$(DOMAIN_FLAGS)'
	@echo '$(EXCLUSIVITY_KEEP_ACCESSES)'

# ---- End of exclusivity ------------------------------------------------------------------

# QEMU's -kernel takes multiboot1 ELF32 images only.
$(BUILD)/swiftlet32.elf: $(BUILD)/swiftlet.elf
	$(OBJCOPY) -O elf32-i386 $< $@

# The ISO bakes CMDLINE into grub.cfg; the stamp changes only when CMDLINE does.
$(BUILD)/iso.cmdline: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CMDLINE)' | cmp -s - $@ || echo '$(CMDLINE)' > $@

$(BUILD)/swiftlet.iso: $(BUILD)/swiftlet.elf $(DOMAIN_IMAGES) $(BUILD)/iso.cmdline scripts/grub.cfg | deps
	rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub $(BUILD)/iso/boot/domains
	cp $(BUILD)/swiftlet.elf $(BUILD)/iso/boot/swiftlet.elf
	cp $(DOMAIN_IMAGES) $(BUILD)/iso/boot/domains/
	sed -e 's|@CMDLINE@|$(CMDLINE)|' \
	  -e 's|@MODULES@|$(foreach d,$(DOMAINS),  module2 /boot/domains/$(d).so $(d)\n)|' \
	  scripts/grub.cfg > $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/iso 2>$(BUILD)/grub-mkrescue.log || (cat $(BUILD)/grub-mkrescue.log; exit 1)

iso: $(BUILD)/swiftlet.iso

# The disk `make run` attaches: the test pattern of scripts/diskimage.py, made once (tests
# may rewrite parts of it; `rm build/disk.img` starts over). DISK= boots without one.
DISK ?= $(BUILD)/disk.img
DISK_ARGS := $(if $(DISK),--disk $(DISK))

$(BUILD)/disk.img: scripts/diskimage.py
	@mkdir -p $(BUILD)
	$(PYTHON) scripts/diskimage.py make $@

# The NIC `make run` attaches (virtio, e1000 or none), on QEMU user networking, with host
# 127.0.0.1:NETPORT (UDP and TCP) forwarded to the guest's port 7, the echo services,
# and host 127.0.0.1:HTTPPORT (TCP) to its port 80, the status page.
NET ?= virtio
NETPORT ?= 5555
HTTPPORT ?= 8080
NET_ARGS := --net $(NET) $(if $(filter-out none,$(NET)),--netport $(NETPORT) --httpport $(HTTPPORT))
NET_SAYS := $(if $(filter none,$(NET)),net: no NIC (NET=none),net: $(NET) NIC; host udp/tcp 127.0.0.1:$(NETPORT) -> guest port 7 (echo); status page: http://127.0.0.1:$(HTTPPORT)/ -> guest port 80)

ifeq ($(ISO),1)
run: $(BUILD)/swiftlet.iso $(DISK)
	@echo '$(NET_SAYS)'
	@BUILD=$(BUILD) scripts/qemu.sh --iso $(DISK_ARGS) $(NET_ARGS)
else
run: kernel domains $(DISK) | deps
	@echo '$(NET_SAYS)'
	@BUILD=$(BUILD) scripts/qemu.sh --cmdline '$(CMDLINE)' $(DISK_ARGS) $(NET_ARGS)
endif

# MODE=icount (default: instructions, exact) or MODE=tsc (wall-clock ticks).
MODE ?= icount
bench: kernel domains | deps
	@$(PYTHON) -c 'import matplotlib' 2>/dev/null || $(PYTHON) -m pip install --quiet matplotlib
	$(PYTHON) scripts/bench.py --mode $(MODE)
	$(PYTHON) scripts/bench_net.py

# UDP echo through slirp on each NIC, wall clock, added to bench/results/latest.{json,md}.
bench-net: kernel domains | deps
	$(PYTHON) scripts/bench_net.py

# The fault campaign (scripts/faults.py): faults injected into every domain under block,
# call and UDP echo load, then the disk and memory checks and the report.
SEED ?=
COUNT ?= 10000
SECONDS ?= 600
faults: kernel domains | deps
	@$(PYTHON) -c 'import matplotlib' 2>/dev/null || $(PYTHON) -m pip install --quiet matplotlib
	$(PYTHON) scripts/faults.py $(if $(SEED),--seed $(SEED)) --count $(COUNT) --seconds $(SECONDS) \
	  --net $(NET) --work $(BUILD)/faults

# The soak: the campaign paced to one fault a second for MINUTES, under the same load, with
# a heartbeat of the memory counters every HEARTBEAT seconds; the same end-of-run checks.
MINUTES ?= 10
HEARTBEAT ?= 60
soak: kernel domains | deps
	@$(PYTHON) -c 'import matplotlib' 2>/dev/null || $(PYTHON) -m pip install --quiet matplotlib
	$(PYTHON) scripts/faults.py $(if $(SEED),--seed $(SEED)) --count 10000000 \
	  --seconds $$(( $(MINUTES) * 60 )) --every 1000 --heartbeat $(HEARTBEAT) --name soak \
	  --net $(NET) --work $(BUILD)/soak

debug: kernel domains | deps
	@BUILD=$(BUILD) scripts/qemu.sh --debug --cmdline '$(CMDLINE)'

test: lint unit harness

unit:
	$(SWIFT_BIN)/swift test
	SWIFT_BIN=$(SWIFT_BIN) $(PYTHON) -m pytest -q tests/lint

harness: kernel domains hostile iso
	$(PYTHON) -m pytest -q tests/qemu

# ---- Fuzzing ------------------------------------------------------------------------------
# libFuzzer targets with AddressSanitizer over every parser of untrusted input (tests/fuzz).
# Each target is one harness type from the unit tests (what it does with an input, which
# `make unit` replays over the target's kept inputs), built with the modules it needs
# for the host with -sanitize=fuzzer,address, and tests/fuzz/FuzzTarget.swift as the
# entry point. scripts/fuzz.py runs each for FUZZ_SECONDS (or FUZZ_RUNS executions),
# starting from its seeds (tests/fuzz/corpus/<target>) and kept failures
# (tests/fuzz/regressions/<target>) in a working corpus under build/fuzz that grows from
# run to run, and saves an input that fails into tests/fuzz/regressions/<target>.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_TARGET ?=
# FUZZ_DEBUG=1 builds unoptimized into build/fuzz-debug, where a failed check prints its
# message, file and line (optimized, it is a bare trap): for finding out what an input hits.
FUZZ_DEBUG ?=
FUZZ_BUILD := $(BUILD)/fuzz$(if $(FUZZ_DEBUG),-debug)
# Everything under test gets libFuzzer's full instrumentation: edge counters, and every
# comparison traced so that the fuzzer can solve it. The memory windows the simulated
# devices and their drivers meet in (Registers: the test memory is an array read byte by
# byte) and the input reader get the counters only: traced, they took more than half of
# every run. Generic code is serialized whole across modules (as Embedded Swift does), so
# that the drivers specialize for the simulated devices, in the target, fully traced; not
# in FUZZ_DEBUG builds, where -Onone emits the standard library's array helpers it pulls
# in both in a module and in the target, and the link fails on the duplicates.
FUZZ_COMMON := -parse-as-library -swift-version 6 -warnings-as-errors -use-ld=lld \
  $(if $(FUZZ_DEBUG),-Onone,-O -Xfrontend -enable-cmo-everything)
FUZZ_FLAGS := -sanitize=fuzzer,address $(FUZZ_COMMON)
FUZZ_LIGHT_FLAGS := -sanitize=address -sanitize-coverage=edge,inline-8bit-counters,pc-table \
  $(FUZZ_COMMON)
# The package whose `package` initializers the harnesses use (DMA memory at an address);
# Virtio and E1000 are built outside it, as in Package.swift.
FUZZ_PACKAGE := -package-name swiftlet
FUZZ_TARGETS := frames elf multiboot pci virtqueue virtio-pci virtio-blk virtio-net e1000 \
  shared-heap
FUZZ_SELECTED := $(or $(FUZZ_TARGET),$(FUZZ_TARGETS))
ifneq ($(filter-out $(FUZZ_TARGETS),$(FUZZ_SELECTED)),)
$(error FUZZ_TARGET=$(FUZZ_TARGET): the targets are $(FUZZ_TARGETS))
endif

# The modules, each from its folder (FuzzSupport: only the input reader, not the corpus
# lister, which needs Foundation), the modules each one imports, and its flags.
define fuzz_module
$(FUZZ_BUILD)/modules/$(1).o: $(2) $(foreach m,$(3),$(FUZZ_BUILD)/modules/$(m).o)
	@mkdir -p $(FUZZ_BUILD)/modules
	$(SWIFTC) $(4) -I $(FUZZ_BUILD)/modules -wmo -module-name $(1) -emit-module \
	  -emit-module-path $(FUZZ_BUILD)/modules/$(1).swiftmodule -c $(2) -o $$@
endef
$(eval $(call fuzz_module,FuzzSupport,tests/fuzz/FuzzSupport/FuzzInput.swift,,$(FUZZ_LIGHT_FLAGS)))
$(eval $(call fuzz_module,Packets,$(wildcard domains/lib/packets/*.swift),,$(FUZZ_FLAGS)))
$(eval $(call fuzz_module,ELF,$(wildcard kernel/elf/*.swift),,$(FUZZ_FLAGS)))
$(eval $(call fuzz_module,BootInfo,$(wildcard kernel/bootinfo/*.swift),,$(FUZZ_FLAGS)))
$(eval $(call fuzz_module,PCI,$(wildcard kernel/pci/*.swift),,$(FUZZ_FLAGS)))
$(eval $(call fuzz_module,Memory,$(wildcard kernel/mem/*.swift),,$(FUZZ_FLAGS)))
$(eval $(call fuzz_module,Registers,$(wildcard domains/lib/registers/*.swift),,\
  $(FUZZ_LIGHT_FLAGS) $(FUZZ_PACKAGE)))
$(eval $(call fuzz_module,Virtio,$(wildcard domains/lib/virtio/*.swift),Registers,$(FUZZ_FLAGS)))
$(eval $(call fuzz_module,E1000,$(wildcard domains/lib/e1000/*.swift),Registers Packets,\
  $(FUZZ_FLAGS)))

# Per target: the harness type, the modules it needs, and the harness's sources (with the
# simulated devices and fakes the unit tests drive the code with).
VIRTIO_SIMULATION := $(addprefix tests/unit/VirtioTests/,ConfigurationSpace.swift \
  DeviceMemory.swift ObservedWindow.swift SimulatedVirtioDevice.swift SimulatedBlockDevice.swift \
  TestBeds.swift)
FUZZ_frames_HARNESS := FrameFuzzing
FUZZ_frames_MODULES := Packets
FUZZ_frames_SOURCES := tests/unit/PacketsTests/FrameFuzzing.swift
FUZZ_elf_HARNESS := ELFFuzzing
FUZZ_elf_MODULES := ELF
FUZZ_elf_SOURCES := tests/unit/ELFTests/ELFFuzzing.swift
FUZZ_multiboot_HARNESS := BootInfoFuzzing
FUZZ_multiboot_MODULES := BootInfo
FUZZ_multiboot_SOURCES := $(addprefix tests/unit/BootInfoTests/,BootInfoFuzzing.swift FakeMemory.swift)
FUZZ_pci_HARNESS := PCIFuzzing
FUZZ_pci_MODULES := PCI
FUZZ_pci_SOURCES := tests/unit/PCITests/PCIFuzzing.swift
FUZZ_virtqueue_HARNESS := VirtQueueFuzzing
FUZZ_virtqueue_MODULES := Registers Virtio
FUZZ_virtqueue_SOURCES := $(addprefix tests/unit/VirtioTests/,VirtQueueFuzzing.swift RingDevice.swift)
FUZZ_virtio-pci_HARNESS := VirtioPCIFuzzing
FUZZ_virtio-pci_MODULES := Registers Virtio
FUZZ_virtio-pci_SOURCES := tests/unit/VirtioTests/VirtioPCIFuzzing.swift $(VIRTIO_SIMULATION)
FUZZ_virtio-blk_HARNESS := BlockFuzzing
FUZZ_virtio-blk_MODULES := Registers Virtio
FUZZ_virtio-blk_SOURCES := tests/unit/VirtioTests/BlockFuzzing.swift $(VIRTIO_SIMULATION)
FUZZ_virtio-net_HARNESS := NetworkFuzzing
FUZZ_virtio-net_MODULES := Registers Virtio
FUZZ_virtio-net_SOURCES := $(addprefix tests/unit/VirtioTests/,NetworkFuzzing.swift \
  SimulatedNetworkDevice.swift NetworkTestSupport.swift) $(VIRTIO_SIMULATION)
FUZZ_e1000_HARNESS := E1000Fuzzing
FUZZ_e1000_MODULES := Registers Packets E1000
FUZZ_e1000_SOURCES := $(addprefix tests/unit/E1000Tests/,E1000Fuzzing.swift \
  SimulatedE1000.swift BusMemory.swift)
FUZZ_shared-heap_HARNESS := SharedHeapFuzzing
FUZZ_shared-heap_MODULES := Memory
FUZZ_shared-heap_SOURCES := tests/unit/MemoryTests/SharedHeapFuzzing.swift

define fuzz_target
$(FUZZ_BUILD)/bin/$(1): tests/fuzz/FuzzTarget.swift $(FUZZ_$(1)_SOURCES) \
  $(foreach m,FuzzSupport $(FUZZ_$(1)_MODULES),$(FUZZ_BUILD)/modules/$(m).o)
	@mkdir -p $(FUZZ_BUILD)/bin $(FUZZ_BUILD)/harness
	echo 'typealias FuzzedHarness = $(FUZZ_$(1)_HARNESS)' > $(FUZZ_BUILD)/harness/$(1).swift
	$(SWIFTC) $(FUZZ_FLAGS) $(FUZZ_PACKAGE) -I $(FUZZ_BUILD)/modules -wmo -module-name FuzzTarget \
	  tests/fuzz/FuzzTarget.swift $(FUZZ_$(1)_SOURCES) $(FUZZ_BUILD)/harness/$(1).swift \
	  $(foreach m,FuzzSupport $(FUZZ_$(1)_MODULES),$(FUZZ_BUILD)/modules/$(m).o) -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

fuzz: $(addprefix $(FUZZ_BUILD)/bin/,$(FUZZ_SELECTED))
	$(PYTHON) scripts/fuzz.py --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS) \
	  $(if $(FUZZ_RUNS),--runs $(FUZZ_RUNS)) $(FUZZ_SELECTED)

SWIFT_FILES = $(shell git ls-files -co --exclude-standard '*.swift')
lint:
	@$(SWIFT_BIN)/swift-format lint --strict $(SWIFT_FILES) && echo "lint: swift-format finds nothing to change"

format:
	@$(SWIFT_BIN)/swift-format format -i $(SWIFT_FILES)

clean:
	rm -rf $(BUILD)

FORCE:
