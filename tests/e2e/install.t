#!/bin/sh
# install.t - make install and make uninstall with DESTDIR, on the tree
# that was just built: without sendmail links nothing named sendmail,
# mailq or newaliases is installed; with them (SENDMAIL_LINKS=yes, what
# --enable-sendmail-links sets) sendmail, mailq and newaliases are relative
# links that run outbox, and the bash and fish completions answer to those
# names; an existing sendmail of another MTA is never touched; installing
# twice works; and make uninstall leaves no file and no link behind.
# make install and make uninstall into a private prefix, as its owner
# (nobody when run as root), write nothing outside it: strace lists every
# path written.  When the source tree is not configured in place, a second
# configure checks that --enable-sendmail-links and its absence set
# SENDMAIL_LINKS, that the links come out right for --prefix=/usr, and
# that every install directory of a private --prefix is inside it.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_setup
require_outbox
plan_lazy
B=$(cd "${top_builddir:-.}" && pwd -P)
[ -f "$B/Makefile" ] || skip_all "no Makefile in $B"
MK=${MAKE:-make}
command -v "$MK" >/dev/null 2>&1 || skip_all "$MK not found"
# The outer make's flags (jobserver, -k, TESTS=...) are not for these runs.
unset MAKEFLAGS MFLAGS MAKELEVEL GNUMAKEFLAGS 2>/dev/null || :

# mkvars DIR VAR...: prints VAR=value for each VAR of DIR's Makefile, with
# make expanding it.
mkvars() {
	_m_dir=$1
	shift
	for _m_v in "$@"; do
		# shellcheck disable=SC2016
		printf 'print-vars::\n\t@echo %s=$(%s)\n' "$_m_v" "$_m_v"
	done | "$MK" -s -C "$_m_dir" -f Makefile -f - print-vars
}

mkvars "$B" bindir sbindir mandir sysconfdir docdir bashcompdir zshcompdir fishcompdir \
	SENDMAIL_LINKS >"$T/vars" 2>"$T/vars.err"
t_ok "make expands the installation directories" test -s "$T/vars"
bindir=$(sed -n 's/^bindir=//p' "$T/vars")
sbindir=$(sed -n 's/^sbindir=//p' "$T/vars")
mandir=$(sed -n 's/^mandir=//p' "$T/vars")
sysconfdir=$(sed -n 's/^sysconfdir=//p' "$T/vars")
docdir=$(sed -n 's/^docdir=//p' "$T/vars")
bashcompdir=$(sed -n 's/^bashcompdir=//p' "$T/vars")
zshcompdir=$(sed -n 's/^zshcompdir=//p' "$T/vars")
fishcompdir=$(sed -n 's/^fishcompdir=//p' "$T/vars")
configured=$(sed -n 's/^SENDMAIL_LINKS=//p' "$T/vars")
t_like "the Makefile has SENDMAIL_LINKS from configure (yes or no)" \
	"$T/vars" '^SENDMAIL_LINKS=(yes|no)$'

# do_install ROOT [MAKE-ARGS...]: make install DESTDIR=ROOT, output in ROOT.log.
do_install() {
	_i_root=$1
	shift
	"$MK" -C "$B" install DESTDIR="$_i_root" "$@" >"$_i_root.log" 2>&1
}

# t_installed DESC ROOT MAKE-ARGS...: make install succeeds.
t_installed() {
	_t_d=$1
	_t_root=$2
	shift 2
	do_install "$_t_root" "$@"
	ok $? "$_t_d" || diag_file "$_t_root.log" 40
}

# t_uninstalled ROOT: make uninstall succeeds and leaves no file or link.
t_uninstalled() {
	"$MK" -C "$B" uninstall DESTDIR="$1" >"$1.log" 2>&1
	ok $? "${1##*/}: make uninstall succeeds" || diag_file "$1.log" 40
	find "$1" ! -type d >"$1.left" 2>&1
	t_is "${1##*/}: make uninstall leaves nothing behind" "" "$(cat "$1.left")"
}

