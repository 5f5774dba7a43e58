/* oauth2.c - OAuth2 access tokens for XOAUTH2 and OAUTHBEARER: the
 * providers' presets, the tokens in the keyring, the refresh at send time
 * under a lock, and --authorize (device grant, or authorization code with
 * PKCE and a loopback redirect).
 *
 * Untrusted input: the keyring item's text (oauth2_tokens_parse), the
 * endpoints' JSON (oauth2_http.c), and the browser's request to the
 * loopback listener (bounded to 8 KiB, oauth2_redirect_parse).  Tokens are
 * wiped after use and never written to logs, argv or the environment. */
#include "config.h"

#include "oauth2.h"

#include "crypto.h"
#include "i18n.h"
#include "net.h"
#include "queue.h"
#include "secret.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OAUTH2_SERVICE "oauth2"
#define REDIRECT_REQUEST_MAX 8192

/* A preset's URLs are base, the tenant when base_tenant, then the path. */
static const struct {
	const char *name;
	const char *base;
	bool base_tenant;
	const char *authorize_path;
	const char *device_path; /* NULL: none */
	const char *token_path;
	const char *scope;
} presets[] = {
	{"google", "https://", false, "accounts.google.com/o/oauth2/v2/auth", NULL,
	 "oauth2.googleapis.com/token", "https://mail.google.com/"},
	{"microsoft", "https://login.microsoftonline.com/", true, "/oauth2/v2.0/authorize",
	 "/oauth2/v2.0/devicecode", "/oauth2/v2.0/token",
	 "https://outlook.office.com/SMTP.Send offline_access"},
};

bool
oauth2_enabled(const struct account *a)
{
	return account_get(a, KW_OAUTH2_PROVIDER) != NULL;
}

/* The account's URL, else preset p's with the tenant put in. */
static const char *
endpoint(struct oauth2_client *c, int slot, const struct account *a, enum conf_keyword k, size_t p,
	 const char *path)
{
	if (account_get(a, k) != NULL)
		return account_get(a, k);
	if (path == NULL)
		return NULL;
	c->owned[slot] =
		xasprintf("%s%s%s", presets[p].base,
			  presets[p].base_tenant ? account_get(a, KW_OAUTH2_TENANT) : "", path);
	return c->owned[slot];
}

void
oauth2_client_init(struct oauth2_client *c, const struct account *a)
{
	const char *trust = account_get(a, KW_OAUTH2_TLS_TRUST_FILE);
	long timeout = account_long(a, KW_TIMEOUT);
	size_t p = 0;

	memset(c, 0, sizeof *c);
	c->account = a->name;
	c->provider = account_get(a, KW_OAUTH2_PROVIDER);
	while (p < sizeof presets / sizeof presets[0] && strcmp(presets[p].name, c->provider) != 0)
		p++;
	c->host = account_get(a, KW_HOST);
	c->user = account_get(a, KW_USER);
	c->client_id = account_get(a, KW_OAUTH2_CLIENT_ID);
	c->client_secret = account_get(a, KW_OAUTH2_CLIENT_SECRET);
	if (p < sizeof presets / sizeof presets[0]) {
		c->authorize_url =
			endpoint(c, 0, a, KW_OAUTH2_AUTHORIZE_URL, p, presets[p].authorize_path);
		c->device_url = endpoint(c, 1, a, KW_OAUTH2_DEVICE_URL, p, presets[p].device_path);
		c->token_url = endpoint(c, 2, a, KW_OAUTH2_TOKEN_URL, p, presets[p].token_path);
		c->scope = account_get(a, KW_OAUTH2_SCOPE) ? account_get(a, KW_OAUTH2_SCOPE)
							   : presets[p].scope;
	} else {
		c->authorize_url = account_get(a, KW_OAUTH2_AUTHORIZE_URL);
		c->device_url = account_get(a, KW_OAUTH2_DEVICE_URL);
		c->token_url = account_get(a, KW_OAUTH2_TOKEN_URL);
		c->scope = account_get(a, KW_OAUTH2_SCOPE);
	}
	c->trust_file = trust != NULL && strcmp(trust, "system") != 0 ? trust : NULL;
	c->timeout_ms = timeout > 0 ? (int)timeout * 1000 : 60000;
}

