; The cross-domain call: enter the callee domain with a continuation to come back to,
; call the method's entry point, come back. (docs/ARCHITECTURE.md, "A cross-domain call".)
;
; uint64_t swiftlet_call(uint64_t slot, const void *arguments, void *result)
;
; `slot` indexes the export table, one row per method of every exported interface (an
; interface handle is the slot of its first method; the proxy adds the method's number).
; The kernel fills the rows as domains load (kernel/domains/DomainCall.swift). The call
; pushes a continuation on the caller's stack, makes it the current one, and calls
; entry(_, arguments, result) as the callee. The entry returns the call's status word,
; which is returned as it is: 0 for success, else an error (SwiftletLib's CallStatus).
;
; Three rules hold here, and the kernel's crash path relies on them:
;
; 1. One thread at a time runs a domain's code. Each domain has a holder word (the
;    running thread's control block, 0 when free); the call takes the callee's and
;    gives the caller's back for as long as it is away, as an actor is free again at
;    each `await` (so the stack's receive thread waiting in the driver does not shut
;    other callers out of the stack). A busy callee, or a caller taken meanwhile, is
;    waited for in the kernel (domain_enter_wait). The kernel itself is never held.
; 2. Nothing runs in a dead domain. A crash unwinds the threads inside the dead domain
;    to their calls into it, and rewrites the return address of every continuation whose
;    caller is the dead domain, so a callee returning there lands in
;    swiftlet_call_unwound instead and unwinds on out (kernel/domains/DomainCrash.swift).
;    Another domain's frames are never cut: they finish, and only then does the
;    unwinding reach the dead domain's frames below them.
; 3. The bookkeeping runs with interrupts disabled, from the first look at the callee to
;    the `call`, and from the callee's return to the `ret` (sti's one-instruction shadow
;    covers both), so no thread is ever switched out half inside or half outside, and
;    the crash path always finds every continuation linked and every holder word true.
;
; The continuation holds what a crash needs to resume the caller, and when the call
; began (for the watchdog, which times a call from its entry, blocked and nested time
; included). On a normal return the callee has preserved the callee-saved registers
; itself, so they are not reloaded; only the crash path pops them.
;
; Layouts and status words come from build/generated/abi/callabi.inc (scripts/callabi.py),
; the one definition the kernel's Swift side is generated from as well.

bits 64
%include "callabi.inc"

extern running_stack
extern domain_enter_wait, domain_reenter_wait, domain_release_wake, domain_unwound_sweep
extern thread_kill_trampoline

section .bss
alignb 64
global export_table, current_domain, current_continuation, domain_holders, domain_waiters
global kernel_ticks
export_table:           resb EXPORT_SLOTS * EXPORT_RECORD_SIZE
domain_holders:         resq MAX_DOMAINS
domain_waiters:         resd MAX_DOMAINS
current_domain:         resq 1
current_continuation:   resq 1
kernel_ticks:           resq 1

section .text
; The call gate: from here to call_gate_end a thread is between domains, and where it
; goes next (the callee, the caller, an unwind) is decided here; the watchdog leaves a
; thread here alone for a tick (DomainManager.watchdogTick).
call_gate_start:
global swiftlet_call, swiftlet_call_crashed
global swiftlet_call_unwound_crashed, swiftlet_call_unwound_timed_out

swiftlet_call:
    cmp rdi, EXPORT_SLOTS
    jae .no_such_slot
    shl edi, EXPORT_RECORD_SHIFT
    ; A push that runs into the guard page faults as the caller, with interrupts on:
    ; contained as the caller's stack overflow.
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push qword [rel kernel_ticks]
    push qword [rel current_continuation]
    push qword [rel current_domain]
    cli
    cmp dword [export_table + rdi + EXPORT_RUNNING], 0
    je .stopped
    ; Leave the caller's domain: it is free while this thread is away. (rsi and rdx
    ; hold the arguments and result addresses for the entry: only rax, rcx and r8-r11
    ; are scratch here.)
    mov r8d, [rel current_domain]
    test r8d, r8d
    jz .caller_left
    mov qword [domain_holders + r8 * 8], 0
    cmp dword [domain_waiters + r8 * 4], 0
    jne .wake_caller_waiters
.caller_left:
    ; Enter the callee's.
    mov eax, [export_table + rdi + EXPORT_DOMAIN]
    mov rcx, [rel running_stack]
    cmp qword [domain_holders + rax * 8], 0
    jne .enter_slow
    mov [domain_holders + rax * 8], rcx
.entered:
    mov [rel current_continuation], rsp
    mov [rel current_domain], rax
    inc qword [export_table + rdi + EXPORT_CALLS]
    sti
    call [export_table + rdi + EXPORT_ENTRY]
    ; Back, with the status in rax. Give the callee's domain back.
    cli
    mov edx, [rel current_domain]
    mov qword [domain_holders + rdx * 8], 0
    cmp dword [domain_waiters + rdx * 4], 0
    jne .wake_callee_waiters
.callee_left:
    pop qword [rel current_domain]
    pop qword [rel current_continuation]
    add rsp, 7 * 8
    mov edx, [rel current_domain]   ; reenter_caller, inlined for a caller that is the kernel
    test edx, edx
    jnz reenter_caller
    sti
    ret

; Calls into the kernel from the entry path keep the entry's three arguments (and rsp
; 16-byte aligned: four pushes).
%macro save_entry_arguments 0
    push rdi
    push rsi
    push rdx
    push rdx
%endmacro
%macro restore_entry_arguments 0
    pop rdx
    pop rdx
    pop rsi
    pop rdi
%endmacro

.wake_caller_waiters:
    save_entry_arguments
    mov edi, r8d
    call domain_release_wake
    restore_entry_arguments
    jmp .caller_left

