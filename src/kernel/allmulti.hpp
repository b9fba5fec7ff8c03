// All-multicast references on a packet socket (PACKET_MR_ALLMULTI), as tcpdump holds
// promiscuity: the kernel counts them beside the admin's own IFF_ALLMULTI, which is neither read
// nor touched, and drops them when the descriptor closes, so not even a SIGKILL leaves one
// behind. Private to the kernel layer: the advert socket's.
#pragma once

#include "ndpsync/result.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

// Takes (`on`) or lets go of the reference of packet socket `fd` on `ifindex`.
Status packet_allmulti(int fd, IfIndex ifindex, bool on);

}  // namespace ndpsync
