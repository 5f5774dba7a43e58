/* secret.c - password sources, in DESIGN.md 1.3's order: the configured
 * password, passwordeval, the Secret Service keyring (libsecret, used in
 * this file only), ~/.netrc, a no-echo prompt on /dev/tty; and storing or
 * deleting keyring items.
 *
 * Untrusted input: the output of the user's passwordeval command and the
 * netrc file (each bounded to 1 MiB), what the keyring daemon sends over
 * D-Bus, and lines typed on the terminal or stdin (bounded to 64 KiB).
 * Every buffer that held a password is wiped; passwords never go into argv,
 * a child's environment or a message.  Keyring calls run in a private
 * GMainContext under one deadline, so a missing, locked or stuck keyring
 * costs a few seconds at most and never hangs the caller. */
#include "config.h"

#include "secret.h"

#include "i18n.h"
#include "lib.h"

#include <libsecret/secret.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <dlfcn.h>

/* libsecret, and GLib through it, is loaded on the first use of the
 * keyring (dlopen), so that the many runs that never need it do not pay
 * for it at start-up (about 1.3 ms and 3 MiB of memory, bench/README.md).
 * Every function of theirs used below goes through a pointer that
 * keyring_load() fills; the names are the libraries' own. */
#define KEYRING_SYMBOLS(X)                                                                         \
	X(g_cancellable_cancel)                                                                    \
	X(g_cancellable_new)                                                                       \
	X(g_error_free)                                                                            \
	X(g_free)                                                                                  \
	X(g_hash_table_insert)                                                                     \
	X(g_hash_table_new)                                                                        \
	X(g_hash_table_unref)                                                                      \
	X(g_list_free_full)                                                                        \
	X(g_main_context_iteration)                                                                \
	X(g_main_context_new)                                                                      \
	X(g_main_context_pop_thread_default)                                                       \
	X(g_main_context_push_thread_default)                                                      \
	X(g_main_context_unref)                                                                    \
	X(g_object_ref)                                                                            \
	X(g_object_unref)                                                                          \
	X(g_source_attach)                                                                         \
	X(g_source_destroy)                                                                        \
	X(g_source_set_callback)                                                                   \
	X(g_source_unref)                                                                          \
	X(g_str_equal)                                                                             \
	X(g_str_hash)                                                                              \
	X(g_timeout_source_new)                                                                    \
	X(g_utf8_validate)                                                                         \
	X(secret_collection_get_locked)                                                            \
	X(secret_item_delete)                                                                      \
	X(secret_item_delete_finish)                                                               \
	X(secret_item_get_locked)                                                                  \
	X(secret_item_get_schema_name)                                                             \
	X(secret_item_get_secret)                                                                  \
	X(secret_service_get_collections)                                                          \
	X(secret_service_get_type)                                                                 \
	X(secret_service_load_collections)                                                         \
	X(secret_service_load_collections_finish)                                                  \
	X(secret_service_open)                                                                     \
	X(secret_service_open_finish)                                                              \
	X(secret_service_search)                                                                   \
	X(secret_service_search_finish)                                                            \
	X(secret_service_store)                                                                    \
	X(secret_service_store_finish)                                                             \
	X(secret_value_get)                                                                        \
	X(secret_value_new)                                                                        \
	X(secret_value_unref)

#define KEYRING_POINTER(name) static __typeof__(name) *p_##name;
KEYRING_SYMBOLS(KEYRING_POINTER)
#undef KEYRING_POINTER

/* GLib wraps these two in function-like macros of its own. */
#undef g_object_ref
#undef g_str_equal

#define g_cancellable_cancel (*p_g_cancellable_cancel)
#define g_cancellable_new (*p_g_cancellable_new)
#define g_error_free (*p_g_error_free)
#define g_free (*p_g_free)
#define g_hash_table_insert (*p_g_hash_table_insert)
#define g_hash_table_new (*p_g_hash_table_new)
#define g_hash_table_unref (*p_g_hash_table_unref)
#define g_list_free_full (*p_g_list_free_full)
#define g_main_context_iteration (*p_g_main_context_iteration)
#define g_main_context_new (*p_g_main_context_new)
#define g_main_context_pop_thread_default (*p_g_main_context_pop_thread_default)
#define g_main_context_push_thread_default (*p_g_main_context_push_thread_default)
#define g_main_context_unref (*p_g_main_context_unref)
#define g_object_ref (*p_g_object_ref)
#define g_object_unref (*p_g_object_unref)
#define g_source_attach (*p_g_source_attach)
#define g_source_destroy (*p_g_source_destroy)
#define g_source_set_callback (*p_g_source_set_callback)
#define g_source_unref (*p_g_source_unref)
#define g_str_equal (*p_g_str_equal)
#define g_str_hash (*p_g_str_hash)
#define g_timeout_source_new (*p_g_timeout_source_new)
#define g_utf8_validate (*p_g_utf8_validate)
#define secret_collection_get_locked (*p_secret_collection_get_locked)
#define secret_item_delete (*p_secret_item_delete)
#define secret_item_delete_finish (*p_secret_item_delete_finish)
#define secret_item_get_locked (*p_secret_item_get_locked)
#define secret_item_get_schema_name (*p_secret_item_get_schema_name)
#define secret_item_get_secret (*p_secret_item_get_secret)
#define secret_service_get_collections (*p_secret_service_get_collections)
#define secret_service_get_type (*p_secret_service_get_type)
#define secret_service_load_collections (*p_secret_service_load_collections)
#define secret_service_load_collections_finish (*p_secret_service_load_collections_finish)
#define secret_service_open (*p_secret_service_open)
#define secret_service_open_finish (*p_secret_service_open_finish)
#define secret_service_search (*p_secret_service_search)
#define secret_service_search_finish (*p_secret_service_search_finish)
#define secret_service_store (*p_secret_service_store)
#define secret_service_store_finish (*p_secret_service_store_finish)
#define secret_value_get (*p_secret_value_get)
#define secret_value_new (*p_secret_value_new)
#define secret_value_unref (*p_secret_value_unref)

