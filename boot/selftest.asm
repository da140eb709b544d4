; Probes for the trap self-tests (kernel/test/TrapTests.swift, SelfTests.swift): things
; only assembly can do on purpose.

bits 64
section .text

; uint64_t selftest_divide_error(void): divides by zero, raising #DE.
global selftest_divide_error
selftest_divide_error:
    push rbp
    mov rbp, rsp
    xor edx, edx
    mov eax, 1
    xor ecx, ecx
    div rcx
    pop rbp
    ret

; uint64_t selftest_breakpoint_preserves_state(void): loads every general register and
; xmm0-15 with known values, executes int3 (a trap the kernel resumes from), and returns
; 1 if all of them still hold their values afterwards, 0 if not.
global selftest_breakpoint_preserves_state
selftest_breakpoint_preserves_state:
    push rbp
    mov rbp, rsp
    push rbx
    push r12
    push r13
    push r14
    push r15
%assign i 0
%rep 16
    mov rax, 0x5157494654000000 + i
    movq xmm %+ i, rax
%assign i i + 1
%endrep
    mov rax, 0x1111111111111111
    mov rbx, 0x2222222222222222
    mov rcx, 0x3333333333333333
    mov rdx, 0x4444444444444444
    mov rsi, 0x5555555555555555
    mov rdi, 0x6666666666666666
    mov r8,  0x8888888888888888
    mov r9,  0x9999999999999999
    mov r10, 0xAAAAAAAAAAAAAAAA
    mov r11, 0xBBBBBBBBBBBBBBBB
    mov r12, 0xCCCCCCCCCCCCCCCC
    mov r13, 0xDDDDDDDDDDDDDDDD
    mov r14, 0xEEEEEEEEEEEEEEEE
    mov r15, 0xFFFFFFFFFFFFFFFF
    int3
%macro expect 2
    push rax
    mov rax, %2
    cmp %1, rax
    pop rax
    jne .bad
%endmacro
    expect rbx, 0x2222222222222222
    expect rcx, 0x3333333333333333
    expect rdx, 0x4444444444444444
    expect rsi, 0x5555555555555555
    expect rdi, 0x6666666666666666
    expect r8,  0x8888888888888888
    expect r9,  0x9999999999999999
    expect r10, 0xAAAAAAAAAAAAAAAA
    expect r11, 0xBBBBBBBBBBBBBBBB
    expect r12, 0xCCCCCCCCCCCCCCCC
    expect r13, 0xDDDDDDDDDDDDDDDD
    expect r14, 0xEEEEEEEEEEEEEEEE
    expect r15, 0xFFFFFFFFFFFFFFFF
    mov rcx, 0x1111111111111111
    cmp rax, rcx
    jne .bad
%assign i 0
%rep 16
    movq rax, xmm %+ i
    mov rcx, 0x5157494654000000 + i
    cmp rax, rcx
    jne .bad
%assign i i + 1
%endrep
    mov eax, 1
    jmp .out
.bad:
    xor eax, eax
.out:
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; uint64_t selftest_red_zone_survives_trap(void): writes a pattern into the 128 bytes
; below rsp (the red zone, which leaf code may use without moving rsp), executes int3,
; and returns 1 if the pattern is intact. It fails if trap entry pushes onto this stack.
global selftest_red_zone_survives_trap
selftest_red_zone_survives_trap:
%assign i 1
%rep 16
    mov rax, 0x52454400000000 + i
    mov [rsp - i * 8], rax
%assign i i + 1
%endrep
    int3
%assign i 1
%rep 16
    mov rax, 0x52454400000000 + i
    cmp [rsp - i * 8], rax
    jne .bad
%assign i i + 1
%endrep
    mov eax, 1
    ret
.bad:
    xor eax, eax
    ret

; Preemption probes (kernel/test/SchedulerTests.swift). One thread runs
; selftest_sse_survives_preemption: it fills xmm0-15, spins until the other thread has
; run selftest_clobber_sse three times (so it must have been preempted in between),
; and returns 1 if its xmm registers are intact, 0 if not, 2 if the other thread never
; ran within a bounded number of spins.
section .bss
alignb 8
global selftest_clobber_count
selftest_clobber_count: resq 1

section .text
global selftest_clobber_sse
selftest_clobber_sse:
%assign i 0
%rep 16
    mov rax, 0xDEAD000000000000 + i
    movq xmm %+ i, rax
%assign i i + 1
%endrep
    lock inc qword [rel selftest_clobber_count]
    ret

global selftest_sse_survives_preemption
selftest_sse_survives_preemption:
%assign i 0
%rep 16
    mov rax, 0x5353450000000000 + i
    movq xmm %+ i, rax
%assign i i + 1
%endrep
    mov rdx, [rel selftest_clobber_count]
    add rdx, 3
    mov rcx, 0x80000000
.spin:
    pause
    cmp [rel selftest_clobber_count], rdx
    jae .check
    dec rcx
    jnz .spin
    mov eax, 2
    ret
.check:
%assign i 0
%rep 16
    movq rax, xmm %+ i
    mov rcx, 0x5353450000000000 + i
    cmp rax, rcx
    jne .bad
%assign i i + 1
%endrep
    mov eax, 1
    ret
.bad:
    xor eax, eax
    ret
