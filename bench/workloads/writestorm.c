/* Write storm: N write(2) calls of 64 bytes, spread round-robin over F files in DIR (F=1: one file). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 2000000);
	long files = arg_long(argc, argv, 2, 1);
	const char *dir = argc > 3 ? argv[3] : "/tmp";
	int *fds = calloc(files, sizeof(int));
	char path[4096], buf[64];
	memset(buf, 'x', sizeof(buf));
	for (long f = 0; f < files; f++) {
		snprintf(path, sizeof(path), "%s/w%03ld.dat", dir, f);
		fds[f] = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fds[f] < 0) { perror(path); return 1; }
	}
	double t0 = now_s();
	for (long i = 0; i < n; i++)
		if (write(fds[i % files], buf, sizeof(buf)) != sizeof(buf)) { perror("write"); return 1; }
	double el = now_s() - t0;
	for (long f = 0; f < files; f++) close(fds[f]);
	report(files == 1 ? "write" : "write-files", n, el);
	return 0;
}
