/* session.c - configuration, account and command-line settings for one
 * invocation (see session.h).
 *
 * Untrusted input: the configuration files (parsed and validated by conf.c)
 * and the command line's keyword values (validated by account_set() as if
 * they came from a file). */
#include "config.h"

#include "session.h"

#include "i18n.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMAND_LINE "command line"

/* The configuration's warnings are for a person, and said once however
 * often the files are read. */
static void
say_warnings(const struct session *s)
{
	static bool said;
	const struct strlist *w = conf_warnings(s->conf);

	if (said || !(log_interactive() || s->r->verbose || s->r->mode == CLI_PRETEND))
		return;
	said = true;
	for (size_t i = 0; i < w->n; i++)
		log_warning("%s", w->v[i]);
}

int
session_open(struct session *s, const struct request *r, struct error *e)
{
	struct conf_paths paths;

	memset(&paths, 0, sizeof paths);
	paths.user_file = r->config_file;
	s->r = r;
	s->account = NULL;
	s->conf = conf_new();
	if (r->host_given)
		return 0;
	if (conf_load(s->conf, &paths, e) < 0)
		return -1;
	say_warnings(s);
	return 0;
}

void
session_close(struct session *s)
{
	if (s->conf != NULL)
		conf_free(s->conf);
	s->conf = NULL;
	s->account = NULL;
}

int
session_pick_account(struct session *s, const char *envelope_from, struct error *e)
{
	const struct request *r = s->r;

	if (r->host_given) {
		s->account = conf_find_account(s->conf, COMMAND_LINE);
		if (s->account == NULL)
			s->account = conf_add_account(s->conf, COMMAND_LINE, e);
	} else {
		s->account = conf_select(s->conf, r->account, envelope_from, e);
	}
	if (s->account == NULL)
		return -1;
	for (size_t i = 0; i < r->n_overrides; i++) {
		if (account_set(s->account, r->overrides[i].keyword, r->overrides[i].value,
				COMMAND_LINE, e) < 0)
			return -1;
	}
	return account_check(s->account, e);
}

/* The long option of keyword k as the user types it: cli.c spells the
 * keyword options with '-' for '_' ("tls-certcheck"). */
static const char *
option_name(enum conf_keyword k)
{
	static char names[KW__COUNT][48];

	if (names[k][0] == '\0') {
		snprintf(names[k], sizeof names[k], "%s", conf_keywords[k].name);
		for (char *p = names[k]; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
	}
	return names[k];
}

const char *
session_one_off(const struct request *r)
{
	if (r->host_given)
		return option_name(KW_HOST);
	for (size_t i = 0; i < r->n_overrides; i++)
		if (conf_keywords[r->overrides[i].keyword].connection)
			return option_name(r->overrides[i].keyword);
	return NULL;
}

int
session_refuse_one_off(const struct request *r, struct error *e)
{
	const char *one_off = session_one_off(r);

	if (one_off == NULL)
		return 0;
	return error_set(e, ST_USAGE,
			 _("--%s is a setting for one message; queued messages travel only with "
			   "their own account's configuration: leave it out"),
			 one_off);
}

int
session_check_supported(const struct account *a, struct error *e)
{
	if (strcmp(account_get(a, KW_PROTOCOL), "smtp") != 0)
		return error_set(e, ST_CONFIG,
				 _("account %s: protocol %s is not supported: outbox submits to a "
				   "server with SMTP; for local delivery keep msmtp or your MDA's "
				   "tool, see %s"),
				 a->name, account_get(a, KW_PROTOCOL), CONF_MIGRATION_PAGE);
	return 0;
}

int
session_open_queue(const struct account *a, struct queue *q, struct error *e)
{
	const char *dir = a != NULL ? account_get(a, KW_QUEUE_DIR) : NULL;
	char *owned = NULL;
	int rc;

	if (dir == NULL)
		dir = owned = queue_default_dir();
	if (dir == NULL)
		return error_set(e, ST_CANTCREAT,
				 _("no home directory for the queue; set HOME or queue_dir"));
	rc = queue_open(q, dir, e);
	free(owned);
	return rc;
}

int
session_open_for_queue(struct session *s, const struct request *r, struct queue *q, struct error *e)
{
	struct error ignored;

	if (session_refuse_one_off(r, e) < 0 || session_open(s, r, e) < 0)
		return -1;
	if (r->account != NULL) {
		if (session_pick_account(s, NULL, e) < 0)
			return -1;
	} else {
		s->account = conf_select(s->conf, NULL, NULL, &ignored);
	}
	return session_open_queue(s->account, q, e);
}

void
session_describe_files(const struct session *s, struct buf *out)
{
	const struct conf_files *f = conf_loaded_files(s->conf);

	if (f == NULL)
		return;
	if (f->system != NULL)
		buf_printf(out, "%s %s\n", _("system configuration file:"), f->system);
	if (f->user != NULL)
		buf_printf(out, "%s %s\n", _("user configuration file:"), f->user);
	if (f->msmtp)
		buf_printf(out, "%s\n",
			   _("(no outbox configuration found; msmtp's files were read)"));
}

unsigned long long
session_size_limit(const struct request *r)
{
	struct session s = {0};
	struct error ignored;
	unsigned long long limit = SESSION_MESSAGE_MAX;
	struct account *a = NULL;

	if (session_open(&s, r, &ignored) == 0)
		a = r->host_given ? conf_add_account(s.conf, COMMAND_LINE, &ignored)
				  : conf_select(s.conf, r->account, NULL, &ignored);
	if (a != NULL) {
		long n;

		for (size_t i = 0; i < r->n_overrides; i++)
			if (r->overrides[i].keyword == KW_MAX_MESSAGE_SIZE)
				account_set(a, KW_MAX_MESSAGE_SIZE, r->overrides[i].value,
					    COMMAND_LINE, &ignored);
		n = account_long(a, KW_MAX_MESSAGE_SIZE);
		if (n > 0)
			limit = (unsigned long long)n;
	}
	session_close(&s);
	return limit;
}

void
session_describe_setup(const struct request *r, struct buf *out)
{
	struct conf_paths paths = {.user_file = r->config_file};
	struct session s = {0};
	struct conf_files f;
	struct error e;
	const char *dir = NULL;
	char *owned = NULL;

	if (conf_find_files(&paths, &f, &e) < 0)
		buf_printf(out, "%s %s\n", _("configuration files:"), e.msg);
	else if (f.system == NULL && f.user == NULL)
		buf_printf(out, "%s %s\n", _("configuration files:"), _("none found"));
	else
		buf_printf(out, "%s %s%s%s%s\n", _("configuration files:"),
			   f.system != NULL ? f.system : "",
			   f.system != NULL && f.user != NULL ? ", " : "",
			   f.user != NULL ? f.user : "", f.msmtp ? _(" (msmtp's)") : "");
	conf_files_free(&f);
	if (session_open(&s, r, &e) == 0) {
		const struct account *a = conf_select(s.conf, r->account, NULL, &e);

		dir = a != NULL ? account_get(a, KW_QUEUE_DIR) : NULL;
	}
	if (dir == NULL)
		dir = owned = queue_default_dir();
	buf_printf(out, "%s %s\n", _("queue directory:"),
		   dir != NULL ? dir : _("none (no home directory; set HOME)"));
	free(owned);
	session_close(&s);
}
