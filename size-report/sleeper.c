/*
 * sleeper: the daemon program every tool in the report starts.
 *
 * It ignores SIGHUP (so that a reload can be measured without killing it), dies at once on
 * SIGTERM (default action, so stop latency measures the tool, not the daemon), and otherwise
 * sleeps. Built static so that its own start costs the same few syscalls under every tool.
 */
#include <signal.h>
#include <unistd.h>

int main(void)
{
	signal(SIGHUP, SIG_IGN);
	for (;;)
		pause();
}
