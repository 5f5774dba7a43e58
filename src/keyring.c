/* keyring.c - the Secret Service keyring through libsecret, the only
 * file that knows GLib and libsecret: looking a password up, storing and
 * deleting items (secret_store, secret_delete).  libsecret is loaded with
 * dlopen on first use.
 *
 * Untrusted input: what the keyring daemon sends over D-Bus (item
 * secrets, taken only when they are text without NUL; error messages,
 * cut when shown).  Calls run in a private GMainContext under one
 * deadline, so a missing, locked or stuck keyring costs a few seconds at
 * most and never hangs the caller. */
#include "config.h"

#include "secret.h"

#include "i18n.h"
#include "lib.h"
#include "secret_lookup.h"

#include <libsecret/secret.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Storing may make the daemon ask the user to unlock or create a keyring. */
#define KEYRING_CHANGE_MS 60000
/* How long a call cancelled at the deadline may take to give up. */
#define KEYRING_GRACE_MS 2000
#define OUTBOX_SCHEMA "org.outbox.Password"

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
	enum secret_origin origin;
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
keyring_attributes(const struct keyring_kind *kind, const char *host, const char *service,
		   const char *user)
{
	GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);

	/* GLib takes non-const keys and values; a table made without free
	 * functions never changes them. */
	g_hash_table_insert(t, (gpointer)(uintptr_t)kind->host_attr, (gpointer)(uintptr_t)host);
	g_hash_table_insert(t, (gpointer)(uintptr_t)kind->service_attr,
			    (gpointer)(uintptr_t)service);
	g_hash_table_insert(t, (gpointer)(uintptr_t) "user", (gpointer)(uintptr_t)user);
	return t;
}

/* All items with kind's attributes, locked ones included, without
 * unlocking anything (an unlock could wait for a prompt). */
