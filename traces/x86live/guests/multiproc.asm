; multiproc: a kernel with three processes, each with its own page
; directory: the kernel's page table (the first 4 MiB, one to one) is
; shared, the 4 MiB at 0x400000 are private and start empty. Switching
; process loads CR3. Touching an unmapped page raises #PF; the handler,
; in the IDT, takes a frame from a free list, zeroes it, maps it at the
; faulting address in the current process and returns. Midway the
; kernel unmaps a page of process 0 with invlpg, which faults again.
        bits    32
        org     0x1000
%include "common.inc"

IDT     equ     0x9000
KPT     equ     0x11000
PDS     equ     0x30000                 ; process page directories
PTS     equ     0x40000                 ; process page tables
USER    equ     0x400000
NPROC   equ     3
NPAGES  equ     4
ROUNDS  equ     4

start:  BOOT
        mov     eax, pf_handler
        mov     word [IDT + 14*8], ax
        mov     word [IDT + 14*8 + 2], 0x08
        mov     word [IDT + 14*8 + 4], 0x8e00   ; interrupt gate, present
        shr     eax, 16
        mov     word [IDT + 14*8 + 6], ax
        lidt    [idtr]
        mov     edi, KPT
        mov     eax, 0x003
        mov     ecx, 512                ; 2 MiB: code, tables, stack, frames
.id:    stosd
        add     eax, 0x1000
        loop    .id
        xor     esi, esi
.pd:    mov     edi, esi
        shl     edi, 12
        mov     dword [PDS + edi], KPT | 3
        lea     eax, [PTS + edi + 3]
        mov     [PDS + edi + 4], eax            ; 0x400000: the process's table
        inc     esi
        cmp     esi, NPROC
        jb      .pd
        mov     eax, PDS
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80010000
        mov     cr0, eax

        mov     dword [round], 0
.round: mov     dword [cur], 0
.proc:  mov     eax, [cur]
        shl     eax, 12
        add     eax, PDS
        mov     cr3, eax
        xor     ecx, ecx                        ; each page: add to a counter
.page:  mov     edi, ecx
        shl     edi, 12
        add     edi, USER
        mov     eax, [cur]
        imul    eax, eax, 100
        add     eax, ecx
        add     eax, [round]
        add     [edi + 0x10], eax
        mov     eax, [edi + 0x10]
        add     [sum], eax
        inc     ecx
        cmp     ecx, NPAGES
        jb      .page
        cmp     dword [round], 1                ; process 0, after round 1:
        jne     .next                           ; unmap its page 1
        cmp     dword [cur], 0
        jne     .next
        mov     dword [PTS + 4], 0
        invlpg  [USER + 0x1000]
        cmp     dword [USER + 0x1010], 0        ; faults: a fresh zero page
        jne     fail
.next:  inc     dword [cur]
        cmp     dword [cur], NPROC
        jb      .proc
        inc     dword [round]
        cmp     dword [round], ROUNDS
        jb      .round

        cmp     dword [faults], NPROC*NPAGES + 1
        jne     fail
        mov     eax, PDS + 0x1000               ; read process 1's page 2
        mov     cr3, eax
        mov     eax, [USER + 0x2010]
        cmp     eax, 4*(100+2) + 0+1+2+3
        jne     fail
        mov     eax, DONE
        hlt
fail:   mov     eax, FAIL
        hlt

pf_handler:
        pusha
        mov     eax, cr2
        mov     ebx, [faults]                   ; log CR2 and the error code
        mov     [log + ebx*8], eax
        mov     ecx, [esp + 32]
        mov     [log + ebx*8 + 4], ecx
        inc     dword [faults]
        test    ecx, 1                          ; a protection fault: give up
        jnz     fail
        mov     edx, [free]
        add     dword [free], 0x1000
        push    eax
        mov     edi, edx                ; zero what the processes use
        mov     ecx, 64
        xor     eax, eax
        rep stosd
        pop     eax
        mov     esi, [cur]
        shl     esi, 12
        add     esi, PTS
        mov     ebx, eax
        shr     ebx, 12
        and     ebx, 0x3ff
        or      edx, 3
        mov     [esi + ebx*4], edx
        popa
        add     esp, 4
        iret

        align   4
round:  dd      0
cur:    dd      0
sum:    dd      0
faults: dd      0
free:   dd      0x100000
idtr:   dw      256*8-1
        dd      IDT
        GDT
        align   8
log:    times 64 dq 0