# mta_names ROOT: the files and links under ROOT named like an MTA's.
mta_names() {
	find "$1" \( -name sendmail -o -name mailq -o -name newaliases \
		-o -name sendmail.fish -o -name mailq.fish \) -print | sort
}

# t_link DESC LINK TARGET: LINK is a symbolic link to TARGET.
t_link() {
	if [ -h "$2" ]; then
		t_is "$1" "$3" "$(readlink "$2")"
	else
		t_fail "$1"
		diag "$2 is not a symbolic link"
	fi
}

# ---- without links: only outbox's own names.
R=$T/plain
t_installed "make install DESTDIR=... SENDMAIL_LINKS=no" "$R" SENDMAIL_LINKS=no
t_ok "outbox is installed in bindir" test -x "$R$bindir/outbox"
t_ok "outbox.1 is installed" test -f "$R$mandir/man1/outbox.1"
t_ok "outbox.conf.5 is installed" test -f "$R$mandir/man5/outbox.conf.5"
for page in man1/outbox.1 man5/outbox.conf.5; do
	t_like "$page names the configured sysconfdir" "$R$mandir/$page" \
		"^\\.I $sysconfdir/outbox.conf\$"
	t_unlike "$page has no placeholder left" "$R$mandir/$page" '@(sysconfdir|docdir|PACKAGE_VERSION)@'
done
t_like "outbox.conf.5 points at the installed migration page" "$R$mandir/man5/outbox.conf.5" \
	"$docdir/migrating"
t_ok "... which is installed there" test -f "$R$docdir/migrating-from-msmtp.md"
for pair in "$bashcompdir:outbox" "$zshcompdir:_outbox" "$fishcompdir:outbox.fish"; do
	dir=${pair%:*}
	[ -n "$dir" ] || continue
	t_ok "completion ${pair#*:} is installed in $dir" test -f "$R$dir/${pair#*:}"
done
t_is "no sendmail, mailq or newaliases is installed without the links" \
	"" "$(mta_names "$R")"
t_uninstalled "$R"

# ---- with links.
R=$T/links
t_installed "make install DESTDIR=... SENDMAIL_LINKS=yes" "$R" SENDMAIL_LINKS=yes
rel=$(realpath -m -s --relative-to="$sbindir" "$bindir/outbox")
t_link "sendmail in sbindir links to outbox, relatively" "$R$sbindir/sendmail" "$rel"
t_ok "sendmail resolves to the installed outbox" \
	test "$R$sbindir/sendmail" -ef "$R$bindir/outbox"
t_link "mailq links to outbox" "$R$bindir/mailq" outbox
t_link "newaliases links to outbox" "$R$bindir/newaliases" outbox
if [ -n "$bashcompdir" ]; then
	t_link "bash completes sendmail with outbox's file" "$R$bashcompdir/sendmail" outbox
	t_link "bash completes mailq with outbox's file" "$R$bashcompdir/mailq" outbox
fi
if [ -n "$fishcompdir" ]; then
	t_link "fish completes sendmail with outbox's file" \
		"$R$fishcompdir/sendmail.fish" outbox.fish
	t_link "fish completes mailq with outbox's file" \
		"$R$fishcompdir/mailq.fish" outbox.fish
fi
t_ok "sendmail --version runs outbox" "$R$sbindir/sendmail" --version
t_like "sendmail --version says outbox" "$OUT" '^outbox '
t_ok "mailq lists the queue" "$R$bindir/mailq"
t_like "mailq says the queue is empty" "$OUT" 'Mail queue is empty'
t_ok "newaliases exits 0" "$R$bindir/newaliases"
t_is "newaliases prints nothing" "" "$(cat "$OUT" "$ERR")"
t_installed "make install over an earlier install with links works" \
	"$R" SENDMAIL_LINKS=yes
t_link "sendmail still links to outbox" "$R$sbindir/sendmail" "$rel"
t_uninstalled "$R"

# ---- the man pages follow sysconfdir (here overridden for one install;
# the pages are made again afterwards for the build's own sysconfdir).
R=$T/sysconf
rm -f "$B/man/outbox.1" "$B/man/outbox.conf.5"
t_installed "make install sysconfdir=/opt/x/etc" "$R" SENDMAIL_LINKS=no sysconfdir=/opt/x/etc
t_like "outbox.conf.5 under sysconfdir=/opt/x/etc names /opt/x/etc" \
	"$R$mandir/man5/outbox.conf.5" '^\.I /opt/x/etc/outbox\.conf$'
t_like "outbox.1 under sysconfdir=/opt/x/etc names /opt/x/etc" \
	"$R$mandir/man1/outbox.1" '^\.I /opt/x/etc/outbox\.conf$'
rm -f "$B/man/outbox.1" "$B/man/outbox.conf.5"
"$MK" -C "$B" man/outbox.1 man/outbox.conf.5 >"$R.remake.log" 2>&1
ok $? "the build's own man pages are made again" || diag_file "$R.remake.log" 20
"$MK" -C "$B" uninstall DESTDIR="$R" SENDMAIL_LINKS=no sysconfdir=/opt/x/etc >"$R.log" 2>&1

# ---- another MTA's sendmail and mailq are never touched.
R=$T/mta
mkdir -p "$R$sbindir" "$R$bindir" || bail "cannot make $R"
ln -s /usr/sbin/exim4 "$R$sbindir/sendmail"
printf '#!/bin/sh\necho other\n' >"$R$bindir/mailq"
t_installed "make install next to another MTA's sendmail" "$R" SENDMAIL_LINKS=no
t_link "install leaves the other sendmail alone" "$R$sbindir/sendmail" /usr/sbin/exim4
t_is "install leaves the other mailq alone" "echo other" "$(sed -n 2p "$R$bindir/mailq")"
"$MK" -C "$B" uninstall DESTDIR="$R" >"$R.log" 2>&1
ok $? "make uninstall next to another MTA's sendmail" || diag_file "$R.log" 40
t_link "uninstall leaves the other sendmail alone" "$R$sbindir/sendmail" /usr/sbin/exim4
t_is "uninstall leaves the other mailq alone" "echo other" "$(sed -n 2p "$R$bindir/mailq")"
rm -f "$R$sbindir/sendmail" "$R$bindir/mailq"
t_is "uninstall removed everything of outbox's" "" "$(find "$R" ! -type d)"

# ---- what configure chose, without an override.
R=$T/default
t_installed "make install DESTDIR=... as configured (SENDMAIL_LINKS=$configured)" "$R"
if [ "$configured" = yes ]; then
	t_link "configured with links: sendmail is a link" "$R$sbindir/sendmail" "$rel"
else
	t_is "configured without links: no sendmail, mailq or newaliases" \
		"" "$(mta_names "$R")"
fi
t_uninstalled "$R"

# ---- a private prefix, as its owner: nothing is written outside it.
# strace follows make install and make uninstall (prefix=P, with the
# links); written.awk turns its log into the list of every path created,
# opened for writing, renamed, linked, changed or removed.  As root the
# runs are made as nobody, who owns P and nothing else.
STRACE_CALLS=openat,open,creat,mkdir,mkdirat,unlink,unlinkat,rmdir,rename,renameat,renameat2
STRACE_CALLS=$STRACE_CALLS,link,linkat,symlink,symlinkat,chmod,fchmodat,chown,lchown,fchownat
STRACE_CALLS=$STRACE_CALLS,utimensat,truncate,chdir,fchdir,clone,clone3,fork,vfork
cat >"$T/written.awk" <<'EOF'
# cwd per process: inherited at clone/fork, changed by chdir/fchdir, seen
# in -y's AT_FDCWD</dir>.
function join(dir, p) { return p ~ /^\// ? p : dir "/" p }
# at(ARG): the directory an *at call's dirfd argument names.
function at(arg, pid) {
	if (match(arg, /<[^>]*>/))
		return substr(arg, RSTART + 1, RLENGTH - 2)
	return cwd[pid]
}
function quoted(s, n,   i, out) {
	for (i = 1; i <= n; i++) {
		if (!match(s, /"[^"]*"/))
			return ""
		out = substr(s, RSTART + 1, RLENGTH - 2)
		s = substr(s, RSTART + RLENGTH)
	}
	return out
}
{
	pid = $1
	# A child may run before its parent's clone returns: it starts where
	# the last parent that was cloning stood.
	if (!(pid in cwd))
		cwd[pid] = cloning != "" ? cwd[cloning] : start
	if (match($0, /AT_FDCWD<[^>]*>/))
		cwd[pid] = substr($0, RSTART + 9, RLENGTH - 10)
	if ($0 ~ /^[0-9]+ +(clone|clone3|fork|vfork)\(.*<unfinished \.\.\.>$/)
		cloning = pid
	line = substr($0, length($1) + 2)
	sub(/^ +/, "", line)
	call = line
	sub(/\(.*/, "", call)
	args = substr(line, length(call) + 2)
	split(args, a, ", ")
}
call ~ /^(clone|clone3|fork|vfork)$/ || line ~ /^<\.\.\. (clone|clone3|fork|vfork) resumed>/ {
	child = $NF
	if (child ~ /^[0-9]+$/ && !(child in cwd))
		cwd[child] = cwd[pid]
	next
}
call == "chdir" { cwd[pid] = join(cwd[pid], quoted(args, 1)); next }
call == "fchdir" { cwd[pid] = at(a[1], pid); next }
call == "openat" {
	if (a[3] ~ /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/)
		print join(at(a[1], pid), quoted(args, 1))
	next
}
call ~ /^(open|creat)$/ {
	if (call == "creat" || a[2] ~ /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/)
		print join(cwd[pid], quoted(args, 1))
	next
}
call ~ /^(mkdirat|unlinkat|fchmodat|fchownat|utimensat)$/ {
	if (args ~ /^[^,]*, "/)
		print join(at(a[1], pid), quoted(args, 1))
	next
}
call ~ /^(mkdir|unlink|rmdir|chmod|chown|lchown|truncate)$/ {
	print join(cwd[pid], quoted(args, 1))
	next
}
call ~ /^(rename|link)$/ {
	print join(cwd[pid], quoted(args, 1)); print join(cwd[pid], quoted(args, 2)); next
}
call ~ /^(renameat|renameat2|linkat)$/ {
	print join(at(a[1], pid), quoted(args, 1)); print join(at(a[3], pid), quoted(args, 2)); next
}
call == "symlink" { print join(cwd[pid], quoted(args, 2)); next }
call == "symlinkat" { print join(at(a[2], pid), quoted(args, 2)); next }
EOF

# AS_OWNER: what runs a command as P's owner (nobody when we are root).
AS_OWNER=
[ "$(id -u)" != 0 ] || AS_OWNER="setpriv --reuid=65534 --regid=65534 --clear-groups"

# traced_make LOG TARGET: make TARGET prefix=P under strace; the paths it
# wrote, sorted, in LOG.written.  (A prefix given to make rather than to
# configure moves the files, not the paths compiled into them.)
traced_make() {
	strace -f -qq -z -y -e trace="$STRACE_CALLS" -o "$1" \
		$AS_OWNER "$MK" -C "$B" "$2" prefix="$P" SENDMAIL_LINKS=yes >"$1.out" 2>&1
	ok $? "make $2 prefix=PRIVATE as its owner succeeds" || diag_file "$1.out" 40
	awk -v start="$(pwd -P)" -f "$T/written.awk" "$1" | sort -u |
		xargs -r -d '\n' realpath -m -s | sort -u >"$1.written"
}

# t_inside LOG DESC: every path in LOG.written is P or under it.
t_inside() {
	grep -v -e "^$P\$" -e "^$P/" "$1.written" >"$1.outside"
	t_is "$2: nothing written outside the prefix" "" "$(cat "$1.outside")"
	diag "$2 wrote $(wc -l <"$1.written") paths:"
	diag_file "$1.written" 200
}

if ! command -v strace >/dev/null 2>&1; then
	t_skip "make install into a private prefix" "strace not installed"
elif [ -n "$AS_OWNER" ] && ! $AS_OWNER test -r "$B/Makefile" 2>/dev/null; then
	t_skip "make install into a private prefix" "nobody cannot read $B"
else
	chmod 711 "$T"
	mkdir "$T/private" && P=$T/private/prefix && mkdir "$P" ||
		bail "cannot make $T/private/prefix"
	[ "$(id -u)" != 0 ] || chown 65534:65534 "$P"
	traced_make "$T/install.log" install
	t_inside "$T/install.log" "make install"
	(cd "$P" && find . -mindepth 1 | sed "s|^\.|$P|" | sort) >"$T/install.found"
	t_ok "the trace saw every file in the prefix" \
		cmp -s "$T/install.found" "$T/install.log.written"
	for f in bin/outbox sbin/sendmail lib/systemd/user/outbox-flush.service \
		lib/tmpfiles.d/outbox.conf etc/apparmor.d/outbox etc/network/if-up.d/outbox \
		lib/NetworkManager/dispatcher.d/90-outbox \
		lib/networkd-dispatcher/routable.d/90-outbox; do
		t_ok "$f is in the prefix" test -e "$P/$f"
	done
	traced_make "$T/uninstall.log" uninstall
	t_inside "$T/uninstall.log" "make uninstall"
	t_is "make uninstall leaves only directories" "" "$(find "$P" ! -type d)"
fi

# ---- configure's option, in a second build directory.
top=$(cd "$E2E_TOP" && pwd -P)
"$top/configure" --help >"$T/help" 2>&1
t_like "configure --help lists --enable-sendmail-links" "$T/help" \
	'--enable-sendmail-links'
if [ -f "$top/config.status" ]; then
	t_skip "configure --enable-sendmail-links in a second build" \
		"the source tree is configured in place (no second build from it)"
else
	for choice in enable disable; do
		C=$T/conf-$choice
		mkdir "$C" || bail "cannot make $C"
		(cd "$C" && "$top/configure" --prefix=/usr "--$choice-sendmail-links") \
			>"$C.log" 2>&1
		ok $? "configure --$choice-sendmail-links --prefix=/usr" ||
			diag_file "$C.log" 40
		mkvars "$C" SENDMAIL_LINKS >"$C.vars" 2>&1
		want=$([ "$choice" = enable ] && echo yes || echo no)
		t_is "--$choice-sendmail-links sets SENDMAIL_LINKS=$want" \
			"SENDMAIL_LINKS=$want" "$(cat "$C.vars")"
	done
	# Every install directory of a private prefix is inside it; a
	# pkg-config file counts only for its own prefix (systemd.pc: /usr).
	DIRVARS="systemduserunitdir tmpfilesdir nmdispatcherdir networkddispatcherdir ifupdir
		apparmordir bashcompdir zshcompdir fishcompdir"
	C=$T/conf-private
	mkdir "$C" && (cd "$C" && "$top/configure" --prefix="$C/p") >"$C.log" 2>&1
	ok $? "configure --prefix=PRIVATE" || diag_file "$C.log" 40
	# shellcheck disable=SC2086
	mkvars "$C" $DIRVARS >"$C.vars" 2>&1
	t_is "configure --prefix=PRIVATE: every install directory is under it" "" \
		"$(grep -v "=$C/p/" "$C.vars")"
	if pkg-config --variable=prefix systemd 2>/dev/null | grep -qx /usr; then
		mkvars "$T/conf-enable" systemduserunitdir >"$C.usr" 2>&1
		t_is "--prefix=/usr: the user units go where systemd.pc says" \
			"systemduserunitdir=$(pkg-config --variable=systemduserunitdir systemd)" \
			"$(cat "$C.usr")"
	fi
	C=$T/conf-enable
	"$MK" -C "$C" install-exec-hook DESTDIR="$C/root" >"$C.hook.log" 2>&1
	ok $? "the install hook of a --prefix=/usr build runs" ||
		diag_file "$C.hook.log" 40
	t_link "--prefix=/usr: /usr/sbin/sendmail links to ../bin/outbox" \
		"$C/root/usr/sbin/sendmail" ../bin/outbox
	t_link "--prefix=/usr: /usr/bin/mailq links to outbox" \
		"$C/root/usr/bin/mailq" outbox
fi

done_testing
