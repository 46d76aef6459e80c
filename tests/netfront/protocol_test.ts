import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  decodeRxResponse,
  decodeTxRequest,
  encodeRxResponse,
  encodeTxRequest,
  parseMac,
  RX_SLOT_BYTES,
  TX_SLOT_BYTES,
} from "../../lib/netfront/protocol.ts";
import { parseVifSpec } from "../../lib/toolstack/vif_spec.ts";
import { InputError } from "../../lib/errors.ts";

const C_SRC = `#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/netif.h>
int main(void){printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu\\n",
 sizeof(union netif_tx_sring_entry), sizeof(union netif_rx_sring_entry),
 offsetof(struct netif_tx_request, size), offsetof(struct netif_tx_request, id),
 offsetof(struct netif_rx_response, status), offsetof(struct netif_rx_request, gref),
 sizeof(struct netif_extra_info), offsetof(struct netif_tx_sring, ring),
 offsetof(struct netif_rx_response, flags));return 0;}`;

async function cLayout(bits: 32 | 64): Promise<number[] | null> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/l.c`, C_SRC);
    const cc = await new Deno.Command("gcc", {
      args: [`-m${bits}`, "-o", `${dir}/l`, `${dir}/l.c`],
      stderr: "piped",
    }).output().catch(() => null);
    if (!cc || cc.code !== 0) return null;
    const out = await new Deno.Command(`${dir}/l`, { stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("netif slot layouts match Xen's C headers for 32- and 64-bit guests", async (t) => {
  for (const bits of [32, 64] as const) {
    await t.step(`gcc -m${bits}`, async () => {
      const l = await cLayout(bits);
      if (!l) return; // no compiler/headers here: nothing to compare with
      deepStrictEqual(l, [TX_SLOT_BYTES, RX_SLOT_BYTES, 10, 8, 6, 4, 8, 64, 4]);
    });
  }
});

Deno.test("TX request and RX response codecs round-trip", () => {
  const r = { gref: 0xdeadbeef, offset: 12, flags: 5, id: 77, size: 1514 };
  deepStrictEqual(decodeTxRequest(encodeTxRequest(r)), r);
  const x = { id: 1, offset: 2, flags: 1, status: -1 };
  deepStrictEqual(decodeRxResponse(encodeRxResponse(x)), x);
});

Deno.test("parseVifSpec() takes xl's syntax and refuses bad values with a clear error", () => {
  const v = parseVifSpec("mac=00:16:3e:01:02:03, bridge=br1, type=vif");
  deepStrictEqual([...v.mac!], [0, 0x16, 0x3e, 1, 2, 3]);
  strictEqual(v.bridge, "br1");
  strictEqual(parseVifSpec("").bridge, "xenbr0");
  throws(() => parseVifSpec("mac=zz"), InputError);
  throws(() => parseVifSpec("mac=01:00:00:00:00:00"), /multicast/);
  throws(() => parseVifSpec("colour=blue"), /unknown key "colour"/);
  ok(parseMac("AA:bb:cc:dd:ee:ff"));
});