void
oauth2_client_free(struct oauth2_client *c)
{
	for (size_t i = 0; i < sizeof c->owned / sizeof c->owned[0]; i++)
		free(c->owned[i]);
	memset(c, 0, sizeof *c);
}

/* ---- the keyring item ---- */

static bool
token_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return n > 0;
}

int
oauth2_tokens_parse(const char *text, size_t n, struct oauth2_tokens *t)
{
	memset(t, 0, sizeof *t);
	while (n > 0) {
		const char *nl = memchr(text, '\n', n);
		size_t len = nl != NULL ? (size_t)(nl - text) : n;
		const char *sp = memchr(text, ' ', len);
		size_t klen = sp != NULL ? (size_t)(sp - text) : len;
		const char *v = sp != NULL ? sp + 1 : text + len;
		size_t vlen = len - (size_t)(v - text);
		char **slot = NULL;

		if (len > 0 && (sp == NULL || !token_ok(v, vlen)))
			goto bad;
		if (klen == 13 && memcmp(text, "refresh_token", 13) == 0)
			slot = &t->refresh_token;
		else if (klen == 12 && memcmp(text, "access_token", 12) == 0)
			slot = &t->access_token;
		if (slot != NULL) {
			free_secret(*slot);
			*slot = xstrndup(v, vlen);
		} else if (klen == 10 && memcmp(text, "expires_at", 10) == 0) {
			char *num = xstrndup(v, vlen);
			long at;
			int rc = parse_long(num, 0, 1L << 40, &at);

			free(num);
			if (rc < 0)
				goto bad;
			t->expires_at = at;
		}
		text += len + (nl != NULL);
		n -= len + (nl != NULL);
	}
	return 0;
bad:
	oauth2_tokens_free(t);
	return -1;
}

char *
oauth2_tokens_format(const struct oauth2_tokens *t)
{
	struct buf b;

	buf_init(&b, 0);
	if (t->refresh_token != NULL)
		buf_printf(&b, "refresh_token %s\n", t->refresh_token);
	if (t->access_token != NULL)
		buf_printf(&b, "access_token %s\nexpires_at %lld\n", t->access_token,
			   t->expires_at);
	buf_puts(&b, "");
	return b.data;
}

void
oauth2_tokens_free(struct oauth2_tokens *t)
{
	free_secret(t->refresh_token);
	free_secret(t->access_token);
	memset(t, 0, sizeof *t);
}

static int
tokens_load(const struct oauth2_client *c, struct oauth2_tokens *t, bool *found, struct error *e)
{
	char *text;

	*found = false;
	memset(t, 0, sizeof *t);
	if (secret_item_get(c->host, OAUTH2_SERVICE, c->user, &text, e) < 0) {
		/* Where the built-in OAuth2 cannot keep its tokens, a helper can
		 * (outbox.conf(5), OAUTH2). */
		char why[ERROR_MSG_MAX];

		memcpy(why, e->msg, sizeof why);
		return error_set(e, e->status,
				 _("%s; without a keyring, get the token from an OAuth2 helper "
				   "with passwordeval instead of the oauth2_ keywords"),
				 why);
	}
	if (text == NULL)
		return 0;
	*found = oauth2_tokens_parse(text, strlen(text), t) == 0 && t->refresh_token != NULL;
	free_secret(text);
	return 0;
}

static int
tokens_save(const struct oauth2_client *c, const struct oauth2_tokens *t, struct error *e)
{
	char *text = oauth2_tokens_format(t);
	char *label = xasprintf("outbox OAuth2: %s@%s", c->user, c->host);
	int rc = secret_item_put(c->host, OAUTH2_SERVICE, c->user, label, text, e);

	free_secret(text);
	free(label);
	return rc;
}

/* Takes the endpoint's new tokens into t; a refresh token it did not
 * rotate stays. */
static void
tokens_update(struct oauth2_tokens *t, struct oauth2_reply *r)
{
	free_secret(t->access_token);
	t->access_token = r->access_token;
	r->access_token = NULL;
	t->expires_at = (long long)time(NULL) + (r->expires_in > 0 ? r->expires_in : 3600);
	if (r->refresh_token != NULL) {
		free_secret(t->refresh_token);
		t->refresh_token = r->refresh_token;
		r->refresh_token = NULL;
	}
}

/* ---- talking to the token endpoint ---- */

/* POSTs form (to which the client's id and secret are added) to url and
 * parses the JSON answer; an HTTP error with a JSON error member is a
 * reply with r->error set. */
