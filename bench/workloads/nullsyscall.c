/* Unrelated-syscall loop: N getppid(2) calls pinned to one CPU, a syscall no bundle hooks. It prints
 * the loop's wall time, and as "cpu_ns" the thread's own CPU time (CLOCK_THREAD_CPUTIME_ID): the
 * per-syscall tax without the time the thread spent preempted (the recorder and other work share
 * the cores). Usage: nullsyscall [N=2000000] [CPU=last]. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 2000000);
	long cpu = arg_long(argc, argv, 2, sysconf(_SC_NPROCESSORS_ONLN) - 1);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) { perror("sched_setaffinity"); return 1; }
	for (long i = 0; i < n / 10; i++) syscall(SYS_getppid); /* warm-up */
	double c0 = thread_cpu_s(), t0 = now_s();
	for (long i = 0; i < n; i++) syscall(SYS_getppid);
	double el = now_s() - t0, cpu_s = thread_cpu_s() - c0;
	printf("cpu_ns=%.1f\n", cpu_s * 1e9 / n);
	report("getppid", n, el);
	return 0;
}
