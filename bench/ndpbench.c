// bench/ndpbench.c — measuring helpers for bench/run.sh. Plain C, libc only; bench/run.sh
// compiles it with `cc -O2`. Every subcommand prints one JSON document on stdout.
//
//   ndpbench count     [--proto P] [--prefix A/L]
//        proxy entries (RTM_GETNEIGH dump, ndm_flags == NTF_PROXY) matching the filters.
//   ndpbench converge  --count N [--proto P] [--prefix A/L] [--timeout S] -- CMD ARGS...
//        run CMD; dump the proxy table repeatedly until N matching entries exist. Reports when
//        CMD exited and when the table had converged, both from the moment CMD was started.
//   ndpbench latency   --dev IF --base ADDR --count N [--proto P] [--gap-ms G] [--timeout-ms T]
//                      [--yield-us Y] [--get UPLINK]
//        N single changes: add a permanent neighbour base+i on IF, then dump the proxy table in
//        a loop until base+i appears with protocol P. With --get, each check is one
//        RTM_GETNEIGH for that proxy entry on UPLINK instead of a dump (a dump of 10,000
//        entries takes milliseconds itself). Between checks: sched_yield() (Y = -1, default),
//        so that on a small machine the monitor does not keep the agent from a CPU; a busy
//        loop (Y = 0); or a sleep of Y µs. The event time is the moment the
//        kernel had queued the RTM_NEWNEIGH notification (our add returned; a separate socket
//        subscribed to RTNLGRP_NEIGH confirms each event).
//   ndpbench proxy-add --dev UPLINK --base ADDR --count N [--gap-ms G]
//        N proxy entries base+i added one at a time, each timed from request to the kernel's
//        ack: what one change costs the kernel itself at the current table size.
//   ndpbench ns-probe  --iface IF --source S --target T --count N [--gap-us G] [--timeout-ms T]
//                     [--to multicast|unicast]
//        one NS at a time to T's solicited-node group (or to T itself); waits for the NA.
//   ndpbench flood     --iface IF --source S --target T --rate R --duration S [--settle-ms M]
//                      [--random 1]  (random last 32 bits of the target, per NS)
//        multicast NS at R per second for S seconds (stopping 1 s past the end if it cannot
//        keep up); counts the NAs for T. Reports what was asked, sent and answered.
//   ndpbench rusage    -- CMD ARGS...
//        run CMD, report its wall time and CPU time (user, system) and max RSS.
//   ndpbench udp-sink  --port P --idle-ms M [--max-s S]
//        count UDP datagrams until M ms pass without one (or S seconds in all).
//   ndpbench udp-blast --dst A --port P --duration S [--size B]
//        send UDP datagrams to A as fast as possible for S seconds.
//
// All loops are bounded in time. Needs root (raw sockets, netlink writes) where noted.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef NDA_PROTOCOL
#define NDA_PROTOCOL 12
#endif

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ndpbench: ");
  vfprintf(stderr, fmt, ap);
  if (errno) fprintf(stderr, ": %s", strerror(errno));
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_us(uint64_t us) {
  struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

// ---------------------------------------------------------------------------------------------
// Options: "--name value" pairs, and "--" followed by a command.

struct opts {
  int argc;
  char **argv;
  char **cmd;  // after "--", or NULL
};

static struct opts parse_opts(int argc, char **argv) {
  struct opts o = {argc, argv, NULL};
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      o.argc = i;
      o.cmd = argv + i + 1;
      argv[i] = NULL;
      break;
    }
  }
  return o;
}

static const char *opt_str(const struct opts *o, const char *name, const char *def) {
  for (int i = 0; i + 1 < o->argc; i++)
    if (strcmp(o->argv[i], name) == 0) return o->argv[i + 1];
  return def;
}

static double opt_num(const struct opts *o, const char *name, double def) {
  const char *s = opt_str(o, name, NULL);
  if (!s) return def;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*end || errno) die("bad number for %s: %s", name, s);
  return v;
}

static const char *opt_req(const struct opts *o, const char *name) {
  const char *s = opt_str(o, name, NULL);
  if (!s) {
    errno = 0;
    die("missing %s", name);
  }
  return s;
}

static struct in6_addr parse_addr(const char *s) {
  struct in6_addr a;
  if (inet_pton(AF_INET6, s, &a) != 1) {
    errno = 0;
    die("not an IPv6 address: %s", s);
  }
  return a;
}

