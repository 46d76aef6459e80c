/**
 * console_io: CONSOLEIO_write sends guest bytes to the console sink; CONSOLEIO_read takes
 * pending input (mirrors do_console_io of xen/drivers/char/console.c, as a debug-build
 * Xen that lets every domain use the emergency console).
 * @module
 */
import { EFAULT, EINVAL, ENOSYS } from "../../abi/mod.ts";
import { CONSOLEIO_read, CONSOLEIO_write } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";

/** Bytes copied per chunk (Xen copies through a 128-byte kbuf). */
const CHUNK = 128;

/**
 * do_console_io(cmd, count, buffer).
 * @returns 0 for a write, the bytes read for a read, or -errno
 */
export function doConsoleIo(v: Vcpu, cmd: number, count: number, buffer: number): number {
  const host = v.domain.host;
  switch (cmd) {
    case CONSOLEIO_write: {
      count = count >>> 0;
      if (count > 0x7fffffff) return -EINVAL;
      if (!v.access.accessOk(buffer, count)) return -EFAULT;
      const chunk = new Uint8Array(CHUNK);
      for (let done = 0; done < count;) {
        const n = Math.min(CHUNK, count - done);
        const part = chunk.subarray(0, n);
        if (!v.access.copyFromGuest(buffer + done, part)) return -EFAULT;
        host.console.write(part.slice());
        done += n;
      }
      return 0;
    }
    case CONSOLEIO_read: {
      count = count | 0;
      if (count <= 0) return count < 0 ? -EINVAL : 0;
      count = Math.min(count, 4096);
      // Check the buffer first: input taken from the sink must not be lost to a fault.
      if (!v.access.writable(buffer, count)) return -EFAULT;
      const input = host.console.read ? host.console.read(count) : new Uint8Array();
      if (input.length === 0) return 0;
      if (!v.access.copyToGuest(buffer, input)) return -EFAULT;
      return input.length;
    }
    default:
      return -ENOSYS;
  }
}
