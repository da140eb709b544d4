; The C library functions the Embedded Swift runtime links against.
;
; memcpy, memmove, memset and memcmp are written here so the compiler cannot turn their
; loops back into calls to themselves. memcpy and memset move eight bytes per `rep`
; step and the rest one at a time: fast on every CPU, and under QEMU's -icount, where
; every step of a `rep` counts as an instruction, an eighth of the count `rep movsb`
; gives (the benchmarks count instructions). posix_memalign and free jump to the kernel heap in Swift
; (kernel/runtime/SwiftRuntime.swift): Swift reserves those names, so it cannot export
; them itself. posix_memalign passes its caller's frame pointer as a fourth argument, for
; the heap census (kernel/debug/HeapCensus.swift).

bits 64
section .text

extern kernel_posix_memalign, kernel_free

global posix_memalign, free
posix_memalign:
    mov rcx, rbp                    ; the caller's frame, for the heap census
    jmp kernel_posix_memalign
free:
    jmp kernel_free

global memcpy, memmove, memset, memcmp
memcpy:
    mov rax, rdi
    mov rcx, rdx
    shr rcx, 3
    rep movsq
    mov rcx, rdx
    and rcx, 7
    rep movsb
    ret

memmove:
    mov rax, rdi
    mov rcx, rdx
    cmp rdi, rsi
    jbe .forward                    ; destination below source: copying up is safe
    lea r8, [rsi + rdx]
    cmp rdi, r8
    jae .forward                    ; no overlap
    lea rsi, [rsi + rdx - 1]
    lea rdi, [rdi + rdx - 1]
    std
    rep movsb
    cld
    ret
.forward:
    rep movsb
    ret

memset:
    mov r8, rdi
    movzx eax, sil
    mov r9, 0x0101010101010101
    imul rax, r9                    ; the byte in all eight lanes
    mov rcx, rdx
    shr rcx, 3
    rep stosq
    mov rcx, rdx
    and rcx, 7
    rep stosb
    mov rax, r8
    ret

memcmp:
    xor eax, eax
    test rdx, rdx
    jz .equal
.next:
    movzx eax, byte [rdi]
    movzx ecx, byte [rsi]
    sub eax, ecx
    jnz .done
    inc rdi
    inc rsi
    dec rdx
    jnz .next
.equal:
.done:
    ret

; double ceil(double), double floor(double): x87 frndint with the rounding mode set
; for the one instruction. Exact for every input, NaN and infinities included, and
; needs no SSE4.1. (Swift's hash tables size themselves with ceil.)
%macro round_with_mode 2
global %1
%1:
    sub rsp, 16
    movsd [rsp], xmm0
    fnstcw [rsp + 8]
    mov ax, [rsp + 8]
    and ax, ~0x0C00
    or ax, %2
    mov [rsp + 10], ax
    fldcw [rsp + 10]
    fld qword [rsp]
    frndint
    fstp qword [rsp]
    fldcw [rsp + 8]
    movsd xmm0, [rsp]
    add rsp, 16
    ret
%endmacro
round_with_mode ceil, 0x0800
round_with_mode floor, 0x0400