#define KEYRING_LIBRARY "libsecret-1.so.0"

/* NULL when the library is loaded, else why it is not. */
static const char *
keyring_load(void)
{
#define KEYRING_ENTRY(name) {#name, (void **)&p_##name},
	static const struct {
		const char *name;
		void **slot;
	} symbols[] = {KEYRING_SYMBOLS(KEYRING_ENTRY)};
#undef KEYRING_ENTRY
	static char failure[256];
	static bool tried;
	void *lib;

	if (tried)
		return failure[0] != '\0' ? failure : NULL;
	tried = true;
	lib = dlopen(KEYRING_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		snprintf(failure, sizeof failure, _("%s cannot be loaded: %s"), KEYRING_LIBRARY,
			 dlerror());
		return failure;
	}
	for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
		*symbols[i].slot = dlsym(lib, symbols[i].name);
		if (*symbols[i].slot == NULL) {
			snprintf(failure, sizeof failure, _("%s has no %s"), KEYRING_LIBRARY,
				 symbols[i].name);
			return failure;
		}
	}
	return NULL;
}

#define EVAL_OUTPUT_MAX (1024 * 1024)
/* A passwordeval may wait for gpg-agent's pinentry: generous, but bounded. */
#define EVAL_TIMEOUT_MS (120 * 1000)
#define NETRC_MAX (1024 * 1024)
#define TYPED_MAX (64 * 1024)
#define KEYRING_LOOKUP_MS 5000
/* Storing may make the daemon ask the user to unlock or create a keyring. */
#define KEYRING_CHANGE_MS 60000
/* How long a call cancelled at the deadline may take to give up. */
#define KEYRING_GRACE_MS 2000
#define OUTBOX_SCHEMA "org.outbox.Password"

/* ------------------------------------------------------ passwordeval --- */

