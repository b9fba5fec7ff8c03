#include "privileges.hpp"

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>

#include "ndpsync/result.hpp"

namespace ndpsync {

Status drop_capabilities() {
  const auto fail = [](const char* what) {
    const int error = errno;
    return Status{.error = error, .message = std::string(what) + ": " + errno_name(error)};
  };
  if (!CAP_IS_SUPPORTED(CAP_SETPCAP)) {
    return {};
  }
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes next.
  for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (cap != CAP_NET_ADMIN && CAP_IS_SUPPORTED(cap) && cap_drop_bound(cap) < 0 &&
        errno != EINVAL) {
      return fail("drop bounding capabilities");
    }
  }
  cap_t caps = cap_init();
  if (caps == nullptr) return fail("cap_init");
  const cap_value_t keep[] = {CAP_NET_ADMIN};
  const bool ok = cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET) == 0 &&
                  cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET) == 0 &&
                  cap_set_proc(caps) == 0;
  cap_free(caps);
  if (!ok) return fail("drop capabilities");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail("no_new_privs");
  return {};
}

Status drop_net_raw() {
  const auto fail = [](const char* what) {
    const int error = errno;
    return Status{.error = error, .message = std::string(what) + ": " + errno_name(error)};
  };
  // Ambient first: the kernel refuses to keep an ambient capability that is not permitted, but
  // lowering it explicitly makes the order irrelevant. EINVAL: no ambient support.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_RAW, 0, 0) < 0 && errno != EINVAL) {
    return fail("lower ambient CAP_NET_RAW");
  }
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return fail("cap_get_proc");
  const cap_value_t raw[] = {CAP_NET_RAW};
  const bool ok = cap_set_flag(caps, CAP_EFFECTIVE, 1, raw, CAP_CLEAR) == 0 &&
                  cap_set_flag(caps, CAP_PERMITTED, 1, raw, CAP_CLEAR) == 0 &&
                  cap_set_flag(caps, CAP_INHERITABLE, 1, raw, CAP_CLEAR) == 0 &&
                  cap_set_proc(caps) == 0;
  cap_free(caps);
  if (!ok) return fail("drop CAP_NET_RAW");
  return {};
}

}  // namespace ndpsync
