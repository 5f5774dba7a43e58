/* oauth2_authorize.c - --authorize: the device grant (RFC 8628), or the
 * authorization code with PKCE (RFC 7636) and a loopback redirect
 * (RFC 8252), then the tokens into the keyring (oauth2.c).
 *
 * Untrusted input: the endpoints' JSON (oauth2_http.c) and the browser's
 * request to the loopback listener (bounded to 8 KiB,
 * oauth2_redirect_parse).  The code, the verifier and the tokens are wiped
 * after use. */
#include "config.h"

#include "oauth2.h"
#include "oauth2_private.h"

#include "crypto.h"
#include "i18n.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define REDIRECT_REQUEST_MAX 8192

/* ---- --authorize ---- */

static int
authorized(const struct oauth2_client *c, struct oauth2_reply *r, struct error *e)
{
	struct oauth2_tokens t = {0};
	int rc;

	if (r->refresh_token == NULL) {
		oauth2_reply_free(r);
		return error_set(e, ST_ACCOUNT,
				 _("account %s: the provider gave no refresh token; check that "
				   "oauth2_scope allows offline access"),
				 c->account);
	}
	oauth2_tokens_update(&t, r);
	oauth2_reply_free(r);
	rc = oauth2_tokens_save(c, &t, e);
	oauth2_tokens_free(&t);
	return rc;
}

/* RFC 8628 3.4-3.5: polls the token endpoint at the interval the server
 * gave (5 s more after each slow_down) until the user has approved. */
static int
device_poll(const struct oauth2_client *c, const char *device_code, long interval, time_t until,
	    struct error *e)
{
	for (;;) {
		struct oauth2_reply r;
		struct strlist form;

		if (time(NULL) + interval > until)
			return error_set(
				e, ST_ACCOUNT,
				_("account %s: the code expired before it was entered; run "
				  "'outbox -a %s --authorize' again"),
				c->account, c->account);
		sleep((unsigned)interval);
		strlist_init(&form);
		strlist_add(&form, "grant_type");
		strlist_add(&form, "urn:ietf:params:oauth:grant-type:device_code");
		strlist_add(&form, "device_code");
		strlist_add(&form, device_code);
		if (oauth2_endpoint_post(c, c->token_url, &form, &r, e) < 0)
			return -1;
		if (r.error == NULL && r.access_token != NULL)
			return authorized(c, &r, e);
		if (r.error != NULL && strcmp(r.error, "slow_down") == 0)
			interval += 5;
		else if (r.error == NULL || strcmp(r.error, "authorization_pending") != 0) {
			int rc =
				r.error != NULL && strcmp(r.error, "expired_token") == 0
					? error_set(e, ST_ACCOUNT,
						    _("account %s: the code expired before it was "
						      "entered; run 'outbox -a %s --authorize' "
						      "again"),
						    c->account, c->account)
					: error_set(e, ST_ACCOUNT,
						    _("account %s: authorization failed (%.60s: "
						      "%.200s)"),
						    c->account, r.error ? r.error : "?",
						    r.error_description ? r.error_description : "");

			oauth2_reply_free(&r);
			return rc;
		}
		oauth2_reply_free(&r);
	}
}

static int
authorize_device(const struct oauth2_client *c, oauth2_say_fn say, struct error *e)
{
	struct oauth2_reply r;
	struct strlist form;
	char *line, *code;
	long interval, expires;
	int rc;

	strlist_init(&form);
	strlist_add(&form, "scope");
	strlist_add(&form, c->scope);
	if (oauth2_endpoint_post(c, c->device_url, &form, &r, e) < 0)
		return -1;
	if (r.error != NULL || r.device_code == NULL || r.user_code == NULL ||
	    r.verification_uri == NULL) {
		rc = error_set(e, ST_ACCOUNT,
			       _("account %s: the device endpoint refused (%.60s: %.200s)"),
			       c->account, r.error ? r.error : "?",
			       r.error_description ? r.error_description : "");
		oauth2_reply_free(&r);
		return rc;
	}
	line = xasprintf(_("To authorize outbox for %s, open %s and enter the code %s"), c->user,
			 r.verification_uri, r.user_code);
	say(line);
	free(line);
	interval = r.interval > 0 ? r.interval : 5;
	expires = r.device_expires_in > 0 ? r.device_expires_in : 900;
	code = r.device_code;
	r.device_code = NULL;
	oauth2_reply_free(&r);
	rc = device_poll(c, code, interval, time(NULL) + expires, e);
	free_secret(code);
	return rc;
}

/* RFC 7636 4.1-4.2: a 43-character verifier and its S256 challenge, both
 * base64url without padding. */
