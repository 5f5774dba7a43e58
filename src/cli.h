/* cli.h - the command line: sendmail's flags, msmtp's long options and
 * outbox's own, as one table turned into a request.
 *
 * Every configuration keyword (except secrets and eval) is also a long
 * option, --keyword-with-dashes[=value], that overrides the account. */
#ifndef OUTBOX_CLI_H
#define OUTBOX_CLI_H

#include "conf.h"
#include "lib.h"
#include "status.h"

#include <stdbool.h>

enum cli_mode {
	CLI_DELIVER,
	CLI_LIST_QUEUE, /* -bp, mailq */
	CLI_FLUSH,      /* -q */
	CLI_SMTP_STDIO, /* -bs */
	CLI_NEWALIASES, /* newaliases, -bi */
	CLI_SERVERINFO, /* --serverinfo, -S */
	CLI_PRETEND,    /* --pretend, -P */
	CLI_VERSION,
	CLI_HELP,
	CLI_STORE_PASSWORD,  /* --store-password */
	CLI_DELETE_PASSWORD, /* --delete-password */
	CLI_PASSWORD_SOURCE, /* --password-source */
	CLI_QUEUE_EDIT,      /* --remove, --hold, --release, --requeue */
	CLI_WATCH,           /* --watch */
	CLI_TEST,            /* --test [--send] */
	CLI_AUTHORIZE,       /* --authorize */
	CLI_CONFIGURE,       /* --configure ADDRESS */
};

enum cli_delivery { DELIVER_FOREGROUND, DELIVER_BACKGROUND, DELIVER_QUEUE };

struct cli_override {
	enum conf_keyword keyword;
	const char *value;
};

struct request {
	enum cli_mode mode;
	enum cli_delivery delivery;
	bool delivery_given;       /* an -od flag was given: it beats delivery_mode */
	bool read_recipients;      /* -t */
	bool read_envelope_from;   /* --read-envelope-from */
	int verbose;               /* -v, -d, --debug: 1; given twice: 2 (timed) */
	const char *envelope_from; /* -f, -r: NULL unless given; "" is the null sender */
	const char *full_name;     /* -F */
	const char *dsn_notify;    /* -N, RFC 3461 NOTIFY value (upper case) */
	const char *dsn_return;    /* -R: FULL or HDRS */
	const char *dsn_envid;     /* -V */
	const char *body_type;     /* -B: 8BITMIME or 7BIT */
	const char *config_file;   /* -C */
	const char *account;       /* -a, --account */
	const char *queue_filter;  /* -q's argument (I..., R..., S...) */
	bool json;                 /* --json: machine-readable queue listing */
	bool send_test;            /* --test --send: also send a test message */
	bool yes;                  /* --configure --yes: write without asking */
	bool dry_run;              /* --configure --dry-run: only show the account */
	struct strlist remove;     /* --remove=ID */
	struct strlist hold;       /* --hold=ID */
	struct strlist release;    /* --release=ID */
	struct strlist requeue;    /* --requeue=ID */
	bool host_given;           /* --host: the command line is the account */
	struct cli_override overrides[KW__COUNT];
	size_t n_overrides;
	struct strlist recipients;
	struct strlist ignored; /* flags accepted and ignored, for -v */
	struct strlist owned;   /* strings the request made itself */
};

/* Parses argv (argv[0] picks sendmail, mailq or newaliases behaviour).
 * ST_USAGE with a message naming the flag on any error. */
int cli_parse(int argc, char **argv, struct request *r, struct error *e);
void cli_request_free(struct request *r);

/* The text of --help. */
const char *cli_help(void);

#endif
