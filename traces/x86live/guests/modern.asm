; modern: a 64-bit kernel with the paging features of today's CPUs. It
; builds two address spaces (each with its own user data page at
; 0x400000), enters long mode, turns on SMEP, SMAP, protection keys and
; PCIDs, and then provokes, in order, the faults these are for, each
; checked by its #PF handler against a table of the expected error code
; and address:
;   - a supervisor fetch from a user page (SMEP): P|I/D
;   - a supervisor read and a write of a user page with AC=0 (SMAP): P, P|W
;   - the same page read and written between stac and clac: no fault
;   - PCID switches with CR3 bit 63 set (the other space's page is
;     another frame), and a CR3 load without bit 63 after changing a
;     present entry of the other space, which must then be seen
;   - a supervisor write (AC=1, CR0.WP=1) to a page of key 1 whose
;     write-disable bit is set in PKRU: P|W|PK
; then iretq to CPL 3, where user code reads the key-1 page, writes it
; (P|W|U|PK), sets PKRU itself to access-disable key 1 and reads it
; (P|U|PK), clears PKRU and writes it, reads a supervisor page (P|U),
; and comes back with int 0x80. The kernel checks what user mode wrote
; and halts with EAX = 0x600d.
        bits    32
        org     0x1000
%include "common.inc"

%define ABS(x)  ((x) - $$ + 0x1000)
; Spelled out for assemblers older than these instructions.
%define stac    db 0x0f, 0x01, 0xcb
%define clac    db 0x0f, 0x01, 0xca
%define wrpkru  db 0x0f, 0x01, 0xef

PML4A   equ     0x10000                 ; address space A (PCID 1)
PDPTA   equ     0x11000
PDA     equ     0x12000
UPTA    equ     0x13000
PML4B   equ     0x14000                 ; address space B (PCID 2)
PDPTB   equ     0x15000
PDB     equ     0x16000
UPTB    equ     0x17000
KPT     equ     0x18000                 ; 0..2 MiB, 4 KiB pages, shared
IDT     equ     0x20000
FA      equ     0x30000                 ; frames of the user pages
FB      equ     0x31000
FKEY    equ     0x32000
FSTK    equ     0x33000
FB2     equ     0x34000
KSTACK  equ     0x80000
RSP0    equ     0x90000

UDATA   equ     0x400000                ; user pages (PD entry 2)
UKEY    equ     0x401000                ; protection key 1
USTK    equ     0x403000                ; top of the user stack page
KEY1    equ     1 << (59 - 32)          ; key 1 in an entry's high dword
NOFLUSH equ     0x80000000              ; CR3 bit 63, high dword

start:  BOOT
        mov     edi, KPT                ; supervisor, global
        mov     eax, 0x103
        mov     ecx, 512
.kpt:   mov     [edi], eax
        add     edi, 8
        add     eax, 0x1000
        loop    .kpt
        mov     dword [KPT + (ABS(ucode) >> 12) * 8], ABS(ucode) | 7
        ; Address space A, then B: the kernel's pages shared, the user
        ; page table their own. Directories allow user mode (U=1): the
        ; leaves decide.
        mov     dword [PML4A], PDPTA | 7
        mov     dword [PDPTA], PDA | 7
        mov     dword [PDA], KPT | 7
        mov     dword [PDA + 8], 0x200183       ; 2 MiB, global
        mov     dword [PDA + 16], UPTA | 7
        mov     dword [UPTA], FA | 7
        mov     dword [UPTA + 8], FKEY | 7
        mov     dword [UPTA + 12], KEY1
        mov     dword [UPTA + 16], FSTK | 7
        mov     dword [PML4B], PDPTB | 7
        mov     dword [PDPTB], PDB | 7
        mov     dword [PDB], KPT | 7
        mov     dword [PDB + 8], 0x200183
        mov     dword [PDB + 16], UPTB | 7
        mov     dword [UPTB], FB | 7

        mov     eax, 0xa0                       ; PAE, PGE
        mov     cr4, eax
        mov     eax, PML4A
        mov     cr3, eax
        mov     ecx, 0xc0000080
        rdmsr
        or      eax, 0x900                      ; LME, NXE
        wrmsr
        mov     eax, cr0
        or      eax, 0x80010000                 ; PG, WP
        mov     cr0, eax
        jmp     0x18:lmode

        bits    64
lmode:  mov     rsp, KSTACK
        mov     rdi, IDT + 14*16
        mov     rax, pf
        mov     dl, 0x8e                        ; interrupt gate, DPL 0
        call    setgate
        mov     rdi, IDT + 0x80*16
        mov     rax, sys
        mov     dl, 0xee                        ; DPL 3: int 0x80 from user mode
        call    setgate
        lidt    [idtr]
        mov     rax, tss                        ; the TSS descriptor's base
        mov     [gdt + 0x32], ax
        shr     rax, 16
        mov     [gdt + 0x34], al
        mov     [gdt + 0x37], ah
        mov     ax, 0x30
        ltr     ax
        mov     rax, cr4
        or      rax, 0x720000                   ; PCIDE, SMEP, SMAP, PKE
        mov     cr4, rax
        mov     rbx, cr4
        cmp     rbx, rax
        mov     eax, 0xbad1                     ; the CPU lacks one of them
        jne     stop

        mov     rax, ucode                      ; E0: SMEP
        jmp     rax
back1:  mov     rbx, UDATA                      ; E1, E2: SMAP
        mov     rax, [rbx]