struct prefix {
  struct in6_addr addr;
  int len;  // -1: no filter
};

static struct prefix parse_prefix(const char *s) {
  struct prefix p = {.len = -1};
  if (!s) return p;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", s);
  char *slash = strchr(buf, '/');
  p.len = 128;
  if (slash) {
    *slash = 0;
    p.len = atoi(slash + 1);
  }
  p.addr = parse_addr(buf);
  return p;
}

static int in_prefix(const struct prefix *p, const struct in6_addr *a) {
  if (p->len < 0) return 1;
  int bits = p->len;
  for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
    if ((a->s6_addr[i] & mask) != (p->addr.s6_addr[i] & mask)) return 0;
  }
  return 1;
}

static struct in6_addr addr_plus(struct in6_addr a, uint32_t n) {
  for (int i = 15; i >= 0 && n; i--) {
    uint32_t v = a.s6_addr[i] + (n & 0xff);
    a.s6_addr[i] = (uint8_t)v;
    n = (n >> 8) + (v >> 8);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// Netlink

static int nl_open(unsigned groups) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) die("netlink socket");
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("netlink bind");
  return fd;
}

static uint32_t nl_seq = 1;
static uint64_t last_send_ns;  // when add_neighbour's request had been processed (send returned)
static uint8_t nl_buf[1 << 17];

struct proxy_filter {
  int proto;  // 0: any
  struct prefix prefix;
  const struct in6_addr *want;  // report whether this address is present
};

// Dump the proxy table; return the number of entries that match the filter (-1 on error).
// *found is set when filter->want is among them.
static long dump_proxies(int fd, const struct proxy_filter *f, int *found) {
  struct {
    struct nlmsghdr nh;
    struct ndmsg ndm;
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETNEIGH;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = ++nl_seq;
  req.ndm.ndm_family = AF_INET6;
  req.ndm.ndm_flags = NTF_PROXY;
  if (found) *found = 0;
  if (send(fd, &req, sizeof req, 0) < 0) return -1;
  long count = 0;
  for (;;) {
    ssize_t n = recv(fd, nl_buf, sizeof nl_buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    for (struct nlmsghdr *nh = (struct nlmsghdr *)nl_buf; NLMSG_OK(nh, (size_t)n);
         nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_seq != req.nh.nlmsg_seq) continue;
      if (nh->nlmsg_type == NLMSG_DONE) return count;
      if (nh->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(nh);
        errno = -e->error;
        return -1;
      }
      if (nh->nlmsg_type != RTM_NEWNEIGH) continue;
      struct ndmsg *ndm = NLMSG_DATA(nh);
      if (!(ndm->ndm_flags & NTF_PROXY) || ndm->ndm_family != AF_INET6) continue;
      int len = (int)nh->nlmsg_len - NLMSG_LENGTH(sizeof *ndm);
      const struct in6_addr *dst = NULL;
      int proto = 0;
      for (struct rtattr *a = (struct rtattr *)((char *)ndm + NLMSG_ALIGN(sizeof *ndm));
           RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == 16) dst = RTA_DATA(a);
        if (a->rta_type == NDA_PROTOCOL && RTA_PAYLOAD(a) >= 1) proto = *(uint8_t *)RTA_DATA(a);
      }
      if (!dst) continue;
      if (f->proto && proto != f->proto) continue;
      if (!in_prefix(&f->prefix, dst)) continue;
      count++;
      if (found && f->want && memcmp(dst, f->want, 16) == 0) *found = 1;
    }
  }
}

static void add_attr(struct nlmsghdr *nh, size_t cap, int type, const void *data, size_t len);

