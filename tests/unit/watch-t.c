/* watch-t.c - tests for src/watch.c: which routing-netlink datagrams mean
 * "the network came up" (a scenario table fed through watch_parse, plus
 * malformed and hostile datagrams), the bound on what is remembered, and
 * watch_run's start-up call, safety-net calls, callback errors and clean
 * end on SIGTERM.
 *
 * Run as `watch-t run DEBOUNCE_MS INTERVAL_MS MAX_WAIT_MS` it is instead
 * the driver tests/e2e/watch.t starts inside a network namespace: it runs
 * watch_run and prints "network-up N" each time the callback fires. */
#include "config.h"

#include "watch.h"

#include "lib.h"
#include "tap/basic.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNNING (IFF_UP | IFF_RUNNING | IFF_LOWER_UP)

/* ------------------------------------------------- building messages --- */

struct dgram {
	union {
		struct nlmsghdr align;
		char data[8192];
	} u;
	size_t len;
};

static struct nlmsghdr *
msg_add(struct dgram *d, unsigned short type, const void *hdr, size_t hdrsize)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(d->u.data + d->len);

	memset(h, 0, NLMSG_SPACE(hdrsize));
	h->nlmsg_len = NLMSG_LENGTH(hdrsize);
	h->nlmsg_type = type;
	memcpy(NLMSG_DATA(h), hdr, hdrsize);
	d->len += NLMSG_SPACE(hdrsize);
	return h;
}

static void
attr_add(struct dgram *d, struct nlmsghdr *h, unsigned short type, const void *data, size_t n)
{
	struct rtattr *a = (struct rtattr *)(d->u.data + d->len);

	memset(a, 0, RTA_SPACE(n));
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(n);
	memcpy(RTA_DATA(a), data, n);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_SPACE(n);
	d->len += RTA_SPACE(n);
}

static void
attr_u32_add(struct dgram *d, struct nlmsghdr *h, unsigned short type, uint32_t v)
{
	attr_add(d, h, type, &v, sizeof v);
}

/* Adds an address attribute from its text form; returns the family. */
static unsigned char
attr_addr_add(struct dgram *d, struct nlmsghdr *h, unsigned short type, const char *text)
{
	unsigned char a[16];
	int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(family, text, a) != 1)
		bail("bad test address %s", text);
	attr_add(d, h, type, a, family == AF_INET6 ? 16 : 4);
	return (unsigned char)family;
}

/* ------------------------------------------------------- scenarios --- */

/* One message.  Links use ifindex and flags; addresses ifindex, flags
 * (ifa_flags), scope, prefixlen and addr (IFA_LOCAL); routes dst_len,
 * table, rtype, ifindex (RTA_OIF when not 0), addr (RTA_GATEWAY when not
 * NULL) and table_attr (RTA_TABLE when not 0). */
struct step {
	const char *name;
	unsigned short type;
	int ifindex;
	unsigned flags;
	unsigned char scope;
	unsigned char prefixlen;
	const char *addr;
	unsigned char dst_len;
	unsigned char table;
	unsigned char rtype;
	uint32_t table_attr;
	bool want; /* given every step before it */
};

#define LINK(n, t, idx, fl, w)                                                                     \
	{                                                                                          \
		.name = n, .type = t, .ifindex = idx, .flags = fl, .want = w                       \
	}
#define ADDR(n, t, idx, fl, sc, a, w)                                                              \
	{                                                                                          \
		.name = n, .type = t, .ifindex = idx, .flags = fl, .scope = sc, .prefixlen = 24,   \
		.addr = a, .want = w                                                               \
	}
#define ROUTE(n, t, dl, tab, rt, oif, gw, w)                                                       \
	{                                                                                          \
		.name = n, .type = t, .dst_len = dl, .table = tab, .rtype = rt, .ifindex = oif,    \
		.addr = gw, .want = w                                                              \
	}

