/* Retransmit storm: sends BYTES over one TCP connection to 127.0.0.1:PORT and reads them back in the
 * same process (run inside a private netns whose nft rule drops a share of the packets). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	long total = arg_long(argc, argv, 1, 8 << 20);
	int port = (int)arg_long(argc, argv, 2, 47021);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4)) { perror("listen"); return 1; }
	double t0 = now_s();
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, sizeof(a))) { perror("connect"); return 1; }
	int s = accept(ls, NULL, NULL);
	static char out[16384], in[65536];
	memset(out, 'r', sizeof(out));
	long sent = 0, got = 0;
	while (got < total) {
		struct pollfd p[2] = {{c, sent < total ? POLLOUT : 0, 0}, {s, POLLIN, 0}};
		if (poll(p, 2, 10000) <= 0) { fprintf(stderr, "stalled at %ld/%ld\n", got, total); return 1; }
		if (p[0].revents & POLLOUT) {
			long want = total - sent < (long)sizeof(out) ? total - sent : (long)sizeof(out);
			ssize_t w = write(c, out, want);
			if (w > 0) sent += w;
		}
		if (p[1].revents & POLLIN) {
			ssize_t r = read(s, in, sizeof(in));
			if (r <= 0) { perror("read"); return 1; }
			got += r;
		}
	}
	close(c);
	close(s);
	report("retransmit", total, now_s() - t0);
	close(ls);
	return 0;
}