// Look one proxy entry up (RTM_GETNEIGH without NLM_F_DUMP, ndm_flags NTF_PROXY: the kernel's
// pneigh_lookup, kernel 5.0+). Returns 1 when it exists with protocol `proto` (any when 0),
// 0 when not, -1 on error.
static int get_proxy(int fd, int ifindex, const struct in6_addr *a, int proto) {
  struct {
    struct nlmsghdr nh;
    struct ndmsg ndm;
    char attrs[32];
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ndm);
  req.nh.nlmsg_type = RTM_GETNEIGH;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = ++nl_seq;
  req.ndm.ndm_family = AF_INET6;
  req.ndm.ndm_ifindex = ifindex;
  req.ndm.ndm_flags = NTF_PROXY;
  add_attr(&req.nh, sizeof req, NDA_DST, a, 16);
  if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) return -1;
  for (;;) {
    ssize_t n = recv(fd, nl_buf, sizeof nl_buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    for (struct nlmsghdr *nh = (struct nlmsghdr *)nl_buf; NLMSG_OK(nh, (size_t)n);
         nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_seq != req.nh.nlmsg_seq) continue;
      if (nh->nlmsg_type == NLMSG_ERROR) {
        int e = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
        if (e == -ENOENT) return 0;
        errno = -e;
        return -1;
      }
      if (nh->nlmsg_type != RTM_NEWNEIGH) continue;
      struct ndmsg *ndm = NLMSG_DATA(nh);
      int len = (int)nh->nlmsg_len - NLMSG_LENGTH(sizeof *ndm);
      int got = 0;
      for (struct rtattr *r = (struct rtattr *)((char *)ndm + NLMSG_ALIGN(sizeof *ndm));
           RTA_OK(r, len); r = RTA_NEXT(r, len)) {
        if (r->rta_type == NDA_PROTOCOL && RTA_PAYLOAD(r) >= 1) got = *(uint8_t *)RTA_DATA(r);
      }
      return !proto || got == proto;
    }
  }
}

static void add_attr(struct nlmsghdr *nh, size_t cap, int type, const void *data, size_t len) {
  size_t off = NLMSG_ALIGN(nh->nlmsg_len);
  if (off + RTA_SPACE(len) > cap) die("netlink message too long");
  struct rtattr *a = (struct rtattr *)((char *)nh + off);
  a->rta_type = (unsigned short)type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  nh->nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

// Add (or replace) a permanent neighbour, or a proxy entry when mac is NULL; 0 or -errno.
// Waits for the kernel's ack.
static int add_neighbour(int fd, int ifindex, const struct in6_addr *a, const uint8_t mac[6]) {
  struct {
    struct nlmsghdr nh;
    struct ndmsg ndm;
    char attrs[64];
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ndm);
  req.nh.nlmsg_type = RTM_NEWNEIGH;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  req.nh.nlmsg_seq = ++nl_seq;
  req.ndm.ndm_family = AF_INET6;
  req.ndm.ndm_ifindex = ifindex;
  req.ndm.ndm_state = NUD_PERMANENT;
  if (!mac) req.ndm.ndm_flags = NTF_PROXY;
  add_attr(&req.nh, sizeof req, NDA_DST, a, 16);
  if (mac) add_attr(&req.nh, sizeof req, NDA_LLADDR, mac, 6);
  // The kernel handles the request inside send(): the notification to RTNLGRP_NEIGH listeners
  // is queued before send() returns.
  if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) return -errno;
  last_send_ns = now_ns();
  for (;;) {
    ssize_t n = recv(fd, nl_buf, sizeof nl_buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *nh = (struct nlmsghdr *)nl_buf; NLMSG_OK(nh, (size_t)n);
         nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_seq == req.nh.nlmsg_seq && nh->nlmsg_type == NLMSG_ERROR)
        return ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
    }
  }
}

