/* tls-t.c - tests for src/tls.c and src/tls_cert.c: handshakes against a
 * GnuTLS server in a forked child on a socketpair, with a self-signed
 * certificate for "localhost" made at start-up: unchecked, pinned, pinned
 * wrongly, trusted, issued for another name; then refusals that need no
 * server (a malformed pin, a certificate without its key, a bad priority
 * string, a peer that speaks SMTP, a silent peer).  Each failure must come
 * with its class and a message that names the fix. */
#include "config.h"

#include "tls.h"

#include "lib.h"
#include "tap/basic.h"

#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000

static gnutls_x509_crt_t crt;
static gnutls_x509_privkey_t key;
static char cert_path[64], key_path[64], fingerprint[96 + 1];

static void
write_pem(const char *path, int (*export)(void *, gnutls_x509_crt_fmt_t, gnutls_datum_t *),
	  void *what)
{
	gnutls_datum_t pem;
	FILE *f = fopen(path, "w");

	if (f == NULL || export(what, GNUTLS_X509_FMT_PEM, &pem) < 0 ||
	    fwrite(pem.data, 1, pem.size, f) != pem.size || fclose(f) != 0)
		bail("cannot write %s", path);
	gnutls_free(pem.data);
}

static int
export_crt(void *c, gnutls_x509_crt_fmt_t fmt, gnutls_datum_t *out)
{
	return gnutls_x509_crt_export2(c, fmt, out);
}

static int
export_key(void *k, gnutls_x509_crt_fmt_t fmt, gnutls_datum_t *out)
{
	return gnutls_x509_privkey_export2(k, fmt, out);
}

/* A self-signed certificate for localhost, its key, and its SHA-256
 * fingerprint as AA:BB:... */
static void
make_certificate(const char *dir)
{
	unsigned char md[32], serial = 1;
	size_t len = sizeof md;
	time_t now = time(NULL);

	if (gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, &serial, 1) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, now + 86400) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost", 9) <
		    0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
						 GNUTLS_FSAN_SET) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md, &len) < 0)
		bail("cannot make a certificate");
	for (size_t i = 0; i < len; i++)
		snprintf(fingerprint + i * 3, 4, "%02X%s", md[i], i + 1 < len ? ":" : "");
	snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
	snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
	write_pem(cert_path, export_crt, crt);
	write_pem(key_path, export_key, key);
}

/* The child: a TLS server on fd that echoes one record, then says bye. */
static void
serve(int fd)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t session;
	char buf[256];
	ssize_t n;
	int rc;

	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_key(cred, &crt, 1, key) < 0 ||
	    gnutls_init(&session, GNUTLS_SERVER) < 0 || gnutls_set_default_priority(session) < 0 ||
	    gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		_exit(2);
	gnutls_transport_set_int(session, fd);
	do
		rc = gnutls_handshake(session);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		_exit(1);
	n = gnutls_record_recv(session, buf, sizeof buf);
	if (n > 0)
		gnutls_record_send(session, buf, (size_t)n);
	gnutls_bye(session, GNUTLS_SHUT_WR);
	_exit(0);
}

enum peer { PEER_TLS, PEER_SMTP, PEER_SILENT };

/* A socketpair whose other end is served by peer; returns the client end
 * (non-blocking) and the child in *pid (0 for none). */
static int
start_peer(enum peer peer, pid_t *pid, int *other)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) < 0)
		bail("socketpair failed");
	*pid = 0;
	*other = sv[1];
	if (peer == PEER_SMTP && write(sv[1], "220 smtp.example ESMTP\r\n", 24) != 24)
		bail("write failed");
	if (peer == PEER_TLS) {
		*pid = fork();
		if (*pid < 0)
			bail("fork failed");
		if (*pid == 0) {
			close(sv[0]);
			serve(sv[1]);
		}
		close(sv[1]);
		*other = -1;
	}
	return sv[0];
}

struct scenario {
	const char *name;
	enum peer peer;
	const char *host;
	bool certcheck;
	bool trust_self; /* tls_trust_file: the certificate itself */
	bool pin;        /* tls_fingerprint: the certificate's */
	const char *fingerprint;
	bool cert_only; /* tls_cert_file without tls_key_file */
	const char *priorities;
	int timeout_ms;
	enum status status; /* ST_OK: the handshake succeeds */
	const char *message;
};

static const struct scenario scenarios[] = {
	{"unchecked (tls_certcheck off)", PEER_TLS, "localhost", false, false, false, NULL, false,
	 NULL, TIMEOUT_MS, ST_OK, "verification: not checked"},
	{"pinned", PEER_TLS, "localhost", true, false, true, NULL, false, NULL, TIMEOUT_MS, ST_OK,
	 "verification: matches tls_fingerprint"},
	{"trusted", PEER_TLS, "localhost", true, true, false, NULL, false, NULL, TIMEOUT_MS, ST_OK,
	 "verification: trusted"},
	{"pinned to another certificate", PEER_TLS, "localhost", true, false, false,
	 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:"
	 "DD:EE:FF",
	 false, NULL, TIMEOUT_MS, ST_CONFIG, "does not match tls_fingerprint"},
	{"issued for another name", PEER_TLS, "wrong.example", true, true, false, NULL, false, NULL,
	 TIMEOUT_MS, ST_CONFIG, "is issued for localhost; check host or set tls_host_override"},
	{"a malformed tls_fingerprint", PEER_SILENT, "localhost", true, false, false, "AA:BB:ZZ",
	 false, NULL, TIMEOUT_MS, ST_CONFIG, "is not a SHA-256 fingerprint"},
	{"tls_cert_file without tls_key_file", PEER_SILENT, "localhost", false, false, false, NULL,
	 true, NULL, TIMEOUT_MS, ST_CONFIG, "must be set together"},
	{"a bad tls_priorities", PEER_SILENT, "localhost", false, false, false, NULL, false,
	 "NO-SUCH-THING", TIMEOUT_MS, ST_CONFIG, "invalid tls_priorities"},
	{"a peer that speaks SMTP", PEER_SMTP, "localhost", false, false, false, NULL, false, NULL,
	 TIMEOUT_MS, ST_CONFIG, "does not speak TLS on this port"},
	{"a silent peer", PEER_SILENT, "localhost", false, false, false, NULL, false, NULL, 100,
	 ST_CONNECT, "timed out"},
};

/* What a working session must do: describe itself, carry data both ways,
 * and give channel binding data. */
static void
check_session(const struct scenario *sc, struct tls *t)
{
	struct buf desc;
	struct error e;
	unsigned char *cb = NULL;
	char echo[16] = "";
	size_t len = 0;
	const char *type = tls_is_tls13(t) ? "tls-exporter" : "tls-unique";

	buf_init(&desc, 0);
	is_int(0, tls_describe(t, &desc), "%s: described", sc->name);
	ok(strstr(desc.data, sc->message) != NULL, "%s: the description says '%s'", sc->name,
	   sc->message);
	ok(strstr(desc.data, fingerprint) != NULL, "%s: the description gives the fingerprint",
	   sc->name);
	is_int(0, tls_write_all(t, "ping", 4, TIMEOUT_MS, &e), "%s: write", sc->name);
	is_int(4, tls_read(t, echo, sizeof echo - 1, TIMEOUT_MS, &e), "%s: read", sc->name);
	is_string("ping", echo, "%s: the echo", sc->name);
	is_int(0, tls_channel_binding(t, type, &cb, &len), "%s: %s channel binding", sc->name,
	       type);
	ok(len > 0, "%s: channel binding data", sc->name);
	is_int(-1, tls_channel_binding(t, "tls-server-end-point", &cb, &len),
	       "%s: no other channel binding type", sc->name);
	free(cb);
	buf_free(&desc);
}

static void
check(const struct scenario *sc)
{
	struct tls_params p = {.host = sc->host,
			       .certcheck = sc->certcheck,
			       .trust_file = sc->trust_self ? cert_path : NULL,
			       .fingerprint = sc->pin ? fingerprint : sc->fingerprint,
			       .cert_file = sc->cert_only ? cert_path : NULL,
			       .priorities = sc->priorities,
			       .timeout_ms = sc->timeout_ms};
	struct error e;
	struct tls *t;
	pid_t pid;
	int other, fd = start_peer(sc->peer, &pid, &other);

	error_clear(&e);
	t = tls_start(fd, &p, &e);
	if (sc->status == ST_OK) {
		ok(t != NULL, "%s: the handshake succeeds (%s)", sc->name, e.msg);
		if (t != NULL)
			check_session(sc, t);
	} else {
		ok(t == NULL, "%s: refused", sc->name);
		is_int(sc->status, e.status, "%s: its class", sc->name);
		ok(strstr(e.msg, sc->message) != NULL, "%s: the message says '%s' (%s)", sc->name,
		   sc->message, e.msg);
	}
	tls_close(t);
	close(fd);
	if (other >= 0)
		close(other);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

int
main(void)
{
	char dir[] = "/tmp/tls-t.XXXXXX";

	if (mkdtemp(dir) == NULL)
		bail("mkdtemp failed");
	make_certificate(dir);
	plan_lazy();
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		check(&scenarios[i]);
	unlink(cert_path);
	unlink(key_path);
	rmdir(dir);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return 0;
}
