/**
 * The page's inspect worker: examines one kernel image off the page's thread (unwrapping
 * a compressed kernel can take seconds) and posts back the report, or the error.
 * @module
 */
import { InputError } from "../../lib/errors.ts";
import { examineKernel, type ExamineReply } from "./kernel_file.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<{ name: string; bytes: Uint8Array }>) => void) | null;
  postMessage(msg: ExamineReply, transfer?: Transferable[]): void;
};

scope.onmessage = (e) => {
  const { name, bytes } = e.data;
  let reply: ExamineReply;
  try {
    const choice = examineKernel(name, bytes);
    reply = { ok: true, choice };
    scope.postMessage(reply, choice.bytes === bytes ? [] : [choice.bytes.buffer as ArrayBuffer]);
  } catch (err) {
    reply = {
      ok: false,
      input: err instanceof InputError,
      message: err instanceof Error ? err.message : String(err),
    };
    scope.postMessage(reply);
  }
};