// Read pending events; return 1 once RTM_NEWNEIGH for (ifindex, a) was seen.
static int saw_neigh_event(int fd, int ifindex, const struct in6_addr *a) {
  int seen = 0;
  for (;;) {
    ssize_t n = recv(fd, nl_buf, sizeof nl_buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) continue;  // overrun of our own monitor: keep reading
      return seen;
    }
    for (struct nlmsghdr *nh = (struct nlmsghdr *)nl_buf; NLMSG_OK(nh, (size_t)n);
         nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_type != RTM_NEWNEIGH) continue;
      struct ndmsg *ndm = NLMSG_DATA(nh);
      if (ndm->ndm_family != AF_INET6 || ndm->ndm_ifindex != ifindex ||
          (ndm->ndm_flags & NTF_PROXY))
        continue;
      int len = (int)nh->nlmsg_len - NLMSG_LENGTH(sizeof *ndm);
      for (struct rtattr *r = (struct rtattr *)((char *)ndm + NLMSG_ALIGN(sizeof *ndm));
           RTA_OK(r, len); r = RTA_NEXT(r, len)) {
        if (r->rta_type == NDA_DST && RTA_PAYLOAD(r) == 16 && memcmp(RTA_DATA(r), a, 16) == 0)
          seen = 1;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// count, converge

static int cmd_count(struct opts *o) {
  struct proxy_filter f = {.proto = (int)opt_num(o, "--proto", 0),
                           .prefix = parse_prefix(opt_str(o, "--prefix", NULL))};
  int fd = nl_open(0);
  uint64_t t0 = now_ns();
  long n = dump_proxies(fd, &f, NULL);
  if (n < 0) die("dump");
  printf("{\"count\": %ld, \"dump_us\": %.1f}\n", n, (double)(now_ns() - t0) / 1e3);
  return 0;
}

static int cmd_converge(struct opts *o) {
  long want = (long)opt_num(o, "--count", -1);
  double timeout = opt_num(o, "--timeout", 120);
  struct proxy_filter f = {.proto = (int)opt_num(o, "--proto", 0),
                           .prefix = parse_prefix(opt_str(o, "--prefix", NULL))};
  if (want < 0 || !o->cmd || !o->cmd[0]) {
    errno = 0;
    die("converge: need --count and -- CMD");
  }
  int fd = nl_open(0);
  long before = dump_proxies(fd, &f, NULL);
  uint64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    execvp(o->cmd[0], o->cmd);
    _exit(127);
  }
  uint64_t t_cmd = 0, t_conv = 0, deadline = t0 + (uint64_t)(timeout * 1e9);
  long dumps = 0, last = 0;
  int status = 0;
  double max_dump_us = 0;
  for (;;) {
    if (!t_cmd) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) t_cmd = now_ns();
    }
    if (!t_conv) {
      uint64_t d0 = now_ns();
      last = dump_proxies(fd, &f, NULL);
      uint64_t d1 = now_ns();
      dumps++;
      if ((double)(d1 - d0) / 1e3 > max_dump_us) max_dump_us = (double)(d1 - d0) / 1e3;
      if (last >= want) t_conv = d1;
      // Poll at most a third of the time: sleep twice the dump's own duration, at least 1 ms.
      if (!t_conv) {
        uint64_t pause = 2 * (d1 - d0) / 1000;
        sleep_us(pause < 1000 ? 1000 : pause);
      }
    } else if (!t_cmd) {
      sleep_us(1000);
    }
    if (t_conv && t_cmd) break;
    if (now_ns() > deadline) break;
  }
  if (!t_cmd) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("{\"n\": %ld, \"before\": %ld, \"count\": %ld, \"converged\": %s, \"cmd_rc\": %d, "
         "\"cmd_ms\": %.3f, \"converged_ms\": %.3f, \"dumps\": %ld, \"max_dump_us\": %.1f}\n",
         want, before, last, t_conv ? "true" : "false", t_cmd ? rc : -1,
         t_cmd ? (double)(t_cmd - t0) / 1e6 : -1.0, t_conv ? (double)(t_conv - t0) / 1e6 : -1.0,
         dumps, max_dump_us);
  return t_conv ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// latency

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int cmd_latency(struct opts *o) {
  const char *dev = opt_req(o, "--dev");
  struct in6_addr base = parse_addr(opt_req(o, "--base"));
  int count = (int)opt_num(o, "--count", 50);
  double gap_ms = opt_num(o, "--gap-ms", 20);
  double timeout_ms = opt_num(o, "--timeout-ms", 2000);
  double yield_us = opt_num(o, "--yield-us", -1);
  // --get UPLINK: look the entry up directly instead of dumping the whole table (a dump of
  // 10,000 entries takes milliseconds itself).
  const char *get_dev = opt_str(o, "--get", NULL);
  int uplink = get_dev ? (int)if_nametoindex(get_dev) : 0;
  if (get_dev && !uplink) die("no interface %s", get_dev);
  struct proxy_filter f = {.proto = (int)opt_num(o, "--proto", 0), .prefix = {.len = -1}};
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // short sleeps stay short
  int ifindex = (int)if_nametoindex(dev);
  if (!ifindex) die("no interface %s", dev);
  int ev = nl_open(1u << (RTNLGRP_NEIGH - 1));
  int rq = nl_open(0);
  double *lat = calloc((size_t)count, sizeof *lat);
  double *dumps = calloc((size_t)count, sizeof *dumps);
  int got = 0, timeouts = 0, missed_events = 0;
  srand((unsigned)getpid());
  for (int i = 1; i <= count; i++) {
    struct in6_addr a = addr_plus(base, (uint32_t)i);
    uint8_t mac[6] = {0x02, 0x00, 0x5e, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
    saw_neigh_event(ev, ifindex, &a);  // drain
    int rc = add_neighbour(rq, ifindex, &a, mac);
    uint64_t t_event = last_send_ns;
    if (rc < 0) {
      errno = -rc;
      die("adding neighbour %d", i);
    }
    f.want = &a;
    int found = 0, seen = 0;
    long n = 0;
    uint64_t t_found = 0, deadline = t_event + (uint64_t)(timeout_ms * 1e6);
    while (!found && now_ns() < deadline) {
      if (!seen) seen = saw_neigh_event(ev, ifindex, &a);
      if (uplink) {
        found = get_proxy(rq, uplink, &a, f.proto);
        if (found < 0) die("RTM_GETNEIGH proxy");
      } else if (dump_proxies(rq, &f, &found) < 0) {
        die("dump");
      }
      n++;
      if (found) {
        t_found = now_ns();
      } else if (yield_us > 0) {
        sleep_us((uint64_t)yield_us);  // leave the CPU to the agent between checks
      } else if (yield_us < 0) {
        sched_yield();  // let a runnable agent on this CPU go first, otherwise go on at once
      }
    }
    if (!seen) {
      // The event must be there by now (it was queued before our add returned).
      struct pollfd p = {.fd = ev, .events = POLLIN};
      poll(&p, 1, 100);
      seen = saw_neigh_event(ev, ifindex, &a);
    }
    if (!seen) missed_events++;
    if (found) {
      lat[got] = (double)(t_found - t_event) / 1e3;
      dumps[got] = (double)n;
      got++;
    } else {
      timeouts++;
    }
    sleep_us((uint64_t)(gap_ms * 1000 * (1.0 + (double)rand() / RAND_MAX)));
  }
  printf("{\"count\": %d, \"answered\": %d, \"timeouts\": %d, \"missed_events\": %d, "
         "\"latency_us\": [",
         count, got, timeouts, missed_events);
  for (int i = 0; i < got; i++) printf("%s%.1f", i ? ", " : "", lat[i]);
  qsort(dumps, (size_t)got, sizeof *dumps, cmp_double);
  printf("], \"checks_per_sample_median\": %.0f, \"method\": \"%s\"}\n", got ? dumps[got / 2] : 0.0,
         uplink ? "get" : "dump");
  return 0;
}

// proxy-add: the kernel's own cost of one proxy insert (the limit for a single change).
static int cmd_proxy_add(struct opts *o) {
  const char *dev = opt_req(o, "--dev");
  struct in6_addr base = parse_addr(opt_req(o, "--base"));
  int count = (int)opt_num(o, "--count", 50);
  double gap_ms = opt_num(o, "--gap-ms", 5);
  int ifindex = (int)if_nametoindex(dev);
  if (!ifindex) die("no interface %s", dev);
  int fd = nl_open(0);
  printf("{\"count\": %d, \"latency_us\": [", count);
  for (int i = 1; i <= count; i++) {
    struct in6_addr a = addr_plus(base, (uint32_t)i);
    uint64_t t0 = now_ns();
    int rc = add_neighbour(fd, ifindex, &a, NULL);
    uint64_t t1 = now_ns();
    if (rc < 0) {
      errno = -rc;
      die("adding proxy entry %d", i);
    }
    printf("%s%.1f", i > 1 ? ", " : "", (double)(t1 - t0) / 1e3);
    sleep_us((uint64_t)(gap_ms * 1000));
  }
  printf("]}\n");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// NS sender: probe and flood

#ifndef ICMP6_FILTER
#define ICMP6_FILTER 1
#endif

struct ns_ctx {
  int fd;
  int ifindex;
  struct in6_addr target;
  struct sockaddr_in6 group;
  uint8_t pkt[32];
};

static void ns_open(struct ns_ctx *c, struct opts *o) {
  const char *iface = opt_req(o, "--iface");
  struct in6_addr source = parse_addr(opt_req(o, "--source"));
  c->target = parse_addr(opt_req(o, "--target"));
  c->ifindex = (int)if_nametoindex(iface);
  if (!c->ifindex) die("no interface %s", iface);
  c->fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (c->fd < 0) die("raw socket");
  if (setsockopt(c->fd, SOL_SOCKET, SO_BINDTODEVICE, iface, (socklen_t)strlen(iface)) < 0)
    die("SO_BINDTODEVICE");
  int hops = 255, zero = 0, buf = 32 << 20;
  setsockopt(c->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops);
  setsockopt(c->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops);
  setsockopt(c->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &c->ifindex, sizeof c->ifindex);
  setsockopt(c->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof zero);
  setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  setsockopt(c->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
  struct icmp6_filter filt;
  ICMP6_FILTER_SETBLOCKALL(&filt);
  ICMP6_FILTER_SETPASS(ND_NEIGHBOR_ADVERT, &filt);
  if (setsockopt(c->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof filt) < 0) die("ICMP6_FILTER");
  struct sockaddr_in6 src = {.sin6_family = AF_INET6, .sin6_addr = source};
  if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind to the source address");
  // Solicited-node group ff02::1:ffXX:XXXX.
  memset(&c->group, 0, sizeof c->group);
  c->group.sin6_family = AF_INET6;
  c->group.sin6_scope_id = (uint32_t)c->ifindex;
  uint8_t *g = c->group.sin6_addr.s6_addr;
  g[0] = 0xff;
  g[1] = 0x02;
  g[11] = 0x01;
  g[12] = 0xff;
  memcpy(g + 13, c->target.s6_addr + 13, 3);
  // --to unicast: to the target itself, as a router's reachability probes are. The sender must
  // know the target's MAC already (a ping first), or its kernel resolves it with a multicast NS.
  const char *to = opt_str(o, "--to", "multicast");
  if (strcmp(to, "unicast") == 0) {
    c->group.sin6_addr = c->target;
    c->group.sin6_scope_id = 0;
  } else if (strcmp(to, "multicast") != 0) {
    errno = 0;
    die("--to is unicast or multicast, not %s", to);
  }
  // NS: type, code, checksum (the kernel computes it), reserved, target, SLLA option.
  memset(c->pkt, 0, sizeof c->pkt);
  c->pkt[0] = ND_NEIGHBOR_SOLICIT;
  memcpy(c->pkt + 8, &c->target, 16);
  c->pkt[24] = ND_OPT_SOURCE_LINKADDR;
  c->pkt[25] = 1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface);
  if (ioctl(c->fd, SIOCGIFHWADDR, &ifr) < 0) die("SIOCGIFHWADDR");
  memcpy(c->pkt + 26, ifr.ifr_hwaddr.sa_data, 6);
}

// Read all pending packets; return the number of NAs for the target.
static long ns_drain(struct ns_ctx *c, uint64_t *t_last) {
  long n = 0;
  uint8_t buf[1500];
  for (;;) {
    ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      return n;
    }
    if (r >= 24 && buf[0] == ND_NEIGHBOR_ADVERT && memcmp(buf + 8, &c->target, 16) == 0) {
      n++;
      if (t_last) *t_last = now_ns();
    }
  }
}

static int cmd_ns_probe(struct opts *o) {
  struct ns_ctx c;
  ns_open(&c, o);
  int count = (int)opt_num(o, "--count", 1);
  double gap_us = opt_num(o, "--gap-us", 2000);
  double timeout_ms = opt_num(o, "--timeout-ms", 1000);
  double *rtt = calloc((size_t)count, sizeof *rtt);
  int got = 0;
  for (int i = 0; i < count; i++) {
    ns_drain(&c, NULL);
    uint64_t t0 = now_ns(), t1 = 0;
    if (sendto(c.fd, c.pkt, sizeof c.pkt, 0, (struct sockaddr *)&c.group, sizeof c.group) < 0)
      die("sendto");
    uint64_t deadline = t0 + (uint64_t)(timeout_ms * 1e6);
    while (!t1) {
      uint64_t now = now_ns();
      if (now >= deadline) break;
      struct pollfd p = {.fd = c.fd, .events = POLLIN};
      int left = (int)((deadline - now) / 1000000) + 1;
      if (poll(&p, 1, left) > 0) ns_drain(&c, &t1);
    }
    if (t1) rtt[got++] = (double)(t1 - t0) / 1e3;
    if (gap_us > 0 && i + 1 < count) sleep_us((uint64_t)gap_us);
  }
  printf("{\"sent\": %d, \"received\": %d, \"rtt_us\": [", count, got);
  for (int i = 0; i < got; i++) printf("%s%.1f", i ? ", " : "", rtt[i]);
  printf("]}\n");
  return got == count ? 0 : 1;
}

static int cmd_flood(struct opts *o) {
  struct ns_ctx c;
  ns_open(&c, o);
  double rate = opt_num(o, "--rate", 1000);
  double duration = opt_num(o, "--duration", 2);
  double settle_ms = opt_num(o, "--settle-ms", 1000);
  // --random 1: each NS for another target, the last 32 bits of --target random (a scan of the
  // prefix), each to its own solicited-node group.
  int random_targets = opt_num(o, "--random", 0) != 0;
  enum { BATCH = 64 };
  struct mmsghdr msgs[BATCH];
  static uint8_t pkts[BATCH][sizeof c.pkt];
  static struct sockaddr_in6 groups[BATCH];
  struct iovec iovs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    memcpy(pkts[i], c.pkt, sizeof c.pkt);
    groups[i] = c.group;
    iovs[i].iov_base = random_targets ? pkts[i] : c.pkt;
    iovs[i].iov_len = sizeof c.pkt;
    msgs[i].msg_hdr.msg_name = random_targets ? &groups[i] : &c.group;
    msgs[i].msg_hdr.msg_namelen = sizeof c.group;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint32_t seed = 4861;
  long sent = 0, received = 0, send_errors = 0;
  long total = (long)(rate * duration);
  uint64_t t0 = now_ns(), end = t0 + (uint64_t)(duration * 1e9);
  while (sent < total) {
    uint64_t now = now_ns();
    if (now > end + 1000000000ULL) break;  // could not keep up: stop anyway
    long due = (long)((double)(now - t0) / 1e9 * rate) + 1;
    if (due > total) due = total;
    while (sent < due && now_ns() <= end + 1000000000ULL) {
      int k = (int)(due - sent > BATCH ? BATCH : due - sent);
      for (int i = 0; random_targets && i < k; i++) {
        seed = seed * 1664525u + 1013904223u;  // the same sequence on every run
        uint8_t low[4] = {(uint8_t)(seed >> 24), (uint8_t)(seed >> 16), (uint8_t)(seed >> 8),
                          (uint8_t)seed};
        memcpy(pkts[i] + 8 + 12, low, 4);
        memcpy(groups[i].sin6_addr.s6_addr + 13, low + 1, 3);
      }
      int r = sendmmsg(c.fd, msgs, (unsigned)k, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        send_errors++;
        if (errno == ENOBUFS || errno == EAGAIN) {
          sleep_us(100);
          continue;
        }
        die("sendmmsg");
      }
      sent += r;
    }
    received += ns_drain(&c, NULL);
    // Sleep until the next packet is due (at most 1 ms).
    uint64_t next = t0 + (uint64_t)((double)(sent) / rate * 1e9);
    uint64_t t = now_ns();
    if (next > t) sleep_us((next - t) / 1000 > 1000 ? 1000 : (next - t) / 1000);
  }
  uint64_t t_sent = now_ns();
  uint64_t settle_end = t_sent + (uint64_t)(settle_ms * 1e6);
  while (now_ns() < settle_end) {
    struct pollfd p = {.fd = c.fd, .events = POLLIN};
    poll(&p, 1, 20);
    received += ns_drain(&c, NULL);
  }
  double secs = (double)(t_sent - t0) / 1e9;
  // Our own CPU time includes the receive path on the far side of the veth: veth hands the
  // packet over inside our send, and the softirq that processes it runs in our context.
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double self_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  printf("{\"rate\": %.0f, \"asked\": %ld, \"duration_s\": %.3f, \"sent\": %ld, "
         "\"achieved_rate\": %.0f, \"received\": %ld, \"answered\": %.4f, "
         "\"answered_of_asked\": %.4f, \"send_errors\": %ld, \"sender_cpu_ms\": %.1f}\n",
         rate, total, secs, sent, secs > 0 ? (double)sent / secs : 0.0, received,
         sent ? (double)received / (double)sent : 0.0,
         total ? (double)received / (double)total : 0.0, send_errors, self_ms);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rusage

static int cmd_rusage(struct opts *o) {
  if (!o->cmd || !o->cmd[0]) {
    errno = 0;
    die("rusage: need -- CMD");
  }
  uint64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1);
    execvp(o->cmd[0], o->cmd);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) die("wait4");
  uint64_t t1 = now_ns();
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("{\"rc\": %d, \"wall_ms\": %.3f, \"user_ms\": %.3f, \"sys_ms\": %.3f, \"cpu_ms\": %.3f, "
         "\"maxrss_kb\": %ld}\n",
         rc, (double)(t1 - t0) / 1e6, ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3,
         ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3,
         (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
             (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3,
         ru.ru_maxrss);
  return rc;
}

// ---------------------------------------------------------------------------------------------
// UDP forwarding throughput

static int cmd_udp_sink(struct opts *o) {
  int port = (int)opt_num(o, "--port", 9999);
  double idle_ms = opt_num(o, "--idle-ms", 500);
  double max_s = opt_num(o, "--max-s", 30);
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int buf = 32 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                            .sin6_addr = in6addr_any};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  fprintf(stderr, "ready\n");
  enum { BATCH = 64 };
  static char bufs[BATCH][2048];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = sizeof bufs[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long count = 0;
  uint64_t t_first = 0, t_last = 0, start = now_ns();
  for (;;) {
    uint64_t now = now_ns();
    if ((double)(now - start) / 1e9 > max_s) break;
    if (t_first && (double)(now - t_last) / 1e6 > idle_ms) break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0) continue;
    int r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (r <= 0) continue;
    t_last = now_ns();
    if (!t_first) t_first = t_last;
    count += r;
  }
  double span = t_first ? (double)(t_last - t_first) / 1e9 : 0;
  printf("{\"received\": %ld, \"span_s\": %.3f, \"pps\": %.0f}\n", count, span,
         span > 0 ? (double)count / span : 0.0);
  return 0;
}

static int cmd_udp_blast(struct opts *o) {
  struct in6_addr dst = parse_addr(opt_req(o, "--dst"));
  int port = (int)opt_num(o, "--port", 9999);
  double duration = opt_num(o, "--duration", 2);
  int size = (int)opt_num(o, "--size", 64);
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                            .sin6_addr = dst};
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
  enum { BATCH = 32 };
  static char payload[1500];
  struct iovec iov = {.iov_base = payload, .iov_len = (size_t)size};
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    msgs[i].msg_hdr.msg_iov = &iov;
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long sent = 0, errors = 0;
  uint64_t t0 = now_ns(), end = t0 + (uint64_t)(duration * 1e9);
  while (now_ns() < end) {
    int r = sendmmsg(fd, msgs, BATCH, 0);
    if (r < 0) {
      errors++;
      if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) {
        sleep_us(50);
        continue;
      }
      die("sendmmsg");
    }
    sent += r;
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  printf("{\"sent\": %ld, \"duration_s\": %.3f, \"pps\": %.0f, \"errors\": %ld}\n", sent, secs,
         (double)sent / secs, errors);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: ndpbench count|converge|latency|ns-probe|flood|rusage|udp-sink|"
                    "udp-blast [OPTIONS] (see the comment at the top of bench/ndpbench.c)\n");
    return 2;
  }
  struct opts o = parse_opts(argc - 2, argv + 2);
  const char *c = argv[1];
  if (!strcmp(c, "count")) return cmd_count(&o);
  if (!strcmp(c, "converge")) return cmd_converge(&o);
  if (!strcmp(c, "latency")) return cmd_latency(&o);
  if (!strcmp(c, "proxy-add")) return cmd_proxy_add(&o);
  if (!strcmp(c, "ns-probe")) return cmd_ns_probe(&o);
  if (!strcmp(c, "flood")) return cmd_flood(&o);
  if (!strcmp(c, "rusage")) return cmd_rusage(&o);
  if (!strcmp(c, "udp-sink")) return cmd_udp_sink(&o);
  if (!strcmp(c, "udp-blast")) return cmd_udp_blast(&o);
  fprintf(stderr, "ndpbench: unknown command %s\n", c);
  return 2;
}
