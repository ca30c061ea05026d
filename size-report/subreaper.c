/*
 * subreaper: runs one command as a child subreaper (PR_SET_CHILD_SUBREAPER) and reaps every
 * process that exits below it, at once.
 *
 * Why: PID 1 on the build machines reaps orphans slowly (~1.5 s), so a daemon that has exited
 * stays a zombie and a controller polling for it looks slower than it is. Under this program
 * orphaned launchers and daemons become our children and are reaped as soon as they exit.
 *
 * It exports UCW_SUBREAPER_PID (its own pid) to the command, so the command can check that it
 * really runs below a subreaper. It exits with the command's status once the command exits;
 * it never kills anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char pid_text[32];
	pid_t command;

	if (argc < 2) {
		fprintf(stderr, "usage: subreaper <command> [args...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "subreaper: cannot become a child subreaper: %s\n", strerror(errno));
		return 2;
	}
	snprintf(pid_text, sizeof pid_text, "%ld", (long)getpid());
	if (setenv("UCW_SUBREAPER_PID", pid_text, 1) != 0) {
		fprintf(stderr, "subreaper: cannot set UCW_SUBREAPER_PID: %s\n", strerror(errno));
		return 2;
	}
	command = fork();
	if (command < 0) {
		fprintf(stderr, "subreaper: cannot fork: %s\n", strerror(errno));
		return 2;
	}
	if (command == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "subreaper: cannot execute %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	for (;;) {
		int status;
		pid_t reaped = waitpid(-1, &status, 0);

		if (reaped < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "subreaper: waitpid failed: %s\n", strerror(errno));
			return 2;
		}
		if (reaped == command)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
}
