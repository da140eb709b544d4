; Multiboot headers: one for GRUB (multiboot2) and one for QEMU -kernel (multiboot1).
;
; Both sit in .multiboot, which the linker script places first so the headers land
; in the first 8 KiB of the image, where either loader looks. The kernel is an ELF
; image, so neither header needs load addresses: the loaders read the program headers.

MB1_MAGIC     equ 0x1BADB002
MB1_FLAGS     equ (1 << 0) | (1 << 1)        ; page-align modules, pass memory information
MB2_MAGIC     equ 0xE85250D6
MB2_ARCH_I386 equ 0

section .multiboot
align 4
multiboot1_header:
    dd MB1_MAGIC
    dd MB1_FLAGS
    dd -(MB1_MAGIC + MB1_FLAGS)

align 8
multiboot2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd multiboot2_header_end - multiboot2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (multiboot2_header_end - multiboot2_header))
    ; Module alignment tag: modules start on page boundaries, so the loader can map them.
    align 8
    dw 6, 0
    dd 8
    ; End tag.
    align 8
    dw 0, 0
    dd 8
multiboot2_header_end:
