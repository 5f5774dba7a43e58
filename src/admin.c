/* admin.c - the commands that look at an account or manage it rather than
 * send: --pretend, --serverinfo, the keyring commands (--store-password,
 * --delete-password, --password-source) and --watch.
 *
 * Untrusted input: the configuration (through session.c), the server's
 * replies for --serverinfo (smtp.c bounds and escapes them), a password
 * typed or piped in (wiped after use), netlink messages (watch.c). */
#include "config.h"

#include "admin.h"

#include "address.h"
#include "deliver.h"
#include "i18n.h"
#include "message.h"
#include "oauth2.h"
#include "secret.h"
#include "session.h"
#include "smtp.h"
#include "submit.h"
#include "watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
admin_pretend(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	int rc = -1;

	if (session_open(&s, r, e) == 0 && session_pick_account(&s, r->envelope_from, e) == 0 &&
	    session_check_supported(s.account, e) == 0) {
		session_describe_files(&s, out);
		buf_printf(out, "%s %s\n", _("account:"), s.account->name);
		conf_describe_account(s.account, out);
		rc = 0;
	}
	session_close(&s);
	return rc;
}

/* The account for the keyring options: it needs a host and a user, the
 * attributes of its keyring item. */
static int
keyring_account(const struct request *r, struct session *s, struct error *e)
{
	if (session_open(s, r, e) < 0 || session_pick_account(s, r->envelope_from, e) < 0)
		return -1;
	if (account_get(s->account, KW_USER) == NULL)
		return error_set(e, ST_CONFIG,
				 _("account %s has no user; set 'user' before storing a password"),
				 s->account->name);
	return 0;
}

int
admin_store_password(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	char *password = NULL;
	int rc = -1;

	if (keyring_account(r, &s, e) == 0) {
		const char *host = account_get(s.account, KW_HOST);
		const char *user = account_get(s.account, KW_USER);
		char *prompt = xasprintf(_("Password for %s at %s: "), user, host);

		if (secret_read_new(prompt, &password, e) == 0 &&
		    secret_store(host, user, password, e) == 0) {
			buf_printf(out, _("stored the password for %s at %s in the keyring\n"),
				   user, host);
			rc = 0;
		}
		free(prompt);
		free_secret(password);
	}
	session_close(&s);
	return rc;
}

int
admin_delete_password(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	int rc = -1;

	if (keyring_account(r, &s, e) == 0) {
		const char *host = account_get(s.account, KW_HOST);
		const char *user = account_get(s.account, KW_USER);

		rc = secret_delete(host, user, e);
		if (rc == 0)
			buf_printf(out, _("deleted the password for %s at %s from the keyring\n"),
				   user, host);
	}
	session_close(&s);
	return rc;
}

static int
password_source(const struct account *a, struct buf *out, struct error *e)
{
	struct secret_source src;

	deliver_secret_source(a, &src);
	return secret_describe(&src, out, e);
}

static int
token_source(const struct account *a, struct buf *out, struct error *e)
{
	struct oauth2_client c;
	int rc;

	oauth2_client_init(&c, a);
	rc = oauth2_describe(&c, out, e);
	oauth2_client_free(&c);
	return rc;
}

int
admin_password_source(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	int rc = -1;

	if (session_open(&s, r, e) == 0 && session_pick_account(&s, r->envelope_from, e) == 0) {
		buf_printf(out, "%s %s\n", _("account:"), s.account->name);
		rc = oauth2_enabled(s.account) ? token_source(s.account, out, e)
					       : password_source(s.account, out, e);
	}
	session_close(&s);
	return rc;
}

int
admin_serverinfo(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	struct smtp_params params;
	int rc = -1;

	if (session_open(&s, r, e) == 0 && session_pick_account(&s, r->envelope_from, e) == 0 &&
	    session_check_supported(s.account, e) == 0) {
		deliver_smtp_params(s.account, r->verbose, &params);
		rc = smtp_serverinfo(&params, out, e);
	}
	session_close(&s);
	return rc;
}

/* --test --send: a short message from the account's address to itself,
 * over the open session. */
static int
send_test_message(struct smtp_session *sess, const struct account *a, struct buf *out,
		  struct error *e)
{
	char *addr = deliver_account_address(a), *wire, *msgid, date[64];
	bool utf8 = false;
	struct smtp_outcome o;
	struct smtp_rcpt rcpt = {0};
	struct smtp_mail m = {0};
	struct buf msg;
	int rc = -1;

