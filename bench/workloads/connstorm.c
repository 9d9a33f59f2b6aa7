/* Loopback TCP storm: connect, accept, close both ends, N times, in one process (127.0.0.1:PORT). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 20000);
	int port = (int)arg_long(argc, argv, 2, 47011);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 128)) { perror("listen"); return 1; }
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, sizeof(a))) { perror("connect"); return 1; }
		int s = accept(ls, NULL, NULL);
		if (s < 0) { perror("accept"); return 1; }
		/* The server closes first, so TIME_WAIT lands on the server side and repeated runs of 20k cycles do
		 * not run out of ephemeral ports; both ends close with FIN, no reset. */
		close(s);
		close(c);
	}
	report("connect", n, now_s() - t0);
	close(ls);
	return 0;
}
