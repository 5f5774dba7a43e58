/* conf_private.h - what the files of the configuration module share and
 * no other module uses: the layout of struct conf, the account helpers
 * the parser builds accounts with, and the value checks that go with the
 * keyword table.
 *
 *   conf.c           the keyword table, accounts, inheritance, the files,
 *                    account selection
 *   conf_values.c    the check of every value, one per conf_type
 *   conf_parse.c     msmtp's file syntax: lines, accounts, eval
 *   conf_aliases.c   msmtp's aliases files
 */
#ifndef OUTBOX_CONF_PRIVATE_H
#define OUTBOX_CONF_PRIVATE_H

#include "conf.h"

/* Seconds in a day, for the limits of durations. */
#define DAY 86400L

struct conf {
	char *home;
	struct strlist names; /* file labels; accounts point into these */
	struct account **accounts;
	size_t n_accounts;
	struct conf_files loaded;
	struct strlist warnings; /* see conf_warnings() */
	conf_eval_fn eval;       /* NULL: command_output() */
	void *eval_ctx;
};

/* Validates raw for keyword k and returns in *out the string to store: raw
 * itself, the canonical spelling of a choice, or a path with ~ expanded
 * against home (may be NULL).  An empty raw means the keyword's if_empty,
 * else "" (none) unless the keyword needs an argument.  ST_CONFIG errors
 * name the keyword and what it expects. */
int conf_value_check(enum conf_keyword k, const char *raw, const char *home, char **out,
		     struct error *e);
/* A value conf_value_check() returned, as account_long() gives it: a
 * number, seconds or bytes; 0 for a timeout "off"; -1 for other types. */
long conf_value_long(enum conf_keyword k, const char *v);

/* $HOME when absolute, else the password database's; NULL for none. */
char *conf_home_directory(void);
/* A copy of name that lives as long as c (file labels, "command line"). */
const char *conf_label(struct conf *c, const char *name);

/* A new account without values; file must outlive it. */
struct account *account_new(const char *name, const char *file, unsigned line);
/* Replaces the value of k (wiping a secret one); takes value. */
void account_store(struct account *a, enum conf_keyword k, char *value, const char *source,
		   unsigned line);
/* msmtp's inheritance: to takes from's value and its origin for each
 * keyword which marks, every keyword when which is NULL. */
void account_inherit(struct account *to, const struct account *from, const bool which[KW__COUNT]);
void account_free(struct account *a);

#endif
