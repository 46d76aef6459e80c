/**
 * The public face of lib/netfront: what other packages use. Inside lib/netfront, import files
 * directly.
 * @module
 */
export { Netback, type NetbackOptions } from "./backend.ts";
export { type GuestSide, Netfront } from "./frontend.ts";
export { parseIp } from "./packets.ts";
export { PcapWriter, readPcap } from "./pcap.ts";
export { formatMac, parseMac, RX_SLOT_BYTES, TX_SLOT_BYTES } from "./protocol.ts";
export { HOST_IP, HOST_MAC, HostResponder } from "./responder.ts";
export { type SwitchPort, VirtualSwitch } from "./switch.ts";
export { writeVifLayout } from "./xenbus.ts";
