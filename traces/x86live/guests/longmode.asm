; longmode: boots through the modes. 32-bit protected mode builds PAE
; tables (a 4 KiB page table, a 2 MiB page and a window at 0x40000000),
; turns PAE paging on and uses it; turns paging off, builds four-level
; tables with a higher-half mapping at 0xffff800000000000 (no-execute),
; sets EFER.LME and NXE, turns paging on and jumps to 64-bit code, which
; checks its data and the accessed and dirty bits.
        bits    32
        org     0x1000
%include "common.inc"

PDPT    equ     0x10000
PD      equ     0x11000
PT      equ     0x12000
PD2     equ     0x13000
PT2     equ     0x14000
PML4    equ     0x15000
LPDPT   equ     0x16000
HPDPT   equ     0x18000
HPD     equ     0x19000
HPT     equ     0x1a000

start:  BOOT
        mov     edi, PT                 ; 0..2 MiB, 4 KiB pages
        mov     eax, 0x003
        mov     ecx, 512
.id:    mov     [edi], eax
        add     edi, 8
        add     eax, 0x1000
        loop    .id
        mov     dword [PD], PT | 3
        mov     dword [PD+8], 0x200083          ; 2 MiB page at 2 MiB
        mov     dword [PDPT], PD | 1
        mov     dword [PD2], PT2 | 3            ; 0x40000000 -> 0x20000
        mov     dword [PT2], 0x20003
        mov     dword [PDPT+8], PD2 | 1
        mov     eax, cr4
        or      eax, 0x20                       ; PAE
        mov     cr4, eax
        mov     eax, PDPT
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80010000
        mov     cr0, eax

        mov     dword [0x40000000], 0x11223344
        cmp     dword [0x20000], 0x11223344
        jne     fail
        mov     dword [0x200000 + 0x1230], 0x55667788
        mov     eax, [PD+8]                     ; the 2 MiB page: dirty now
        and     eax, 0x60
        cmp     eax, 0x60
        jne     fail

        mov     eax, cr0                        ; paging off, on to long mode
        and     eax, 0x7fffffff
        mov     cr0, eax
        mov     dword [PML4], LPDPT | 3
        mov     dword [LPDPT], PD | 3           ; reuse the PAE directory
        mov     dword [PML4 + 256*8], HPDPT | 3
        mov     dword [HPDPT], HPD | 3
        mov     dword [HPD], HPT | 3
        mov     dword [HPT], 0x21003
        mov     dword [HPT+4], 0x80000000       ; NX
        mov     eax, PML4
        mov     cr3, eax
        mov     ecx, 0xc0000080
        rdmsr
        or      eax, 0x900                      ; LME, NXE
        wrmsr
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax
        jmp     0x18:lmode

        bits    64
lmode:  mov     rax, 0xffff800000000000
        mov     rbx, 0x5566778899aabbcc
        mov     [rax], rbx
        cmp     [0x21000], rbx
        jne     fail64
        mov     rcx, [rax]
        cmp     rcx, rbx
        jne     fail64
        mov     rax, [HPT]
        shr     rax, 5
        and     eax, 3
        cmp     eax, 3                          ; accessed and dirty
        jne     fail64
        mov     rsi, 0x200000 + 0x1230
        mov     edx, [rsi]
        cmp     edx, 0x55667788
        jne     fail64
        mov     eax, DONE
        hlt
fail64: mov     eax, FAIL
        hlt

        bits    32
fail:   mov     eax, FAIL
        hlt

        GDT