int
secret_eval(const char *cmd, char **out, struct error *e)
{
	struct command_result r;
	struct buf b;
	int rc = 0;

	buf_init(&b, EVAL_OUTPUT_MAX);
	command_run(cmd, EVAL_TIMEOUT_MS, &b, &r);
	switch (r.status) {
	case COMMAND_OK:
		break;
	case COMMAND_NOT_RUN:
		rc = error_set(e, ST_OSERR, _("cannot run passwordeval: %s"), strerror(r.code));
		break;
	case COMMAND_TIMED_OUT:
		rc = error_set(e, ST_ACCOUNT, _("passwordeval did not finish within %d seconds"),
			       EVAL_TIMEOUT_MS / 1000);
		break;
	case COMMAND_TOO_LONG:
		rc = error_set(e, ST_ACCOUNT, _("passwordeval printed more than %d bytes"),
			       EVAL_OUTPUT_MAX);
		break;
	case COMMAND_EXITED:
	case COMMAND_KILLED:
		rc = error_set(e, ST_ACCOUNT,
			       _("passwordeval command failed (%s %d); run it by hand to see why"),
			       r.status == COMMAND_EXITED ? _("exit status") : _("signal"), r.code);
		break;
	}
	if (rc == 0 && b.len > 0 && memchr(b.data, '\0', b.len) != NULL)
		rc = error_set(e, ST_ACCOUNT, _("passwordeval printed a NUL byte"));
	if (rc == 0) {
		if (b.len > 0 && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		if (b.len > 0 && b.data[b.len - 1] == '\r')
			b.data[--b.len] = '\0';
		*out = xstrndup(b.data ? b.data : "", b.len);
	}
	buf_free(&b);
	return rc;
}

/* ------------------------------------------------- what was looked up --- */

enum origin {
	FROM_NONE,
	FROM_CONFIG,
	FROM_EVAL,
	FROM_KEYRING,         /* host, service=smtp, user */
	FROM_KEYRING_NETWORK, /* server, protocol=smtp, user */
	FROM_NETRC,
	FROM_PROMPT,
};

enum keyring_state {
	KR_NOT_ASKED,
	KR_FOUND,
	KR_NOT_FOUND,
	KR_LOCKED,
	KR_NO_BUS,
	KR_UNREACHABLE,
	KR_TIMEOUT,
	KR_NOT_UTF8,
};

enum netrc_kind {
	NETRC_LOGIN,   /* machine HOST login USER */
	NETRC_MACHINE, /* machine HOST, no login */
	NETRC_DEFAULT,
};

struct lookup {
	enum origin origin;
	char *password;
	enum keyring_state keyring;
	char *keyring_why; /* GLib's message for KR_UNREACHABLE */
	enum netrc_kind netrc_kind;
	char *netrc_path;
	char *netrc_why; /* why the netrc file was not used, or NULL */
};

static void
lookup_free(struct lookup *lk)
{
	free_secret(lk->password);
	free(lk->keyring_why);
	free(lk->netrc_path);
	free(lk->netrc_why);
}

/* ----------------------------------------------------------- keyring --- */

/* New items: outbox's own schema name with msmtp's attributes. */
static const SecretSchema store_schema = {
	.name = OUTBOX_SCHEMA,
	.flags = SECRET_SCHEMA_NONE,
	.attributes = {{"host", SECRET_SCHEMA_ATTRIBUTE_STRING},
		       {"service", SECRET_SCHEMA_ATTRIBUTE_STRING},
		       {"user", SECRET_SCHEMA_ATTRIBUTE_STRING},
		       {NULL, 0}},
};

/* Lookups ignore the schema name: items made by secret-tool or msmtp carry
 * another one, or none. */
static const SecretSchema smtp_lookup_schema = {
	.name = OUTBOX_SCHEMA,
	.flags = SECRET_SCHEMA_DONT_MATCH_NAME,
	.attributes = {{"host", SECRET_SCHEMA_ATTRIBUTE_STRING},
		       {"service", SECRET_SCHEMA_ATTRIBUTE_STRING},
		       {"user", SECRET_SCHEMA_ATTRIBUTE_STRING},
		       {NULL, 0}},
};

static const SecretSchema network_lookup_schema = {
	.name = "org.gnome.keyring.NetworkPassword",
	.flags = SECRET_SCHEMA_DONT_MATCH_NAME,
	.attributes = {{"server", SECRET_SCHEMA_ATTRIBUTE_STRING},
		       {"protocol", SECRET_SCHEMA_ATTRIBUTE_STRING},
		       {"user", SECRET_SCHEMA_ATTRIBUTE_STRING},
		       {NULL, 0}},
};

/* The attribute sets looked up, in order. */
static const struct keyring_kind {
	const SecretSchema *schema;
	const char *host_attr;
	const char *service_attr;
	enum origin origin;
} keyring_kinds[] = {
	{&smtp_lookup_schema, "host", "service", FROM_KEYRING},
	{&network_lookup_schema, "server", "protocol", FROM_KEYRING_NETWORK},
};

#define KEYRING_KINDS (sizeof keyring_kinds / sizeof keyring_kinds[0])

/* One bounded conversation with the keyring daemon.  Async calls complete
 * in the private context; a timer cancels them at the deadline, and a call
 * that ignores the cancellation is abandoned after a grace period (its
 * completion is never dispatched: nobody iterates the context again). */
struct keyring {
	GMainContext *ctx;
	GCancellable *cancel;
	GSource *deadline;
	GSource *grace;
	GAsyncResult *result;
	bool expired;
	bool abandoned;
	unsigned timeout_ms;
	SecretService *service;
	enum keyring_state state; /* why the last step failed */
	char *why;                /* GLib's message for KR_UNREACHABLE */
};

static gboolean
keyring_on_deadline(gpointer data)
{
	struct keyring *k = data;

	k->expired = true;
	g_cancellable_cancel(k->cancel);
	return G_SOURCE_REMOVE;
}

static gboolean
keyring_on_grace(gpointer data)
{
	struct keyring *k = data;

	k->abandoned = true;
	return G_SOURCE_REMOVE;
}

static void
keyring_done(GObject *source, GAsyncResult *result, gpointer data)
{
	struct keyring *k = data;

	k->result = g_object_ref(result);
}

static GSource *
keyring_timer(struct keyring *k, unsigned ms, GSourceFunc fn)
{
	GSource *s = g_timeout_source_new(ms);

	g_source_set_callback(s, fn, k, NULL);
	g_source_attach(s, k->ctx);
	return s;
}

static void
keyring_begin(struct keyring *k, unsigned timeout_ms)
{
	memset(k, 0, sizeof *k);
	k->ctx = g_main_context_new();
	g_main_context_push_thread_default(k->ctx);
	k->cancel = g_cancellable_new();
	k->timeout_ms = timeout_ms;
	k->deadline = keyring_timer(k, timeout_ms, keyring_on_deadline);
	k->grace = keyring_timer(k, timeout_ms + KEYRING_GRACE_MS, keyring_on_grace);
}

/* Releasing GDBus proxies queues work in the private context (freeing
 * their signal subscriptions' data): it runs before the context goes. */
static void
keyring_end(struct keyring *k)
{
	if (k->service != NULL)
		g_object_unref(k->service);
	g_source_destroy(k->deadline);
	g_source_unref(k->deadline);
	g_source_destroy(k->grace);
	g_source_unref(k->grace);
	while (g_main_context_iteration(k->ctx, FALSE))
		;
	if (k->result != NULL)
		g_object_unref(k->result);
	g_object_unref(k->cancel);
	g_main_context_pop_thread_default(k->ctx);
	g_main_context_unref(k->ctx);
	free(k->why);
}

/* Runs the private context until the pending call completes; NULL when it
 * was abandoned. */
static GAsyncResult *
keyring_wait(struct keyring *k)
{
	GAsyncResult *r;

	while (k->result == NULL && !k->abandoned)
		g_main_context_iteration(k->ctx, TRUE);
	r = k->result;
	k->result = NULL;
	return r;
}

/* Records why a call failed; returns -1. */
static int
keyring_failed(struct keyring *k, GError *err)
{
	free(k->why);
	k->why = NULL;
	if (k->expired || k->abandoned) {
		k->state = KR_TIMEOUT;
	} else if (getenv("DBUS_SESSION_BUS_ADDRESS") == NULL && k->service == NULL) {
		k->state = KR_NO_BUS;
	} else {
		k->state = KR_UNREACHABLE;
		k->why = xstrdup(err != NULL ? err->message : "?");
	}
	if (err != NULL)
		g_error_free(err);
	return -1;
}

static int
keyring_connect(struct keyring *k)
{
	GError *err = NULL;
	GAsyncResult *r;

	secret_service_open(SECRET_TYPE_SERVICE, NULL, SECRET_SERVICE_NONE, k->cancel, keyring_done,
			    k);
	r = keyring_wait(k);
	if (r == NULL)
		return keyring_failed(k, NULL);
	k->service = secret_service_open_finish(r, &err);
	g_object_unref(r);
	return k->service != NULL ? 0 : keyring_failed(k, err);
}

static GHashTable *
keyring_attributes(const struct keyring_kind *kind, const char *host, const char *user)
{
	GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);

	g_hash_table_insert(t, (gpointer)kind->host_attr, (gpointer)host);
	g_hash_table_insert(t, (gpointer)kind->service_attr, (gpointer) "smtp");
	g_hash_table_insert(t, (gpointer) "user", (gpointer)user);
	return t;
}

/* All items with kind's attributes, locked ones included, without
 * unlocking anything (an unlock could wait for a prompt). */
static int
keyring_search(struct keyring *k, const struct keyring_kind *kind, const char *host,
	       const char *user, bool load_secrets, GList **items)
{
	GHashTable *attrs = keyring_attributes(kind, host, user);
	GError *err = NULL;
	GAsyncResult *r;

	secret_service_search(k->service, kind->schema, attrs,
			      SECRET_SEARCH_ALL | (load_secrets ? SECRET_SEARCH_LOAD_SECRETS : 0),
			      k->cancel, keyring_done, k);
	g_hash_table_unref(attrs);
	r = keyring_wait(k);
	if (r == NULL)
		return keyring_failed(k, NULL);
	*items = secret_service_search_finish(k->service, r, &err);
	g_object_unref(r);
	return err == NULL ? 0 : keyring_failed(k, err);
}

/* A locked collection hides its items from a search, or shows them
 * locked: either way the password may be in it. */
static bool
keyring_any_collection_locked(struct keyring *k)
{
	GError *err = NULL;
	GAsyncResult *r;
	GList *cols;
	bool locked = false;

	secret_service_load_collections(k->service, k->cancel, keyring_done, k);
	r = keyring_wait(k);
	if (r == NULL)
		return false;
	secret_service_load_collections_finish(k->service, r, &err);
	g_object_unref(r);
	if (err != NULL) {
		g_error_free(err);
		return false;
	}
	cols = secret_service_get_collections(k->service);
	for (GList *l = cols; l != NULL; l = l->next)
		locked |= secret_collection_get_locked(l->data) != FALSE;
	g_list_free_full(cols, g_object_unref);
	return locked;
}

/* The item to use among a search's results: an unlocked one, outbox's own
 * schema first. */
static SecretItem *
keyring_pick(GList *items, bool *locked)
{
	SecretItem *pick = NULL;

	for (GList *l = items; l != NULL; l = l->next) {
		SecretItem *item = l->data;
		gchar *schema;
		bool ours;

		if (secret_item_get_locked(item)) {
			*locked = true;
			continue;
		}
		schema = secret_item_get_schema_name(item);
		ours = schema != NULL && strcmp(schema, OUTBOX_SCHEMA) == 0;
		g_free(schema);
		if (pick == NULL || ours)
			pick = item;
		if (ours)
			break;
	}
	return pick;
}

/* Copies the item's secret; false when it holds none or not text. */
static bool
keyring_take_secret(SecretItem *item, char **out)
{
	SecretValue *value = secret_item_get_secret(item);
	const gchar *data;
	gsize len;
	bool ok;

	if (value == NULL)
		return false;
	data = secret_value_get(value, &len);
	ok = data != NULL && memchr(data, '\0', len) == NULL;
	if (ok)
		*out = xstrndup(data, len);
	secret_value_unref(value);
	return ok;
}

static bool
usable_for_keyring(const char *host, const char *user)
{
	return g_utf8_validate(host, -1, NULL) && g_utf8_validate(user, -1, NULL);
}

static void
keyring_lookup(const struct secret_source *src, bool fetch, struct lookup *lk)
{
	struct keyring k;
	bool locked = false;
	const char *why = keyring_load();

	if (why != NULL) {
		lk->keyring = KR_UNREACHABLE;
		lk->keyring_why = xstrdup(why);
		return;
	}
	if (!usable_for_keyring(src->host, src->user)) {
		lk->keyring = KR_NOT_UTF8;
		return;
	}
	keyring_begin(&k, KEYRING_LOOKUP_MS);
	lk->keyring = KR_NOT_FOUND;
	if (keyring_connect(&k) < 0)
		goto failed;
	for (size_t i = 0; i < KEYRING_KINDS && lk->origin == FROM_NONE; i++) {
		GList *items = NULL;
		SecretItem *item;

		if (keyring_search(&k, &keyring_kinds[i], src->host, src->user, fetch, &items) < 0)
			goto failed;
		item = keyring_pick(items, &locked);
		if (item != NULL && (!fetch || keyring_take_secret(item, &lk->password)))
			lk->origin = keyring_kinds[i].origin;
		g_list_free_full(items, g_object_unref);
	}
	if (lk->origin != FROM_NONE)
		lk->keyring = KR_FOUND;
	else if (locked || keyring_any_collection_locked(&k))
		lk->keyring = KR_LOCKED;
	keyring_end(&k);
	return;
failed:
	lk->keyring = k.state;
	lk->keyring_why = k.why;
	k.why = NULL;
	keyring_end(&k);
}

/* The one-line reason for a keyring state, naming the attributes. */
static void
keyring_explain(struct buf *b, enum keyring_state state, const char *why, unsigned timeout_s,
		const char *host, const char *user)
{
	switch (state) {
	case KR_NOT_FOUND:
		buf_printf(b,
			   _("no keyring item host=%s service=smtp user=%s "
			     "(nor server=%s protocol=smtp user=%s)"),
			   host, user, host, user);
		break;
	case KR_LOCKED:
		buf_printf(b,
			   _("the keyring is locked, so item host=%s service=smtp user=%s "
			     "cannot be read; unlock it"),
			   host, user);
		break;
	case KR_NO_BUS:
		buf_printf(b,
			   _("keyring unavailable (no D-Bus session: DBUS_SESSION_BUS_ADDRESS is "
			     "not set, as under cron) for host=%s service=smtp user=%s"),
			   host, user);
		break;
	case KR_UNREACHABLE:
		buf_printf(b, _("keyring unavailable (%.200s) for host=%s service=smtp user=%s"),
			   why != NULL ? why : "?", host, user);
		break;
	case KR_TIMEOUT:
		buf_printf(b,
			   _("the keyring did not answer within %u s for host=%s service=smtp "
			     "user=%s"),
			   timeout_s, host, user);
		break;
	case KR_NOT_UTF8:
		buf_printf(b, _("the keyring cannot hold host %s or user %s: not UTF-8"), host,
			   user);
		break;
	case KR_NOT_ASKED:
		buf_puts(b, _("the account has no host or user to look up"));
		break;
	case KR_FOUND:
		break;
	}
}

