// The one line naming why a kernel refused a bundle, from libbpf logs captured on Debian's 6.1 and
// 5.10 cloud kernels (test/kernels/vm.sh) with the objects of sealtrace 0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { refusalReason, bundleRefused } from "../../src/recorder/refusal.js";
import { UserError } from "../../src/errors.js";
import { EXIT, exitCodeOf } from "../../src/cli/exit-codes.js";

const CORE_6_1 = `libbpf: prog 'retransmit_skb': BPF program load failed: Invalid argument
libbpf: prog 'retransmit_skb': -- BEGIN PROG LOAD LOG --
reg type unsupported for arg#0 function retransmit_skb#58
; *n += 1; /* per-CPU slot: no atomics needed */
20: (bf) r6 = r8                      ; R6_w=alloc_mem(ref_obj_id=2,off=0,imm=0) R8=alloc_mem(ref_obj_id=2,off=0,imm=0) refs=2
21: <invalid CO-RE relocation>
failed to resolve CO-RE relocation <byte_off> [52] struct trace_event_raw_tcp_retransmit_skb.skaddr (0:2 @ offset 16)
processed 24 insns (limit 1000000) max_states_per_insn 0 total_states 2 peak_states 2 mark_read 1
-- END PROG LOAD LOG --
libbpf: prog 'retransmit_skb': failed to load: -22
libbpf: failed to load object '/x/bpf/retransmit.bpf.o'
`;
const KSYM_6_1 = `libbpf: extern (func ksym) 'bpf_rdonly_cast': not found in kernel or module BTFs
libbpf: failed to load object '/x/bpf/filewrite.bpf.o'
`;
const HELPER_5_10 = `libbpf: prog 'connect_sys_exit': BPF program load failed: Invalid argument
libbpf: prog 'connect_sys_exit': -- BEGIN PROG LOAD LOG --
arg#0 type is not a struct
; if (is_compat(bpf_get_current_task_btf()))
7: (85) call unknown#158
invalid func unknown#158
processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'connect_sys_exit': failed to load: -22
libbpf: failed to load object '/x/bpf/connect.bpf.o'
`;
const FUNCINFO_5_10 = `libbpf: prog 'exec_exec': BPF program load failed: Invalid argument
libbpf: prog 'exec_exec': -- BEGIN PROG LOAD LOG --
number of funcs in func_info doesn't match number of subprogs
processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'exec_exec': failed to load: -22
`;
const MSG = "the kernel refused x.bpf.o: EINVAL (verifier log follows)";

test("an unresolved CO-RE relocation names the program and the struct field this kernel lacks", () => {
  assert.equal(
    refusalReason(MSG, CORE_6_1),
    "program retransmit_skb: CO-RE: struct trace_event_raw_tcp_retransmit_skb.skaddr not found in this kernel (byte_off relocation)",
  );
});

test("a missing kfunc is named", () => {
  assert.equal(refusalReason(MSG, KSYM_6_1), "kernel function bpf_rdonly_cast not found in this kernel");
});

test("a verifier refusal keeps the verifier's last line and the source line it stopped at", () => {
  assert.equal(
    refusalReason(MSG, HELPER_5_10),
    "program connect_sys_exit: verifier: invalid func unknown#158 (at: if (is_compat(bpf_get_current_task_btf())))",
  );
  assert.equal(
    refusalReason(MSG, FUNCINFO_5_10),
    "program exec_exec: verifier: number of funcs in func_info doesn't match number of subprogs",
  );
});

test("without a log the message stands; control bytes from the log never reach the line; long lines are cut", () => {
  assert.equal(refusalReason(MSG, ""), MSG);
  const evil = `libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\ninvalid \x1b[2J${"A".repeat(500)}\n-- END PROG LOAD LOG --\n`;
  const line = refusalReason(MSG, evil);
  assert.doesNotMatch(line, /[\x00-\x1f\x7f]/);
  assert.ok(line.length <= 200, `${line.length}`);
});

test("bundleRefused: environment errors become `bundle NAME: reason` (exit 3, log kept); bugs pass through untouched", () => {
  const e = bundleRefused("filewrite", new UserError(MSG, "unsupported", { detail: KSYM_6_1 }));
  assert.ok(e instanceof UserError);
  assert.equal(e.message, "bundle filewrite: kernel function bpf_rdonly_cast not found in this kernel");
  assert.equal(exitCodeOf(e), EXIT.environment);
  assert.equal(e.detail, KSYM_6_1);
  // Already attributed (a tail call failing inside a later step): not wrapped twice.
  assert.equal(bundleRefused("exec", e), e);
  const bug = new TypeError("x is undefined");
  assert.equal(bundleRefused("exec", bug), bug);
  const usage = new UserError("bad flag", "bad-input");
  assert.equal(bundleRefused("exec", usage), usage);
});
