/* net-t.c - tests for src/net.c: the failure class of each way a
 * connection cannot be made (a closed port, an unknown service, a bad
 * source_ip, a socket path too long or absent), the descriptor a
 * successful one hands out, waits and deadlines, and Happy Eyeballs
 * (RFC 8305) raced against listeners on ::1 and 127.0.0.1 that refuse,
 * accept or stall. */
#include "config.h"

#include "net.h"

#include "tap/basic.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 3000

/* A TCP socket on 127.0.0.1, an unused port; listening or not. */
static int
local_socket(bool listening, char port[16])
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || (listening && listen(fd, 1) < 0))
		bail("cannot set up a local socket");
	snprintf(port, 16, "%u", ntohs(sa.sin_port));
	return fd;
}

static void
test_refusals(void)
{
	static const struct {
		const char *what, *host, *port, *source_ip;
		enum status status;
	} cases[] = {
		{"an unknown service name", "127.0.0.1", "no-such-service-outbox", NULL, ST_CONFIG},
		{"a source_ip that is no address", "127.0.0.1", "25", "not-an-address", ST_CONFIG},
		{"a source_ip of the other family", "127.0.0.1", "25", "::1", ST_CONFIG},
		{"an unresolvable host", "no-such-host.invalid", "25", NULL, ST_CONNECT},
	};
	struct error e;
	char port[16];
	int fd = local_socket(false, port);

	/* Bound but not listening: nothing accepts on this port. */
	error_clear(&e);
	is_int(-1, net_connect("127.0.0.1", port, NULL, TIMEOUT_MS, &e), "closed port: refused");
	is_int(ST_CONNECT, e.status, "closed port: a connectivity failure (%s)", e.msg);
	close(fd);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		error_clear(&e);
		is_int(-1,
		       net_connect(cases[i].host, cases[i].port, cases[i].source_ip, TIMEOUT_MS,
				   &e),
		       "%s: refused", cases[i].what);
		is_int(cases[i].status, e.status, "%s: its class (%s)", cases[i].what, e.msg);
	}
}

static void
test_connected(void)
{
	struct error e;
	char port[16];
	int listener = local_socket(true, port);
	int fd;

	error_clear(&e);
	fd = net_connect("127.0.0.1", port, "127.0.0.1", TIMEOUT_MS, &e);
	ok(fd >= 0, "a listening port: connected (%s)", e.msg);
	if (fd >= 0) {
		ok(fcntl(fd, F_GETFL) & O_NONBLOCK, "the descriptor is non-blocking");
		ok(fcntl(fd, F_GETFD) & FD_CLOEXEC, "the descriptor is close-on-exec");
		is_int(1, net_wait(fd, POLLOUT, TIMEOUT_MS), "it is ready for writing");
		is_int(0, net_send_all(fd, "hello", 5, TIMEOUT_MS), "net_send_all sends");
		close(fd);
	}
	close(listener);
}

static void
test_unix(void)
{
	char long_path[sizeof((struct sockaddr_un *)0)->sun_path + 8];
	struct error e;

	memset(long_path, 'a', sizeof long_path - 1);
	long_path[sizeof long_path - 1] = '\0';
	error_clear(&e);
	is_int(-1, net_connect_unix(long_path, TIMEOUT_MS, &e), "socket path too long: refused");
	is_int(ST_CONFIG, e.status, "socket path too long: a configuration error (%s)", e.msg);
	error_clear(&e);
	is_int(-1, net_connect_unix("/nonexistent/outbox.sock", TIMEOUT_MS, &e),
	       "absent socket: refused");
	is_int(ST_CONNECT, e.status, "absent socket: a connectivity failure (%s)", e.msg);
}