/* An error for a store or delete that could not reach the keyring. */
static int
keyring_error(const struct keyring *k, const char *host, const char *user, struct error *e)
{
	struct buf b;

	buf_init(&b, ERROR_MSG_MAX);
	keyring_explain(&b, k->state, k->why, k->timeout_ms / 1000, host, user);
	error_set(e, ST_ACCOUNT, "%s", b.data != NULL ? b.data : "");
	buf_free(&b);
	return -1;
}

int
secret_store(const char *host, const char *user, const char *password, struct error *e)
{
	struct keyring k;
	GHashTable *attrs;
	SecretValue *value;
	GError *err = NULL;
	GAsyncResult *r;
	const char *why;
	char *label;
	int rc = 0;

	if (host == NULL || *host == '\0' || user == NULL || *user == '\0')
		return error_set(e, ST_CONFIG,
				 _("the account needs 'host' and 'user' to store a password"));
	if ((why = keyring_load()) != NULL)
		return error_set(e, ST_ACCOUNT, _("the keyring is unavailable: %s"), why);
	if (!usable_for_keyring(host, user))
		return error_set(e, ST_CONFIG,
				 _("the keyring cannot hold host %s or user %s: not UTF-8"), host,
				 user);
	keyring_begin(&k, KEYRING_CHANGE_MS);
	if (keyring_connect(&k) < 0) {
		rc = keyring_error(&k, host, user, e);
		keyring_end(&k);
		return rc;
	}
	attrs = keyring_attributes(&keyring_kinds[0], host, user);
	value = secret_value_new(password, -1, "text/plain");
	label = xasprintf("outbox: %s@%s", user, host);
	secret_service_store(k.service, &store_schema, attrs, SECRET_COLLECTION_DEFAULT, label,
			     value, k.cancel, keyring_done, &k);
	secret_value_unref(value);
	g_hash_table_unref(attrs);
	free(label);
	r = keyring_wait(&k);
	if (r == NULL) {
		rc = keyring_failed(&k, NULL);
	} else {
		secret_service_store_finish(k.service, r, &err);
		g_object_unref(r);
		if (err != NULL)
			rc = keyring_failed(&k, err);
	}
	if (rc < 0 && k.state == KR_TIMEOUT)
		error_set(e, ST_ACCOUNT, _("the keyring did not store the password within %d s"),
			  KEYRING_CHANGE_MS / 1000);
	else if (rc < 0)
		error_set(e, ST_ACCOUNT, _("the keyring did not store the password: %.300s"),
			  k.why != NULL ? k.why : "?");
	keyring_end(&k);
	return rc;
}

/* Deletes the unlocked items among items; counts them and notes locked
 * ones.  -1 when the keyring fails. */
static int
keyring_delete_items(struct keyring *k, GList *items, int *deleted, bool *locked)
{
	for (GList *l = items; l != NULL; l = l->next) {
		GError *err = NULL;
		GAsyncResult *r;

		if (secret_item_get_locked(l->data)) {
			*locked = true;
			continue;
		}
		secret_item_delete(l->data, k->cancel, keyring_done, k);
		r = keyring_wait(k);
		if (r == NULL)
			return keyring_failed(k, NULL);
		secret_item_delete_finish(l->data, r, &err);
		g_object_unref(r);
		if (err != NULL)
			return keyring_failed(k, err);
		(*deleted)++;
	}
	return 0;
}

int
secret_delete(const char *host, const char *user, struct error *e)
{
	struct keyring k;
	int deleted = 0;
	bool locked = false;
	const char *why;
	int rc = 0;

	if (host == NULL || *host == '\0' || user == NULL || *user == '\0')
		return error_set(e, ST_CONFIG,
				 _("the account needs 'host' and 'user' to delete a password"));
	if ((why = keyring_load()) != NULL)
		return error_set(e, ST_ACCOUNT, _("the keyring is unavailable: %s"), why);
	if (!usable_for_keyring(host, user))
		return error_set(e, ST_ACCOUNT,
				 _("the keyring cannot hold host %s or user %s: not UTF-8"), host,
				 user);
	keyring_begin(&k, KEYRING_CHANGE_MS);
	rc = keyring_connect(&k);
	for (size_t i = 0; i < KEYRING_KINDS && rc == 0; i++) {
		GList *items = NULL;

		rc = keyring_search(&k, &keyring_kinds[i], host, user, false, &items);
		if (rc == 0)
			rc = keyring_delete_items(&k, items, &deleted, &locked);
		g_list_free_full(items, g_object_unref);
	}
	if (rc < 0)
		keyring_error(&k, host, user, e);
	else if (deleted == 0 && (locked || keyring_any_collection_locked(&k)))
		rc = error_set(e, ST_ACCOUNT,
			       _("the keyring is locked, so item host=%s service=smtp user=%s "
				 "cannot be deleted; unlock it"),
			       host, user);
	else if (deleted == 0)
		rc = error_set(e, ST_ACCOUNT,
			       _("no keyring item host=%s service=smtp user=%s (nor server=%s "
				 "protocol=smtp user=%s) to delete"),
			       host, user, host, user);
	keyring_end(&k);
	return rc;
}

