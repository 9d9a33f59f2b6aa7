/* Realistic mix 2: a small database-like loop for DURATION seconds. C client threads hand requests
 * to one storage thread through a mutex/condvar queue and wait for the answer (futex both ways, as a
 * connection thread and a storage engine do). Each request reads a 4 KiB page (pread), updates it
 * and writes it back (pwrite) in a 64 MiB file; every 32 requests the storage thread commits
 * (fdatasync). Syscalls: pread64, pwrite64, fdatasync, futex. Prints the requests completed.
 * CPU >= 0 pins every thread to that CPU (the hand-offs then wake threads on one run queue, so the rate
 * no longer depends on where the scheduler happens to put them); -1 leaves them free.
 * Usage: dbmix FILE [DURATION_S=5] [CLIENTS=2] [CPU=-1]. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

#define PAGE 4096
#define PAGES 16384 /* 64 MiB */
#define COMMIT_EVERY 32

static int fd;
static atomic_int stopping;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t to_engine = PTHREAD_COND_INITIALIZER, to_client = PTHREAD_COND_INITIALIZER;
static long pending = -1, answered; /* one request slot: page number, then its sequence number */
static long served;

static void *engine(void *arg)
{
	(void)arg;
	static char page[PAGE];
	long since_commit = 0;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (pending < 0 && !atomic_load(&stopping)) pthread_cond_wait(&to_engine, &mu);
		if (pending < 0) break;
		long p = pending;
		pending = -1;
		pthread_mutex_unlock(&mu);
		if (pread(fd, page, PAGE, p * PAGE) != PAGE) { perror("pread"); exit(1); }
		page[p % PAGE]++;
		if (pwrite(fd, page, PAGE, p * PAGE) != PAGE) { perror("pwrite"); exit(1); }
		if (++since_commit == COMMIT_EVERY) { fdatasync(fd); since_commit = 0; }
		pthread_mutex_lock(&mu);
		served++;
		answered++;
		pthread_cond_broadcast(&to_client);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *client(void *arg)
{
	unsigned seed = (unsigned)(long)arg * 2654435761u;
	pthread_mutex_lock(&mu);
	while (!atomic_load(&stopping)) {
		while (pending >= 0 && !atomic_load(&stopping)) pthread_cond_wait(&to_client, &mu);
		if (atomic_load(&stopping)) break;
		seed = seed * 1103515245u + 12345u;
		pending = (seed >> 8) % PAGES;
		long mine = answered + 1;
		pthread_cond_signal(&to_engine);
		while (answered < mine && !atomic_load(&stopping)) pthread_cond_wait(&to_client, &mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) { fprintf(stderr, "usage: dbmix FILE [DURATION_S] [CLIENTS] [CPU]\n"); return 2; }
	double duration = arg_long(argc, argv, 2, 5);
	int nclients = arg_long(argc, argv, 3, 2);
	long pin = arg_long(argc, argv, 4, -1);
	if (pin >= 0) { /* before any thread is made: they inherit it */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(pin, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) { perror("sched_setaffinity"); return 1; }
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) { perror(argv[1]); return 1; }
	static char page[PAGE];
	for (long p = 0; p < PAGES; p++)
		if (write(fd, page, PAGE) != PAGE) { perror("write"); return 1; }
	fsync(fd);
	pthread_t eng, *cl = calloc(nclients, sizeof(pthread_t));
	pthread_create(&eng, NULL, engine, NULL);
	double t0 = now_s(), c0 = cpu_s();
	for (long i = 0; i < nclients; i++) pthread_create(&cl[i], NULL, client, (void *)(i + 1));
	usleep((useconds_t)(duration * 1e6));
	pthread_mutex_lock(&mu);
	atomic_store(&stopping, 1);
	long n = served;
	double cpu = cpu_s() - c0;
	pthread_cond_broadcast(&to_engine);
	pthread_cond_broadcast(&to_client);
	pthread_mutex_unlock(&mu);
	double el = now_s() - t0;
	for (int i = 0; i < nclients; i++) pthread_join(cl[i], NULL);
	pthread_join(eng, NULL);
	close(fd);
	unlink(argv[1]);
	report("db-like", n, el);
	printf("cpu_s=%.6f\n", cpu);
	return 0;
}
