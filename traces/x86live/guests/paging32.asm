; paging32: a 32-bit kernel turns paging on. Its page directory maps the
; first 4 MiB one to one with 4 KiB pages, a window at 0x40000000 onto
; two other frames (one read-only), and a 4 MiB page (PSE) at 0x80000000
; onto physical 0. It checks what it reads and the accessed and dirty
; bits the processor sets, clears one accessed bit and uses invlpg to
; see it set again, then sums a table through two mappings.
        bits    32
        org     0x1000
%include "common.inc"

PD      equ     0x10000
PT0     equ     0x11000
PT1     equ     0x12000

start:  BOOT
        mov     edi, PT0                ; identity map of the first 2 MiB
        mov     eax, 0x003
        mov     ecx, 512                ; 2 MiB: code, tables, stack, frames
.id:    stosd
        add     eax, 0x1000
        loop    .id
        mov     dword [PD], PT0 | 3
        mov     dword [PT1], 0x20003            ; 0x40000000 -> 0x20000, writable
        mov     dword [PT1+4], 0x21001          ; 0x40001000 -> 0x21000, read-only
        mov     dword [PD + (0x40000000 >> 22)*4], PT1 | 3
        mov     dword [PD + (0x80000000 >> 22)*4], 0x83 ; 4 MiB page -> 0
        mov     dword [0x21000], 0x1234
        mov     eax, cr4
        or      eax, 0x10                       ; PSE
        mov     cr4, eax
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80010000                 ; PG, WP
        mov     cr0, eax

        mov     dword [0x40000000], 0xcafef00d
        cmp     dword [0x20000], 0xcafef00d
        jne     fail
        cmp     dword [0x40001000], 0x1234
        jne     fail
        mov     edx, [0x80000000 + start]
        cmp     edx, [start]
        jne     fail
        mov     eax, [PT1]                      ; written: accessed and dirty
        and     eax, 0x60
        cmp     eax, 0x60
        jne     fail
        mov     eax, [PT1+4]                    ; read: accessed only
        and     eax, 0x60
        cmp     eax, 0x20
        jne     fail
        mov     eax, [PD + 0x200*4]             ; the 4 MiB page, read only
        and     eax, 0x60
        cmp     eax, 0x20
        jne     fail
        and     dword [PT1+4], ~0x20
        invlpg  [0x40001000]
        mov     ecx, [0x40001000]
        test    dword [PT1+4], 0x20
        jz      fail

        ; a table of 64 dwords written through the window, summed
        ; through the 4 MiB page
        mov     edi, 0x40000000 + 0x100
        mov     ecx, 64
        mov     eax, 7
.fill:  stosd
        imul    eax, eax, 13
        add     eax, ecx
        loop    .fill
        mov     esi, 0x80000000 + 0x20100
        mov     ecx, 64
        xor     ebx, ebx
.sum:   lodsd
        add     ebx, eax
        loop    .sum
        mov     [0x20000 + 0x400], ebx
        mov     eax, DONE
        hlt
fail:   mov     eax, FAIL
        hlt

        GDT
