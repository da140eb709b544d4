# Swiftlet build. `make help` lists the targets.
#
# The kernel is nasm objects (boot/) plus Embedded Swift modules (kernel/), linked twice:
# the first link gives the addresses for the symbol table, the second adds it. Modules
# under kernel/bootinfo and kernel/mem are portable: Package.swift builds them for the
# host too, for `swift test`.

SWIFT_BIN  ?= /opt/swift/usr/bin
SWIFTC     := $(SWIFT_BIN)/swiftc
LD         := $(SWIFT_BIN)/ld.lld
OBJCOPY    := $(SWIFT_BIN)/llvm-objcopy
NASM       := nasm
PYTHON     := python3
BUILD      := build
CMDLINE    ?=
ISO        ?= 0

SWIFT_FLAGS := -target x86_64-unknown-none-elf \
  -enable-experimental-feature Embedded -enable-experimental-feature Extern \
  -wmo -O -parse-as-library -swift-version 6 -warnings-as-errors \
  -Xfrontend -disable-stack-protector -I $(BUILD)/swift
# String comparison needs Unicode normalization data; this archive has no other needs.
UNICODE_TABLES := $(dir $(SWIFTC))../lib/swift/embedded/x86_64-unknown-linux-gnu/libswiftUnicodeDataTables.a

ASM_OBJECTS := $(patsubst boot/%.asm,$(BUILD)/boot/%.o,$(wildcard boot/*.asm))
# Portable modules, in dependency order.
PORTABLE := BootInfo:kernel/bootinfo Memory:kernel/mem
PORTABLE_NAMES := $(foreach m,$(PORTABLE),$(word 1,$(subst :, ,$(m))))
PORTABLE_OBJECTS := $(foreach n,$(PORTABLE_NAMES),$(BUILD)/swift/$(n).o)
PORTABLE_DIRS := $(foreach m,$(PORTABLE),$(word 2,$(subst :, ,$(m))))
KERNEL_SOURCES := $(filter-out $(addsuffix /%,$(PORTABLE_DIRS)),$(sort $(shell find kernel -name '*.swift')))
OBJECTS := $(ASM_OBJECTS) $(PORTABLE_OBJECTS) $(BUILD)/swift/Kernel.o

.PHONY: all kernel iso run debug test unit harness lint format clean deps help
.DELETE_ON_ERROR:

all: kernel

kernel: $(BUILD)/swiftlet.elf $(BUILD)/swiftlet32.elf

help:
	@echo "make           build the kernel (build/swiftlet.elf, and build/swiftlet32.elf for QEMU -kernel)"
	@echo "make run       boot in QEMU, serial console on this terminal (Ctrl-A X quits)"
	@echo "               CMDLINE='test=all' passes a command line; ISO=1 boots through GRUB; ACCEL=kvm"
	@echo "make test      host unit tests, then boot tests in QEMU (what CI runs)"
	@echo "make iso       GRUB rescue ISO (build/swiftlet.iso)"
	@echo "make debug     boot paused with QEMU's gdb stub and print the gdb command"
	@echo "make format    format all Swift sources with swift-format; make lint checks them"
	@echo "make clean     remove build/"

deps:
	@scripts/deps.sh

$(BUILD)/boot/%.o: boot/%.asm | deps
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -o $@ $<

define portable_module
$(BUILD)/swift/$(1).o: $(wildcard $(2)/*.swift)
	@mkdir -p $(BUILD)/swift
	$(SWIFTC) $(SWIFT_FLAGS) -module-name $(1) -emit-module -emit-module-path $(BUILD)/swift/$(1).swiftmodule -c $$^ -o $$@
endef
$(foreach m,$(PORTABLE),$(eval $(call portable_module,$(word 1,$(subst :, ,$(m))),$(word 2,$(subst :, ,$(m))))))

$(BUILD)/swift/Kernel.o: $(KERNEL_SOURCES) $(PORTABLE_OBJECTS)
	$(SWIFTC) $(SWIFT_FLAGS) -module-name Kernel -c $(KERNEL_SOURCES) -o $@

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

# QEMU's -kernel takes multiboot1 ELF32 images only.
$(BUILD)/swiftlet32.elf: $(BUILD)/swiftlet.elf
	$(OBJCOPY) -O elf32-i386 $< $@

# The ISO bakes CMDLINE into grub.cfg; the stamp changes only when CMDLINE does.
$(BUILD)/iso.cmdline: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CMDLINE)' | cmp -s - $@ || echo '$(CMDLINE)' > $@

$(BUILD)/swiftlet.iso: $(BUILD)/swiftlet.elf $(BUILD)/iso.cmdline scripts/grub.cfg | deps
	rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub
	cp $(BUILD)/swiftlet.elf $(BUILD)/iso/boot/swiftlet.elf
	sed 's|@CMDLINE@|$(CMDLINE)|' scripts/grub.cfg > $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/iso 2>$(BUILD)/grub-mkrescue.log || (cat $(BUILD)/grub-mkrescue.log; exit 1)

iso: $(BUILD)/swiftlet.iso

ifeq ($(ISO),1)
run: $(BUILD)/swiftlet.iso
	@BUILD=$(BUILD) scripts/qemu.sh --iso
else
run: kernel | deps
	@BUILD=$(BUILD) scripts/qemu.sh --cmdline '$(CMDLINE)'
endif

debug: kernel | deps
	@BUILD=$(BUILD) scripts/qemu.sh --debug --cmdline '$(CMDLINE)'

test: lint unit harness

unit:
	$(SWIFT_BIN)/swift test

harness: kernel iso
	$(PYTHON) -m pytest -q tests/qemu

SWIFT_FILES = $(shell git ls-files -co --exclude-standard '*.swift')
lint:
	@$(SWIFT_BIN)/swift-format lint --strict $(SWIFT_FILES) && echo "lint: swift-format finds nothing to change"

format:
	@$(SWIFT_BIN)/swift-format format -i $(SWIFT_FILES)

clean:
	rm -rf $(BUILD)

FORCE:
