/* conf.h - the configuration file: msmtp's syntax and meaning, one keyword
 * table, accounts with inheritance, account selection, and aliases files.
 *
 * The keyword table conf_keywords[] is the single description of every
 * setting: the parser validates against it, conf_describe_account() prints
 * from it (--pretend) and doc/outbox.conf.5 documents each entry.  Values
 * are stored as validated strings, so inheritance is a copy and the typed
 * getters parse strings the parser has already checked.
 */
#ifndef OUTBOX_CONF_H
#define OUTBOX_CONF_H

#include "lib.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

#ifndef DOCDIR
#define DOCDIR "/usr/local/share/doc/outbox"
#endif
/* What make install puts into the documentation directory for people
 * who start: example configurations and the page for msmtp users. */
#define CONF_EXAMPLES_DIR DOCDIR "/examples"
#define CONF_MIGRATION_PAGE DOCDIR "/migrating-from-msmtp.md"

enum conf_keyword {
	KW_HOST,
	KW_PORT,
	KW_SOURCE_IP,
	KW_TIMEOUT,
	KW_DOMAIN,
	KW_PROTOCOL,
	KW_SOCKET,
	KW_PROXY_HOST,
	KW_PROXY_PORT,
	KW_TLS,
	KW_TLS_STARTTLS,
	KW_TLS_TRUST_FILE,
	KW_TLS_CRL_FILE,
	KW_TLS_FINGERPRINT,
	KW_TLS_CERT_FILE,
	KW_TLS_KEY_FILE,
	KW_TLS_CERTCHECK,
	KW_TLS_PRIORITIES,
	KW_TLS_HOST_OVERRIDE,
	KW_TLS_MIN_DH_PRIME_BITS,
	KW_AUTH,
	KW_USER,
	KW_PASSWORD,
	KW_PASSWORDEVAL,
	KW_ALLOW_PLAINTEXT_AUTH,
	KW_OAUTH2_PROVIDER,
	KW_OAUTH2_CLIENT_ID,
	KW_OAUTH2_CLIENT_SECRET,
	KW_OAUTH2_TENANT,
	KW_OAUTH2_AUTHORIZE_URL,
	KW_OAUTH2_DEVICE_URL,
	KW_OAUTH2_TOKEN_URL,
	KW_OAUTH2_SCOPE,
	KW_OAUTH2_TLS_TRUST_FILE,
	KW_FROM,
	KW_FROM_FULL_NAME,
	KW_ALLOW_FROM_OVERRIDE,
	KW_SET_FROM_HEADER,
	KW_SET_DATE_HEADER,
	KW_SET_MSGID_HEADER,
	KW_REMOVE_BCC_HEADERS,
	KW_UNDISCLOSED_RECIPIENTS,
	KW_DSN_NOTIFY,
	KW_DSN_RETURN,
	KW_ALIASES,
	KW_LOGFILE,
	KW_LOGFILE_TIME_FORMAT,
	KW_SYSLOG,
	KW_QUEUE,
	KW_QUEUE_DIR,
	KW_QUEUE_MAX_AGE,
	KW_DELIVERY_MODE,
	KW_HOLD_ON_ACCOUNT_ERROR,
	KW_MAX_MESSAGE_SIZE,
	KW_EVAL, /* a directive: replaced by its command's output, never stored */
	KW__COUNT
};

enum conf_type {
	CT_STRING,      /* any text */
	CT_PATH,        /* a file name; a leading ~ becomes $HOME */
	CT_HOSTNAME,    /* EHLO's argument: a host name or [address literal] */
	CT_BOOL,        /* on | off */
	CT_CHOICE,      /* one of the words in choices */
	CT_NUMBER,      /* an integer in [min, max] */
	CT_TIMEOUT,     /* off | seconds in [min, max] */
	CT_SYSLOG,      /* on | off | LOG_USER, LOG_MAIL, LOG_LOCAL0..7 */
	CT_DSN_NOTIFY,  /* off | never | a comma list of success,failure,delay */
	CT_FINGERPRINT, /* a SHA-256 fingerprint, 32 hex bytes joined by ':' */
	CT_DURATION,    /* seconds with an optional s, m, h, d or w suffix */
	CT_SIZE,        /* bytes with an optional k, M or G suffix (powers of 1024) */
	CT_EVAL,        /* a shell command whose output is a configuration line */
};

struct conf_keyword_info {
	const char *name;
	enum conf_type type;
	/* The value when nothing sets it; NULL for none.  KW_PORT's default
	 * is computed by account_get() from protocol, tls and tls_starttls. */
	const char *default_value;
	/* What an empty argument means (msmtp: "on" for on/off keywords);
	 * NULL: the keyword needs an argument when needs_argument, else the
	 * empty string is stored and means "none". */
	const char *if_empty;
	const char *choices; /* CT_CHOICE: the allowed words, "a|b|c" */
	long min, max;       /* CT_NUMBER, CT_TIMEOUT, CT_DURATION, CT_SIZE */
	bool needs_argument;
	/* Where and how the mail travels (server, TLS, AUTH): given on the
	 * command line, such a setting makes the submission a one-off that is
	 * never queued, so that it cannot carry other mail either. */
	bool connection;
	bool secret;             /* masked by conf_describe_account() */
	bool ignored;            /* accepted for msmtp compatibility, without effect */
	const char *argument;    /* the argument's form for usage and the man page */
	const char *description; /* one line, untranslated (N_) */
};

extern const struct conf_keyword_info conf_keywords[KW__COUNT];

/* The keyword named name, or -1 if there is none. */
int conf_keyword_lookup(const char *name);

/* An account: its name, and per keyword the validated value (NULL when not
 * set; "" when set to "none") and where it was set.  Read-only for users of
 * this module: change values with account_set(). */
struct account {
	char *name;
	const char *file; /* the file that defined it (owned by struct conf) */
	unsigned first_line;
	char *value[KW__COUNT];
	const char *source[KW__COUNT]; /* file name or "command line" */
	unsigned line[KW__COUNT];      /* 0 when not from a file */
};

/* The effective value: the value set, else the table default (for KW_PORT
 * computed: 25 without TLS, 465 for TLS without STARTTLS, 587 for STARTTLS,
 * none for LMTP).  NULL when there is none or the keyword was set empty. */
const char *account_get(const struct account *a, enum conf_keyword k);
/* True if a file line (also through defaults or a parent) or account_set()
 * gave the keyword a value. */
bool account_is_set(const struct account *a, enum conf_keyword k);
/* True if the effective value exists and is not "off". */
bool account_bool(const struct account *a, enum conf_keyword k);
/* The effective value as a number: CT_NUMBER as is, CT_TIMEOUT in seconds
 * (0 for off), CT_DURATION in seconds, CT_SIZE in bytes; -1 when none. */
long account_long(const struct account *a, enum conf_keyword k);
/* Sets a value as the parser would (validated, ~ expanded against $HOME),
 * e.g. for command line options; source names where it came from and
 * must outlive the account (a string literal such as "command line"). */
int account_set(struct account *a, enum conf_keyword k, const char *value, const char *source,
		struct error *e);
/* Checks that the account can be used: host or socket, a port, no
 * proxy_host with socket, the client certificate and key together, no
 * fingerprint with tls_certcheck off, OAuth2 settings that fit together (a
 * provider with auth xoauth2 or oauthbearer, a user and a client ID;
 * https:// endpoints; a custom provider's token URL, scope and authorize or
 * device URL).  The error names the account; class ST_CONFIG. */
int account_check(const struct account *a, struct error *e);
/* Appends one "keyword = value  (source)" line per keyword for --pretend,
 * secrets shown as "********".  -1 if out's bound was reached. */
int conf_describe_account(const struct account *a, struct buf *out);

struct conf;

struct conf *conf_new(void);
void conf_free(struct conf *c);

/* Where configuration files are looked for.  NULL members take the usual
 * value: $HOME (else the password database), $XDG_CONFIG_HOME (else
 * ~/.config), SYSCONFDIR, "/etc" for msmtp's system file. */
struct conf_paths {
	const char *home;
	const char *xdg_config_home;
	const char *sysconfdir;
	const char *msmtp_sysconfdir;
	const char *user_file; /* -C: replaces the user file, must exist */
};