static const struct step steps[] = {
	LINK("eth0 up but no carrier yet", RTM_NEWLINK, 2, IFF_UP, false),
	LINK("eth0 gets carrier", RTM_NEWLINK, 2, RUNNING, true),
	LINK("eth0 reported again (stats, Wi-Fi scan)", RTM_NEWLINK, 2, RUNNING, false),
	LINK("lo comes up", RTM_NEWLINK, 1, RUNNING | IFF_LOOPBACK, false),
	ADDR("link-local address", RTM_NEWADDR, 2, 0, RT_SCOPE_LINK, "169.254.1.1", false),
	ADDR("host-scope address", RTM_NEWADDR, 2, 0, RT_SCOPE_HOST, "127.0.0.2", false),
	ADDR("global address on lo", RTM_NEWADDR, 1, 0, RT_SCOPE_UNIVERSE, "10.9.9.9", false),
	ADDR("global IPv4 address", RTM_NEWADDR, 2, 0, RT_SCOPE_UNIVERSE, "192.0.2.10", true),
	ADDR("same address renewed (DHCP)", RTM_NEWADDR, 2, 0, RT_SCOPE_UNIVERSE, "192.0.2.10",
	     false),
	ADDR("tentative IPv6 address", RTM_NEWADDR, 2, IFA_F_TENTATIVE, RT_SCOPE_UNIVERSE,
	     "2001:db8::10", false),
	ADDR("IPv6 address after DAD", RTM_NEWADDR, 2, 0, RT_SCOPE_UNIVERSE, "2001:db8::10", true),
	ADDR("IPv6 lifetime refresh", RTM_NEWADDR, 2, 0, RT_SCOPE_UNIVERSE, "2001:db8::10", false),
	ADDR("IPv6 address failed DAD", RTM_NEWADDR, 2, IFA_F_DADFAILED, RT_SCOPE_UNIVERSE,
	     "2001:db8::11", false),
	ADDR("address removed", RTM_DELADDR, 2, 0, RT_SCOPE_UNIVERSE, "192.0.2.10", false),
	ADDR("address back", RTM_NEWADDR, 2, 0, RT_SCOPE_UNIVERSE, "192.0.2.10", true),
	ROUTE("subnet route", RTM_NEWROUTE, 24, RT_TABLE_MAIN, RTN_UNICAST, 2, NULL, false),
	ROUTE("default route in table local", RTM_NEWROUTE, 0, RT_TABLE_LOCAL, RTN_UNICAST, 2,
	      "192.0.2.1", false),
	ROUTE("unreachable default route", RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNREACHABLE, 0, NULL,
	      false),
	ROUTE("default route via lo", RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 1, NULL, false),
	ROUTE("default route", RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 2, "192.0.2.1", true),
	ROUTE("same default route again", RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 2,
	      "192.0.2.1", false),
	ROUTE("default route through a new gateway", RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 2,
	      "192.0.2.254", true),
	ROUTE("IPv6 default route (router advertisement)", RTM_NEWROUTE, 0, RT_TABLE_MAIN,
	      RTN_UNICAST, 2, "fe80::1", true),
	ROUTE("default route deleted", RTM_DELROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 2, "192.0.2.1",
	      false),
	ROUTE("default route re-added", RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 2, "192.0.2.1",
	      true),
	{.name = "default route in table 1000 (RTA_TABLE)",
	 .type = RTM_NEWROUTE,
	 .table = RT_TABLE_COMPAT,
	 .rtype = RTN_UNICAST,
	 .ifindex = 2,
	 .table_attr = 1000,
	 .want = false},
	{.name = "RTA_TABLE main overrides rtm_table",
	 .type = RTM_NEWROUTE,
	 .table = RT_TABLE_COMPAT,
	 .rtype = RTN_UNICAST,
	 .ifindex = 3,
	 .table_attr = RT_TABLE_MAIN,
	 .want = true},
	LINK("eth0 loses carrier", RTM_NEWLINK, 2, IFF_UP, false),
	LINK("eth0 carrier back", RTM_NEWLINK, 2, RUNNING, true),
	ADDR("its address is news again", RTM_NEWADDR, 2, 0, RT_SCOPE_UNIVERSE, "192.0.2.10", true),
	ROUTE("its default route is news again", RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 2,
	      "192.0.2.1", true),
	LINK("wlan0 removed", RTM_DELLINK, 4, RUNNING, false),
	LINK("wlan0 created running", RTM_NEWLINK, 4, RUNNING, true),
	{.name = "NLMSG_ERROR", .type = NLMSG_ERROR, .want = false},
	{.name = "unknown message type", .type = RTM_NEWNEIGH, .want = false},
};

static void
step_build(struct dgram *d, const struct step *s)
{
	struct nlmsghdr *h;

	switch (s->type) {
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		struct ifinfomsg ifi = {.ifi_index = s->ifindex, .ifi_flags = s->flags};

		msg_add(d, s->type, &ifi, sizeof ifi);
		break;
	}
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		struct ifaddrmsg ifa = {.ifa_prefixlen = s->prefixlen,
					.ifa_flags = (unsigned char)s->flags,
					.ifa_scope = s->scope,
					.ifa_index = (unsigned)s->ifindex};
		struct ifaddrmsg *p;

		h = msg_add(d, s->type, &ifa, sizeof ifa);
		p = NLMSG_DATA(h);
		p->ifa_family = attr_addr_add(d, h, IFA_LOCAL, s->addr);
		break;
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		struct rtmsg rtm = {.rtm_family = AF_INET,
				    .rtm_dst_len = s->dst_len,
				    .rtm_table = s->table,
				    .rtm_type = s->rtype};
		struct rtmsg *p;

		h = msg_add(d, s->type, &rtm, sizeof rtm);
		p = NLMSG_DATA(h);
		if (s->ifindex != 0)
			attr_u32_add(d, h, RTA_OIF, (uint32_t)s->ifindex);
		if (s->table_attr != 0)
			attr_u32_add(d, h, RTA_TABLE, s->table_attr);
		if (s->addr != NULL)
			p->rtm_family = attr_addr_add(d, h, RTA_GATEWAY, s->addr);
		break;
	}
	default: {
		struct nlmsgerr err = {.error = 0};

		msg_add(d, s->type, &err, sizeof err);
		break;
	}
	}
}

