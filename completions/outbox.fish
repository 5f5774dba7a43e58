# fish completion for outbox(1), also used for sendmail and mailq.
#
# Completes what the bash completion (completions/outbox) completes:
# sendmail's short flags, outbox's long options (the fixed ones and
# --KEYWORD for every configuration keyword but password and eval), account
# names from the configuration files, queue ids for --remove, --hold,
# --release, --requeue and -qI, file names, and the values of the options
# that take a fixed set of words.  The configuration files are read only
# for their "account NAME" lines, never run.

# The configuration files to take account names from: the -C/--file given
# earlier on the command line, else the user's files; and the system's.
function __fish_outbox_conf_files
    set -l tokens (commandline -opc)
    set -l file
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case --
                break
            case -C --file
                set file $tokens[(math $i + 1)]
            case '-C?*'
                set file (string sub -s 3 -- $tokens[$i])
            case '--file=?*'
                set file (string sub -s 8 -- $tokens[$i])
        end
    end
    set -l xdg $XDG_CONFIG_HOME
    test -n "$xdg"; or set xdg $HOME/.config
    if test -n "$file"
        string replace -r '^~/' "$HOME/" -- $file
    else
        printf '%s\n' $xdg/outbox/config $HOME/.outboxrc $HOME/.msmtprc $xdg/msmtp/config
    end
    printf '%s\n' /etc/outbox.conf /usr/local/etc/outbox.conf /etc/msmtprc
end

# The account names, one a line.
function __fish_outbox_accounts
    for f in (__fish_outbox_conf_files)
        test -f $f -a -r $f; or continue
        string replace -rf '^\s*account\s+([^\s:#]+).*' '$1' <$f
    end | sort -u
end

# The ids of the queued messages (the default queue).
function __fish_outbox_queue_ids
    set -l state $XDG_STATE_HOME
    test -n "$state"; or set state $HOME/.local/state
    for f in $state/outbox/queue/msg/* $state/outbox/queue/failed/*
        test -f $f; and string match -r '^[0-9a-f]{23}$' -- (string replace -r '.*/' '' -- $f)
    end
end

# The argument attached to -q: I followed by a queue id, R or S.
function __fish_outbox_flush_filters
    printf '%s\t%s\n' R 'messages with a recipient that contains what follows' \
        S 'messages whose sender contains what follows'
    for id in (__fish_outbox_queue_ids)
        printf 'I%s\t%s\n' $id 'the message with this id'
    end
end

# __fish_outbox_notify WORD...: a DSN notify list: one of the WORDs (never,
# off), or a comma-separated list of success, failure and delay.
function __fish_outbox_notify
    set -l arg (string replace -r '^(-N|--dsn-notify=)' '' -- (commandline -ct))
    set -l head (string match -r '^.*,' -- $arg)
    if test -z "$head"
        printf '%s\n' $argv
    end
    printf "$head%s\n" success failure delay
end

set -l onoff 'on off'

complete -c outbox -f
complete -c sendmail -w outbox
complete -c mailq -w outbox

