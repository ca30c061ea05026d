// cxx_check.cc -- <ucw/lib.h> and <ucw/daemon.h> compile as C++11, declare the
// functions with C linkage, and give C++ the same layout as C.
//
//   g++ -std=c++11 -Wall -Werror -fsyntax-only -I capi/include capi/tests/cxx_check.cc
//
// (LibUCW's own header fails here: it declares daemon_control() returning
// enum daemon_control_status before that enum is defined.)
//
// Compiled to an object (g++ -c), the function at the bottom makes the object refer
// to daemon_* by their unmangled names, which capi/tests/check-headers verifies.

#include <ucw/lib.h>
#include <ucw/daemon.h>

#include <cstddef>
#include <type_traits>

static_assert(DAEMON_ERR_LEN == 256, "DAEMON_ERR_LEN");
static_assert(DAEMON_FLAG_PRESERVE_CWD == 1 && DAEMON_FLAG_SIMULATE == 2, "daemon_flags");
static_assert(DAEMON_CONTROL_CHECK == 1 && DAEMON_CONTROL_START == 2 &&
              DAEMON_CONTROL_STOP == 3 && DAEMON_CONTROL_SIGNAL == 4,
              "daemon_control_action");
static_assert(DAEMON_STATUS_OK == 0 && DAEMON_STATUS_ALREADY_DONE == 100 &&
              DAEMON_STATUS_NOT_RUNNING == 101 && DAEMON_STATUS_ERROR == 102 &&
              DAEMON_STATUS_STALE == 103,
              "daemon_control_status");

// The LP64 layout, as in abi_check.c (which explains the numbers).
#if defined(__LP64__)
static_assert(sizeof(daemon_params) == 56, "sizeof(struct daemon_params)");
static_assert(offsetof(daemon_params, run_as_uid) == 32, "run_as_uid");
static_assert(offsetof(daemon_params, pid_fd) == 48, "pid_fd");
static_assert(sizeof(daemon_control_params) == 296, "sizeof(struct daemon_control_params)");
static_assert(offsetof(daemon_control_params, argv) == 24, "argv");
static_assert(offsetof(daemon_control_params, error_msg) == 36, "error_msg");
#endif
static_assert(std::is_standard_layout<daemon_params>::value, "daemon_params is C-like");
static_assert(std::is_standard_layout<daemon_control_params>::value,
              "daemon_control_params is C-like");

// The signatures.
static_assert(std::is_same<decltype(&daemon_init), void (*)(daemon_params *)>::value,
              "daemon_init");
static_assert(std::is_same<decltype(&daemon_run),
                           void (*)(daemon_params *, void (*)(daemon_params *))>::value,
              "daemon_run");
static_assert(std::is_same<decltype(&daemon_exit), void (*)(daemon_params *)>::value,
              "daemon_exit");
static_assert(std::is_same<decltype(&daemon_resolve_ugid), void (*)(daemon_params *)>::value,
              "daemon_resolve_ugid");
static_assert(std::is_same<decltype(&daemon_switch_ugid), void (*)(daemon_params *)>::value,
              "daemon_switch_ugid");
static_assert(std::is_same<decltype(&daemon_control),
                           daemon_control_status (*)(daemon_control_params *)>::value,
              "daemon_control");

static void cxx_check_body(daemon_params *dp)
{
  daemon_exit(dp);
}

// Calls every function once, so that an object file refers to each of them.
int cxx_check_uses_the_api(const char *pid_file, const char *guard_file)
{
  daemon_params dp = daemon_params();
  dp.pid_file = pid_file;
  daemon_resolve_ugid(&dp);
  daemon_init(&dp);
  daemon_switch_ugid(&dp);
  daemon_run(&dp, cxx_check_body);

  daemon_control_params dc = daemon_control_params();
  dc.pid_file = pid_file;
  dc.guard_file = guard_file;
  dc.action = DAEMON_CONTROL_CHECK;
  daemon_control_status status = daemon_control(&dc);
  if (status == DAEMON_STATUS_ERROR)
    die("%s", dc.error_msg);
  return status;
}