static void
base64url(const unsigned char *p, size_t n, char **out)
{
	struct buf b;

	buf_init(&b, 0);
	base64_encode(p, n, &b);
	for (size_t i = 0; i < b.len; i++)
		b.data[i] = b.data[i] == '+' ? '-' : b.data[i] == '/' ? '_' : b.data[i];
	while (b.len > 0 && b.data[b.len - 1] == '=')
		b.data[--b.len] = '\0';
	*out = b.data;
}

static int
pkce_make(char **verifier, char **challenge, char **state, struct error *e)
{
	unsigned char rnd[32], digest[32];

	*state = random_hex(16);
	if (crypto_random(rnd, sizeof rnd) < 0 || *state == NULL)
		return error_set(e, ST_SOFTWARE, _("no random numbers for PKCE"));
	base64url(rnd, sizeof rnd, verifier);
	wipe(rnd, sizeof rnd);
	crypto_hash(CRYPTO_SHA256, *verifier, strlen(*verifier), digest);
	base64url(digest, sizeof digest, challenge);
	return 0;
}

static int
listen_loopback(int *port, struct error *e)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		error_set(e, ST_OSERR, _("cannot listen on 127.0.0.1 for the redirect: %s"),
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Starts xdg-open when there is a display (the URL is said either way);
 * its PID, or -1.  It is not waited for here: the browser it starts may
 * only return once the listener has answered. */
static pid_t
open_browser(const char *url)
{
	pid_t pid;

	if (getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL)
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("xdg-open", "xdg-open", url, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
reply_page(int fd, bool ok)
{
	const char *page = ok ? "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
				"Connection: close\r\n\r\noutbox: signed in; you can close this "
				"page.\n"
			      : "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; "
				"charset=utf-8\r\nConnection: close\r\n\r\noutbox: sign-in "
				"failed; see the terminal.\n";

	if (write_all(fd, page, strlen(page)) < 0)
		return;
}

/* Reads one request from a browser connection, within the deadline. */
static int
read_request(int fd, time_t until, struct buf *req)
{
	char chunk[1024];

	buf_init(req, REDIRECT_REQUEST_MAX);
	while (req->data == NULL || strstr(req->data, "\r\n\r\n") == NULL) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = (long)(until - time(NULL));
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000)) <= 0)
			return -1;
		n = read(fd, chunk, sizeof chunk);
		if (n <= 0 || buf_append(req, chunk, (size_t)n) < 0)
			return -1;
		buf_puts(req, "");
	}
	return 0;
}

/* Accepts connections until one carries the redirect (a code or an error
 * with our state); others (a favicon) get a 400. */
static int
await_redirect(int lfd, const char *state, struct oauth2_redirect *rd, struct error *e)
{
	time_t until = time(NULL) + OAUTH2_BROWSER_WAIT_S;

	for (;;) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		long left = (long)(until - time(NULL));
		struct buf req;
		int fd, rc;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000)) <= 0)
			return error_set(e, ST_ACCOUNT,
					 _("no sign-in arrived from the browser within %d s; run "
					   "--authorize again"),
					 OAUTH2_BROWSER_WAIT_S);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		rc = read_request(fd, until, &req);
		if (rc == 0)
			rc = oauth2_redirect_parse(req.data, req.len, rd);
		buf_free(&req);
		if (rc == 0 && rd->state != NULL && strcmp(rd->state, state) == 0 &&
		    (rd->code != NULL || rd->error != NULL)) {
			reply_page(fd, rd->code != NULL);
			close(fd);
			return 0;
		}
		if (rc == 0)
			oauth2_redirect_free(rd);
		reply_page(fd, false);
		close(fd);
	}
}

static char *
authorize_link(const struct oauth2_client *c, const char *redirect, const char *challenge,
	       const char *state)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "%s%s", c->authorize_url, strchr(c->authorize_url, '?') ? "&" : "?");
	buf_puts(&b, "response_type=code&client_id=");
	oauth2_url_encode(&b, c->client_id);
	buf_puts(&b, "&redirect_uri=");
	oauth2_url_encode(&b, redirect);
	buf_puts(&b, "&scope=");
	oauth2_url_encode(&b, c->scope);
	buf_printf(&b, "&state=%s&code_challenge=%s&code_challenge_method=S256", state, challenge);
	buf_puts(&b, "&login_hint=");
	oauth2_url_encode(&b, c->user);
	/* Google gives a refresh token only with these. */
	if (strcmp(c->provider, "google") == 0)
		buf_puts(&b, "&access_type=offline&prompt=consent");
	return b.data;
}

