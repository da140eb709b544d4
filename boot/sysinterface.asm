; The kernel's system interface: every symbol a domain image may import, and the
; kernel function it is bound to. The one table of it (DESIGN.md, invariant 7); the
; loader refuses any other import by name (kernel/domains/SystemInterface.swift reads
; this table). The domain side of the list is domains/lib/SystemInterface.swift.
;
; Layout: pairs of (address of the NUL-terminated name, address of the function).
;
; Kernel calls are bound to a wrapper, not to the kernel function itself (`service`
; below): the wrapper checks that the domain's stack has room for kernel code to finish
; (boot/domaincall.asm, check_stack_room), and on the way back it does not return into
; a domain that died while the thread was in the kernel: the thread is unwound to its
; call into that domain instead (unwind_current). Leaf C library functions that need
; no stack and never block (memcpy and the like) get the way back only (`leaf`): the
; watchdog may end their domain while they run (a loop over its budget that was in a
; memcpy at that tick), and a domain that died must not run another instruction.

bits 64
%include "callabi.inc"

extern check_stack_room, unwind_current, running_stack

extern swiftlet_domain_posix_memalign, swiftlet_domain_free
extern memcpy, memmove, memset, memcmp, ceil, floor, putchar, arc4random_buf
extern swiftlet_call, swiftlet_connect, swiftlet_recover, swiftlet_log
extern swiftlet_domain_id, swiftlet_time_ns, swiftlet_fault, swiftlet_fault_checkpoint
extern swiftlet_fault_register, swiftlet_caller, swiftlet_domain_alive
extern swiftlet_rref_alloc, swiftlet_rref_free, swiftlet_rref_free_orphan
extern swiftlet_rref_adopt, swiftlet_rref_free_undelivered, swiftlet_thread_word
extern swiftlet_rref_free_sent, swiftlet_rref_adopt_deque
extern swiftlet_spawn, swiftlet_sleep_ns
extern swiftlet_device_status, swiftlet_device_config_read, swiftlet_device_bar
extern swiftlet_device_wait_interrupt, swiftlet_device_interrupt_kind
extern swiftlet_device_wait_interrupt_for, swiftlet_event_signal, swiftlet_event_wait
extern swiftlet_boot_option, swiftlet_device_start_dma
extern swiftlet_yield

%macro export 2
    dq %%name, %2
[section .rodata.interface_names]
%%name: db %1, 0
__SECT__
%endmacro

; A wrapped kernel function: `wrapped "name", function, check`. With `check` 1 the
; stack's room is checked first (a kernel call); with 0 not (a leaf).
%macro wrapped 3
    dq %%name, %%wrapper
[section .rodata.interface_names]
%%name: db %1, 0
[section .text]
%%wrapper:
%if %3
    call check_stack_room
%endif
    sub rsp, 8                      ; rsp was 8 mod 16 at entry, as at every call
    call %2
    add rsp, 8
    mov rcx, [rel running_stack]    ; back into the domain, unless it died meanwhile
    cmp qword [rcx + THREAD_UNWIND_STATUS], 0
    jne service_unwind
    ret
__SECT__
%endmacro

; A kernel call as domains import it: `service "name", function`.
%macro service 2
    wrapped %1, %2, 1
%endmacro

; A leaf C library function: `leaf "name", function`.
%macro leaf 2
    wrapped %1, %2, 0
%endmacro

section .text
; A kernel call returns while its domain has died: unwind instead of returning into it.
service_unwind:
    mov rax, [rcx + THREAD_UNWIND_STATUS]
    mov qword [rcx + THREAD_UNWIND_STATUS], 0
    jmp unwind_current

section .rodata
align 8
global system_interface
system_interface:
    ; The Embedded Swift runtime's C library; allocation is the calling domain's heap.
    service "posix_memalign", swiftlet_domain_posix_memalign
    service "free", swiftlet_domain_free
    leaf "memcpy", memcpy
    leaf "memmove", memmove
    leaf "memset", memset
    leaf "memcmp", memcmp
    leaf "ceil", ceil
    leaf "floor", floor
    service "putchar", putchar
    service "arc4random_buf", arc4random_buf
    ; Kernel calls.
    export "swiftlet_call", swiftlet_call
    service "swiftlet_connect", swiftlet_connect
    service "swiftlet_recover", swiftlet_recover
    service "swiftlet_log", swiftlet_log
    service "swiftlet_domain_id", swiftlet_domain_id
    service "swiftlet_time_ns", swiftlet_time_ns
    service "swiftlet_fault", swiftlet_fault
    service "swiftlet_fault_checkpoint", swiftlet_fault_checkpoint
    service "swiftlet_fault_register", swiftlet_fault_register
    service "swiftlet_caller", swiftlet_caller
    service "swiftlet_domain_alive", swiftlet_domain_alive
    ; Threads of the calling domain.
    service "swiftlet_spawn", swiftlet_spawn
    service "swiftlet_sleep_ns", swiftlet_sleep_ns
    service "swiftlet_yield", swiftlet_yield
    ; The shared heap (kernel/domains/SharedMemory.swift).
    service "swiftlet_rref_alloc", swiftlet_rref_alloc
    service "swiftlet_rref_free", swiftlet_rref_free
    service "swiftlet_rref_free_orphan", swiftlet_rref_free_orphan
    service "swiftlet_rref_adopt", swiftlet_rref_adopt
    service "swiftlet_rref_adopt_deque", swiftlet_rref_adopt_deque
    service "swiftlet_rref_free_undelivered", swiftlet_rref_free_undelivered
    service "swiftlet_rref_free_sent", swiftlet_rref_free_sent
    service "swiftlet_thread_word", swiftlet_thread_word
    ; The calling domain's own device (kernel/domains/DeviceCalls.swift).
    service "swiftlet_device_status", swiftlet_device_status
    service "swiftlet_device_config_read", swiftlet_device_config_read
    service "swiftlet_device_bar", swiftlet_device_bar
    service "swiftlet_device_wait_interrupt", swiftlet_device_wait_interrupt
    service "swiftlet_device_wait_interrupt_for", swiftlet_device_wait_interrupt_for
    service "swiftlet_device_interrupt_kind", swiftlet_device_interrupt_kind
    service "swiftlet_device_start_dma", swiftlet_device_start_dma
    ; Events the calling domain's threads wait for and signal, and the boot options
    ; (kernel/domains/DomainEvents.swift).
    service "swiftlet_event_signal", swiftlet_event_signal
    service "swiftlet_event_wait", swiftlet_event_wait
    service "swiftlet_boot_option", swiftlet_boot_option
system_interface_end:

section .text
; uint64_t system_interface_entries(const uint64_t **table): the table and its size.
global system_interface_entries
system_interface_entries:
    lea rax, [rel system_interface]
    mov [rdi], rax
    mov rax, (system_interface_end - system_interface) / 16
    ret
