/* net-t.c - tests for src/net.c: the failure class of each way a
 * connection cannot be made (a closed port, an unknown service, a bad
 * source_ip, a socket path too long or absent), the descriptor a
 * successful one hands out, waits and deadlines. */
#include "config.h"

#include "net.h"

#include "tap/basic.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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

int
main(void)
{
	plan_lazy();
	test_refusals();
	test_connected();
	test_unix();
	test_waits();
	return 0;
}
