/*
 * stubs.c -- the six functions of <ucw/daemon.h> doing nothing, for measuring what
 * libucw_daemon_capi.a adds to a linked C program (capi/README.md, "Size"):
 *
 *   musl-gcc -static -I capi/include capi/examples/spec_daemon.c capi/tests/stubs.c -o base
 *   musl-gcc -static -I capi/include capi/examples/spec_daemon.c \
 *       target/x86_64-unknown-linux-musl/release/libucw_daemon_capi.a -o full
 *   strip base full; stat -c %s base full
 *
 * daemon_run calls the body, as the real one does, so the program keeps the same code.
 */

#include <ucw/lib.h>
#include <ucw/daemon.h>

void daemon_init(struct daemon_params *dp UNUSED) {}
void daemon_run(struct daemon_params *dp, void (*body)(struct daemon_params *dp)) { body(dp); }
void daemon_exit(struct daemon_params *dp UNUSED) {}
void daemon_resolve_ugid(struct daemon_params *dp UNUSED) {}
void daemon_switch_ugid(struct daemon_params *dp UNUSED) {}
enum daemon_control_status daemon_control(struct daemon_control_params *dc UNUSED)
{
  return DAEMON_STATUS_ERROR;
}
