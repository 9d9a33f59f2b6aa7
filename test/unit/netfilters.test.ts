// The network bundles' remote filters as .rodata bytes: address parsing and table packing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ipv6Bytes, netRodata, MAX_PORTS } from "../../src/bundles/netfilters.js";
import { UserError } from "../../src/errors.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("IPv6 text to bytes: ::, compressed groups, embedded IPv4, zone ids", () => {
  assert.equal(hex(ipv6Bytes("::")), "0".repeat(32));
  assert.equal(hex(ipv6Bytes("::1")), `${"0".repeat(31)}1`);
  assert.equal(hex(ipv6Bytes("2001:db8::8:800:200c:417a")), "20010db80000000000080800200c417a");
  assert.equal(hex(ipv6Bytes("::ffff:192.0.2.1")), "00000000000000000000ffffc0000201");
  assert.equal(hex(ipv6Bytes("fe80::1%eth0")), "fe800000000000000000000000000001");
});

test("ports and addresses pack into the kernel tables, little-endian counts and families", () => {
  const r = netRodata({ ports: [443, 8080], addresses: ["10.1.2.3", "::1"] });
  assert.equal(r.cfg_port_count, 2);
  assert.equal(hex(r.cfg_ports as Uint8Array).slice(0, 8), "bb01901f");
  assert.equal(r.cfg_addr_count, 2);
  assert.equal(hex(r.cfg_addr_families as Uint8Array).slice(0, 8), "02000a00");
  const addrs = r.cfg_addrs as Uint8Array;
  assert.equal(hex(addrs.subarray(0, 16)), `0a010203${"0".repeat(24)}`);
  assert.equal(hex(addrs.subarray(16, 32)), `${"0".repeat(31)}1`);
  assert.deepEqual(netRodata({}).cfg_port_count, 0);
});

test("bad filters are user errors with one clear line", () => {
  assert.throws(() => netRodata({ ports: [0] }), UserError);
  assert.throws(() => netRodata({ ports: [70000] }), UserError);
  assert.throws(() => netRodata({ addresses: ["example.com"] }), UserError);
  assert.throws(() => netRodata({ ports: Array.from({ length: MAX_PORTS + 1 }, (_, i) => i + 1) }), /at most 16 ports/);
});