	wire = address_to_wire(addr, &utf8, e);
	if (wire != NULL) {
		msgid = message_make_msgid(strchr(wire, '@') + 1);
		message_format_date(time(NULL), date, sizeof date);
		buf_init(&msg, 0);
		buf_printf(
			&msg,
			"From: <%s>\r\nTo: <%s>\r\nSubject: outbox test message\r\nDate: %s\r\n"
			"Message-ID: %s\r\nMIME-Version: 1.0\r\n"
			"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
			"This message was sent by 'outbox --test --send' to check account %s.\r\n",
			wire, wire, date, msgid != NULL ? msgid : "<>", a->name);
		rcpt.addr = wire;
		m = (struct smtp_mail){.from = wire,
				       .rcpts = &rcpt,
				       .nrcpts = 1,
				       .smtputf8 = utf8,
				       .size = msg.len,
				       .headers = msg.data,
				       .headers_len = msg.len,
				       .body_fd = -1};
		rc = smtp_transaction(sess, &m, &o, e);
		if (rc == 0)
			buf_printf(out, _("Sent a test message to %s: %s\n"), wire, o.reply);
		free(msgid);
		buf_free(&msg);
		free(wire);
	}
	free(addr);
	return rc;
}

/* Logs in and out as a delivery would; the steps that worked go to out,
 * the first that failed is the error. */
static int
test_account(const struct request *r, struct account *a, struct buf *out, struct error *e)
{
	struct smtp_params params;
	struct smtp_outcome o = {0};
	struct smtp_session *sess;
	int rc = 0;

	deliver_smtp_params(a, r->verbose, &params);
	if (params.socket_path != NULL)
		buf_printf(out, _("Testing account %s: %s\n"), a->name, params.socket_path);
	else
		buf_printf(out, _("Testing account %s: %s port %s\n"), a->name, params.host,
			   params.port);
	params.describe = out;
	sess = smtp_open(&params, &o, e);
	if (sess == NULL)
		return -1;
	if (o.auth_mech != NULL)
		buf_printf(out, _("Authenticated as %s with %s.\n"), params.user, o.auth_mech);
	else
		buf_puts(out, _("No authentication (auth is off).\n"));
	if (r->send_test)
		rc = send_test_message(sess, a, out, e);
	smtp_close(sess);
	if (rc == 0)
		buf_printf(out, _("Disconnected. Account %s works.\n"), a->name);
	return rc;
}

int
admin_test(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	int rc = -1;

	if (session_open(&s, r, e) == 0 && session_pick_account(&s, r->envelope_from, e) == 0 &&
	    session_check_supported(s.account, e) == 0) {
		rc = test_account(r, s.account, out, e);
		if (rc < 0)
			error_prefix(e, _("account %s failed the test"), s.account->name);
	}
	session_close(&s);
	return rc;
}

static int
flush_when_up(void *ctx, struct error *e)
{
	struct request *flush = ctx;
	struct error ignored;

	/* A failed pass leaves the messages queued; keep watching. */
	flush->queue_filter = NULL;
	submit_flush(flush, &ignored);
	return 0;
}

int
admin_watch(const struct request *r, struct error *e)
{
	struct watch_params p = {
		.debounce_ms = WATCH_DEBOUNCE_MS,
		.interval_ms = WATCH_INTERVAL_MS,
		.max_wait_ms = -1,
	};

	struct request flush = *r; /* each pass flushes with a copy of it */

	if (session_refuse_one_off(r, e) < 0)
		return -1;
	return watch_run(&p, flush_when_up, &flush, e);
}

/* What --authorize has to show goes to standard error at once, as the
 * command waits for the person to act on it. */
static void
say_on_stderr(const char *line)
{
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}

int
admin_authorize(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	struct oauth2_client c;
	int rc = -1;

	if (session_open(&s, r, e) == 0 && session_pick_account(&s, r->envelope_from, e) == 0) {
		if (!oauth2_enabled(s.account)) {
			rc = error_set(e, ST_CONFIG,
				       _("account %s has no oauth2_provider; set it (and "
					 "oauth2_client_id) to use --authorize"),
				       s.account->name);
		} else {
			oauth2_client_init(&c, s.account);
			rc = oauth2_authorize(&c, say_on_stderr, e);
			if (rc == 0)
				buf_printf(out,
					   _("authorized: the OAuth2 tokens for %s at %s are in "
					     "the keyring\n"),
					   c.user, c.host);
			oauth2_client_free(&c);
		}
	}
	session_close(&s);
	return rc;
}
