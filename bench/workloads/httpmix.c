/* Realistic mix 1: a loopback HTTP/1.1 keep-alive server and its clients, for DURATION seconds.
 * Server: an acceptor thread (epoll on the listener) hands each new connection to one of W worker
 * threads through a mutex/condvar queue (futex); each worker serves its connections with its own
 * epoll: read a request, write a response. Clients: C threads, each with one keep-alive connection
 * that sends REQS requests (waiting for each response) and is then closed and reconnected, so
 * connect, accept and close happen all along. Syscalls: epoll_wait, accept4, read, write, close,
 * connect, futex. Prints the requests completed and the seconds they took.
 * Usage: httpmix [DURATION_S=5] [PORT=47031] [CLIENTS=4] [WORKERS=2] [REQS=100]. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common.h"

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, world!";
static const char REQ[] = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";

static int port, reqs_per_conn;
static atomic_long done_reqs;
static atomic_int stopping, server_stop; /* clients stop first, then the server */

struct worker {
	pthread_t th;
	int ep;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int queue[256], n;
};
static struct worker *workers;
static int nworkers;

static void die(const char *what) { perror(what); exit(1); }

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg, ep = epoll_create1(0), next = 0;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, got;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	while (!atomic_load(&server_stop)) {
		if (epoll_wait(ep, &got, 1, 50) <= 0) continue;
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) continue;
		struct worker *w = &workers[next++ % nworkers];
		pthread_mutex_lock(&w->mu); /* the hand-off: futex when contended */
		if (w->n < 256) w->queue[w->n++] = c;
		else close(c);
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	close(ep);
	return NULL;
}

static void *serve(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[16];
	char buf[4096];
	while (!atomic_load(&server_stop)) {
		pthread_mutex_lock(&w->mu);
		while (w->n) {
			int c = w->queue[--w->n];
			struct epoll_event ev = { .events = EPOLLIN, .data.fd = c };
			epoll_ctl(w->ep, EPOLL_CTL_ADD, c, &ev);
		}
		pthread_mutex_unlock(&w->mu);
		int k = epoll_wait(w->ep, evs, 16, 5);
		for (int i = 0; i < k; i++) {
			int c = evs[i].data.fd;
			ssize_t r = read(c, buf, sizeof(buf));
			if (r <= 0) { close(c); continue; } /* closing removes it from the epoll set */
			if (write(c, RESP, sizeof(RESP) - 1) < 0) close(c);
		}
	}
	return NULL;
}

static void *client(void *arg)
{
	(void)arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char buf[4096];
	while (!atomic_load(&stopping)) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(s, (struct sockaddr *)&a, sizeof(a))) die("connect");
		for (int i = 0; i < reqs_per_conn && !atomic_load(&stopping); i++) {
			if (write(s, REQ, sizeof(REQ) - 1) != sizeof(REQ) - 1) die("client write");
			size_t got = 0;
			while (got < sizeof(RESP) - 1) {
				ssize_t r = read(s, buf, sizeof(buf));
				if (r <= 0) die("client read");
				got += r;
			}
			atomic_fetch_add(&done_reqs, 1);
		}
		close(s);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double duration = arg_long(argc, argv, 1, 5);
	port = arg_long(argc, argv, 2, 47031);
	int nclients = arg_long(argc, argv, 3, 4);
	nworkers = arg_long(argc, argv, 4, 2);
	reqs_per_conn = arg_long(argc, argv, 5, 100);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1024)) die("listen");
	workers = calloc(nworkers, sizeof(*workers));
	for (int i = 0; i < nworkers; i++) {
		workers[i].ep = epoll_create1(0);
		pthread_mutex_init(&workers[i].mu, NULL);
		pthread_cond_init(&workers[i].cv, NULL);
		pthread_create(&workers[i].th, NULL, serve, &workers[i]);
	}
	pthread_t acc, *cl = calloc(nclients, sizeof(pthread_t));
	pthread_create(&acc, NULL, acceptor, &lfd);
	double t0 = now_s(), c0 = cpu_s();
	for (int i = 0; i < nclients; i++) pthread_create(&cl[i], NULL, client, NULL);
	usleep((useconds_t)(duration * 1e6));
	atomic_store(&stopping, 1);
	long n = atomic_load(&done_reqs);
	double el = now_s() - t0, cpu = cpu_s() - c0;
	for (int i = 0; i < nclients; i++) pthread_join(cl[i], NULL);
	atomic_store(&server_stop, 1);
	pthread_join(acc, NULL);
	for (int i = 0; i < nworkers; i++) pthread_join(workers[i].th, NULL);
	report("http-keepalive", n, el);
	printf("cpu_s=%.6f\n", cpu);
	return 0;
}
