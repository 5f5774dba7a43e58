/* socks-t.c - tests for src/socks.c: the method reply and the CONNECT
 * reply parsed byte by byte (every reply code named with its class, each
 * malformed field refused), the request sent for a name, an IDN name and
 * address literals, the bytes after the reply left in the socket, and the
 * one deadline of the handshake against a proxy that stalls, trickles or
 * closes. */
#include "config.h"

#include "socks.h"

#include "net.h"
#include "tap/basic.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 3000

static const struct socks_request request = {
	.proxy_host = "proxy.example",
	.proxy_port = "1080",
	.host = "mail.example.org",
	.port = "587",
	.timeout_ms = TIMEOUT_MS,
};

static bool
contains(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

static void
test_method(void)
{
	static const struct {
		const char *what;
		unsigned char reply[2];
		const char *message; /* NULL: accepted */
	} cases[] = {
		{"no authentication", {5, 0}, NULL},
		{"authentication wanted", {5, 0xff}, "requires authentication"},
		{"a method not offered", {5, 2}, "chose authentication method 2"},
		{"SOCKS4", {4, 0}, "proxy.example port 1080 is not a SOCKS5 proxy"},
		{"an HTTP server", {'H', 'T'}, "answered with version 72"},
	};
	struct error e;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc;

		error_clear(&e);
		rc = socks_check_method(cases[i].reply, &request, &e);
		if (cases[i].message == NULL)
			is_int(0, rc, "method reply, %s: accepted", cases[i].what);
		else
			ok(rc == -1 && e.status == ST_CONFIG && contains(e.msg, cases[i].message),
			   "method reply, %s: a configuration error (%s)", cases[i].what, e.msg);
	}
}

static void
test_reply_need(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t n;
		long need;
		enum status status; /* for need -1 */
		const char *message;
	} cases[] = {
		{"nothing read yet", "", 0, 4, ST_OK, NULL},
		{"IPv4 bound address", "\5\0\0\1", 4, 6, ST_OK, NULL},
		{"IPv6 bound address", "\5\0\0\4", 4, 18, ST_OK, NULL},
		{"a bound name: its length first", "\5\0\0\3", 4, 1, ST_OK, NULL},
		{"a bound name of 7 bytes", "\5\0\0\3\7", 5, 9, ST_OK, NULL},
		{"a complete IPv4 reply", "\5\0\0\1\1\2\3\4\0\31", 10, 0, ST_OK, NULL},
		{"a complete name reply", "\5\0\0\3\1x\0\31", 8, 0, ST_OK, NULL},
		{"reply 1", "\5\1\0\1", 4, -1, ST_CONNECT,
		 "general SOCKS server failure (reply 1)"},
		{"reply 2", "\5\2\0\1", 4, -1, ST_CONFIG,
		 "connection not allowed by ruleset (reply 2)"},
		{"reply 3", "\5\3\0\1", 4, -1, ST_CONNECT, "network unreachable (reply 3)"},
		{"reply 4", "\5\4\0\1", 4, -1, ST_CONNECT, "host unreachable (reply 4)"},
		{"reply 5", "\5\5\0\1", 4, -1, ST_CONNECT,
		 "could not connect to mail.example.org port 587: connection refused (reply 5)"},
		{"reply 6", "\5\6\0\1", 4, -1, ST_CONNECT, "TTL expired (reply 6)"},
		{"reply 7", "\5\7\0\1", 4, -1, ST_CONFIG, "command not supported (reply 7)"},
		{"reply 8", "\5\10\0\1", 4, -1, ST_CONFIG, "address type not supported (reply 8)"},
		{"reply 9", "\5\11\0\1", 4, -1, ST_CONFIG, "malformed reply (reply code: 9)"},
		{"a failure with a careless rest", "\5\5\7\7", 4, -1, ST_CONNECT, "(reply 5)"},
		{"version 4", "\4\0\0\1", 4, -1, ST_CONFIG, "not a SOCKS5 proxy"},
		{"a reserved byte set", "\5\0\1\1", 4, -1, ST_CONFIG, "(reserved byte: 1)"},
		{"address type 2", "\5\0\0\2", 4, -1, ST_CONFIG, "(address type: 2)"},
		{"an empty bound name", "\5\0\0\3\0", 5, -1, ST_CONFIG, "(domain name length: 0)"},
	};
	struct error e;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long need;

		error_clear(&e);
		need = socks_reply_need((const unsigned char *)cases[i].bytes, cases[i].n, &request,
					&e);
		if (cases[i].need >= 0)
			is_int(cases[i].need, need, "CONNECT reply, %s: %ld more bytes",
			       cases[i].what, cases[i].need);
		else
			ok(need == -1 && e.status == cases[i].status &&
				   contains(e.msg, cases[i].message) &&
				   contains(e.msg, "SOCKS5 proxy") &&
				   contains(e.msg, "proxy.example"),
			   "CONNECT reply, %s: refused, naming the proxy (%s)", cases[i].what,
			   e.msg);
	}
}

