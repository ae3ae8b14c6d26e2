; mmio: the device's register page (physical 0xfec00000, MMIO) is mapped
; uncached (PCD, PWT) at 0xc0000000 and again at 0xc0001000. The kernel
; writes registers through one mapping, reads them back through the
; other, and keeps what it read in RAM.
        bits    32
        org     0x1000
%include "common.inc"

PD      equ     0x10000
PT0     equ     0x11000
PTD     equ     0x12000
DEV     equ     0xfec00000
REGS    equ     0xc0000000
ALIAS   equ     0xc0001000

start:  BOOT
        mov     edi, PT0
        mov     eax, 0x003
        mov     ecx, 512                ; 2 MiB: code, tables, stack, frames
.id:    stosd
        add     eax, 0x1000
        loop    .id
        mov     dword [PD], PT0 | 3
        mov     dword [PTD], DEV | 0x1b         ; P, RW, PWT, PCD
        mov     dword [PTD+4], DEV | 0x1b
        mov     dword [PD + (REGS >> 22)*4], PTD | 3
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80010000
        mov     cr0, eax

        mov     dword [REGS + 0x00], 0x11111111
        mov     dword [REGS + 0x04], 0xdeadbeef
        mov     dword [REGS + 0x10], 0x0000abcd
        mov     byte [REGS + 0x20], 0x5a
        mov     dword [REGS + 0x30], 0          ; registers read ones until written
        mov     ecx, 8
        mov     eax, 0x100                      ; a counter register
.tick:  add     [REGS + 0x30], eax
        loop    .tick
        mov     eax, [ALIAS + 0x04]
        cmp     eax, 0xdeadbeef
        jne     fail
        mov     [0x20000], eax
        mov     eax, [ALIAS + 0x10]
        mov     [0x20004], eax
        movzx   eax, byte [ALIAS + 0x20]
        cmp     eax, 0x5a
        jne     fail
        mov     eax, [ALIAS + 0x30]
        cmp     eax, 0x800
        jne     fail
        mov     eax, [PTD]                      ; accessed and dirty
        and     eax, 0x60
        cmp     eax, 0x60
        jne     fail
        mov     eax, DONE
        hlt
fail:   mov     eax, FAIL
        hlt

        GDT