static bool
parse_one(struct watch_seen *seen, const struct step *s)
{
	struct dgram d = {.len = 0};

	step_build(&d, s);
	return watch_parse(seen, d.u.data, d.len);
}

static void
test_scenario(void)
{
	struct watch_seen seen = {.n = 0};

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		is_int(steps[i].want, parse_one(&seen, &steps[i]), "%s", steps[i].name);
}

/* ------------------------------------------------- hostile datagrams --- */

static const struct step fresh_route =
	ROUTE("default route", RTM_NEWROUTE, 0, RT_TABLE_MAIN, RTN_UNICAST, 2, "192.0.2.1", true);
static const struct step fresh_link = LINK("eth0 running", RTM_NEWLINK, 2, RUNNING, true);

static void
damage_msg_long(struct dgram *d)
{
	d->u.align.nlmsg_len = (uint32_t)d->len + 4;
}

static void
damage_msg_short(struct dgram *d)
{
	d->u.align.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)) - 1;
}

static void
damage_dgram_short(struct dgram *d)
{
	d->len = sizeof(struct nlmsghdr) - 1;
}

static void
damage_attr_long(struct dgram *d)
{
	struct rtattr *a = (struct rtattr *)(d->u.data + NLMSG_SPACE(sizeof(struct rtmsg)));

	a->rta_len = 0xffff;
}

/* The gateway is the last attribute: make it 5 bytes instead of 4. */
static void
damage_attr_size(struct dgram *d)
{
	struct rtattr *a = (struct rtattr *)(d->u.data + d->len - RTA_SPACE(4));

	a->rta_len = RTA_LENGTH(5);
}

/* Damage done to a datagram holding fresh_route, and whether it still
 * reads as news.  Nothing outside the datagram is read (the sanitizer
 * build checks that); a damaged message is skipped, a damaged attribute is
 * treated as absent, and a default route without readable attributes is
 * still a default route of table main. */
static const struct {
	const char *name;
	void (*damage)(struct dgram *d);
	bool want;
} damages[] = {
	{"message length past the datagram", damage_msg_long, false},
	{"message length shorter than its header", damage_msg_short, false},
	{"datagram shorter than a netlink header", damage_dgram_short, false},
	{"attribute length past the message", damage_attr_long, true},
	{"gateway attribute of the wrong size", damage_attr_size, true},
};

static void
test_hostile(void)
{
	for (size_t i = 0; i < sizeof damages / sizeof damages[0]; i++) {
		struct watch_seen seen = {.n = 0};
		struct dgram d = {.len = 0};

		step_build(&d, &fresh_route);
		damages[i].damage(&d);
		is_int(damages[i].want, watch_parse(&seen, d.u.data, d.len), "%s", damages[i].name);
	}
}

static void
test_batches(void)
{
	struct watch_seen seen = {.n = 0};
	struct dgram d = {.len = 0};

	step_build(&d, &fresh_link);
	ok(watch_parse(&seen, d.u.data, d.len), "a running link alone is news");
	d.len = 0;
	step_build(&d, &fresh_link);
	step_build(&d, &fresh_route);
	ok(watch_parse(&seen, d.u.data, d.len), "news in the second message of a datagram counts");
	ok(!watch_parse(&seen, d.u.data, d.len), "the same datagram again is not news");
	ok(watch_parse(&seen, d.u.data, 0) == false, "an empty datagram is not news");
}

/* WATCH_SEEN_MAX addresses fill the table; one more evicts the oldest,
 * which is then news again (one spare call, never an unbounded table). */
static void
test_bound(void)
{
	struct watch_seen seen = {.n = 0};
	char text[32];
	bool all = true;

	for (int i = 0; i <= WATCH_SEEN_MAX; i++) {
		snprintf(text, sizeof text, "10.1.%d.%d", i / 250, i % 250 + 1);
		struct step s = ADDR("", RTM_NEWADDR, 2, 0, RT_SCOPE_UNIVERSE, text, true);

		all = parse_one(&seen, &s) && all;
	}
	ok(all, "%d distinct addresses are each news", WATCH_SEEN_MAX + 1);
	is_int(WATCH_SEEN_MAX, (long)seen.n, "what is remembered stays bounded");
	{
		struct step s = ADDR("", RTM_NEWADDR, 2, 0, RT_SCOPE_UNIVERSE, "10.1.0.1", true);
		struct step last = ADDR("", RTM_NEWADDR, 2, 0, RT_SCOPE_UNIVERSE, text, true);

		ok(!parse_one(&seen, &last), "the newest is still remembered");
		ok(parse_one(&seen, &s), "the oldest was forgotten");
	}
}

