/* watch.c - `outbox --watch`: a routing-netlink listener that calls back
 * when the network comes up, debounced, plus once at start and
 * periodically.  Untrusted data: netlink datagrams.  Only those sent by the
 * kernel (port id 0) are read, and every message and attribute length is
 * checked with NLMSG_OK/RTA_OK and against the size its type needs before
 * a field is used. */
#include "config.h"

#include "watch.h"

#include "i18n.h"
#include "net.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Every network namespace's loopback device has this index (the kernel's
 * LOOPBACK_IFINDEX); addresses and routes on it say nothing about the
 * outside world. */
#define LOOPBACK_IFINDEX 1

/* A burst that never goes quiet is still called back after this many
 * debounce times, so a chatty interface cannot postpone a flush forever. */
#define BURST_MAX_DEBOUNCES 5

/* One receive: routing notifications are a few hundred bytes each. */
#define RECV_MAX 32768

/* Asked of the kernel so that a burst (many interfaces, a full IPv6
 * table) does not overrun the socket; an overrun is survivable anyway. */
#define RCVBUF_WANTED (1 << 20)

enum key_kind { KEY_LINK = 1, KEY_ADDR, KEY_ROUTE };

/* ---------------------------------------------------- what is known --- */

/* Field by field: padding bytes are not reliably copied or zeroed. */
static bool
key_equal(const struct watch_key *a, const struct watch_key *b)
{
	return a->kind == b->kind && a->family == b->family && a->prefixlen == b->prefixlen &&
	       a->ifindex == b->ifindex && a->table == b->table &&
	       memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

static size_t
seen_find(const struct watch_seen *seen, const struct watch_key *k)
{
	for (size_t i = 0; i < seen->n; i++)
		if (key_equal(&seen->keys[i], k))
			return i;
	return SIZE_MAX;
}

/* True when k is news. */
static bool
seen_add(struct watch_seen *seen, const struct watch_key *k)
{
	if (seen_find(seen, k) != SIZE_MAX)
		return false;
	if (seen->n < WATCH_SEEN_MAX) {
		seen->keys[seen->n++] = *k;
	} else {
		seen->keys[seen->next] = *k;
		seen->next = (seen->next + 1) % WATCH_SEEN_MAX;
	}
	return true;
}

static void
seen_remove_at(struct watch_seen *seen, size_t i)
{
	seen->keys[i] = seen->keys[--seen->n];
}

static void
seen_remove(struct watch_seen *seen, const struct watch_key *k)
{
	size_t i = seen_find(seen, k);

	if (i != SIZE_MAX)
		seen_remove_at(seen, i);
}

/* A link that stopped: whatever it had must be news again when it is back. */
static void
seen_forget_ifindex(struct watch_seen *seen, int ifindex)
{
	size_t i = 0;

	while (i < seen->n) {
		if (seen->keys[i].ifindex == ifindex)
			seen_remove_at(seen, i);
		else
			i++;
	}
}

/* ------------------------------------------------------- messages --- */

/* The payload of the first attribute of type in the message whose fixed
 * header is hdrsize bytes, if that payload is exactly size bytes. */
static const void *
attr_get(const struct nlmsghdr *h, size_t hdrsize, unsigned short type, size_t size)
{
	int len = (int)h->nlmsg_len - (int)NLMSG_SPACE(hdrsize);
	const struct rtattr *a = (const struct rtattr *)((const char *)h + NLMSG_SPACE(hdrsize));

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == type)
			return RTA_PAYLOAD(a) == size ? RTA_DATA(a) : NULL;
	return NULL;
}

/* A 32-bit attribute, or dflt when it is absent or the wrong size. */
static uint32_t
attr_u32(const struct nlmsghdr *h, size_t hdrsize, unsigned short type, uint32_t dflt)
{
	const void *p = attr_get(h, hdrsize, type, sizeof(uint32_t));
	uint32_t v;

	if (p == NULL)
		return dflt;
	memcpy(&v, p, sizeof v);
	return v;
}

static size_t
family_addr_len(unsigned char family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

static bool
on_link(struct watch_seen *seen, const struct nlmsghdr *h, bool added)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	const unsigned running = IFF_RUNNING | IFF_LOWER_UP;
	struct watch_key k = {.kind = KEY_LINK, .ifindex = ifi->ifi_index};

	if ((ifi->ifi_flags & IFF_LOOPBACK) || ifi->ifi_index <= 0)
		return false;
	if (!added || (ifi->ifi_flags & running) != running) {
		seen_forget_ifindex(seen, ifi->ifi_index);
		return false;
	}
	return seen_add(seen, &k);
}

