/*
 * Multiboot entry and #GP handling for the PMU demo guest (32-bit).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000000

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .text
    .globl _start
_start:
    mov $stack_top, %esp
    push %ebx                   /* multiboot information */
    lidt idt_descriptor
    call guest_main
1:  hlt
    jmp 1b

/*
 * #GP: an MSR or PMC access the VM does not have.  Note it and skip
 * the two-byte rdmsr/wrmsr/rdpmc that faulted.
 */
    .globl gp_handler
gp_handler:
    movl $1, gp_faulted
    addl $4, %esp               /* error code */
    addl $2, (%esp)             /* return past the instruction */
    iret

    .data
    .align 8
idt_descriptor:
    .word idt_end - idt - 1
    .long idt
    .globl gp_faulted
gp_faulted:
    .long 0

    .align 8
    .globl idt
idt:
    .fill 32, 8, 0
idt_end:

    .bss
    .align 16
    .fill 4096, 1, 0
stack_top:

    .section .note.GNU-stack, "", @progbits