/* ------------------------------------------------------- watch_run --- */

struct calls {
	int n;
	int fail_at; /* return -1 on this call (1-based); 0: never */
	bool print;
	pid_t killer; /* set up by the first call: sends SIGTERM 100 ms later */
	bool start_killer;
};

static int
count_call(void *ctx, struct error *e)
{
	struct calls *c = ctx;

	c->n++;
	if (c->start_killer && c->n == 1) {
		pid_t parent = getpid();

		c->killer = fork();
		if (c->killer == 0) {
			usleep(100 * 1000);
			kill(parent, SIGTERM);
			_exit(0);
		}
	}
	if (c->print) {
		printf("network-up %d\n", c->n);
		fflush(stdout);
	}
	if (c->n == c->fail_at)
		return error_set(e, ST_SOFTWARE, "flush failed on call %d", c->n);
	return 0;
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static volatile sig_atomic_t caller_terms;

static void
count_term(int sig)
{
	caller_terms++;
}

static void
test_run(void)
{
	struct error e;
	struct calls c = {.n = 0};
	struct watch_params p = {.debounce_ms = 50, .interval_ms = 0, .max_wait_ms = 200};
	struct timespec t0;
	struct sigaction sa;
	sigset_t mask;
	int rc;

	rc = watch_run(&p, count_call, &c, &e);
	if (rc < 0 && e.status == ST_OSERR && c.n == 0) {
		diag("%s", e.msg);
		skip("watch_run: no routing netlink here");
		return;
	}
	is_int(0, rc, "watch_run returns 0 after max_wait_ms");
	is_int(1, c.n, "one start-up call, none without events or interval");

	c = (struct calls){.fail_at = 1};
	is_int(-1, watch_run(&p, count_call, &c, &e), "a failing callback stops watch_run");
	is_int(ST_SOFTWARE, e.status, "with the callback's error");
	is_string("flush failed on call 1", e.msg, "and its message");

	c = (struct calls){.n = 0};
	p = (struct watch_params){.debounce_ms = 50, .interval_ms = 100, .max_wait_ms = 450};
	is_int(0, watch_run(&p, count_call, &c, &e), "with a safety-net interval");
	ok(c.n >= 2 && c.n <= 6, "the interval brings calls: %d in 450 ms at 100 ms", c.n);

	/* The caller's own handler: it must be back afterwards, and it
	 * keeps a stray SIGTERM from ending the test. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = count_term;
	sigaction(SIGTERM, &sa, NULL);
	c = (struct calls){.start_killer = true};
	p = (struct watch_params){.debounce_ms = 50, .interval_ms = 0, .max_wait_ms = 20000};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = watch_run(&p, count_call, &c, &e);
	if (c.killer > 0)
		waitpid(c.killer, NULL, 0);
	is_int(0, rc, "SIGTERM ends watch_run with 0");
	ok(seconds_since(&t0) < 10, "promptly (%.1f s)", seconds_since(&t0));
	is_int(0, caller_terms, "watch_run caught it, not the caller's handler");
	sigaction(SIGTERM, NULL, &sa);
	ok(sa.sa_handler == count_term, "the caller's SIGTERM handler is back");
	sigprocmask(SIG_BLOCK, NULL, &mask);
	ok(!sigismember(&mask, SIGTERM) && !sigismember(&mask, SIGINT),
	   "SIGTERM and SIGINT are not left blocked");
}

/* ---------------------------------------------------------- driver --- */

static int
driver(char **argv)
{
	struct watch_params p;
	struct calls c = {.print = true};
	struct error e;
	long v[3];

	for (int i = 0; i < 3; i++) {
		if (parse_long(argv[i], -1, 24L * 3600 * 1000, &v[i]) < 0) {
			fprintf(stderr, "watch-t: bad number %s\n", argv[i]);
			return 2;
		}
	}
	p = (struct watch_params){
		.debounce_ms = (int)v[0], .interval_ms = (int)v[1], .max_wait_ms = (int)v[2]};
	if (watch_run(&p, count_call, &c, &e) < 0) {
		fprintf(stderr, "watch-t: %s\n", e.msg);
		return 1;
	}
	printf("stopped\n");
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "run") == 0)
		return driver(argv + 2);
	plan_lazy();
	test_scenario();
	test_hostile();
	test_batches();
	test_bound();
	test_run();
	return 0;
}