static int
endpoint_post(const struct oauth2_client *c, const char *url, struct strlist *form,
	      struct oauth2_reply *r, struct error *e)
{
	struct buf body;
	long status = 0;
	int rc;

	strlist_add(form, "client_id");
	strlist_add(form, c->client_id);
	if (c->client_secret != NULL) {
		strlist_add(form, "client_secret");
		strlist_add(form, c->client_secret);
	}
	rc = oauth2_http_post(url, c->trust_file, c->timeout_ms, form, &body, &status, e);
	for (size_t i = 0; i < form->n; i++)
		wipe(form->v[i], strlen(form->v[i]));
	strlist_free(form);
	if (rc < 0)
		return -1;
	rc = oauth2_reply_parse(body.data != NULL ? body.data : "", body.len, r, e);
	buf_free(&body);
	if (rc == 0 && status / 100 != 2 && r->error == NULL) {
		oauth2_reply_free(r);
		rc = -1;
	}
	if (rc < 0 && status / 100 != 2)
		return error_set(e, status >= 500 ? ST_SERVER_TEMP : ST_ACCOUNT,
				 _("%s answered HTTP %ld"), url, status);
	return rc;
}

static int
refused(const struct oauth2_client *c, const struct oauth2_reply *r, struct error *e)
{
	if (strcmp(r->error, "invalid_grant") == 0)
		return error_set(e, ST_ACCOUNT,
				 _("account %s: the OAuth2 provider refused the refresh token "
				   "(invalid_grant: %.200s); run 'outbox -a %s --authorize'"),
				 c->account, r->error_description ? r->error_description : "",
				 c->account);
	return error_set(e, ST_ACCOUNT,
			 _("account %s: the OAuth2 token endpoint refused the request (%.60s: "
			   "%.200s); check oauth2_client_id and oauth2_client_secret"),
			 c->account, r->error, r->error_description ? r->error_description : "");
}

static int
refresh(const struct oauth2_client *c, struct oauth2_tokens *t, struct error *e)
{
	struct oauth2_reply r;
	struct strlist form;

	strlist_init(&form);
	strlist_add(&form, "grant_type");
	strlist_add(&form, "refresh_token");
	strlist_add(&form, "refresh_token");
	strlist_add(&form, t->refresh_token);
	if (endpoint_post(c, c->token_url, &form, &r, e) < 0) {
		if (e->status == ST_CONNECT)
			error_prefix(e,
				     _("account %s: the OAuth2 token endpoint cannot be reached"),
				     c->account);
		return -1;
	}
	if (r.error != NULL || r.access_token == NULL) {
		int rc = r.error != NULL ? refused(c, &r, e)
					 : error_set(e, ST_SERVER_TEMP,
						     _("%s answered without an access token"),
						     c->token_url);

		oauth2_reply_free(&r);
		return rc;
	}
	tokens_update(t, &r);
	oauth2_reply_free(&r);
	/* A rotated refresh token is stored before anything uses the new
	 * access token: losing it would mean signing in again. */
	return tokens_save(c, t, e);
}

/* ---- the lock ---- */

/* outbox's state directory (the queue's parent), made if missing. */
static char *
state_dir(void)
{
	char *q = queue_default_dir(), *slash;

	if (q == NULL)
		return NULL;
	slash = strrchr(q, '/');
	*slash = '\0';
	for (char *s = q + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(q, 0700);
		*s = '/';
	}
	mkdir(q, 0700);
	return q;
}

/* An exclusive flock on the state directory's lock file for c's item; the
 * descriptor, or -1 with e set. */
