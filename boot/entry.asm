; Kernel entry: from 32-bit protected mode (as both multiboot loaders leave us) to 64-bit
; Swift.
;
; The loader jumps here with paging off, EAX = the multiboot magic and EBX = the physical
; address of its boot information. We check the CPU can run 64-bit code, identity-map the
; first 4 GiB with 2 MiB pages (enough for the kernel, the boot information, modules and
; the local APIC; the kernel builds its own fine-grained tables later), enter long mode,
; load a GDT with a TSS (whose interrupt stacks the trap stubs rely on), enable SSE (Swift
; uses it for plain struct copies) and call kmain(magic, info) on the boot stack.

bits 32

KERNEL_CODE   equ 0x08
KERNEL_DATA   equ 0x10
KERNEL_TSS    equ 0x18
COM1          equ 0x3F8

PAGE_PRESENT  equ 1 << 0
PAGE_WRITE    equ 1 << 1
PAGE_HUGE     equ 1 << 7

EFER_MSR      equ 0xC0000080
EFER_LME      equ 1 << 8
EFER_NXE      equ 1 << 11

extern kmain

section .text.entry
global _start
_start:
    cli
    cld
    mov esp, boot_stack_top
    mov [boot_magic], eax
    mov [boot_info], ebx

    ; CPUID exists if EFLAGS.ID (bit 21) can be toggled.
    pushfd
    pop eax
    mov ecx, eax
    xor eax, 1 << 21
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    cmp eax, ecx
    je .no_long_mode

    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29               ; LM
    jz .no_long_mode
    mov [cpu_has_nx], edx           ; bit 20 is NX; kept for the EFER set-up below

    ; PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages covering 4 GiB.
    mov eax, boot_pdpt
    or eax, PAGE_PRESENT | PAGE_WRITE
    mov [boot_pml4], eax
    xor ecx, ecx
.fill_pdpt:
    mov eax, ecx
    shl eax, 12
    add eax, boot_page_directories
    or eax, PAGE_PRESENT | PAGE_WRITE
    mov [boot_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jne .fill_pdpt
    xor ecx, ecx                    ; ecx = index of the 2 MiB page, 0..2047
.fill_pd:
    mov eax, ecx
    shl eax, 21                     ; low 32 bits of the physical address
    or eax, PAGE_PRESENT | PAGE_WRITE | PAGE_HUGE
    mov edx, ecx
    shr edx, 11                     ; high 32 bits: 1 from 4 GiB up (never, with 2048 pages)
    mov [boot_page_directories + ecx * 8], eax
    mov [boot_page_directories + ecx * 8 + 4], edx
    inc ecx
    cmp ecx, 2048
    jne .fill_pd

    mov eax, cr4
    or eax, 1 << 5                  ; PAE
    mov cr4, eax
    mov eax, boot_pml4
    mov cr3, eax
    mov ecx, EFER_MSR
    rdmsr
    or eax, EFER_LME
    test dword [cpu_has_nx], 1 << 20
    jz .no_nx
    or eax, EFER_NXE
.no_nx:
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16)   ; PG, and WP so read-only pages bind the kernel too
    mov cr0, eax

    lgdt [gdt_pointer]
    jmp KERNEL_CODE:long_mode_entry

.no_long_mode:
    mov esi, no_long_mode_message
.print:
    lodsb
    test al, al
    jz .halt
    mov dx, COM1
    out dx, al
    jmp .print
.halt:
    hlt
    jmp .halt

bits 64
long_mode_entry:
    mov ax, KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax

    ; The TSS base is a link-time address split across the descriptor: patch it in here.
    mov rax, tss
    mov [gdt.tss + 2], ax
    shr rax, 16
    mov [gdt.tss + 4], al
    mov [gdt.tss + 7], ah
    shr rax, 16
    mov [gdt.tss + 8], eax
    mov ax, KERNEL_TSS
    ltr ax

    ; SSE: no FPU emulation, monitor the coprocessor, and let the OS save the state.
    mov rax, cr0
    and rax, ~(1 << 2)
    or rax, 1 << 1
    mov cr0, rax
    mov rax, cr4
    or rax, (1 << 9) | (1 << 10)    ; OSFXSR, OSXMMEXCPT
    mov cr4, rax
    fninit

    mov rsp, boot_stack_top
    xor ebp, ebp                    ; a zero frame pointer ends every backtrace
    mov edi, [boot_magic]
    mov esi, [boot_info]
    call kmain
.hang:
    cli
    hlt
    jmp .hang

section .rodata
no_long_mode_message: db "Swiftlet: this CPU cannot run 64-bit code; halting.", 13, 10, 0

section .data
; The GDT is data, not a constant: its TSS descriptor is patched at boot and ltr marks
; it busy.
align 16
gdt:
    dq 0
    dq 0x00AF9A000000FFFF           ; 0x08: 64-bit kernel code
    dq 0x00CF92000000FFFF           ; 0x10: kernel data
.tss:                               ; 0x18: 64-bit TSS, 16 bytes; base patched at boot
    dw tss_end - tss - 1
    dw 0
    db 0
    db 0x89                         ; present, type 9 (available 64-bit TSS)
    db 0
    db 0
    dd 0
    dd 0
gdt_end:
gdt_pointer:
    dw gdt_end - gdt - 1
    dq gdt


; 64-bit TSS: only the interrupt stack table is used (there is no ring 3).
; IST1: ordinary traps and interrupts, which hop off it at once (see traps.asm).
; IST2: page faults and stack faults, which may mean the current stack is unusable.
; IST3: double fault, NMI and machine check.
align 16
global tss
tss:
    dd 0
    dq 0, 0, 0                      ; rsp0..rsp2
    dq 0
    dq ist1_stack_top
    dq ist2_stack_top
    dq ist3_stack_top
    dq 0, 0, 0, 0                   ; ist4..ist7
    dq 0
    dw 0
    dw tss_end - tss                ; I/O bitmap offset past the limit: no bitmap
tss_end:

section .bss
alignb 4096
boot_pml4:              resb 4096
boot_pdpt:              resb 4096
boot_page_directories:  resb 4 * 4096

alignb 16
boot_magic:             resd 1
boot_info:              resd 1
cpu_has_nx:             resd 1

; Each stack has a guard page below it, which the kernel's page tables leave unmapped
; (kernel/arch/Paging.swift), so running off the end faults instead of corrupting.
alignb 4096
                        resb 4096
global boot_stack_bottom
boot_stack_bottom:      resb 64 * 1024
global boot_stack_top
boot_stack_top:
                        resb 4096
global ist1_stack, ist2_stack, ist3_stack
ist1_stack:             resb 16 * 1024
ist1_stack_top:
                        resb 4096
ist2_stack:             resb 16 * 1024
ist2_stack_top:
                        resb 4096
ist3_stack:             resb 16 * 1024
ist3_stack_top:

; The heap's first memory, before the memory map is known (kernel/runtime/KernelHeap.swift).
alignb 4096
global bootstrap_heap_start, bootstrap_heap_end
bootstrap_heap_start:   resb 1024 * 1024
bootstrap_heap_end:
