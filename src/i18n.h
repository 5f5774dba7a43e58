/* i18n.h - gettext glue: user-facing strings go through _(), protocol
 * verbs and trace lines do not. */
#ifndef OUTBOX_I18N_H
#define OUTBOX_I18N_H

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) gettext(s)
#else
#define _(s) (s)
#endif
#define N_(s) (s)

#endif