static int
lock_tokens(const struct oauth2_client *c, struct error *e)
{
	char *dir = state_dir(), *id, *path;
	unsigned char digest[32];
	char hex[65];
	int fd;

	if (dir == NULL)
		return error_set(e, ST_CONFIG, _("no home directory for the OAuth2 lock file"));
	id = xasprintf("%s%c%s", c->host, '\0', c->user);
	crypto_hash(CRYPTO_SHA256, id, strlen(c->host) + 1 + strlen(c->user), digest);
	free(id);
	hex_encode(digest, 8, false, '\0', hex);
	path = xasprintf("%s/oauth2-%s.lock", dir, hex);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		error_set(e, ST_LOCAL_TEMP, _("cannot lock %s: %s"), path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(path);
	free(dir);
	return fd;
}

/* ---- at send time ---- */

/* What this process got for an account: a second connection (a flush)
 * uses it instead of asking the keyring or the endpoint again. */
static struct {
	char *key;
	char *token;
	long long expires_at;
	struct error error;
	bool failed;
} memo;

static char *
memo_key(const struct oauth2_client *c)
{
	return xasprintf("%s\n%s\n%s", c->account, c->host, c->user);
}

static int
memo_answer(const struct oauth2_client *c, char **token, struct error *e)
{
	char *key = memo_key(c);
	bool same = memo.key != NULL && strcmp(memo.key, key) == 0;

	free(key);
	if (!same)
		return 1;
	if (memo.failed) {
		*e = memo.error;
		return -1;
	}
	if (memo.expires_at - OAUTH2_EXPIRY_MARGIN_S <= (long long)time(NULL))
		return 1;
	*token = xstrdup(memo.token);
	return 0;
}

static void
memo_keep(const struct oauth2_client *c, const char *token, long long expires_at,
	  const struct error *e)
{
	free(memo.key);
	free_secret(memo.token);
	memo.key = memo_key(c);
	memo.token = token != NULL ? xstrdup(token) : NULL;
	memo.expires_at = expires_at;
	memo.failed = token == NULL;
	if (e != NULL)
		memo.error = *e;
}

static int
no_token(const struct oauth2_client *c, struct error *e)
{
	return error_set(e, ST_ACCOUNT,
			 _("account %s: no OAuth2 token in the keyring (host=%s service=oauth2 "
			   "user=%s); run 'outbox -a %s --authorize'"),
			 c->account, c->host, c->user, c->account);
}

/* Under the lock: the cached token, else a refreshed one. */
static int
fresh_token(const struct oauth2_client *c, struct oauth2_tokens *t, bool *refreshed,
	    struct error *e)
{
	bool found;

	*refreshed = false;
	if (tokens_load(c, t, &found, e) < 0)
		return -1;
	if (!found)
		return no_token(c, e);
	if (t->access_token != NULL &&
	    t->expires_at - OAUTH2_EXPIRY_MARGIN_S > (long long)time(NULL))
		return 0;
	*refreshed = true;
	return refresh(c, t, e);
}

int
oauth2_access_token(const struct oauth2_client *c, char **token, struct error *e)
{
	struct oauth2_tokens t;
	bool refreshed;
	int rc, fd;

	*token = NULL;
	rc = memo_answer(c, token, e);
	if (rc <= 0)
		return rc;
	fd = lock_tokens(c, e);
	if (fd < 0)
		return -1;
	rc = fresh_token(c, &t, &refreshed, e);
	close(fd);
	if (rc == 0) {
		*token = xstrdup(t.access_token);
		memo_keep(c, t.access_token, t.expires_at, NULL);
	} else if (refreshed && e->status == ST_ACCOUNT) {
		/* Refused once: the next message of this run is refused too. */
		memo_keep(c, NULL, 0, e);
	}
	oauth2_tokens_free(&t);
	return rc;
}

int
oauth2_describe(const struct oauth2_client *c, struct buf *out, struct error *e)
{
	struct oauth2_tokens t;
	bool found;
	long long left;

	if (tokens_load(c, &t, &found, e) < 0)
		return -1;
	buf_printf(out, _("token: OAuth2 (%s, %s), keyring item host=%s service=oauth2 user=%s"),
		   c->provider, c->token_url, c->host, c->user);
	left = t.expires_at - (long long)time(NULL);
	if (!found)
		buf_printf(out, _("; not found: run 'outbox -a %s --authorize'"), c->account);
	else if (t.access_token != NULL && left > 0)
		buf_printf(out, _("; the access token expires in %lld min, then it is refreshed"),
			   left / 60);
	else
		buf_puts(out,
			 _("; the access token has expired and is refreshed at the next send"));
	buf_puts(out, "\n");
	oauth2_tokens_free(&t);
	return 0;
}

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
	tokens_update(&t, r);
	oauth2_reply_free(r);
	rc = tokens_save(c, &t, e);
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
		if (endpoint_post(c, c->token_url, &form, &r, e) < 0)
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
	if (endpoint_post(c, c->device_url, &form, &r, e) < 0)
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
	if (endpoint_post(c, c->token_url, &form, &r, e) < 0)
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