/* ------------------------------------------------------------- netrc --- */

/* The netrc syntax of GNU inetutils and curl: whitespace-separated tokens;
 * a double-quoted token may hold blanks, with a backslash escaping the next
 * byte; "macdef NAME" is followed by a macro body that ends at an empty
 * line; a '#' where a keyword is expected starts a comment up to the end
 * of the line.  Tokens are cut out of the file's buffer in place. */
struct netrc_scan {
	char *p;
	char *end;
	bool line_ended; /* the last token's separator was a newline */
};

static char *
netrc_token(struct netrc_scan *s)
{
	char *tok, *w;

	while (s->p < s->end && isspace((unsigned char)*s->p))
		s->p++;
	if (s->p == s->end)
		return NULL;
	tok = w = s->p;
	s->line_ended = false;
	if (*s->p == '"') {
		for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
			if (*s->p == '\\' && s->p + 1 < s->end)
				s->p++;
			*w++ = *s->p;
		}
		if (s->p < s->end)
			s->p++;
	} else {
		while (s->p < s->end && !isspace((unsigned char)*s->p))
			*w++ = *s->p++;
		if (s->p < s->end)
			s->line_ended = *s->p++ == '\n';
	}
	*w = '\0';
	return tok;
}

static void
netrc_skip_line(struct netrc_scan *s)
{
	char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));

	s->p = nl != NULL ? nl + 1 : s->end;
}

/* A macro body ends at the first empty line. */
static void
netrc_skip_macro(struct netrc_scan *s)
{
	if (!s->line_ended)
		netrc_skip_line(s);
	while (s->p < s->end && *s->p != '\n')
		netrc_skip_line(s);
	if (s->p < s->end)
		s->p++;
}

enum netrc_keyword { NK_MACHINE, NK_DEFAULT, NK_LOGIN, NK_PASSWORD, NK_ACCOUNT, NK_MACDEF };

static const struct {
	const char *name;
	enum netrc_keyword kw;
} netrc_keywords[] = {
	{"machine", NK_MACHINE},   {"default", NK_DEFAULT}, {"login", NK_LOGIN},
	{"password", NK_PASSWORD}, {"account", NK_ACCOUNT}, {"macdef", NK_MACDEF},
};

struct netrc_entry {
	const char *machine; /* NULL for `default` */
	const char *login;
	const char *password;
	bool started;
};

/* machine == host (case-insensitively, as host names are), and login ==
 * user when the entry names a login. */
static bool
netrc_matches(const struct netrc_entry *en, const char *host, const char *user)
{
	if (!en->started || en->password == NULL)
		return false;
	if (en->login != NULL && strcmp(en->login, user) != 0)
		return false;
	return en->machine == NULL || strcasecmp(en->machine, host) == 0;
}

/* Finds the entry for host and user: the first matching machine entry,
 * else a matching `default` entry. */
static bool
netrc_find(char *text, size_t len, const char *host, const char *user, struct netrc_entry *found)
{
	struct netrc_scan s = {text, text + len, false};
	struct netrc_entry cur = {0}, fallback = {0};
	char *tok;

	while ((tok = netrc_token(&s)) != NULL) {
		size_t i;
		char *value;

		if (*tok == '#') {
			if (!s.line_ended)
				netrc_skip_line(&s);
			continue;
		}
		for (i = 0; i < sizeof netrc_keywords / sizeof netrc_keywords[0]; i++)
			if (strcmp(tok, netrc_keywords[i].name) == 0)
				break;
		if (i == sizeof netrc_keywords / sizeof netrc_keywords[0])
			continue;
		if (netrc_keywords[i].kw == NK_MACHINE || netrc_keywords[i].kw == NK_DEFAULT) {
			if (netrc_matches(&cur, host, user)) {
				if (cur.machine != NULL)
					break;
				if (fallback.password == NULL)
					fallback = cur;
			}
			cur = (struct netrc_entry){.started = true};
			if (netrc_keywords[i].kw == NK_DEFAULT)
				continue;
		}
		if ((value = netrc_token(&s)) == NULL)
			break;
		switch (netrc_keywords[i].kw) {
		case NK_MACHINE:
			cur.machine = value;
			break;
		case NK_LOGIN:
			cur.login = value;
			break;
		case NK_PASSWORD:
			cur.password = value;
			break;
		case NK_MACDEF:
			netrc_skip_macro(&s);
			break;
		case NK_ACCOUNT:
		case NK_DEFAULT:
			break;
		}
	}
	if (netrc_matches(&cur, host, user) && (cur.machine != NULL || fallback.password == NULL))
		*found = cur;
	else if (fallback.password != NULL)
		*found = fallback;
	else
		return false;
	return true;
}

static char *
netrc_default_path(void)
{
	const char *home = getenv("HOME");

	if (home == NULL || *home == '\0') {
		struct passwd *pw = getpwuid(getuid());

		if (pw == NULL)
			return NULL;
		home = pw->pw_dir;
	}
	return xasprintf("%s/.netrc", home);
}

/* Reads the whole file into b; the reason in *why when it cannot. */
static int
netrc_read(int fd, struct buf *b, char **why)
{
	if (read_to_eof(fd, b, true) == 0)
		return 0;
	if (errno == EFBIG)
		*why = xasprintf(_("larger than %d bytes, ignored"), NETRC_MAX);
	else
		*why = xasprintf(_("cannot read it: %s"), strerror(errno));
	return -1;
}

/* Like ftp(1), a netrc that holds the password is used only when it is
 * the user's own and nobody else may read or change it: a password others
 * can read is already compromised, and one they can write could be theirs.
 * Refusing (and saying why in the final error) is the safe choice. */