# sendmail's flags.
complete -c outbox -s A -r -d 'ignored'
complete -c outbox -s a -l account -x -a '(__fish_outbox_accounts)' -d 'use this account of the configuration'
complete -c outbox -s B -x -a '8BITMIME 7BIT' -d 'body type'
complete -c outbox -o bi -d 'do nothing, like newaliases'
complete -c outbox -o bm -d 'deliver the message (the default)'
complete -c outbox -o bp -d 'list the queue, like mailq'
complete -c outbox -o bs -d 'speak SMTP on standard input and output'
complete -c outbox -s C -l file -r -F -d 'read this configuration file'
complete -c outbox -s d -d 'print the SMTP conversation'
complete -c outbox -s F -x -d 'full name for a generated From: header'
complete -c outbox -s f -x -d 'envelope sender'
complete -c outbox -s G -d 'ignored'
complete -c outbox -s h -x -d 'ignored'
complete -c outbox -s i -d 'a line with a single dot does not end the message'
complete -c outbox -s L -x -d 'ignored'
complete -c outbox -s m -d 'ignored'
complete -c outbox -s N -x -a '(__fish_outbox_notify never)' -d 'DSN: when to notify'
complete -c outbox -s n -d 'ignored'
complete -c outbox -s O -x -d 'ignored'
complete -c outbox -o odb -d 'queue, then deliver in the background'
complete -c outbox -o odi -d 'deliver in the foreground (the default)'
complete -c outbox -o odq -d 'only queue the message'
complete -c outbox -o oem -d 'ignored'
complete -c outbox -o oi -d 'the same as -i'
complete -c outbox -s P -l pretend -d 'show the account and its settings'
complete -c outbox -s q -f -a '(__fish_outbox_flush_filters)' -d 'flush the queue now'
complete -c outbox -s R -x -a 'full hdrs' -d 'DSN: what a notification returns'
complete -c outbox -s r -x -d 'envelope sender'
complete -c outbox -s S -l serverinfo -d "describe the account's server"
complete -c outbox -l test -d "log in to the account's server and out again"
complete -c outbox -l send -d "with --test: also send a test message to the account's address"
complete -c outbox -s t -l read-recipients -d 'also read recipients from To, Cc and Bcc'
complete -c outbox -s U -d 'ignored'
complete -c outbox -s V -x -d 'DSN: envelope id'
complete -c outbox -s v -l debug -d 'print the SMTP conversation'
complete -c outbox -s X -r -F -d 'append the delivery record to this file'

# outbox's own long options.
complete -c outbox -l read-envelope-from -d 'take the envelope sender from the From: header'
complete -c outbox -l version -d 'print the version and exit'
complete -c outbox -l help -d 'print a short usage summary and exit'
complete -c outbox -l store-password -d "store the account's password in the keyring"
complete -c outbox -l delete-password -d "remove the account's password from the keyring"
complete -c outbox -l password-source -d "say where the account's password comes from"
complete -c outbox -l authorize -d "sign in to the account's OAuth2 provider and keep the token"
complete -c outbox -l configure -d 'find the server of an address and add its account'
complete -c outbox -l yes -d 'with --configure: write the account without asking'
complete -c outbox -l dry-run -d 'with --configure: only show the account it would write'
complete -c outbox -l json -d 'list the queue as JSON'
complete -c outbox -l remove -x -a '(__fish_outbox_queue_ids)' -d 'delete a queued message'
complete -c outbox -l hold -x -a '(__fish_outbox_queue_ids)' -d 'hold a queued message'
complete -c outbox -l release -x -a '(__fish_outbox_queue_ids)' -d 'release a held message'
complete -c outbox -l requeue -x -a '(__fish_outbox_queue_ids)' -d 'queue a message again, due now'
complete -c outbox -l watch -d 'flush the queue whenever the network comes up'