static int
exchange_code(const struct oauth2_client *c, const char *code, const char *redirect,
	      const char *verifier, struct error *e)
{
	struct oauth2_reply r;
	struct strlist form;

	strlist_init(&form);
	strlist_add(&form, "grant_type");
	strlist_add(&form, "authorization_code");
	strlist_add(&form, "code");
	strlist_add(&form, code);
	strlist_add(&form, "redirect_uri");
	strlist_add(&form, redirect);
	strlist_add(&form, "code_verifier");
	strlist_add(&form, verifier);
	if (oauth2_endpoint_post(c, c->token_url, &form, &r, e) < 0)
		return -1;
	if (r.error != NULL || r.access_token == NULL) {
		int rc = error_set(e, ST_ACCOUNT,
				   _("account %s: authorization failed (%.60s: %.200s)"),
				   c->account, r.error ? r.error : "?",
				   r.error_description ? r.error_description : "");

		oauth2_reply_free(&r);
		return rc;
	}
	return authorized(c, &r, e);
}

static int
authorize_browser(const struct oauth2_client *c, oauth2_say_fn say, struct error *e)
{
	char *verifier = NULL, *challenge = NULL, *state = NULL, *redirect, *url, *line;
	struct oauth2_redirect rd = {0};
	int port, lfd, rc;
	pid_t browser;

	if (pkce_make(&verifier, &challenge, &state, e) < 0 ||
	    (lfd = listen_loopback(&port, e)) < 0) {
		free_secret(verifier);
		free(challenge);
		free(state);
		return -1;
	}
	redirect = xasprintf("http://127.0.0.1:%d/", port);
	url = authorize_link(c, redirect, challenge, state);
	line = xasprintf(_("To authorize outbox for %s, sign in at: %s"), c->user, url);
	say(line);
	free(line);
	browser = open_browser(url);
	rc = await_redirect(lfd, state, &rd, e);
	close(lfd);
	if (browser > 0)
		waitpid(browser, NULL, WNOHANG);
	if (rc == 0 && rd.code == NULL)
		rc = error_set(e, ST_ACCOUNT, _("account %s: the sign-in was refused (%.200s)"),
			       c->account, rd.error);
	if (rc == 0)
		rc = exchange_code(c, rd.code, redirect, verifier, e);
	oauth2_redirect_free(&rd);
	free(url);
	free(redirect);
	free_secret(verifier);
	free(challenge);
	free(state);
	return rc;
}

int
oauth2_authorize(const struct oauth2_client *c, oauth2_say_fn say, struct error *e)
{
	return c->device_url != NULL ? authorize_device(c, say, e) : authorize_browser(c, say, e);
}

/* ---- the redirect request ---- */

/* Percent-decodes s (n bytes, '+' a space); NULL when malformed or when
 * it decodes to a control character. */
static char *
url_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 2 < n ? hex_digit_value(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				goto bad;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c < ' ' || c == 0x7f)
			goto bad;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

int
oauth2_redirect_parse(const char *req, size_t n, struct oauth2_redirect *r)
{
	const char *end = memchr(req, '\r', n), *q, *sp;
	size_t len;

	memset(r, 0, sizeof *r);
	if (end == NULL || (size_t)(end - req) < 5 || memcmp(req, "GET /", 5) != 0)
		return -1;
	sp = memchr(req + 4, ' ', (size_t)(end - req - 4));
	if (sp == NULL)
		return -1;
	q = memchr(req + 4, '?', (size_t)(sp - req - 4));
	if (q == NULL)
		return 0;
	for (q++; q < sp; q += len + 1) {
		const char *amp = memchr(q, '&', (size_t)(sp - q));
		const char *eq;
		char **slot = NULL;

		len = amp != NULL ? (size_t)(amp - q) : (size_t)(sp - q);
		eq = memchr(q, '=', len);
		if (eq == NULL)
			continue;
		if (eq - q == 4 && memcmp(q, "code", 4) == 0)
			slot = &r->code;
		else if (eq - q == 5 && memcmp(q, "state", 5) == 0)
			slot = &r->state;
		else if (eq - q == 5 && memcmp(q, "error", 5) == 0)
			slot = &r->error;
		if (slot == NULL)
			continue;
		free_secret(*slot);
		*slot = url_decode(eq + 1, len - (size_t)(eq + 1 - q));
		if (*slot == NULL) {
			oauth2_redirect_free(r);
			return -1;
		}
	}
	return 0;
}

void
oauth2_redirect_free(struct oauth2_redirect *r)
{
	free_secret(r->code);
	free(r->state);
	free(r->error);
	memset(r, 0, sizeof *r);
}
