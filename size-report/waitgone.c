/*
 * waitgone: waits until the process named in a PID file has exited (pidfd_open + poll), or
 * returns at once when the file is missing, empty, or names no process.
 *
 * busybox start-stop-daemon -K returns as soon as it has sent the signal; a service script
 * must then wait on its own before it can start the daemon again. This is the cheapest exact
 * wait there is, so busybox's start+stop cycle in REPORT.md is charged as little as possible.
 * Exit 0 gone, 2 error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	FILE *file;
	long pid = 0;
	int pidfd;
	struct pollfd ready;

	if (argc != 2) {
		fprintf(stderr, "usage: waitgone <pid-file>\n");
		return 2;
	}
	file = fopen(argv[1], "re");
	if (file == NULL)
		return errno == ENOENT ? 0 : 2;
	if (fscanf(file, "%ld", &pid) != 1 || pid <= 0) {
		fclose(file);
		return 0;
	}
	fclose(file);
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return 0;
		fprintf(stderr, "waitgone: cannot pidfd_open %ld: %s\n", pid, strerror(errno));
		return 2;
	}
	ready.fd = pidfd;
	ready.events = POLLIN;
	while (poll(&ready, 1, -1) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "waitgone: cannot poll pidfd of %ld: %s\n", pid, strerror(errno));
			return 2;
		}
	}
	return 0;
}