# The configuration keywords.  Those whose argument may be omitted take a
# value only after '=' (--tls=off), so they have no -r.
complete -c outbox -l host -x -a '(__fish_print_hostnames)' -d 'the submission server'
complete -c outbox -l port -x -a '587 465 25' -d "the server's port"
complete -c outbox -l source-ip -x -d 'the local address to connect from'
complete -c outbox -l timeout -x -a off -d 'network timeout in seconds'
complete -c outbox -l domain -x -d 'the argument of EHLO or LHLO'
complete -c outbox -l protocol -x -a 'smtp lmtp' -d 'the protocol spoken to the server'
complete -c outbox -l socket -r -F -d 'a Unix domain socket to connect to'
complete -c outbox -l proxy-host -x -a '(__fish_print_hostnames)' -d 'a SOCKS5 proxy to connect through'
complete -c outbox -l proxy-port -d "the SOCKS5 proxy's port"
complete -c outbox -l tls -a $onoff -d 'use TLS'
complete -c outbox -l tls-starttls -a $onoff -d 'STARTTLS (on) or implicit TLS (off)'
complete -c outbox -l tls-trust-file -r -F -a system -d 'the CA certificates to trust'
complete -c outbox -l tls-crl-file -r -F -d 'a certificate revocation list'
complete -c outbox -l tls-fingerprint -x -d 'the SHA-256 fingerprint of the server certificate'
complete -c outbox -l tls-cert-file -r -F -d 'a client certificate to present'
complete -c outbox -l tls-key-file -r -F -d "the client certificate's private key"
complete -c outbox -l tls-certcheck -a $onoff -d 'verify the server certificate'
complete -c outbox -l tls-priorities -x -d 'a GnuTLS priority string'
complete -c outbox -l tls-host-override -x -a '(__fish_print_hostnames)' -d 'the name to verify the certificate against'
complete -c outbox -l tls-min-dh-prime-bits -x -d 'ignored (msmtp compatibility)'
complete -c outbox -l auth -a 'auto on off plain login cram-md5 scram-sha-1 scram-sha-256 scram-sha-1-plus scram-sha-256-plus xoauth2 oauthbearer external' -d 'authenticate'
complete -c outbox -l user -x -a '(__fish_complete_users)' -d 'the user name for authentication'
complete -c outbox -l passwordeval -x -a '(__fish_complete_command)' -d 'a command whose output is the password'
complete -c outbox -l allow-plaintext-auth -a $onoff -d 'allow a named mechanism without TLS'
complete -c outbox -l oauth2-provider -x -a 'google microsoft custom' -d 'where the OAuth2 token comes from'
complete -c outbox -l oauth2-client-id -x -d 'the OAuth2 client ID you registered'
complete -c outbox -l oauth2-tenant -x -a 'common organizations' -d 'the Microsoft Entra tenant'
complete -c outbox -l oauth2-authorize-url -x -d 'the OAuth2 authorization endpoint'
complete -c outbox -l oauth2-device-url -x -d 'the OAuth2 device authorization endpoint'
complete -c outbox -l oauth2-token-url -x -d 'the OAuth2 token endpoint'
complete -c outbox -l oauth2-scope -x -d 'the OAuth2 scopes'
complete -c outbox -l oauth2-tls-trust-file -r -F -a system -d 'the CA certificates for the OAuth2 endpoints'
complete -c outbox -l from -x -d 'the envelope sender'
complete -c outbox -l from-full-name -x -d 'the full name in a generated From: header'
complete -c outbox -l allow-from-override -a $onoff -d 'let -f override from'
complete -c outbox -l set-from-header -a 'auto on off' -d 'add a From: header'
complete -c outbox -l set-date-header -a 'auto off' -d 'add a Date: header when missing'
complete -c outbox -l set-msgid-header -a 'auto off' -d 'add a Message-ID: header when missing'
complete -c outbox -l remove-bcc-headers -a $onoff -d 'remove Bcc: headers'
complete -c outbox -l undisclosed-recipients -a $onoff -d 'replace To, Cc and Bcc by undisclosed-recipients'
complete -c outbox -l dsn-notify -x -a '(__fish_outbox_notify never off)' -d 'when to request delivery status notifications'
complete -c outbox -l dsn-return -x -a 'off headers full' -d 'how much of the message a notification returns'
complete -c outbox -l aliases -r -F -d 'an aliases file for local recipients'
complete -c outbox -l logfile -r -F -d 'append one line per message to this file'
complete -c outbox -l logfile-time-format -d 'the strftime format of log file times'
complete -c outbox -l syslog -a 'on off LOG_USER LOG_MAIL LOG_LOCAL0 LOG_LOCAL1 LOG_LOCAL2 LOG_LOCAL3 LOG_LOCAL4 LOG_LOCAL5 LOG_LOCAL6 LOG_LOCAL7' -d 'log to syslog'
complete -c outbox -l queue -a $onoff -d 'keep messages that cannot be delivered now'
complete -c outbox -l queue-dir -x -a '(__fish_complete_directories)' -d 'the queue directory'
complete -c outbox -l queue-max-age -x -d 'give up on a message after this long'
complete -c outbox -l delivery-mode -x -a 'foreground background queue' -d 'deliver now, in the background, or only queue'
complete -c outbox -l hold-on-account-error -a $onoff -d 'hold messages on account errors'
complete -c outbox -l max-message-size -x -d 'refuse larger messages'
