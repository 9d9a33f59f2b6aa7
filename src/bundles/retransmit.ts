// The retransmit bundle: TCP retransmits and resets with their owning process, and per-flow
// counters in `flow_counters`, packet drops per reason in `drop_reasons` (docs/EVENTS.md, retransmit bundle).
import type { BundleSpec } from "./spec.js";
import { netRodata } from "./netfilters.js";

export const RETRANSMIT_BUNDLE: BundleSpec = {
  name: "retransmit",
  description: "TCP retransmits and resets attributed to their process, with per-flow counters",
  object: "retransmit.bpf.o",
  ring: "events",
  ringBytes: 1 << 22,
  // Fills sock_owners for sockets opened before the recording; writes no records.
  startIterators: ["retransmit_owners"],
  snapshotMaps: ["flow_counters", "drop_reasons"],
  tracepoints: [
    ["tcp", "tcp_retransmit_skb"],
    ["tcp", "tcp_send_reset"],
    ["tcp", "tcp_receive_reset"],
    ["tcp", "tcp_retransmit_synack"],
    ["sock", "inet_sock_set_state"],
    ["tcp", "tcp_destroy_sock"],
    ["skb", "kfree_skb"],
  ],
  // With connect loaded, sock_owners is shared and connect keeps it: these would update it twice.
  redundantWith: {
    bundle: "connect",
    programs: ["retransmit_owner_state", "retransmit_owner_destroy", "retransmit_owners"],
  },
  variants: [
    { program: "retransmit_owner_state", needs: ["taskBtf"], fallback: "retransmit_owner_state_compat" },
    {
      program: "retransmit_drop",
      needs: ["dropReason"],
      unavailable: "drop_reasons: packet drops per reason (skb:kfree_skb has no reason before 5.17)",
    },
    {
      needs: ["resetReason"],
      unavailable: "send_reset.reason: why the kernel sent a reset (tcp_send_reset has no reason before 6.10)",
    },
  ],
  rodata: netRodata,
};
