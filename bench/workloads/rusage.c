/* rusage OUT CMD ARGS...: runs CMD, forwards SIGINT/SIGTERM to it, and on its exit writes
 * "user_s sys_s status" of CMD and all its descendants (RUSAGE_CHILDREN) to OUT. */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child;

static void forward(int sig)
{
	if (child > 0) kill(child, sig);
}

int main(int argc, char **argv)
{
	if (argc < 3) { fprintf(stderr, "usage: rusage OUT CMD ARGS...\n"); return 2; }
	signal(SIGINT, forward);
	signal(SIGTERM, forward);
	child = fork();
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int st = 0;
	while (waitpid(child, &st, 0) < 0) {}
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	FILE *f = fopen(argv[1], "w");
	if (f) {
		fprintf(f, "%.6f %.6f %d\n", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, st);
		fclose(f);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