back2:  mov     [rbx], rax
back3:  stac
        mov     qword [rbx], 0xa1
        mov     rax, [rbx]
        clac
        cmp     rax, 0xa1
        jne     fail
        cmp     qword [FA], 0xa1
        jne     fail

        mov     rax, NOFLUSH << 32 | PML4B | 2  ; to B, keeping PCID 2's entries
        mov     cr3, rax
        stac
        mov     qword [rbx], 0xb2
        clac
        cmp     qword [FB], 0xb2
        jne     fail
        mov     rax, NOFLUSH << 32 | PML4A | 1  ; back to A
        mov     cr3, rax
        stac
        mov     rax, [rbx]
        clac
        cmp     rax, 0xa1
        jne     fail
        mov     dword [UPTB], FB2 | 7           ; B's page moves: B's PCID must
        mov     rax, PML4B | 2                  ; be flushed, so no bit 63
        mov     cr3, rax
        stac
        mov     rax, [rbx]
        mov     qword [rbx], 0xb3
        clac
        test    rax, rax
        jnz     fail
        cmp     qword [FB2], 0xb3
        jne     fail
        mov     rax, NOFLUSH << 32 | PML4A | 1
        mov     cr3, rax

        xor     ecx, ecx                        ; key 1: write-disable
        xor     edx, edx
        mov     eax, 8
        wrpkru
        mov     rsi, UKEY
        stac
        mov     qword [rsi], 0x66               ; E3: supervisor write, WP=1
back4:  mov     rax, [rsi]                      ; reads are allowed
        clac

        push    0x23                            ; to user mode
        push    USTK
        pushfq
        push    0x2b
        push    ucode
        iretq

after:  cmp     qword [fidx], NEXP              ; back from user mode
        jne     fail
        cmp     qword [FKEY], 0x77
        jne     fail
        cmp     qword [FA], 0xc4
        jne     fail
        mov     eax, DONE
        hlt
fail:   mov     eax, FAIL
stop:   hlt

; setgate writes a 64-bit gate to handler rax, attributes dl, at rdi.
setgate:
        mov     [rdi], ax
        mov     word [rdi + 2], 0x18
        mov     byte [rdi + 4], 0
        mov     [rdi + 5], dl
        shr     rax, 16
        mov     [rdi + 6], ax
        shr     rax, 16
        mov     [rdi + 8], eax
        mov     dword [rdi + 12], 0
        ret

; pf checks the fault against the next entry of exptab and resumes
; where the entry says.
pf:     push    rax
        push    rbx
        push    rcx
        mov     rbx, [fidx]
        cmp     rbx, NEXP
        jae     .bad
        imul    rcx, rbx, 24
        add     rcx, exptab
        mov     rax, [rsp + 24]                 ; the error code
        cmp     rax, [rcx]
        jne     .bad
        mov     rax, cr2
        cmp     rax, [rcx + 8]
        jne     .bad
        mov     rax, [rcx + 16]
        mov     [rsp + 32], rax                 ; the return RIP
        inc     qword [fidx]
        pop     rcx
        pop     rbx
        pop     rax
        add     rsp, 8
        iretq
.bad:   lea     eax, [rbx + 0xbad0]             ; which fault was wrong
        hlt

; sys is int 0x80: user mode is done, the kernel goes on.
sys:    cmp     qword [rsp + 8], 0x2b           ; from user mode
        jne     fail
        mov     rsp, KSTACK
        jmp     after

        align   8
fidx:   dq      0
exptab: dq      0x11, ucode, back1      ; E0 SMEP
        dq      0x01, UDATA, back2      ; E1 SMAP read
        dq      0x03, UDATA, back3      ; E2 SMAP write
        dq      0x23, UKEY, back4       ; E3 key 1 WD, supervisor, WP
        dq      0x27, UKEY, u1          ; E4 key 1 WD, user write
        dq      0x25, UKEY, u2          ; E5 key 1 AD, user read
        dq      0x05, fidx, u3          ; E6 user read of a supervisor page
NEXP    equ     ($ - exptab) / 24

idtr:   dw      0x81*16 - 1
        dq      IDT

tss:    dd      0
        dq      RSP0                            ; RSP0
        times   104 - ($ - tss) db 0

        align   8
gdt:    dq      0
        dq      0x00cf9b000000ffff              ; 0x08: code, 32-bit
        dq      0x00cf93000000ffff              ; 0x10: data
        dq      0x00af9b000000ffff              ; 0x18: code, 64-bit
        dq      0x00cff3000000ffff              ; 0x20: user data
        dq      0x00affb000000ffff              ; 0x28: user code, 64-bit
        dq      0x0000890000000067              ; 0x30: 64-bit TSS (base set at run time)
        dq      0
gdtr:   dw      $ - gdt - 1
        dd      gdt

; User mode: the only page with U=1 in the kernel's part.
        align   4096
ucode:  mov     rsi, UKEY
        mov     rax, [rsi]                      ; reads are allowed
        mov     qword [rsi], 0x55               ; E4
u1:     xor     ecx, ecx
        xor     edx, edx
        mov     eax, 0xc                        ; key 1: access-disable too
        wrpkru
        mov     rax, [rsi]                      ; E5
u2:     xor     ecx, ecx
        xor     edx, edx
        xor     eax, eax
        wrpkru
        mov     qword [rsi], 0x77
        mov     rbx, UDATA
        mov     qword [rbx], 0xc4
        mov     rdi, fidx
        mov     rax, [rdi]                      ; E6
u3:     push    rax
        pop     rax
        int     0x80
