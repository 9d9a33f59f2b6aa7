/* Exec storm: fork + execve(/bin/true) N times, one after the other, waiting for each. */
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 3000);
	const char *path = argc > 2 ? argv[2] : "/bin/true";
	char *const args[] = {(char *)path, NULL};
	char *const envp[] = {NULL};
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) { perror("fork"); return 1; }
		if (pid == 0) { execve(path, args, envp); _exit(127); }
		int st;
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "child failed\n"); return 1; }
	}
	report("exec", n, now_s() - t0);
	return 0;
}
