/// <reference lib="dom" />
/**
 * Getting a run's outputs out of the page: a download of bytes under a file name, the
 * trace turned into Perfetto's JSON, and Perfetto's UI opened on it (its documented
 * postMessage hand-over: open the UI, PING until it answers PONG, then post the buffer).
 * @module
 */
import { decodeTrace } from "../../lib/trace/decode.ts";
import { writePerfetto } from "../../lib/trace/perfetto.ts";

/** pvx's virtual TSC rate (`pvx trace`'s default). */
export const PVX_CPU_HZ = 1_000_000_000;

/** Offers bytes as a file download. */
export function download(bytes: Uint8Array, name: string, type = "application/octet-stream"): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * A xentrace-format trace as Chrome trace-event JSON (what `pvx trace --perfetto` writes).
 * @throws TraceFormatError for a malformed trace
 */
export async function traceToPerfetto(trace: Uint8Array): Promise<Uint8Array> {
  const parts: string[] = [];
  async function* records() {
    for (const r of decodeTrace(trace)) yield r;
  }
  await writePerfetto(records(), PVX_CPU_HZ, (s) => {
    parts.push(s);
  });
  return new TextEncoder().encode(parts.join(""));
}

const PERFETTO_UI = "https://ui.perfetto.dev";

/** Opens Perfetto's UI in a new tab and hands it the JSON trace. */
export function openInPerfetto(json: Uint8Array, title: string): void {
  const win = globalThis.open(PERFETTO_UI);
  if (!win) throw new Error("the browser blocked the Perfetto window");
  let tries = 0;
  const timer = setInterval(() => {
    if (++tries > 100) {
      clearInterval(timer);
      globalThis.removeEventListener("message", onMessage);
      return;
    }
    win.postMessage("PING", PERFETTO_UI);
  }, 100);
  const onMessage = (e: MessageEvent) => {
    if (e.data !== "PONG") return;
    clearInterval(timer);
    globalThis.removeEventListener("message", onMessage);
    const buffer = json.slice().buffer;
    win.postMessage({ perfetto: { buffer, title, fileName: `${title}.json` } }, PERFETTO_UI);
  };
  globalThis.addEventListener("message", onMessage);
}