static void
netrc_lookup(const struct secret_source *src, bool fetch, struct lookup *lk)
{
	struct netrc_entry en;
	struct stat st;
	struct buf b;
	int fd;

	lk->netrc_path = src->netrc != NULL ? xstrdup(src->netrc) : netrc_default_path();
	if (lk->netrc_path == NULL)
		return;
	fd = open_for_reading(lk->netrc_path);
	if (fd < 0) {
		if (errno != ENOENT)
			lk->netrc_why = xasprintf(_("cannot open it: %s"), strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		lk->netrc_why = xstrdup(_("not a regular file, ignored"));
		close(fd);
		return;
	}
	buf_init(&b, NETRC_MAX);
	if (netrc_read(fd, &b, &lk->netrc_why) == 0 && b.data != NULL &&
	    netrc_find(b.data, b.len, src->host, src->user, &en)) {
		if (st.st_uid != geteuid() || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
			lk->netrc_why = xasprintf(_("not used: other users can read or change it "
						    "(mode %03o, owner %ld); run: chmod 600 %s"),
						  (unsigned)(st.st_mode & 0777), (long)st.st_uid,
						  lk->netrc_path);
		} else {
			lk->origin = FROM_NETRC;
			lk->netrc_kind = en.machine == NULL ? NETRC_DEFAULT
					 : en.login == NULL ? NETRC_MACHINE
							    : NETRC_LOGIN;
			if (fetch)
				lk->password = xstrdup(en.password);
		}
	}
	buf_free(&b);
	close(fd);
}

/* --------------------------------------------------------- terminal --- */

static volatile sig_atomic_t tty_caught;

static void
tty_catch(int sig)
{
	tty_caught = sig;
}

/* The signals that end a prompt: the echo is restored before they act. */
static const int tty_signals[] = {SIGINT, SIGHUP, SIGQUIT, SIGTERM};

#define TTY_SIGNALS (sizeof tty_signals / sizeof tty_signals[0])

/* Reads one line (up to LF or end of file) byte by byte, so nothing after
 * it is consumed; at most TYPED_MAX bytes; a trailing CR is dropped. */
static int
read_secret_line(int fd, char **out, struct error *e)
{
	struct buf b;
	bool too_long = false;
	char c = 0;

	buf_init(&b, TYPED_MAX);
	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR && tty_caught == 0)
			continue;
		if (n < 0) {
			buf_free(&b);
			if (tty_caught != 0)
				return error_set(e, ST_ACCOUNT, _("password entry interrupted"));
			return error_set(e, ST_IOERR, _("cannot read the password: %s"),
					 strerror(errno));
		}
		if (n == 0 || c == '\n')
			break;
		too_long |= buf_append(&b, &c, 1) < 0;
	}
	c = 0;
	if (too_long) {
		buf_free(&b);
		return error_set(e, ST_DATAERR, _("the password is longer than %d bytes"),
				 TYPED_MAX);
	}
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		buf_free(&b);
		return error_set(e, ST_DATAERR, _("no password given (the line is empty)"));
	}
	*out = xstrndup(b.data, b.len);
	buf_free(&b);
	return 0;
}

/* Shows prompt on the terminal fd and reads a line with the echo off.  The
 * terminal settings and signal handlers are restored whatever happens; a
 * signal that arrived meanwhile is then raised again. */
static int
tty_read_secret(int fd, const char *prompt, char **out, struct error *e)
{
	struct termios saved, quiet;
	struct sigaction act, old[TTY_SIGNALS];
	int rc;

	*out = NULL;
	if (tcgetattr(fd, &saved) < 0)
		return error_set(e, ST_ACCOUNT, _("cannot use the terminal: %s"), strerror(errno));
	memset(&act, 0, sizeof act);
	act.sa_handler = tty_catch; /* no SA_RESTART: read() returns EINTR */
	sigemptyset(&act.sa_mask);
	tty_caught = 0;
	for (size_t i = 0; i < TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &act, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0 || write_all(fd, prompt, strlen(prompt)) < 0)
		rc = error_set(e, ST_ACCOUNT, _("cannot use the terminal: %s"), strerror(errno));
	else
		rc = read_secret_line(fd, out, e);
	if (write_all(fd, "\n", 1) < 0 && rc == 0)
		rc = error_set(e, ST_ACCOUNT, _("cannot use the terminal: %s"), strerror(errno));
	tcsetattr(fd, TCSAFLUSH, &saved);
	for (size_t i = 0; i < TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &old[i], NULL);
	if (tty_caught != 0)
		raise(tty_caught);
	if (rc < 0 && *out != NULL) {
		free_secret(*out);
		*out = NULL;
	}
	return rc;
}

