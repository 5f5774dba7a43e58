/* oauth2.c - OAuth2 access tokens for XOAUTH2 and OAUTHBEARER: the
 * providers' presets, the tokens in the keyring, the refresh at send time
 * under a lock (--authorize is oauth2_authorize.c).
 *
 * Untrusted input: the keyring item's text (oauth2_tokens_parse), the
 * endpoints' JSON (oauth2_http.c), and the browser's request to the
 * loopback listener (bounded to 8 KiB, oauth2_redirect_parse).  Tokens are
 * wiped after use and never written to logs, argv or the environment. */
#include "config.h"

#include "oauth2.h"
#include "oauth2_private.h"

#include "crypto.h"
#include "i18n.h"
#include "queue.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define OAUTH2_SERVICE "oauth2"

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

int
oauth2_tokens_save(const struct oauth2_client *c, const struct oauth2_tokens *t, struct error *e)
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
void
oauth2_tokens_update(struct oauth2_tokens *t, struct oauth2_reply *r)
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
int
oauth2_endpoint_post(const struct oauth2_client *c, const char *url, struct strlist *form,
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
	if (oauth2_endpoint_post(c, c->token_url, &form, &r, e) < 0) {
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
	oauth2_tokens_update(t, &r);
	oauth2_reply_free(&r);
	/* A rotated refresh token is stored before anything uses the new
	 * access token: losing it would mean signing in again. */
	return oauth2_tokens_save(c, t, e);
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
