/**
 * A small driver for Debian's headless Chromium over the DevTools protocol (no npm
 * browser driver, nothing downloaded): starts the browser on a new empty profile, opens
 * one page, and offers evaluate / wait / type / screenshot / file-input calls.
 * @module
 */

/** Debian's chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether the browser is installed. */
export function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

type Json = Record<string, unknown>;

/** One browser with one page. */
export class Browser {
  readonly #proc: Deno.ChildProcess;
  readonly #ws: WebSocket;
  readonly #profile: string;
  #id = 0;
  readonly #pending = new Map<number, { ok: (v: Json) => void; err: (e: Error) => void }>();
  #session = "";
  /** Console messages and exceptions of the page. */
  readonly pageLog: string[] = [];

  private constructor(proc: Deno.ChildProcess, ws: WebSocket, profile: string) {
    this.#proc = proc;
    this.#ws = ws;
    this.#profile = profile;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data as string);
      if (m.id !== undefined) {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.error) p?.err(new Error(`${m.error.message} ${m.error.data ?? ""}`));
        else p?.ok(m.result ?? {});
      } else if (m.method === "Runtime.consoleAPICalled") {
        const args = (m.params.args as { value?: unknown; description?: string }[])
          .map((a) => a.value ?? a.description ?? "").join(" ");
        this.pageLog.push(`${m.params.type}: ${args}`);
      } else if (m.method === "Runtime.exceptionThrown") {
        const d = m.params.exceptionDetails;
        this.pageLog.push(`exception: ${d.exception?.description ?? d.text}`);
      }
    };
  }

  /** Starts the browser (headless, no sandbox, no background network) and opens `url`. */
  static async launch(url: string, width = 1400, height = 900): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "pvx-chromium-" });
    const proc = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--disable-crash-reporter",
        "--disable-breakpad",
        `--user-data-dir=${profile}`,
        `--window-size=${width},${height}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const wsUrl = await devtoolsUrl(proc.stderr);
    const ws = new WebSocket(wsUrl);
    await new Promise<void>((ok, err) => {
      ws.onopen = () => ok();
      ws.onerror = () => err(new Error("cannot connect to chromium's DevTools socket"));
    });
    const b = new Browser(proc, ws, profile);
    const { targetId } = await b.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await b.send("Target.attachToTarget", { targetId, flatten: true });
    b.#session = sessionId as string;
    await b.send("Runtime.enable");
    await b.send("Page.enable");
    await b.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    await b.send("Page.navigate", { url });
    return b;
  }

  /** Sends a command to the page (or the browser when `browser`). */
  send(method: string, params: Json = {}, browser = false): Promise<Json> {
    const id = ++this.#id;
    const msg: Json = { id, method, params };
    if (!browser && this.#session && !method.startsWith("Target.")) msg.sessionId = this.#session;
    return new Promise((ok, err) => {
      this.#pending.set(id, { ok, err });
      this.#ws.send(JSON.stringify(msg));
    });
  }

  /** Evaluates an expression in the page (promises awaited) and returns its value. */
  async eval<T>(expr: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression: expr,
      awaitPromise: true,
      returnByValue: true,
    });
    const ex = r.exceptionDetails as
      | { text: string; exception?: { description?: string } }
      | undefined;
    if (ex) throw new Error(`page: ${ex.exception?.description ?? ex.text}`);
    return (r.result as { value: T }).value;
  }

  /** Polls `expr` until it is truthy; throws with `what` and the page's screen after `ms`. */
  async waitFor<T>(expr: string, what: string, ms = 60_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await this.eval<T>(expr);
      if (v) return v;
      if (Date.now() > end) {
        const screen = await this.eval<string>("globalThis.pvxPage?.screen() ?? ''").catch(() =>
          ""
        );
        throw new Error(
          `timed out waiting for ${what}\n--- screen ---\n${screen}\n--- page log ---\n${
            this.pageLog.join("\n")
          }`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Types text into the focused element as key presses would (then Enter when `enter`). */
  async type(text: string, enter = true): Promise<void> {
    if (text) await this.send("Input.insertText", { text });
    if (enter) {
      const key = { key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, text: "\r" };
      await this.send("Input.dispatchKeyEvent", { type: "keyDown", ...key });
      await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...key });
    }
  }

  /** Presses one special key (Backspace 8, Tab 9, Escape 27 ...). */
  async key(key: string, code: number): Promise<void> {
    const k = { key, code: key, windowsVirtualKeyCode: code, nativeVirtualKeyCode: code };
    await this.send("Input.dispatchKeyEvent", { type: "rawKeyDown", ...k });
    await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...k });
  }

  /** Clicks the element matching `selector` (a real mouse click at its centre). */
  async click(selector: string): Promise<void> {
    const box = await this.eval<{ x: number; y: number } | null>(`(() => {
      const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return null;
      const r = e.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
    })()`);
    if (!box) throw new Error(`no element ${selector}`);
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", {
        type,
        x: box.x,
        y: box.y,
        button: "left",
        clickCount: 1,
      });
    }
  }

  /** Sets the files of an `<input type=file>` (as the user picking them). */
  async setFiles(selector: string, paths: string[]): Promise<void> {
    const { root } = await this.send("DOM.getDocument");
    const { nodeId } = await this.send("DOM.querySelector", {
      nodeId: (root as { nodeId: number }).nodeId,
      selector,
    });
    await this.send("DOM.setFileInputFiles", { nodeId, files: paths });
  }

  /** A PNG of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(data as string), (c) => c.charCodeAt(0));
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    try {
      await Promise.race([
        this.send("Browser.close", {}, true),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    } catch {
      // already gone
    }
    try {
      this.#ws.close();
    } catch {
      // closed
    }
    try {
      this.#proc.kill("SIGKILL");
    } catch {
      // exited
    }
    await this.#proc.status;
    await this.#proc.stderr.cancel().catch(() => {});
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** Reads chromium's stderr until the DevTools address appears (then drains the rest). */
async function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.getReader();
  const dec = new TextDecoder();
  let text = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
    const m = text.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) {
      // keep reading so the pipe never fills
      (async () => {
        try {
          while (!(await reader.read()).done) { /* discard */ }
        } catch {
          // cancelled
        }
      })();
      return m[1];
    }
  }
  throw new Error(`chromium did not start:\n${text.slice(-2000)}`);
}
