#include "textflag.h"

// func prefetch(p uintptr)
TEXT ·prefetch(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	PREFETCHT0 (AX)
	RET

// func prefetchLines(base uintptr, shift uint, mask uint64, hs []uint64)
TEXT ·prefetchLines(SB), NOSPLIT, $0-48
	MOVQ base+0(FP), AX
	MOVQ shift+8(FP), CX
	MOVQ mask+16(FP), DX
	MOVQ hs_base+24(FP), SI
	MOVQ hs_len+32(FP), DI
	TESTQ DI, DI
	JEQ lines_done
lines_loop:
	MOVQ (SI), BX
	ANDQ DX, BX
	SHLQ CX, BX
	PREFETCHT0 (AX)(BX*1)
	ADDQ $8, SI
	DECQ DI
	JNE lines_loop
lines_done:
	RET

// func prefetchHints(base uintptr, shift uint, hints []Hint)
TEXT ·prefetchHints(SB), NOSPLIT, $0-40
	MOVQ base+0(FP), AX
	MOVQ shift+8(FP), CX
	MOVQ hints_base+16(FP), SI
	MOVQ hints_len+24(FP), DI
	TESTQ DI, DI
	JEQ hints_done
hints_loop:
	MOVLQSX (SI), BX
	TESTQ BX, BX
	JS hints_next
	SHLQ CX, BX
	PREFETCHT0 (AX)(BX*1)
hints_next:
	ADDQ $4, SI
	DECQ DI
	JNE hints_loop
hints_done:
	RET
