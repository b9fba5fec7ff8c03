#include "allmulti.hpp"

#include <linux/if_packet.h>
#include <sys/socket.h>

namespace ndpsync {

Status packet_allmulti(int fd, IfIndex ifindex, bool on) {
  packet_mreq request{};
  request.mr_ifindex = ifindex;
  request.mr_type = PACKET_MR_ALLMULTI;
  if (::setsockopt(fd, SOL_PACKET, on ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &request,
                   sizeof(request)) < 0) {
    return errno_status("ALLMULTI", on ? "PACKET_ADD_MEMBERSHIP" : "PACKET_DROP_MEMBERSHIP");
  }
  return {};
}

}  // namespace ndpsync
