; Instructions Swift cannot express: port I/O, control registers, interrupt flag, halt.
;
; Each is a tiny System V function the kernel declares with @_extern(c) in
; kernel/arch/CPU.swift. Also the accessors for linker-defined addresses.

bits 64
section .text

global port_out8, port_in8, port_out16, port_in16, port_out32, port_in32
port_out8:
    mov edx, edi
    mov eax, esi
    out dx, al
    ret
port_in8:
    mov edx, edi
    in al, dx
    movzx eax, al
    ret
port_out16:
    mov edx, edi
    mov eax, esi
    out dx, ax
    ret
port_in16:
    mov edx, edi
    in ax, dx
    movzx eax, ax
    ret
port_out32:
    mov edx, edi
    mov eax, esi
    out dx, eax
    ret
port_in32:
    mov edx, edi
    in eax, dx
    ret

global cpu_read_cr0, cpu_read_cr2, cpu_read_cr3, cpu_read_cr4, cpu_read_rflags, cpu_read_msr
cpu_read_msr:
    mov ecx, edi
    rdmsr
    shl rdx, 32
    or rax, rdx
    ret
cpu_read_cr0:
    mov rax, cr0
    ret
cpu_read_cr2:
    mov rax, cr2
    ret
cpu_read_cr3:
    mov rax, cr3
    ret
cpu_read_cr4:
    mov rax, cr4
    ret
cpu_read_rflags:
    pushfq
    pop rax
    ret

; Device registers: one access each, exactly as written (Swift has no volatile).
global mmio_read32, mmio_write32
mmio_read32:
    mov eax, [rdi]
    ret
mmio_write32:
    mov [rdi], esi
    ret

; uint64_t cpu_divide_128(uint64_t high, uint64_t low, uint64_t divisor): the quotient
; of a 128-bit dividend; the caller makes sure it fits 64 bits (high < divisor).
global cpu_divide_128
cpu_divide_128:
    mov rcx, rdx
    mov rdx, rdi
    mov rax, rsi
    div rcx
    ret

global cpu_write_msr
cpu_write_msr:
    mov ecx, edi
    mov eax, esi
    mov rdx, rsi
    shr rdx, 32
    wrmsr
    ret

; Enables interrupts and halts until one arrives, atomically: sti takes effect after
; the next instruction, so an interrupt pending now wakes the hlt instead of being
; taken just before it. Returns with interrupts disabled again.
global cpu_wait_for_interrupt
cpu_wait_for_interrupt:
    sti
    hlt
    cli
    ret

global cpu_write_cr3, cpu_invalidate_page
cpu_write_cr3:
    mov cr3, rdi
    ret
cpu_invalidate_page:
    invlpg [rdi]
    ret

global cpu_halt, cpu_halt_forever, cpu_disable_interrupts, cpu_enable_interrupts
global cpu_pause, cpu_read_tsc, cpu_load_idt, cpu_breakpoint, cpu_frame_pointer
cpu_halt:
    hlt
    ret
cpu_halt_forever:
    cli
.again:
    hlt
    jmp .again
cpu_disable_interrupts:
    cli
    ret
cpu_enable_interrupts:
    sti
    ret
cpu_pause:
    pause
    ret
cpu_read_tsc:
    rdtsc
    shl rdx, 32
    or rax, rdx
    ret
; void cpu_load_idt(uint64_t base, uint16_t limit)
cpu_load_idt:
    sub rsp, 16
    mov [rsp], si
    mov [rsp + 2], rdi
    lidt [rsp]
    add rsp, 16
    ret
cpu_breakpoint:
    int3
    ret
; The caller's frame pointer: where a backtrace of the current stack starts.
cpu_frame_pointer:
    mov rax, rbp
    ret

; uint32_t cpu_hardware_random(uint64_t *value): 1 with a value from RDRAND, 0 if the CPU
; has no RDRAND or it gave nothing in ten tries (Intel's advice for a transient failure).
global cpu_hardware_random
cpu_hardware_random:
    push rbx                        ; cpuid writes it; it is the caller's
    mov eax, 1
    cpuid
    pop rbx
    bt ecx, 30                      ; CPUID.1:ECX.RDRAND
    jnc .none
    mov ecx, 10
.retry:
    rdrand rax
    jc .got
    dec ecx
    jnz .retry
.none:
    xor eax, eax
    ret
.got:
    mov [rdi], rax
    mov eax, 1
    ret

extern __kernel_start, __kernel_end, __text_start, __text_end, __ksyms_start, __ksyms_end
extern __rodata_start, __rodata_end, __data_start, __data_end
extern ist1_stack, ist2_stack, ist3_stack
extern boot_stack_bottom, boot_stack_top, bootstrap_heap_start, bootstrap_heap_end
global linker_address
; uint64_t linker_address(uint32_t which): addresses the linker script defines, by index
; (kernel/arch/CPU.swift names them).
linker_address:
    cmp edi, 17
    jae .none
    lea rax, [rel .table]
    mov rax, [rax + rdi * 8]
    ret
.none:
    xor eax, eax
    ret
section .rodata
align 8
.table:
    dq __kernel_start, __kernel_end, __text_start, __text_end
    dq __ksyms_start, __ksyms_end, boot_stack_bottom, boot_stack_top
    dq bootstrap_heap_start, bootstrap_heap_end
    dq __rodata_start, __rodata_end, __data_start, __data_end
    dq ist1_stack, ist2_stack, ist3_stack
