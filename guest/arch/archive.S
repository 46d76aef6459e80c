/*
 * archive.S: the built-in file archive, format "PVXARC01" (guest/README.md):
 * 8-byte magic, u32 count, u32 reserved, count entries of {char name[24]; u32 offset;
 * u32 size} (offsets from the archive start), then the files, 4-byte aligned.
 */

  .section .rodata.archive, "a"
  .balign 4
  .globl builtin_archive
builtin_archive:
  .ascii "PVXARC01"
  .long 8
  .long 0
  .ascii "sh"
  .fill 22, 1, 0
  .long f_sh - builtin_archive, f_sh_end - f_sh
  .ascii "hello"
  .fill 19, 1, 0
  .long f_hello - builtin_archive, f_hello_end - f_hello
  .ascii "spin"
  .fill 20, 1, 0
  .long f_spin - builtin_archive, f_spin_end - f_spin
  .ascii "motd"
  .fill 20, 1, 0
  .long f_motd - builtin_archive, f_motd_end - f_motd
  .ascii "fpu"
  .fill 21, 1, 0
  .long f_fpu - builtin_archive, f_fpu_end - f_fpu
  .ascii "fpuchild"
  .fill 16, 1, 0
  .long f_fpuchild - builtin_archive, f_fpuchild_end - f_fpuchild
  .ascii "segv"
  .fill 20, 1, 0
  .long f_segv - builtin_archive, f_segv_end - f_segv
  .ascii "fuzz"
  .fill 20, 1, 0
  .long f_fuzz - builtin_archive, f_fuzz_end - f_fuzz
  .balign 4
f_sh: .incbin "sh.elf"
f_sh_end:
  .balign 4
f_hello: .incbin "hello.elf"
f_hello_end:
  .balign 4
f_spin: .incbin "spin.elf"
f_spin_end:
  .balign 4
f_motd: .incbin "user/files/motd"
f_motd_end:
  .balign 4
f_fpu: .incbin "fpu.elf"
f_fpu_end:
  .balign 4
f_fpuchild: .incbin "fpuchild.elf"
f_fpuchild_end:
  .balign 4
f_segv: .incbin "segv.elf"
f_segv_end:
  .balign 4
f_fuzz: .incbin "fuzz.elf"
f_fuzz_end:
  .balign 4
  .globl builtin_archive_end
builtin_archive_end:
