; Switching threads: save one thread's callee-saved state on its stack, load another's.
;
; What is saved is what the System V ABI says survives a call: rbx, rbp, r12-r15,
; the MXCSR control bits and the x87 control word. Everything else, including the xmm
; registers, is the caller's to save, and a thread preempted by an interrupt had its
; whole register and SSE state saved by the trap stub (boot/traps.asm) before it got
; here. Always called with interrupts disabled.
;
; Saved frame, lowest address first (kernel/sched/Thread.swift builds the first one):
;   mxcsr (4 bytes), x87 control word (2), padding (2), r15, r14, r13, r12, rbx, rbp,
;   return address

bits 64
section .text

; void context_switch(uint64_t *save_rsp, const uint64_t *load)
; load[0] is the next thread's saved rsp, load[1] the bottom of its stack; `load` becomes
; running_stack, which the trap path checks its room against (boot/traps.asm).
extern running_stack
global context_switch
context_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    sub rsp, 8
    stmxcsr [rsp]
    fnstcw [rsp + 4]
    mov [rdi], rsp
    mov [rel running_stack], rsi
    mov rsp, [rsi]
    ldmxcsr [rsp]
    fldcw [rsp + 4]
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; Where a new thread's first context_switch returns to: r12 holds its Thread object.
; Calls thread_run(thread), which never returns.
extern thread_run
global thread_trampoline
thread_trampoline:
    mov rdi, r12
    xor ebp, ebp                    ; the thread's backtraces end here
    call thread_run
    ud2

; Where a thread of a crashed domain goes instead of back into the domain: the kernel
; points its saved return address (or its trap frame) here. Calls thread_killed,
; which ends the thread. Entered with rsp 16-byte aligned, like thread_trampoline.
extern thread_killed
global thread_kill_trampoline
thread_kill_trampoline:
    xor ebp, ebp
    call thread_killed
    ud2