static bool
on_addr(struct watch_seen *seen, const struct nlmsghdr *h, bool added)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	size_t alen = family_addr_len(ifa->ifa_family);
	uint32_t flags = attr_u32(h, sizeof *ifa, IFA_FLAGS, ifa->ifa_flags);
	struct watch_key k;
	const void *addr;

	if (alen == 0 || ifa->ifa_scope != RT_SCOPE_UNIVERSE || ifa->ifa_index == LOOPBACK_IFINDEX)
		return false;
	/* IFA_LOCAL is this end of a point-to-point link; IFA_ADDRESS the peer. */
	addr = attr_get(h, sizeof *ifa, IFA_LOCAL, alen);
	if (addr == NULL)
		addr = attr_get(h, sizeof *ifa, IFA_ADDRESS, alen);
	if (addr == NULL)
		return false;
	memset(&k, 0, sizeof k);
	k.kind = KEY_ADDR;
	k.family = ifa->ifa_family;
	k.prefixlen = ifa->ifa_prefixlen;
	k.ifindex = (int)ifa->ifa_index;
	memcpy(k.addr, addr, alen);
	if (!added) {
		seen_remove(seen, &k);
		return false;
	}
	/* Not usable yet: IPv6 duplicate address detection still running or
	 * failed.  The kernel reports the address again when it is ready. */
	if (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED))
		return false;
	return seen_add(seen, &k);
}

static bool
on_route(struct watch_seen *seen, const struct nlmsghdr *h, bool added)
{
	const struct rtmsg *rtm = NLMSG_DATA(h);
	size_t alen = family_addr_len(rtm->rtm_family);
	const void *gw;
	struct watch_key k;

	if (alen == 0 || rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
		return false;
	memset(&k, 0, sizeof k);
	k.kind = KEY_ROUTE;
	k.family = rtm->rtm_family;
	/* RTA_TABLE carries table ids above 255, which rtm_table cannot. */
	k.table = attr_u32(h, sizeof *rtm, RTA_TABLE, rtm->rtm_table);
	k.ifindex = (int)attr_u32(h, sizeof *rtm, RTA_OIF, 0);
	if (k.table != RT_TABLE_MAIN || k.ifindex == LOOPBACK_IFINDEX)
		return false;
	gw = attr_get(h, sizeof *rtm, RTA_GATEWAY, alen);
	if (gw != NULL)
		memcpy(k.addr, gw, alen);
	if (!added) {
		seen_remove(seen, &k);
		return false;
	}
	return seen_add(seen, &k);
}

static const struct {
	unsigned short type;
	size_t hdrsize;
	bool (*handle)(struct watch_seen *seen, const struct nlmsghdr *h, bool added);
	bool added;
} handlers[] = {
	{RTM_NEWLINK, sizeof(struct ifinfomsg), on_link, true},
	{RTM_DELLINK, sizeof(struct ifinfomsg), on_link, false},
	{RTM_NEWADDR, sizeof(struct ifaddrmsg), on_addr, true},
	{RTM_DELADDR, sizeof(struct ifaddrmsg), on_addr, false},
	{RTM_NEWROUTE, sizeof(struct rtmsg), on_route, true},
	{RTM_DELROUTE, sizeof(struct rtmsg), on_route, false},
};

bool
watch_parse(struct watch_seen *seen, const void *buf, size_t len)
{
	const struct nlmsghdr *h = buf;
	int left = len > RECV_MAX ? RECV_MAX : (int)len;
	bool up = false;

	for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
			if (handlers[i].type != h->nlmsg_type)
				continue;
			if (h->nlmsg_len >= NLMSG_LENGTH(handlers[i].hdrsize) &&
			    handlers[i].handle(seen, h, handlers[i].added))
				up = true;
			break;
		}
	}
	return up;
}

/* ---------------------------------------------------------- socket --- */

static int
watch_open(struct error *e)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			     RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
	};
	int rcvbuf = RCVBUF_WANTED;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		error_set(e, ST_OSERR,
			  _("cannot listen for network changes (routing netlink): %s; "
			    "flush with 'outbox -q' from a timer instead"),
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Best effort: without it the default buffer and overrun handling do. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	return fd;
}

/* Reads every datagram waiting.  Returns 1 when one of them reported the
 * network coming up, or events were lost (an overrun: anything may have
 * changed, and what is known may be stale), 0 otherwise, -1 with errno
 * set on failure. */
