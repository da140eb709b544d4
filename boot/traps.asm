; Trap entry: one stub per vector, a common path that saves the interrupted context into a
; TrapFrame, and the way back.
;
; Swift code uses the x86-64 red zone (128 bytes below rsp that a leaf function may use
; without moving rsp), and Swift has no switch to turn it off. An interrupt pushed onto
; the interrupted stack would overwrite that zone. So every gate switches to an interrupt
; stack (IST) and the stub either:
;   hops: copies the CPU's frame to 128 bytes below the interrupted rsp and continues on
;         the interrupted stack (most vectors; a handler may then switch threads), or
;   stays: runs the handler on the IST itself (page fault, stack fault, double fault,
;         NMI, machine check: the interrupted stack may be the problem).
; trap_ist_index below is the one place that says which vector uses which stack; the IDT
; is built from it (kernel/arch/InterruptTable.swift).
;
; A hop needs room: the frame, the registers, the SSE state and the handler's own calls
; all go below the interrupted rsp, and code deep in its stack (a domain recursing
; toward its guard page) may have less than that left. The trap path must never fault
; there: the fault would look like the interrupted code's (a domain crash), and
; containing it would abandon the interrupt half-entered, its end-of-interrupt never
; sent. So a hop that would leave less than TRAP_STACK_ROOM above the running
; thread's stack bottom (from running_stack, which context_switch keeps current) stays
; on the IST instead; the handler runs there and the scheduler does not switch threads
; at the end of it (kernel/arch/Interrupts.swift).
;
; TrapFrame layout, lowest address first (kernel/arch/TrapFrame.swift mirrors it):
;   r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax vector error rip cs rflags rsp ss
; Below it sits the 512-byte fxsave area with the interrupted SSE state.

bits 64
extern trap_dispatch

RED_ZONE equ 128
; What the trap path may use below the hopped frame: the registers and SSE state
; (648 bytes) and the deepest handler, a domain crash with its log line, about 3.2 KiB
; in all as measured on the IST; with a margin for handlers to grow.
TRAP_STACK_ROOM equ 6 * 1024

; Vectors whose CPU frame carries an error code.
%define HAS_ERROR(v) ((v) == 8 || (v) == 10 || (v) == 11 || (v) == 12 || (v) == 13 || (v) == 14 || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)
; IST per vector: 3 for NMI, double fault and machine check; 2 for stack and page faults;
; 1 for everything else.
%define IST_OF(v) (((v) == 2 || (v) == 8 || (v) == 18) ? 3 : (((v) == 12 || (v) == 14) ? 2 : 1))

section .text
%macro trap_stub 1
trap_stub_%1:
%if !HAS_ERROR(%1)
    push 0
%endif
    push %1
%if IST_OF(%1) == 1
    jmp trap_hop
%else
    jmp trap_common
%endif
%endmacro

%assign v 0
%rep 256
    trap_stub v
%assign v v + 1
%endrep

; On IST1: [rsp] = vector, error, rip, cs, rflags, rsp, ss. Move those seven words, plus
; the two scratch registers we need, below the interrupted stack's red zone.
trap_hop:
    push rax
    push rdx
    mov rax, [rsp + 7 * 8]          ; interrupted rsp
    sub rax, RED_ZONE
    and rax, ~0xF                   ; the CPU aligns its frame too
    sub rax, 9 * 8
    mov rdx, [rel running_stack]
    mov rdx, [rdx + 8]              ; the running thread's stack bottom
    add rdx, TRAP_STACK_ROOM
    cmp rax, rdx
    jb .stay                        ; too deep in its stack: take the trap on the IST
%assign i 0
%rep 9
    mov rdx, [rsp + i * 8]
    mov [rax + i * 8], rdx
%assign i i + 1
%endrep
    mov rsp, rax
.stay:
    pop rdx
    pop rax
    ; fall through

; [rsp] = vector, error, CPU frame; rsp is 8 mod 16 here on both paths.
trap_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rbx, rsp                    ; the TrapFrame; rbx survives the call
    sub rsp, 512
    fxsave [rsp]
    cld
    ; A frame record pointing into the interrupted code, so a backtrace taken inside
    ; the handler walks on through the trap into the code it interrupted.
    push qword [rbx + 17 * 8]       ; interrupted rip
    push qword [rbx + 8 * 8]        ; interrupted rbp
    mov rbp, rsp
    mov rdi, rbx
    call trap_dispatch
    add rsp, 16
    fxrstor [rsp]
    mov rsp, rbx
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                     ; vector and error
    iretq

section .data
; The running thread's stack record: its saved rsp and the lowest address of its stack
; (above its guard page), the first two words of its control block
; (kernel/sched/Thread.swift, ThreadControl). Until the scheduler's first switch the
; boot code runs on the boot stack, described by a record of its own.
extern boot_stack_bottom
global running_stack
align 8
running_stack:      dq boot_stack
boot_stack:         dq 0, boot_stack_bottom, 0   ; a ThreadControl's first three fields

section .rodata
align 8
trap_stub_table:
%assign v 0
%rep 256
    dq trap_stub_ %+ v
%assign v v + 1
%endrep

trap_ist_index:
%assign v 0
%rep 256
    db IST_OF(v)
%assign v v + 1
%endrep

section .text
; uint64_t trap_stub_address(uint32_t vector)
global trap_stub_address
trap_stub_address:
    movzx eax, dil
    lea rdx, [rel trap_stub_table]
    mov rax, [rdx + rax * 8]
    ret

; uint8_t trap_stub_ist(uint32_t vector)
global trap_stub_ist
trap_stub_ist:
    movzx eax, dil
    lea rdx, [rel trap_ist_index]
    movzx eax, byte [rdx + rax]
    ret
