; The kernel's system interface: every symbol a domain image may import, and the
; kernel function it is bound to. The one table of it (DESIGN.md, invariant 7); the
; loader refuses any other import by name (kernel/domains/SystemInterface.swift reads
; this table). The domain side of the list is domains/lib/SystemInterface.swift.
;
; Layout: pairs of (address of the NUL-terminated name, address of the function).

bits 64

extern swiftlet_domain_posix_memalign, swiftlet_domain_free
extern memcpy, memmove, memset, memcmp, ceil, floor, putchar, arc4random_buf
extern swiftlet_call, swiftlet_connect, swiftlet_recover, swiftlet_log
extern swiftlet_domain_id, swiftlet_time_ns, swiftlet_fault, swiftlet_fault_checkpoint
extern swiftlet_rref_alloc, swiftlet_rref_free, swiftlet_rref_free_orphan
extern swiftlet_rref_adopt, swiftlet_rref_free_undelivered
extern swiftlet_spawn, swiftlet_sleep_ns
extern swiftlet_device_status, swiftlet_device_config_read, swiftlet_device_bar
extern swiftlet_device_wait_interrupt, swiftlet_device_interrupt_kind
extern swiftlet_yield

%macro export 2
    dq %%name, %2
[section .rodata.interface_names]
%%name: db %1, 0
__SECT__
%endmacro

section .rodata
align 8
global system_interface
system_interface:
    ; The Embedded Swift runtime's C library; allocation is the calling domain's heap.
    export "posix_memalign", swiftlet_domain_posix_memalign
    export "free", swiftlet_domain_free
    export "memcpy", memcpy
    export "memmove", memmove
    export "memset", memset
    export "memcmp", memcmp
    export "ceil", ceil
    export "floor", floor
    export "putchar", putchar
    export "arc4random_buf", arc4random_buf
    ; Kernel calls.
    export "swiftlet_call", swiftlet_call
    export "swiftlet_connect", swiftlet_connect
    export "swiftlet_recover", swiftlet_recover
    export "swiftlet_log", swiftlet_log
    export "swiftlet_domain_id", swiftlet_domain_id
    export "swiftlet_time_ns", swiftlet_time_ns
    export "swiftlet_fault", swiftlet_fault
    export "swiftlet_fault_checkpoint", swiftlet_fault_checkpoint
    ; Threads of the calling domain.
    export "swiftlet_spawn", swiftlet_spawn
    export "swiftlet_sleep_ns", swiftlet_sleep_ns
    export "swiftlet_yield", swiftlet_yield
    ; The shared heap (kernel/domains/SharedMemory.swift).
    export "swiftlet_rref_alloc", swiftlet_rref_alloc
    export "swiftlet_rref_free", swiftlet_rref_free
    export "swiftlet_rref_free_orphan", swiftlet_rref_free_orphan
    export "swiftlet_rref_adopt", swiftlet_rref_adopt
    export "swiftlet_rref_free_undelivered", swiftlet_rref_free_undelivered
    ; The calling domain's own device (kernel/domains/DeviceCalls.swift).
    export "swiftlet_device_status", swiftlet_device_status
    export "swiftlet_device_config_read", swiftlet_device_config_read
    export "swiftlet_device_bar", swiftlet_device_bar
    export "swiftlet_device_wait_interrupt", swiftlet_device_wait_interrupt
    export "swiftlet_device_interrupt_kind", swiftlet_device_interrupt_kind
system_interface_end:

section .text
; uint64_t system_interface_entries(const uint64_t **table): the table and its size.
global system_interface_entries
system_interface_entries:
    lea rax, [rel system_interface]
    mov [rdi], rax
    mov rax, (system_interface_end - system_interface) / 16
    ret
