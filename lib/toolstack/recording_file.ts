/**
 * Deno's side of `--record-rings FILE`: the recording's bytes go to a file through a
 * 256 KiB buffer (the web page keeps them in memory instead).
 * @module
 */
import { InputError } from "../errors.ts";
import type { RecordingSink } from "../replay/mod.ts";
import { RingRecording } from "../replay/mod.ts";
import { createOutputFile } from "./host_files.ts";

/**
 * A sink writing to a file through a 256 KiB buffer; call `close()` at the end.
 * @param path the file (created or truncated)
 */
export function fileRecordingSink(path: string): { sink: RecordingSink; close(): void } {
  const f = createOutputFile(path, "ring recording");
  let buf = new Uint8Array(256 * 1024);
  let used = 0;
  const flush = () => {
    let o = 0;
    while (o < used) o += f.writeSync(buf.subarray(o, used));
    used = 0;
  };
  return {
    sink(b: Uint8Array) {
      if (used + b.length > buf.length) flush();
      if (b.length > buf.length) {
        let o = 0;
        while (o < b.length) o += f.writeSync(b.subarray(o));
        return;
      }
      buf.set(b, used);
      used += b.length;
    },
    close() {
      flush();
      f.close();
      buf = new Uint8Array(0);
    },
  };
}

/**
 * Opens `--record-rings FILE`.
 * @param path the file (created or truncated)
 * @param info header information
 * @throws InputError when the file cannot be written
 * @example
 * ```ts
 * const rec = openRingRecording("boot.rec", { image: "guest.elf" });
 * const vbdHost = await rec.vbd(deviceHost, domid, { devid: 51712, vdev: "xvda", image });
 * new Blkback(vbdHost, { domid, devid: 51712, vdev: "xvda", image });
 * // ... run ...
 * rec.close();
 * ```
 */
export function openRingRecording(path: string, info: Record<string, unknown> = {}): RingRecording {
  let out: { sink: RecordingSink; close(): void };
  try {
    out = fileRecordingSink(path);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(
      `Cannot write ring recording "${path}": ${e instanceof Error ? e.message : e}`,
    );
  }
  return new RingRecording(out.sink, () => out.close(), info);
}
