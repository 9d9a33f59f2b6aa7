/* Marker: exec PATH (a copy of /bin/true with a unique name) every INTERVAL_US until killed, so the
 * first exec a tracer captures measures launch-to-first-event. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	if (argc < 2) return 2;
	long interval_us = arg_long(argc, argv, 2, 2000);
	char *const args[] = {argv[1], NULL};
	char *const envp[] = {NULL};
	signal(SIGCHLD, SIG_DFL);
	for (;;) {
		pid_t pid = fork();
		if (pid == 0) { execve(argv[1], args, envp); _exit(127); }
		waitpid(pid, NULL, 0);
		usleep(interval_us);
	}
}