static void
test_waits(void)
{
	int sv[2];
	int64_t d;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		bail("socketpair failed");
	is_int(0, net_wait(sv[0], POLLIN, 20), "nothing to read: the wait times out");
	if (write(sv[1], "x", 1) != 1)
		bail("write failed");
	is_int(1, net_wait(sv[0], POLLIN, 20), "something to read: ready");
	close(sv[1]);
	close(sv[0]);
	is_int(-1, net_remaining(net_deadline(-1)), "a negative timeout: no limit");
	is_int(0, net_remaining(net_deadline(0)), "a zero timeout: already passed");
	d = net_deadline(60000);
	ok(net_remaining(d) > 50000 && net_remaining(d) <= 60000,
	   "a minute from now: about 60 s left");
}

/* ------------------------------------------------------ Happy Eyeballs --- */

/* One address of a list handed to net_connect_addresses(). */
struct fake_ai {
	struct addrinfo ai;
	struct sockaddr_storage ss;
};

static void
fake_address(struct fake_ai *f, int family, unsigned port, struct fake_ai *next)
{
	memset(f, 0, sizeof *f);
	f->ai.ai_family = family;
	f->ai.ai_socktype = SOCK_STREAM;
	f->ai.ai_addr = (struct sockaddr *)&f->ss;
	f->ai.ai_next = next ? &next->ai : NULL;
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&f->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons((uint16_t)port);
		f->ai.ai_addrlen = sizeof *sin6;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&f->ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons((uint16_t)port);
		f->ai.ai_addrlen = sizeof *sin;
	}
}

/* A socket on the loopback address of family, bound to port (0: any);
 * listening with backlog, or not listening (-1): connections to it are
 * refused.  -1 when the family is not available here. */
