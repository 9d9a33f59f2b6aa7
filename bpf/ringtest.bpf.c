/* Test-only: pushes numbered records through a ring, to prove the mmap ring reader loses nothing
 * and that the loss counter plus received records equals records produced. */
#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} events SEC(".maps");

const volatile __u32 cfg_trigger_tgid = 0;
const volatile __u32 cfg_per_call = 1;
__u64 produced = 0; /* .bss: records the program tried to emit */

struct st_ring_test *unused_ring_test __attribute__((unused));

/* Every getppid() of the trigger process emits cfg_per_call records: a cheap, exact producer. */
SEC("tracepoint/syscalls/sys_enter_getppid")
int ringtest_emit(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != cfg_trigger_tgid)
		return 0;
	for (__u32 i = 0; i < 64; i++) {
		if (i >= cfg_per_call)
			break;
		__u64 seq = __sync_fetch_and_add(&produced, 1);
		struct st_ring_test *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
		if (!r) {
			count_loss(ST_LOSS_RING_FULL);
			continue;
		}
		r->seq = seq;
		r->cpu_seq = i;
		r->cpu = bpf_get_smp_processor_id();
		r->pad = 0;
		for (int j = 0; j < 40; j++)
			r->payload[j] = (__u8)(seq + j);
		bpf_ringbuf_submit(r, RB_FLAGS);
	}
	return 0;
}
