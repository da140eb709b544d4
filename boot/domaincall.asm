; The cross-domain call: switch to the callee domain with a continuation to come back
; to, call its entry point, switch back. (DESIGN.md, "The call path".)
;
; int32_t swiftlet_call(uint64_t handle, uint64_t method, void *arguments, void *result)
;
; `handle` indexes the export table, which the kernel fills as domains load
; (kernel/domains/DomainCall.swift): per export, the entry point, the callee's
; domain id and whether it is running. The call pushes a continuation (the caller's
; callee-saved registers, the enclosing continuation and domain) on the caller's stack,
; makes it the current one, and calls entry(method, arguments, result) as the callee.
;
; If the callee traps or overruns its time, the kernel ends the call for it: it points
; the trap frame at `swiftlet_call_crashed` with rsp at the continuation and the status
; in rax, and the return below unwinds exactly as a normal return would.
;
; Status: 0 returned, 1 crashed, 2 callee not running, 3 no such handle, 4 timed out.
;
; Continuation, from the address in current_continuation up:
;   export record, caller's domain, enclosing continuation, r15, r14, r13, r12, rbx, rbp,
;   return address into the caller

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
    jae call_bad_handle
    shl rdi, 5
    lea rax, [rel export_table]
    add rax, rdi
    cmp dword [rax + 12], 0
    je call_stopped
    push rbp
    mov rbp, rsp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push qword [rel current_continuation]
    push qword [rel current_domain]
    push rax
    mov [rel current_continuation], rsp
    mov r8d, [rax + 8]
    mov [rel current_domain], r8
    inc qword [rax + 16]
    mov rdi, rsi
    mov rsi, rdx
    mov rdx, rcx
    call [rax]
    xor eax, eax
swiftlet_call_crashed:
    add rsp, 8
    pop qword [rel current_domain]
    pop qword [rel current_continuation]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
call_stopped:
    mov eax, STATUS_STOPPED
    ret
call_bad_handle:
    mov eax, STATUS_BAD
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
