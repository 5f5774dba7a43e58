#!/bin/sh
# postfix-setup.sh - a private Postfix instance with Cyrus SASL (sasldb) for
# outbox's end-to-end tests, run as root.
#
#   postfix-setup.sh start DIR PORT CERT KEY USER   (password line on stdin)
#   postfix-setup.sh stop DIR
#
# start writes DIR/etc/main.cf, DIR/etc/master.cf, DIR/etc/sasl/smtpd.conf
# and DIR/etc/sasl/sasldb2 (USER in realm "localhost"), makes DIR/queue and
# DIR/data, then starts the instance with `postfix -c DIR/etc`; it fails
# (after printing why) when the master does not come up, e.g. because PORT
# is taken.  The only listener is smtpd on 127.0.0.1:PORT, which offers
# STARTTLS with CERT/KEY and AUTH (only after STARTTLS), and accepts mail
# from authenticated clients only, for any address in example.net.  The
# virtual transport delivers it into the one maildir DIR/mail/example.net/
# (owned by nobody, each message with Return-Path: and Delivered-To:
# added; every directory above DIR/mail must be searchable by nobody).
# Postfix and smtpd log to DIR/maillog.  Nothing outside DIR is written:
# not /etc/postfix, not the system queue, and the system's own instance is
# never started or stopped.
#
# stop stops the instance and, if its master is still there after ~5 s,
# kills that one PID (from DIR/queue/pid/master.pid).  Exit 0 once it is
# gone.
#
# Untrusted data: none; everything comes from the calling test.
set -u
PATH=$PATH:/usr/sbin:/sbin

die() {
	echo "postfix-setup.sh: $*" >&2
	exit 1
}

# master_pid DIR: print the PID of DIR's running master, or fail.
master_pid() {
	_p=$(sed -n '1s/^ *\([0-9][0-9]*\).*/\1/p' \
		"$1/queue/pid/master.pid" 2>/dev/null)
	[ -n "$_p" ] && [ -r "/proc/$_p/stat" ] || return 1
	case $(sed 's/.*) //' "/proc/$_p/stat" 2>/dev/null) in
	Z* | X* | "") return 1 ;;
	esac
	echo "$_p"
}

write_main_cf() {
	cat >"$1/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $1/queue
data_directory = $1/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $1
maillog_file = $1/maillog
myhostname = mx.example.net
mydomain = example.net
myorigin = example.net
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
relayhost =
mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
biff = no
smtpd_banner = \$myhostname ESMTP postfix-test
smtpd_delay_reject = yes
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_chain_files = $3, $2
smtpd_tls_loglevel = 1
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_local_domain = localhost
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_authenticated_header = yes
virtual_mailbox_domains = example.net
virtual_mailbox_base = $1/mail
virtual_mailbox_maps = static:example.net/
virtual_uid_maps = static:$4
virtual_gid_maps = static:$5
virtual_minimum_uid = 1
EOF
}

# master.cf: only what a virtual delivery needs; nothing chrooted.
write_master_cf() {
	{
		echo "127.0.0.1:$2 inet n - n - - smtpd"
		cat <<'EOF'
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
virtual   unix - n n - - virtual
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
	} >"$1/etc/master.cf"
}

start() {
	[ $# -eq 5 ] || die "usage: start DIR PORT CERT KEY USER"
	dir=$1
	uid=$(id -u nobody) || die "no user nobody"
	gid=$(id -g nobody) || die "no group for nobody"
	mkdir -p "$dir/etc/sasl" "$dir/queue" "$dir/data" "$dir/mail" ||
		die "cannot make $dir"
	chown postfix "$dir/data" || die "cannot chown $dir/data"
	chown "$uid:$gid" "$dir/mail" || die "cannot chown $dir/mail"
	write_main_cf "$dir" "$3" "$4" "$uid" "$gid"
	write_master_cf "$dir" "$2"
	cat >"$dir/etc/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $dir/etc/sasl/sasldb2
mech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
EOF
	saslpasswd2 -p -c -f "$dir/etc/sasl/sasldb2" -u localhost "$5" ||
		die "saslpasswd2 failed"
	chown root:postfix "$dir/etc/sasl/sasldb2" ||
		die "cannot chown the sasldb"
	chmod 640 "$dir/etc/sasl/sasldb2" || die "cannot chmod the sasldb"
	# Start-up errors go to syslog, or to the terminal when there is one.
	script -qec "postfix -c '$dir/etc' start" /dev/null \
		>"$dir/start.out" 2>&1 ||
		die "postfix start failed: $(tr -d '\r' <"$dir/start.out")"
	i=0
	until master_pid "$dir" >/dev/null; do
		[ "$i" -lt 100 ] || die "no master after 5 s"
		sleep 0.05
		i=$((i + 1))
	done
}

stop() {
	[ $# -eq 1 ] || die "usage: stop DIR"
	dir=$1
	pid=$(master_pid "$dir") || return 0
	postfix -c "$dir/etc" stop >/dev/null 2>&1
	i=0
	while master_pid "$dir" >/dev/null; do
		if [ "$i" -ge 100 ]; then
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.05
		i=$((i + 1))
	done
	return 0
}

[ $# -ge 1 ] || die "usage: start DIR PORT CERT KEY USER | stop DIR"
cmd=$1
shift
case $cmd in
start) start "$@" ;;
stop) stop "$@" ;;
*) die "unknown command $cmd" ;;
esac
