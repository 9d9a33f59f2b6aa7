/* Ring producer for bench/ring-ingest: after a line on stdin, calls getppid() N times (each emits
 * cfg_per_call records from bpf/ringtest.bpf.c), then prints its own timing. */
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 65536);
	char c;
	if (read(0, &c, 1) != 1) return 1;
	double t0 = now_s();
	for (long i = 0; i < n; i++) syscall(SYS_getppid);
	report("getppid", n, now_s() - t0);
	return 0;
}
