/**
 * Whether lib/cpu runs the 64-bit system instructions every XTF pv64 test needs at its
 * start (XTF's arch_init_traps loads %ds..%gs; each hypercall is a `syscall`): until the
 * CPU's long-mode system slice is in, the pv64 configurations are reported as ignored
 * with this reason instead of failing one by one.
 * @module
 */
import { machine64 } from "../cpu/long/machine64.ts";

/** Why the CPU cannot run XTF pv64 yet, or null when it can. */
export function cpu64Gap(): string | null {
  // mov %ds,%eax; mov %eax,%ds; hlt
  const m = machine64(new Uint8Array([0x8c, 0xd8, 0x8e, 0xd8, 0xf4]));
  m.cpu.run(2);
  const ud = m.platform.exceptions.find((e) => e.vector === 6);
  return ud === undefined
    ? null
    : `lib/cpu/long raises #UD on mov to/from %ds in 64-bit mode (its system instructions ` +
      `are not in yet)`;
}