static int
keyring_search(struct keyring *k, const struct keyring_kind *kind, const char *host,
	       const char *service, const char *user, bool load_secrets, GList **items)
{
	GHashTable *attrs = keyring_attributes(kind, host, service, user);
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

void
keyring_lookup(const struct secret_source *src, bool fetch, struct secret_lookup *lk)
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

		if (keyring_search(&k, &keyring_kinds[i], src->host, "smtp", src->user, fetch,
				   &items) < 0)
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

void
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

/* Stores value as the item host, service, user under outbox's schema,
 * replacing the one there; what is stored is named in messages. */
static int
keyring_put(const char *host, const char *service, const char *user, const char *label,
	    const char *value, const char *what, struct error *e)
{
	struct keyring k;
	GHashTable *attrs;
	SecretValue *secret;
	GError *err = NULL;
	GAsyncResult *r;
	int rc = 0;

	keyring_begin(&k, KEYRING_CHANGE_MS);
	if (keyring_connect(&k) < 0) {
		rc = keyring_error(&k, host, user, e);
		keyring_end(&k);
		return rc;
	}
	attrs = keyring_attributes(&keyring_kinds[0], host, service, user);
	secret = secret_value_new(value, -1, "text/plain");
	secret_service_store(k.service, &store_schema, attrs, SECRET_COLLECTION_DEFAULT, label,
			     secret, k.cancel, keyring_done, &k);
	secret_value_unref(secret);
	g_hash_table_unref(attrs);
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
		error_set(e, ST_ACCOUNT, _("the keyring did not store %s within %d s"), what,
			  KEYRING_CHANGE_MS / 1000);
	else if (rc < 0)
		error_set(e, ST_ACCOUNT, _("the keyring did not store %s: %.300s"), what,
			  k.why != NULL ? k.why : "?");
	keyring_end(&k);
	return rc;
}

/* Before storing or deleting: a host and a user, names the keyring can
 * hold, and the keyring library.  missing is the error without host or
 * user. */
static int
keyring_ready(const char *host, const char *user, const char *missing, struct error *e)
{
	const char *why;

	if (host == NULL || *host == '\0' || user == NULL || *user == '\0')
		return error_set(e, ST_CONFIG, "%s", missing);
	if ((why = keyring_load()) != NULL)
		return error_set(e, ST_ACCOUNT, _("the keyring is unavailable: %s"), why);
	if (!usable_for_keyring(host, user))
		return error_set(e, ST_CONFIG,
				 _("the keyring cannot hold host %s or user %s: not UTF-8"), host,
				 user);
	return 0;
}

int
secret_store(const char *host, const char *user, const char *password, struct error *e)
{
	char *label;
	int rc;

	if (keyring_ready(host, user, _("the account needs 'host' and 'user' to store a password"),
			  e) < 0)
		return -1;
	label = xasprintf("outbox: %s@%s", user, host);
	rc = keyring_put(host, "smtp", user, label, password, _("the password"), e);
	free(label);
	return rc;
}

/* Why an item could not be read or written, naming its attributes. */
static int
keyring_item_error(enum keyring_state state, const char *why, const char *host, const char *service,
		   const char *user, struct error *e)
{
	switch (state) {
	case KR_NO_BUS:
		return error_set(e, ST_ACCOUNT,
				 _("keyring unavailable (no D-Bus session, as under cron) for "
				   "host=%s service=%s user=%s"),
				 host, service, user);
	case KR_LOCKED:
		return error_set(e, ST_ACCOUNT,
				 _("the keyring is locked, so item host=%s service=%s user=%s "
				   "cannot be read; unlock it"),
				 host, service, user);
	case KR_TIMEOUT:
		return error_set(e, ST_ACCOUNT,
				 _("the keyring did not answer within %u s for host=%s service=%s "
				   "user=%s"),
				 KEYRING_LOOKUP_MS / 1000, host, service, user);
	default:
		return error_set(e, ST_ACCOUNT,
				 _("keyring unavailable (%.200s) for host=%s service=%s user=%s"),
				 why != NULL ? why : "?", host, service, user);
	}
}

int
secret_item_get(const char *host, const char *service, const char *user, char **out,
		struct error *e)
{
	struct keyring k;
	GList *items = NULL;
	SecretItem *item;
	bool locked = false;
	const char *why = keyring_load();
	int rc = 0;

	*out = NULL;
	if (why != NULL)
		return keyring_item_error(KR_UNREACHABLE, why, host, service, user, e);
	if (!usable_for_keyring(host, user))
		return error_set(e, ST_CONFIG,
				 _("the keyring cannot hold host %s or user %s: not UTF-8"), host,
				 user);
	keyring_begin(&k, KEYRING_LOOKUP_MS);
	if (keyring_connect(&k) < 0 ||
	    keyring_search(&k, &keyring_kinds[0], host, service, user, true, &items) < 0) {
		rc = keyring_item_error(k.state, k.why, host, service, user, e);
		keyring_end(&k);
		return rc;
	}
	item = keyring_pick(items, &locked);
	if (item != NULL && !keyring_take_secret(item, out))
		item = NULL;
	g_list_free_full(items, g_object_unref);
	if (item == NULL && (locked || keyring_any_collection_locked(&k)))
		rc = keyring_item_error(KR_LOCKED, NULL, host, service, user, e);
	keyring_end(&k);
	return rc;
}

int
secret_item_put(const char *host, const char *service, const char *user, const char *label,
		const char *value, struct error *e)
{
	const char *why = keyring_load();

	if (why != NULL)
		return keyring_item_error(KR_UNREACHABLE, why, host, service, user, e);
	if (!usable_for_keyring(host, user))
		return error_set(e, ST_CONFIG,
				 _("the keyring cannot hold host %s or user %s: not UTF-8"), host,
				 user);
	return keyring_put(host, service, user, label, value, label, e);
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
	int rc = 0;

	if (keyring_ready(host, user, _("the account needs 'host' and 'user' to delete a password"),
			  e) < 0)
		return -1;
	keyring_begin(&k, KEYRING_CHANGE_MS);
	rc = keyring_connect(&k);
	for (size_t i = 0; i < KEYRING_KINDS && rc == 0; i++) {
		GList *items = NULL;

		rc = keyring_search(&k, &keyring_kinds[i], host, "smtp", user, false, &items);
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
