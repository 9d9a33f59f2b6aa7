/* Shared by the bench workloads: monotonic time and the one-line result every workload prints. */
#ifndef ST_BENCH_COMMON_H
#define ST_BENCH_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The process's CPU seconds, all threads (user + system): with the ops, a mix's CPU per operation, which
 * does not count the time its threads sat preempted by other work on a shared machine. */
static inline double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The harness parses this line: ops and elapsed seconds of the timed loop only. */
static inline void report(const char *name, long ops, double elapsed_s)
{
	printf("workload=%s ops=%ld elapsed_s=%.6f\n", name, ops, elapsed_s);
	fflush(stdout);
}

static inline long arg_long(int argc, char **argv, int i, long dflt)
{
	return argc > i ? strtol(argv[i], NULL, 10) : dflt;
}
#endif
