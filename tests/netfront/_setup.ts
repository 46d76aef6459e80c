/** Shared set-up for the netfront tests: a fake host, a switch, guests with vifs. */
import { FakeDeviceHost, MemStore } from "../../lib/hypervisor/backend/testing_host.ts";
import { Netback } from "../../lib/netfront/backend.ts";
import { Netfront } from "../../lib/netfront/frontend.ts";
import { VirtualSwitch } from "../../lib/netfront/switch.ts";
import { HostResponder } from "../../lib/netfront/responder.ts";
import { writeVifLayout } from "../../lib/netfront/xenbus.ts";
import { defaultMac } from "../../lib/toolstack/vif_spec.ts";

export interface Vif {
  back: Netback;
  front: Netfront;
  mac: Uint8Array;
}

export function makeNet(frames = 4096) {
  const store = new MemStore();
  const host = new FakeDeviceHost(frames, store);
  const sw = new VirtualSwitch();
  const responder = new HostResponder(sw);
  const fatal: string[] = [];
  const addVif = (domid: number, sg = true): Vif => {
    const g = host.guests.get(domid) ?? host.addGuest(domid, 8);
    const mac = defaultMac(domid, 0);
    writeVifLayout(store, { domid, devid: 0, mac, bridge: sw.name });
    const back = new Netback(host, sw, { domid, devid: 0, onFatal: (r) => fatal.push(r) });
    back.start();
    const front = new Netfront(g, store, 0, sg);
    front.connect();
    host.drain();
    return { back, front, mac };
  };
  return { host, store, sw, responder, addVif, fatal };
}