/* The files that were (or would be) read, NULL when none. */
struct conf_files {
	char *system;   /* SYSCONFDIR/outbox.conf or msmtp's /etc/msmtprc */
	char *user;     /* -C, $XDG_CONFIG_HOME/outbox/config, ~/.outboxrc, or msmtp's */
	bool msmtp;     /* no outbox file exists: these are msmtp's files */
	char *searched; /* every name looked for, in order, joined by ", " */
};

/* Looks the files up: -C replaces the user file; else
 * $XDG_CONFIG_HOME/outbox/config, else ~/.outboxrc; the system file is
 * SYSCONFDIR/outbox.conf.  When none of outbox's files exists (and no
 * -C), msmtp's: ~/.msmtprc, else $XDG_CONFIG_HOME/msmtp/config, and
 * /etc/msmtprc.  A missing -C file is an error, missing others are not. */
int conf_find_files(const struct conf_paths *p, struct conf_files *f, struct error *e);
void conf_files_free(struct conf_files *f);
/* $XDG_CONFIG_HOME/outbox/config: where a new user file goes (NULL when
 * there is no home directory). */
char *conf_default_user_file(const struct conf_paths *p);

/* Appends text (whole lines) to the configuration file path without
 * changing a byte of what it holds: first a copy of it, byte for byte, as
 * PATH.bak-YYYYMMDD-HHMMSS (.1, .2... after it when taken; mode 0600;
 * its name in *backup), then a blank
 * line and text, fsynced.  A missing file is created with mode 0600 (its
 * directory with 0700 when missing too) and *backup is NULL. */
int conf_append(const char *path, const char *text, char **backup, struct error *e);

/* Finds and reads the files: the system file first, then the user file,
 * whose accounts replace same-named system accounts.  No file at all is
 * fine and leaves the configuration empty. */
int conf_load(struct conf *c, const struct conf_paths *p, struct error *e);
/* The files conf_load() read. */
const struct conf_files *conf_loaded_files(const struct conf *c);
/* What the files said that still works but should be written another
 * way (msmtp's obsolete keywords), one "file:line: ..." line each. */
const struct strlist *conf_warnings(const struct conf *c);

/* Reads one file.  A file holding a password must be owned by the user
 * and have no group or other permissions (system=false), or no other
 * permissions (system=true); the error says which chmod to run.  Missing
 * files are errors here. */
int conf_load_file(struct conf *c, const char *path, bool system, struct error *e);
/* Parses text as if it were a file named label (no permission check). */
int conf_load_string(struct conf *c, const char *label, const char *text, size_t len,
		     struct error *e);

/* How `eval` lines are run: fn appends the command's output to out (whose
 * bound it must respect) or returns -1 with e set.  The default runs the
 * command with /bin/sh, bounded in time and size.  Parsers of text that
 * must never run what it holds (the fuzz target) set their own. */
typedef int (*conf_eval_fn)(void *ctx, const char *cmd, struct buf *out, struct error *e);
void conf_set_eval(struct conf *c, conf_eval_fn fn, void *ctx);

/* The account named name, or NULL.  A later file's account of the same
 * name replaces an earlier one. */
struct account *conf_find_account(struct conf *c, const char *name);
/* Adds an empty account (table defaults only), e.g. for --host; an
 * existing account of that name is an error. */
struct account *conf_add_account(struct conf *c, const char *name, struct error *e);

/* Picks the account: -a name (error if unknown); else the first account
 * whose from matches envelope_from (exactly, ignoring case; as a glob when
 * it holds * ? or [; and user+tag@domain also matches user@domain), user
 * file first; else the account named "default".  NULL with ST_CONFIG when
 * none fits. */
struct account *conf_select(struct conf *c, const char *account_name, const char *envelope_from,
			    struct error *e);

/* Replaces each local recipient (no '@') by its alias from an msmtp
 * aliases file ("name: addr, addr" lines, # comments, the alias "default"
 * for unknown local names, aliases of aliases up to a depth of 16).  The
 * file is read only when a local recipient exists. */
int conf_aliases_expand(const char *aliases_path, struct strlist *rcpts, struct error *e);

#endif
