/* tls_resume.c - the benchmark's probe for TLS session resumption across
 * invocations (bench/README.md, workload 8): one SMTP STARTTLS session per
 * run, as outbox makes one, with or without the session data a previous
 * run saved.
 *
 *   tls_resume HOST PORT CAFILE PRIORITIES LOAD|- SAVE|-
 *
 * Connects, reads the greeting, EHLO, STARTTLS, then the TLS handshake
 * (with the session data from LOAD when it is not "-"), EHLO again (which
 * also reads the server's TLS 1.3 tickets), QUIT.  The session data is
 * written to SAVE (0600) when it is not "-".  Prints one line:
 *   resumed=0|1 version=TLS1.3 handshake_ms=N handshake_cpu_ms=N ehlo_ms=N total_ms=N
 * handshake_* cover gnutls_handshake() alone (wall, and this process's
 * CPU); ehlo_ms the EHLO after it, until its whole reply is in (the
 * server's tickets come first); total_ms the whole session from connect
 * to the reply to QUIT.
 * Like outbox, it sets TCP_NODELAY and acknowledges each read at once. 
 *
 * Untrusted data: the server's replies, read only as far as the status
 * code of each reply's last line. */
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static gnutls_session_t session;
static int fd = -1;

static double
ms(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void
die(const char *what)
{
	fprintf(stderr, "tls_resume: %s\n", what);
	exit(1);
}

/* recv(), then TCP_QUICKACK, as outbox's net_ack_now() does after each
 * read: without it the server's tickets and its next reply wait on the
 * delayed ACK (bench/README.md, the TLS 1.3 stall). */
static ssize_t
pull(gnutls_transport_ptr_t ptr, void *p, size_t n)
{
	int one = 1;
	ssize_t got = recv(fd, p, n, 0);

	(void)ptr;
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
	return got;
}

static ssize_t
get(char *p, size_t n)
{
	return session != NULL ? gnutls_record_recv(session, p, n) : pull(NULL, p, n);
}

static void
put(const char *s)
{
	size_t n = strlen(s);

	if ((session != NULL ? gnutls_record_send(session, s, n) : send(fd, s, n, 0)) !=
	    (ssize_t)n)
		die("cannot send");
}

/* Reads one reply (all its lines); its code. */
static int
reply(void)
{
	static char buf[8192];
	static size_t len;

	for (;;) {
		char *nl;

		while ((nl = memchr(buf, '\n', len)) != NULL) {
			size_t line = (size_t)(nl - buf) + 1;
			int code = line >= 4 ? atoi(buf) : -1;
			int last = line >= 4 && buf[3] == ' ';

			memmove(buf, buf + line, len - line);
			len -= line;
			if (last)
				return code;
		}
		ssize_t got = get(buf + len, sizeof buf - len);

		if (got == GNUTLS_E_AGAIN || got == GNUTLS_E_INTERRUPTED)
			continue;
		if (got <= 0)
			die("connection lost");
		len += (size_t)got;
	}
}

static void
load(const char *path)
{
	FILE *f = fopen(path, "rb");
	static unsigned char data[16384];
	gnutls_datum_t d = {data, 0};

	if (f == NULL)
		return;
	d.size = (unsigned)fread(data, 1, sizeof data, f);
	fclose(f);
	if (d.size > 0 && gnutls_session_set_data(session, d.data, d.size) < 0)
		die("gnutls_session_set_data");
}

static void
save(const char *path)
{
	gnutls_datum_t d;
	FILE *f;

	if (gnutls_session_get_data2(session, &d) < 0)
		die("gnutls_session_get_data2");
	umask(077);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(d.data, 1, d.size, f) != d.size || fclose(f) != 0)
		die("cannot save the session");
	gnutls_free(d.data);
}

int
main(int argc, char **argv)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	gnutls_certificate_credentials_t cred;
	double t0, h0, c0, hw, hc, ehlo;
	int one = 1, rc;

	if (argc != 7)
		die("usage: tls_resume HOST PORT CAFILE PRIORITIES LOAD|- SAVE|-");
	t0 = ms(CLOCK_MONOTONIC);
	if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0)
		die("getaddrinfo");
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect");
	freeaddrinfo(ai);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (reply() != 220)
		die("greeting");
	put("EHLO probe.example.org\r\n");
	if (reply() != 250)
		die("EHLO");
	put("STARTTLS\r\n");
	if (reply() != 220)
		die("STARTTLS");
	gnutls_certificate_allocate_credentials(&cred);
	if (gnutls_certificate_set_x509_trust_file(cred, argv[3], GNUTLS_X509_FMT_PEM) <= 0)
		die("trust file");
	gnutls_init(&session, GNUTLS_CLIENT);
	if (gnutls_priority_set_direct(session, argv[4], NULL) < 0)
		die("priorities");
	gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_server_name_set(session, GNUTLS_NAME_DNS, "localhost", 9);
	gnutls_session_set_verify_cert(session, "localhost", 0);
	gnutls_transport_set_int(session, fd);
	gnutls_transport_set_pull_function(session, pull);
	if (strcmp(argv[5], "-") != 0)
		load(argv[5]);
	h0 = ms(CLOCK_MONOTONIC);
	c0 = ms(CLOCK_PROCESS_CPUTIME_ID);
	do
		rc = gnutls_handshake(session);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	hc = ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	hw = ms(CLOCK_MONOTONIC) - h0;
	if (rc < 0)
		die(gnutls_strerror(rc));
	put("EHLO probe.example.org\r\n");
	if (reply() != 250)
		die("EHLO after STARTTLS");
	ehlo = ms(CLOCK_MONOTONIC) - h0 - hw;
	if (strcmp(argv[6], "-") != 0)
		save(argv[6]);
	put("QUIT\r\n");
	reply();
	printf("resumed=%d version=%s handshake_ms=%.3f handshake_cpu_ms=%.3f ehlo_ms=%.3f "
	       "total_ms=%.3f\n",
	       gnutls_session_is_resumed(session) != 0,
	       gnutls_protocol_get_name(gnutls_protocol_get_version(session)), hw, hc, ehlo,
	       ms(CLOCK_MONOTONIC) - t0);
	gnutls_bye(session, GNUTLS_SHUT_WR);
	gnutls_deinit(session);
	gnutls_certificate_free_credentials(cred);
	close(fd);
	return 0;
}