static int
watch_drain(int fd, struct watch_seen *seen)
{
	union {
		struct nlmsghdr align;
		char data[RECV_MAX];
	} buf;
	bool up = false;

	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = {.iov_base = buf.data, .iov_len = sizeof buf.data};
		struct msghdr m = {.msg_name = &from,
				   .msg_namelen = sizeof from,
				   .msg_iov = &iov,
				   .msg_iovlen = 1};
		ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return up;
			if (errno != ENOBUFS)
				return -1;
			memset(seen, 0, sizeof *seen);
			up = true;
			continue;
		}
		/* Only the kernel speaks on this socket; another process can
		 * send to it directly. */
		if (m.msg_namelen != sizeof from || from.nl_pid != 0)
			continue;
		if (m.msg_flags & MSG_TRUNC) {
			memset(seen, 0, sizeof *seen);
			up = true;
			continue;
		}
		if (watch_parse(seen, buf.data, (size_t)n))
			up = true;
	}
}

/* --------------------------------------------------------- signals --- */

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	stop_requested = sig;
}

static const int stop_signals[] = {SIGTERM, SIGINT};
#define NSTOP (sizeof stop_signals / sizeof stop_signals[0])

struct signal_state {
	sigset_t caller_mask;
	struct sigaction caller_action[NSTOP];
	sigset_t wait_mask; /* in force only inside ppoll */
	sigset_t stop_mask; /* the stop signals */
};

/* Blocks the stop signals and catches them; ppoll with wait_mask is then
 * the one place where they are delivered. */
static void
signals_catch(struct signal_state *s)
{
	struct sigaction sa;
	sigset_t block;

	sigemptyset(&block);
	for (size_t i = 0; i < NSTOP; i++)
		sigaddset(&block, stop_signals[i]);
	s->stop_mask = block;
	sigprocmask(SIG_BLOCK, &block, &s->caller_mask);
	s->wait_mask = s->caller_mask;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART; /* reads and writes of a flush go on */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSTOP; i++) {
		sigdelset(&s->wait_mask, stop_signals[i]);
		sigaction(stop_signals[i], &sa, &s->caller_action[i]);
	}
}

static void
signals_restore(const struct signal_state *s)
{
	for (size_t i = 0; i < NSTOP; i++)
		sigaction(stop_signals[i], &s->caller_action[i], NULL);
	sigprocmask(SIG_SETMASK, &s->caller_mask, NULL);
}

/* ------------------------------------------------------------ loop --- */

static int64_t
earliest(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int
watch_run(const struct watch_params *p, int (*on_network_up)(void *ctx, struct error *e), void *ctx,
	  struct error *e)
{
	struct watch_seen seen = {.n = 0};
	struct signal_state sig;
	const int64_t never = net_deadline(-1);
	const int64_t end = net_deadline(p->max_wait_ms);
	int64_t periodic_due = net_deadline(0); /* the start-up call */
	int64_t burst_due = never, burst_cap = never;
	int fd = watch_open(e);
	int rc = 0;

	if (fd < 0)
		return -1;
	stop_requested = 0;
	signals_catch(&sig);
	while (!stop_requested) {
		int64_t now = net_deadline(0);
		int timeout;
		struct timespec ts, *tsp = NULL;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n;

		if (now >= end)
			break;
		if (now >= periodic_due || now >= burst_due) {
			burst_due = burst_cap = never;
			/* A stop signal during the flush is caught, not fatal: the
			 * flush ends (no message cut off mid-transaction), then the
			 * loop does.  Unblocked meanwhile, so commands the flush
			 * runs inherit the caller's mask. */
			sigprocmask(SIG_SETMASK, &sig.caller_mask, NULL);
			rc = on_network_up(ctx, e) < 0 ? -1 : 0;
			sigprocmask(SIG_BLOCK, &sig.stop_mask, NULL);
			if (rc < 0)
				break;
			periodic_due = p->interval_ms > 0 ? net_deadline(p->interval_ms) : never;
			continue;
		}
		timeout = net_remaining(earliest(end, earliest(periodic_due, burst_due)));
		if (timeout >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000;
			tsp = &ts;
		}
		n = ppoll(&pfd, 1, tsp, &sig.wait_mask);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			n = watch_drain(fd, &seen);
		if (n < 0) {
			rc = error_set(e, ST_OSERR,
				       _("cannot read network changes (routing netlink): %s; "
					 "flush with 'outbox -q' from a timer instead"),
				       strerror(errno));
			break;
		}
		if (n > 0) {
			now = net_deadline(0);
			if (burst_cap == never)
				burst_cap = now + (int64_t)BURST_MAX_DEBOUNCES * p->debounce_ms;
			burst_due = earliest(now + p->debounce_ms, burst_cap);
		}
	}
	signals_restore(&sig);
	close(fd);
	return rc;
}
