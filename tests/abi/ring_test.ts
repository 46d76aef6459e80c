import { strictEqual } from "node:assert/strict";
import { BackRing, FrontRing, ringSize } from "../../lib/abi/ring.ts";

Deno.test("ringSize() matches __CONST_RING_SIZE for blkif (112-byte slots: 32)", () => {
  strictEqual(ringSize(112), 32);
  strictEqual(ringSize(12), 256); // netif tx-like 12-byte slots
  strictEqual(ringSize(8), 256);
});

Deno.test("FrontRing/BackRing exchange requests and responses across index wrap", () => {
  const page = new Uint8Array(4096);
  const front = new FrontRing(page, 16);
  const back = new BackRing(page, 16);
  // start near the u32 wrap to exercise modulo arithmetic
  front.reqProdPvt = front.rspCons = 0xfffffffe;
  back.reqCons = back.rspProdPvt = 0xfffffffe;
  page.set([0xfe, 0xff, 0xff, 0xff], 0);
  page.set([0xfe, 0xff, 0xff, 0xff], 8);
  for (let i = 0; i < 5; i++) front.putRequest(new Uint8Array(16).fill(i + 1));
  front.pushRequests();
  strictEqual(back.unconsumedRequests(), 5);
  for (let i = 0; i < 5; i++) {
    const req = back.takeRequest();
    strictEqual(req[0], i + 1);
    back.putResponse(new Uint8Array(16).fill(0x80 | req[0]));
  }
  back.pushResponses();
  strictEqual(front.unconsumedResponses(), 5);
  strictEqual(front.takeResponse()[0], 0x81);
});

Deno.test("BackRing.unconsumedRequests() is bounded when a hostile frontend jumps req_prod", () => {
  const page = new Uint8Array(4096);
  const back = new BackRing(page, 64);
  new DataView(page.buffer).setUint32(0, 0x7fffffff, true);
  strictEqual(back.requestProdValid(), false);
  strictEqual(back.unconsumedRequests(), back.size);
});

Deno.test("pushResponses() notifies only when rsp_event was crossed", () => {
  const page = new Uint8Array(4096);
  const front = new FrontRing(page, 16);
  const back = new BackRing(page, 16);
  front.putRequest(new Uint8Array(16));
  front.putRequest(new Uint8Array(16));
  strictEqual(front.pushRequests(), true); // req_event = 1 initially
  back.takeRequest();
  back.putResponse(new Uint8Array(16));
  strictEqual(back.pushResponses(), true); // rsp_event = 1
  back.takeRequest();
  back.putResponse(new Uint8Array(16));
  strictEqual(back.pushResponses(), false); // front has not re-armed rsp_event
  front.takeResponse();
  front.takeResponse();
  strictEqual(front.finalCheckForResponses(), false);
  strictEqual(front.rspEvent, 3);
});