/* A socketpair: *client non-blocking for socks_handshake(), *proxy for the
 * test to play the proxy. */
static void
open_pair(int *client, int *proxy)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) < 0)
		bail("socketpair failed");
	*client = sv[0];
	*proxy = sv[1];
}

static void
put(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		bail("write failed");
}

/* What fd has to read now, without waiting, into out (size max): its
 * length. */
static size_t
drain(int fd, unsigned char *out, size_t max)
{
	size_t len = 0;
	ssize_t n;

	while (len < max && (n = recv(fd, out + len, max - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	return len;
}

#define GREETING "\5\1\0"
#define ACCEPT "\5\0"
#define BANNER "220 mail.example.org ESMTP\r\n"

static void
test_requests(void)
{
	static const struct {
		const char *what, *host;
		const char *request; /* after the greeting */
		size_t request_len;
		const char *reply;
		size_t reply_len;
	} cases[] = {
		{"a name goes as a name", "mail.example.org", "\5\1\0\3\20mail.example.org\2\113",
		 4 + 1 + 16 + 2, "\5\0\0\1\177\0\0\1\4\0", 10},
		{"an IDN name goes as A-labels",
		 "b\xc3\xbc"
		 "cher.example",
		 "\5\1\0\3\25xn--bcher-kva.example\2\113", 4 + 1 + 21 + 2, "\5\0\0\3\4host\4\0",
		 11},
		{"an IPv4 literal goes as an address", "192.0.2.7", "\5\1\0\1\300\0\2\7\2\113", 10,
		 "\5\0\0\4\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\4\0", 22},
		{"an IPv6 literal goes as an address", "2001:db8::25",
		 "\5\1\0\4\40\1\15\270\0\0\0\0\0\0\0\0\0\0\0\45\2\113", 22, "\5\0\0\1\0\0\0\0\0\0",
		 10},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct socks_request r = request;
		unsigned char seen[512];
		struct error e;
		int client, proxy, rc;
		size_t n;

		r.host = cases[i].host;
		open_pair(&client, &proxy);
		put(proxy, ACCEPT, 2);
		put(proxy, cases[i].reply, cases[i].reply_len);
		put(proxy, BANNER, strlen(BANNER));
		error_clear(&e);
		rc = socks_handshake(client, &r, net_deadline(TIMEOUT_MS), &e);
		is_int(0, rc, "%s: the handshake succeeds (%s)", cases[i].what, e.msg);
		n = drain(proxy, seen, sizeof seen);
		is_mem(GREETING, 3, seen, n < 3 ? n : 3,
		       "%s: the greeting offers no authentication", cases[i].what);
		is_mem(cases[i].request, cases[i].request_len, seen + 3, n > 3 ? n - 3 : 0,
		       "%s: the CONNECT request", cases[i].what);
		n = drain(client, seen, sizeof seen);
		is_mem(BANNER, strlen(BANNER), seen, n,
		       "%s: what follows the reply is left in the socket", cases[i].what);
		close(client);
		close(proxy);
	}
}

static void
test_refused_requests(void)
{
	char long_name[300];
	static const struct {
		const char *what, *host, *port, *message;
	} cases[] = {
		{"a port that is no number", "mail.example.org", "smtp",
		 "port smtp is not a number"},
		{"a name IDNA refuses", "a\xff.example", "25", "cannot be converted to ASCII"},
		{"a name over 255 bytes", NULL, "25", "too long for a SOCKS5 request"},
	};

	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct socks_request r = request;
		unsigned char seen[16];
		struct error e;
		int client, proxy;

		r.host = cases[i].host ? cases[i].host : long_name;
		r.port = cases[i].port;
		open_pair(&client, &proxy);
		error_clear(&e);
		ok(socks_handshake(client, &r, net_deadline(TIMEOUT_MS), &e) == -1 &&
			   e.status == ST_CONFIG && contains(e.msg, cases[i].message),
		   "%s: a configuration error (%s)", cases[i].what, e.msg);
		is_int(0, (long)drain(proxy, seen, sizeof seen), "%s: nothing was sent",
		       cases[i].what);
		close(client);
		close(proxy);
	}
}

static long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* The handshake against a proxy that sends bytes[0..n) then stays silent
 * (or closes, or sends one byte every 150 ms from a child): the result,
 * the error and the time it took. */
enum pace { STALL, CLOSE, TRICKLE };

static int
handshake_against(const char *bytes, size_t n, enum pace pace, int timeout_ms, struct error *e,
		  long *ms)
{
	struct socks_request r = request;
	struct timespec start;
	pid_t child = -1;
	int client, proxy, rc;

	r.timeout_ms = timeout_ms;
	open_pair(&client, &proxy);
	if (pace == TRICKLE) {
		child = fork();
		if (child < 0)
			bail("fork failed");
		if (child == 0) {
			for (size_t i = 0; i < n; i++) {
				usleep(150 * 1000);
				if (write(proxy, bytes + i, 1) != 1)
					_exit(1);
			}
			pause();
			_exit(0);
		}
	} else {
		put(proxy, bytes, n);
		if (pace == CLOSE)
			shutdown(proxy, SHUT_WR);
	}
	error_clear(e);
	clock_gettime(CLOCK_MONOTONIC, &start);
	rc = socks_handshake(client, &r, net_deadline(timeout_ms), e);
	*ms = elapsed_ms(&start);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	close(client);
	close(proxy);
	return rc;
}

static void
test_deadline(void)
{
	static const char full[] = "\5\0\5\0\0\1\177\0\0\1\4\0";
	struct error e;
	long ms;
	int rc;

	rc = handshake_against(ACCEPT, 2, STALL, 300, &e, &ms);
	ok(rc == -1 && e.status == ST_CONNECT &&
		   contains(e.msg,
			    "SOCKS5 proxy proxy.example did not complete the handshake within "
			    "0.3 s"),
	   "a proxy that stalls after the method reply: timed out (%s)", e.msg);
	ok(ms >= 250 && ms < TIMEOUT_MS, "... at the deadline (%ld ms)", ms);
	rc = handshake_against(full, sizeof full - 1, TRICKLE, 500, &e, &ms);
	ok(rc == -1 && e.status == ST_CONNECT && contains(e.msg, "did not complete the handshake"),
	   "a proxy that sends a byte every 150 ms: one deadline for the whole handshake (%s)",
	   e.msg);
	ok(ms >= 450 && ms < 1500, "... at the deadline, not after the last byte (%ld ms)", ms);
	rc = handshake_against(full, sizeof full - 1, TRICKLE, 2 * TIMEOUT_MS, &e, &ms);
	is_int(0, rc, "a proxy that sends a byte every 150 ms within the deadline: connected (%s)",
	       e.msg);
	rc = handshake_against(full, 7, CLOSE, TIMEOUT_MS, &e, &ms);
	ok(rc == -1 && e.status == ST_CONNECT && contains(e.msg, "closed the connection"),
	   "a proxy that closes in the middle of the reply: a connectivity failure (%s)", e.msg);
}

static void
test_connect(void)
{
	struct socks_request r = request;
	char port[16];
	struct error e;

	snprintf(port, sizeof port, "%d", test_closed_port());
	r.proxy_host = "127.0.0.1";
	r.proxy_port = port;
	error_clear(&e);
	is_int(-1, socks_connect(&r, NULL, &e), "a proxy that is down: no connection");
	ok(e.status == ST_CONNECT && contains(e.msg, "SOCKS5 proxy") &&
		   contains(e.msg, "127.0.0.1 port") && contains(e.msg, port),
	   "... a connectivity failure naming the proxy (%s)", e.msg);
}

int
main(void)
{
	plan_lazy();
	test_method();
	test_reply_need();
	test_requests();
	test_refused_requests();
	test_deadline();
	test_connect();
	return 0;
}
