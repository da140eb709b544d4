; The cross-domain call: switch to the callee domain with a continuation to come back
; to, call the method's entry point, switch back. (DESIGN.md, "The call path".)
;
; uint64_t swiftlet_call(uint64_t slot, const void *arguments, void *result)
;
; `slot` indexes the export table, one row per method of every exported interface
; (an interface handle is the slot of its first method; the proxy adds the method's
; number). The kernel fills the rows as domains load (kernel/domains/DomainCall.swift):
; the entry point, the callee's domain id, whether it is running, a call count. The
; call pushes a continuation on the caller's stack, makes it the current one, and calls
; entry(_, arguments, result) as the callee (the first argument register holds the
; slot's table offset, which entry points ignore). The entry returns the call's status
; word, which is returned as it is: 0 for success (the result, if any, is in the slot
; the caller gave), else an error (domains/lib/RpcError.swift has the encoding).
;
; The continuation holds only what a crash needs to resume the caller: its callee-saved
; registers, the enclosing continuation and domain. On a normal return the callee has
; preserved those registers itself (the ABI says so), so they are not reloaded; only
; the crash path pops them. If the callee traps or overruns its time, the kernel points
; the trap frame at `swiftlet_call_crashed` with rsp at the continuation and the status
; in rax.
;
; Status words from here: 1 crashed, 2 callee not running, 3 no such slot, 4 timed out.
;
; Continuation, from the address in current_continuation up:
;   caller's domain, enclosing continuation, the slot's table offset (it keeps the
;   callee's stack 16-byte aligned), r15, r14, r13, r12, rbx, rbp, return address

bits 64

EXPORT_SLOTS    equ 256
EXPORT_RECORD   equ 32          ; entry, domain (4) + running (4), calls, padding
STATUS_STOPPED  equ 2
STATUS_BAD      equ 3

section .bss
alignb 64
global export_table, current_domain, current_continuation
export_table:           resb EXPORT_SLOTS * EXPORT_RECORD
current_domain:         resq 1
current_continuation:   resq 1

section .text
global swiftlet_call, swiftlet_call_crashed
swiftlet_call:
    cmp rdi, EXPORT_SLOTS
    jae .bad_slot
    shl edi, 5
    ; The kernel is linked below 2 GiB (linker.ld), so the table's absolute address fits
    ; the instruction and no register is spent on it.
    cmp dword [export_table + rdi + 12], 0
    je .stopped
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi
    push qword [rel current_continuation]
    push qword [rel current_domain]
    mov [rel current_continuation], rsp
    mov eax, [export_table + rdi + 8]
    mov [rel current_domain], rax
    inc qword [export_table + rdi + 16]
    call [export_table + rdi]
    pop qword [rel current_domain]
    pop qword [rel current_continuation]
    add rsp, 7 * 8
    ret
.stopped:
    mov eax, STATUS_STOPPED
    ret
.bad_slot:
    mov eax, STATUS_BAD
    ret

; A call the kernel ended: rsp is at its continuation, rax holds the status.
swiftlet_call_crashed:
    pop qword [rel current_domain]
    pop qword [rel current_continuation]
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; Addresses for the kernel's Swift side.
global domain_call_state
; void *domain_call_state(uint32_t which): 0 export_table, 1 current_domain,
; 2 current_continuation, 3 swiftlet_call_crashed
domain_call_state:
    lea rax, [rel export_table]
    cmp edi, 1
    jb .done
    lea rax, [rel current_domain]
    je .done
    lea rax, [rel current_continuation]
    cmp edi, 2
    je .done
    lea rax, [rel swiftlet_call_crashed]
.done:
    ret