static int
loopback_socket(int family, unsigned *port, int backlog)
{
	struct fake_ai f;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	fake_address(&f, family, *port, NULL);
	if (fd < 0)
		return -1;
	if (bind(fd, f.ai.ai_addr, f.ai.ai_addrlen) < 0 ||
	    (backlog >= 0 && listen(fd, backlog) < 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					 : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Whether a non-blocking connect to f completes within ms; the socket is
 * kept in *fd (-1 if none could be made). */
static bool
connects_within(const struct fake_ai *f, int ms, int *fd)
{
	struct pollfd p;

	*fd = socket(f->ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return false;
	if (connect(*fd, f->ai.ai_addr, f->ai.ai_addrlen) == 0)
		return true;
	p = (struct pollfd){.fd = *fd, .events = POLLOUT};
	return poll(&p, 1, ms) == 1;
}

#define STALL_FILLERS 8

/* A listener on ::1 whose accept queue is full (backlog 0, connections
 * never accepted), so that the SYN of one more connection is dropped and
 * its connect() stalls.  Returns the listener, the fillers in fill[]
 * (-1 where unused), or -1 when no stall can be made here. */
static int
stalling_listener(unsigned *port, int fill[STALL_FILLERS + 1])
{
	struct fake_ai f;
	int fd;

	*port = 0;
	for (int i = 0; i <= STALL_FILLERS; i++)
		fill[i] = -1;
	fd = loopback_socket(AF_INET6, port, 0);
	if (fd < 0)
		return -1;
	fake_address(&f, AF_INET6, *port, NULL);
	for (int i = 0; i <= STALL_FILLERS; i++)
		if (!connects_within(&f, 200, &fill[i]))
			return i < STALL_FILLERS ? fd : -1;
	close(fd);
	return -1;
}

static int
peer_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	return ss.ss_family;
}

static long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static int
open_descriptors(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

enum listen_mode { REFUSES, LISTENS };

/* Races a list of two addresses: first of family first_family, then the
 * other, each on a listener that accepts or refuses.  Returns the family
 * of the winner (-1: none), the error in *e. */
static int
race_pair(int first_family, enum listen_mode first, enum listen_mode second, const char *source_ip,
	  struct error *e)
{
	int second_family = first_family == AF_INET6 ? AF_INET : AF_INET6;
	unsigned p1 = 0, p2 = 0;
	int l1 = loopback_socket(first_family, &p1, first == LISTENS ? 8 : -1);
	int l2 = loopback_socket(second_family, &p2, second == LISTENS ? 8 : -1);
	struct fake_ai a1, a2;
	int fd, family = -1;

	if (l1 < 0 || l2 < 0)
		bail("cannot bind sockets on ::1 and 127.0.0.1");
	fake_address(&a2, second_family, p2, NULL);
	fake_address(&a1, first_family, p1, &a2);
	error_clear(e);
	fd = net_connect_addresses(&a1.ai, "dual.example", "25", source_ip, TIMEOUT_MS, e);
	if (fd >= 0) {
		family = peer_family(fd);
		close(fd);
	}
	close(l1);
	close(l2);
	return family;
}

static void
test_happy_eyeballs_choice(void)
{
	struct error e;
	int before = open_descriptors();

	is_int(AF_INET, race_pair(AF_INET6, REFUSES, LISTENS, NULL, &e),
	       "IPv6 refused, IPv4 listens: IPv4 is used (%s)", e.msg);
	is_int(AF_INET6, race_pair(AF_INET, REFUSES, LISTENS, NULL, &e),
	       "IPv4 refused, IPv6 listens: IPv6 is used (%s)", e.msg);
	is_int(AF_INET6, race_pair(AF_INET, LISTENS, LISTENS, NULL, &e),
	       "both listen, the resolver lists IPv4 first: IPv6 is tried first and wins");
	is_int(AF_INET, race_pair(AF_INET6, LISTENS, LISTENS, "127.0.0.1", &e),
	       "source_ip 127.0.0.1: only IPv4 is tried (%s)", e.msg);
	is_int(-1, race_pair(AF_INET6, REFUSES, REFUSES, NULL, &e), "both refuse: no connection");
	ok(e.status == ST_CONNECT && strstr(e.msg, "dual.example port 25") &&
		   strstr(e.msg, strerror(ECONNREFUSED)),
	   "both refuse: a connectivity failure naming the host and the refusal (%s)", e.msg);
	is_int(before, open_descriptors(), "no descriptor is left open");
}

static void
test_happy_eyeballs_stall(void)
{
	int fill[STALL_FILLERS + 1], before, fd, stall, v4;
	unsigned p6, p4 = 0;
	struct fake_ai a6, a4;
	struct timespec start;
	struct error e;
	long ms;

	stall = stalling_listener(&p6, fill);
	if (stall < 0) {
		skip("a full accept queue on ::1 does not stall connections here");
		return;
	}
	v4 = loopback_socket(AF_INET, &p4, 8);
	if (v4 < 0)
		bail("cannot listen on 127.0.0.1");
	fake_address(&a4, AF_INET, p4, NULL);
	fake_address(&a6, AF_INET6, p6, &a4);
	before = open_descriptors();
	error_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &start);
	fd = net_connect_addresses(&a6.ai, "dual.example", "25", NULL, 2 * TIMEOUT_MS, &e);
	ms = elapsed_ms(&start);
	is_int(AF_INET, fd >= 0 ? peer_family(fd) : -1, "IPv6 stalls, IPv4 listens: IPv4 wins (%s)",
	       e.msg);
	ok(ms >= 200 && ms < TIMEOUT_MS,
	   "... after the 250 ms delay, well within the timeout (%ld ms)", ms);
	if (fd >= 0)
		close(fd);
	is_int(before, open_descriptors(), "... and the stalled IPv6 attempt is closed");

	a6.ai.ai_next = NULL;
	error_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &start);
	fd = net_connect_addresses(&a6.ai, "dual.example", "25", NULL, 1000, &e);
	ms = elapsed_ms(&start);
	ok(fd < 0 && e.status == ST_CONNECT && strstr(e.msg, "timed out after 1 s"),
	   "IPv6 alone stalls: it times out (%s)", e.msg);
	ok(ms >= 900 && ms < 3000, "... at the timeout (%ld ms)", ms);
	if (fd >= 0)
		close(fd);
	close(v4);
	close(stall);
	for (int i = 0; i <= STALL_FILLERS; i++)
		if (fill[i] >= 0)
			close(fill[i]);
}

int
main(void)
{
	plan_lazy();
	test_refusals();
	test_connected();
	test_unix();
	test_waits();
	test_happy_eyeballs_choice();
	test_happy_eyeballs_stall();
	return 0;
}