.wake_callee_waiters:
    push rax
    push rax                        ; keeps rsp 16-byte aligned for the call
    mov edi, edx
    call domain_release_wake
    pop rax
    pop rax
    jmp .callee_left

; The callee is busy (another thread runs it) or was taken: wait in the kernel. This
; thread holds no domain while it waits (it left the caller's above), so two threads
; calling each other's domains cannot deadlock here.
.enter_slow:
    call check_stack_room
    save_entry_arguments
    mov edi, eax
    call domain_enter_wait          ; interrupts disabled on entry and return
    mov ecx, eax
    restore_entry_arguments
    cmp ecx, WAIT_ENTERED
    jne .enter_refused
    mov eax, [export_table + rdi + EXPORT_DOMAIN]
    jmp .entered
.enter_refused:
    cmp ecx, WAIT_CALLER_DIED
    je unwind_current_crashed       ; the caller died while this thread waited
    mov eax, ecx                    ; the callee died or timed out: the call's status
    add rsp, 3 * 8                  ; the continuation is not linked yet
    jmp restore_caller

.stopped:
    add rsp, 9 * 8
    sti
    mov eax, STATUS_STOPPED
    ret
.no_such_slot:
    mov eax, STATUS_NO_SUCH_SLOT
    ret

; Back into the caller's domain (current_domain is the caller now), rsp at the return
; address, rax the status, interrupts disabled.
reenter_caller:
    mov edx, [rel current_domain]
    test edx, edx
    jz .done                        ; the kernel is never held
    cmp qword [domain_holders + rdx * 8], 0
    jne .slow
    mov rcx, [rel running_stack]
    mov [domain_holders + rdx * 8], rcx
.done:
    sti
    ret                             ; may lead to swiftlet_call_unwound (rule 2)
.slow:
    call check_stack_room
    push rax
    mov edi, edx
    call domain_reenter_wait
    mov ecx, eax
    pop rax
    cmp ecx, WAIT_ENTERED
    jne unwind_current_crashed      ; the caller died while this thread waited
    sti
    ret

; A call the kernel ended (the callee crashed or overran its budget): rsp is at its
; continuation, rax holds the status. Pops the continuation with the caller's registers.
swiftlet_call_crashed:
    cli
    pop qword [rel current_domain]
    pop qword [rel current_continuation]
    add rsp, 8
restore_caller:                     ; the caller's callee-saved registers, then back in
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    jmp reenter_caller

; Where a callee returns instead of into a caller domain that died meanwhile (rule 2):
; the dead domain's frames are unwound to its own caller, with the status its death
; gives (crashed, or timed out for a call over its budget).
swiftlet_call_unwound_timed_out:
    mov eax, STATUS_TIMED_OUT
    jmp unwind_current
swiftlet_call_unwound_crashed:
unwind_current_crashed:
    mov eax, STATUS_CRASHED
; current_domain is dead: resume the caller of the innermost call into it, or, in a
; thread of the dead domain's own with no call below, end the thread. If this thread
; took the dead domain's holder word on the way here, it is given back first (the
; domain may have been restarted and must not stay held by frames of its old life).
unwind_current:
    cli
    and rsp, -16                    ; what is on the stack here is being unwound anyway
    push rax
    push rax
    call domain_unwound_sweep       ; what was on its way into the dead frames is freed
    pop rax
    pop rax
    mov edx, [rel current_domain]
    mov rcx, [rel running_stack]
    cmp [domain_holders + rdx * 8], rcx
    jne .not_held
    mov qword [domain_holders + rdx * 8], 0
    cmp dword [domain_waiters + rdx * 4], 0
    je .not_held
    push rax
    push rax
    mov edi, edx
    call domain_release_wake
    pop rax
    pop rax
.not_held:
    mov rcx, [rel current_continuation]
    test rcx, rcx
    jz .end_thread
    mov rsp, rcx
    jmp swiftlet_call_crashed
.end_thread:
    and rsp, -16
    jmp thread_kill_trampoline

; Kernel code about to run on a domain's stack (a slow path here, or a system call)
; needs room to finish: with less than SERVICE_STACK_ROOM left, the calling domain is
; out of stack, and crashes here, cleanly, as the domain (interrupts on, at a kernel
; address the crash report names) instead of faulting later inside the kernel.
global check_stack_room, service_stack_exhausted, unwind_current
; Uses r11 only: the argument registers are still the service's.
check_stack_room:
    mov r11, [rel running_stack]
    mov r11, [r11 + THREAD_STACK_BOTTOM]
    add r11, SERVICE_STACK_ROOM
    cmp rsp, r11
    jb service_stack_exhausted
    ret
service_stack_exhausted:
    sti
service_stack_exhausted_trap:
    ud2

call_gate_end:

; Addresses for the kernel's Swift side.
global domain_call_state
; void *domain_call_state(uint32_t which): 0 export_table, 1 current_domain,
; 2 current_continuation, 3 swiftlet_call_crashed, 4 domain_holders, 5 domain_waiters,
; 6 kernel_ticks, 7 swiftlet_call_unwound_crashed, 8 swiftlet_call_unwound_timed_out,
; 9 the trap of service_stack_exhausted, 10 running_stack, 11 call_gate_start,
; 12 call_gate_end
domain_call_state:
    lea rax, [rel .table]
    mov rax, [rax + rdi * 8]
    ret
section .rodata
align 8
.table:
    dq export_table, current_domain, current_continuation, swiftlet_call_crashed
    dq domain_holders, domain_waiters, kernel_ticks, swiftlet_call_unwound_crashed
    dq swiftlet_call_unwound_timed_out, service_stack_exhausted_trap, running_stack
    dq call_gate_start, call_gate_end