static int
open_tty(void)
{
	return open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/* Asks on /dev/tty; 1 when there is no terminal to ask on. */
static int
prompt_password(const struct secret_source *src, char **out, struct error *e)
{
	int fd = open_tty();
	char *prompt;
	int rc;

	if (fd < 0)
		return 1;
	prompt = xasprintf(_("Password for %s at %s (account %s): "), src->user, src->host,
			   src->account != NULL ? src->account : "default");
	rc = tty_read_secret(fd, prompt, out, e);
	free(prompt);
	close(fd);
	return rc;
}

int
secret_read_new(const char *prompt, char **out, struct error *e)
{
	char *again = NULL;
	int fd, rc;

	*out = NULL;
	if (!isatty(STDIN_FILENO))
		return read_secret_line(STDIN_FILENO, out, e);
	fd = open_tty();
	if (fd < 0)
		return error_set(e, ST_IOERR, _("cannot open /dev/tty: %s"), strerror(errno));
	rc = tty_read_secret(fd, prompt, out, e);
	if (rc == 0)
		rc = tty_read_secret(fd, _("Retype the password: "), &again, e);
	close(fd);
	if (rc == 0 && strcmp(*out, again) != 0)
		rc = error_set(e, ST_DATAERR, _("the two passwords differ; nothing was stored"));
	free_secret(again);
	if (rc < 0) {
		free_secret(*out);
		*out = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------- order --- */

static bool
has_text(const char *s)
{
	return s != NULL && *s != '\0';
}

/* Finds the first source that has the password, in DESIGN.md 1.3's order.
 * With fetch, the password is fetched (passwordeval runs, the prompt
 * asks); without, only where it would come from is worked out.  A source
 * that cannot answer (no D-Bus, a locked keyring, an unsafe netrc) lets
 * the later ones try: its reason is kept for the final error. */
static int
lookup_password(const struct secret_source *src, bool fetch, struct lookup *lk, struct error *e)
{
	int rc;

	memset(lk, 0, sizeof *lk);
	if (src->password != NULL) {
		lk->origin = FROM_CONFIG;
		if (fetch)
			lk->password = xstrdup(src->password);
		return 0;
	}
	if (src->passwordeval != NULL) {
		lk->origin = FROM_EVAL;
		return fetch ? secret_eval(src->passwordeval, &lk->password, e) : 0;
	}
	if (has_text(src->host) && has_text(src->user)) {
		keyring_lookup(src, fetch, lk);
		if (lk->origin == FROM_NONE)
			netrc_lookup(src, fetch, lk);
		if (lk->origin != FROM_NONE)
			return 0;
	}
	if (!src->prompt)
		return 0;
	if (!fetch) {
		int fd = open_tty();

		if (fd >= 0) {
			lk->origin = FROM_PROMPT;
			close(fd);
		}
		return 0;
	}
	rc = prompt_password(src, &lk->password, e);
	if (rc == 0)
		lk->origin = FROM_PROMPT;
	return rc < 0 ? -1 : 0;
}

/* Why no source had the password: the keyring's reason, the netrc's. */
static void
explain_missing(const struct secret_source *src, const struct lookup *lk, struct buf *b)
{
	keyring_explain(b, lk->keyring, lk->keyring_why, KEYRING_LOOKUP_MS / 1000,
			src->host ? src->host : "", src->user ? src->user : "");
	if (lk->netrc_why != NULL)
		buf_printf(b, "; %s: %s", lk->netrc_path, lk->netrc_why);
}

static const char *
account_name(const struct secret_source *src)
{
	return src->account != NULL ? src->account : "default";
}

int
secret_get_password(const struct secret_source *src, char **out, struct error *e)
{
	struct lookup lk;
	struct buf why;

	*out = NULL;
	if (lookup_password(src, true, &lk, e) < 0) {
		lookup_free(&lk);
		return -1;
	}
	if (lk.origin != FROM_NONE) {
		*out = lk.password;
		lk.password = NULL;
		lookup_free(&lk);
		return 0;
	}
	buf_init(&why, ERROR_MSG_MAX);
	explain_missing(src, &lk, &why);
	error_set(e, ST_ACCOUNT,
		  _("account %s: no password for user %s at %s: %s; store it with: outbox -a %s "
		    "--store-password (or: secret-tool store --label=outbox host %s service smtp "
		    "user %s), or set password or passwordeval in the account"),
		  account_name(src), src->user ? src->user : "", src->host ? src->host : "",
		  why.data != NULL ? why.data : "", account_name(src), src->host ? src->host : "",
		  src->user ? src->user : "");
	buf_free(&why);
	lookup_free(&lk);
	return -1;
}

int
secret_describe(const struct secret_source *src, struct buf *out, struct error *e)
{
	struct lookup lk;
	int rc = 0;

	if (lookup_password(src, false, &lk, e) < 0) {
		lookup_free(&lk);
		return -1;
	}
	switch (lk.origin) {
	case FROM_CONFIG:
		rc = buf_puts(out, _("password: from the configuration file"));
		break;
	case FROM_EVAL:
		rc = buf_puts(out, _("password: from passwordeval (the command runs when needed)"));
		break;
	case FROM_KEYRING:
		rc = buf_printf(out, _("password: keyring item host=%s service=smtp user=%s"),
				src->host, src->user);
		break;
	case FROM_KEYRING_NETWORK:
		rc = buf_printf(out,
				_("password: keyring (GNOME network-password) server=%s "
				  "protocol=smtp user=%s"),
				src->host, src->user);
		break;
	case FROM_NETRC:
		if (lk.netrc_kind == NETRC_LOGIN)
			rc = buf_printf(out, _("password: %s machine %s login %s"), lk.netrc_path,
					src->host, src->user);
		else if (lk.netrc_kind == NETRC_MACHINE)
			rc = buf_printf(out, _("password: %s machine %s"), lk.netrc_path,
					src->host);
		else
			rc = buf_printf(out, _("password: %s default entry"), lk.netrc_path);
		break;
	case FROM_PROMPT:
		rc = buf_printf(out,
				_("password: asked on the terminal when needed (nothing stored; "
				  "store it with: outbox -a %s --store-password)"),
				account_name(src));
		break;
	case FROM_NONE:
		rc = buf_puts(out, _("password: not found: "));
		explain_missing(src, &lk, out);
		if (rc == 0)
			rc = buf_printf(out, _("; store it with: outbox -a %s --store-password"),
					account_name(src));
		break;
	}
	if (rc == 0)
		rc = buf_puts(out, "\n");
	lookup_free(&lk);
	if (rc < 0)
		return error_set(e, ST_SOFTWARE, _("the password description is too long"));
	return 0;
}
