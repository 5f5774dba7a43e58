#!/bin/sh
# completion.t - the bash, zsh and fish completions (completions/) load in
# their shell, are registered for outbox, sendmail and mailq, and complete
# a long option, a keyword's fixed value, account names read from a test
# configuration (the user's file and a -C file), queue ids from a test
# queue and -B's values; and each offers every option that the bash
# completion's own lists name.  bash is driven through _outbox with
# COMP_WORDS/COMP_CWORD, zsh by typing into an interactive zsh -f in a
# pseudo-terminal (the zpty module) with compadd wrapped to record what
# completion offers, fish through complete -C.  A shell that is not
# installed is skipped with the reason.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_setup
plan_lazy
COMP=$E2E_TOP/completions

ID1=006b08071087a30dc1a5f2d
ID2=006b0807108800000000abc
write_config "$XDG_CONFIG_HOME/outbox/config" <<EOC
defaults
tls on

account gmail
host smtp.gmail.com

account work : gmail
host smtp.example.org

account default : work
EOC
write_config "$T/other.conf" <<EOC
account other
host mail.example.net
EOC
mkdir -p "$XDG_STATE_HOME/outbox/queue/msg" || bail "cannot make the test queue"
: >"$XDG_STATE_HOME/outbox/queue/msg/$ID1"
: >"$XDG_STATE_HOME/outbox/queue/msg/$ID2"

# The queries every shell answers: NAME, then the command line typed before
# TAB (a trailing blank starts a new word).
cat >"$T/queries" <<EOQ
tls_tr|outbox --tls-tr
trust|outbox --tls-trust-file=
account|outbox -a 
account_file|outbox -C $T/other.conf -a 
account_long|outbox --account=
queue|outbox --remove=
body|outbox -B 
sendmail|sendmail --tls-tr
mailq|mailq --js
short|outbox -
long|outbox --
oauth2|outbox --oauth2-provider=
EOQ

# Every option the bash completion names in its lists, '=' removed.
# shellcheck disable=SC2016
bash -c '. "$1"
	for w in $_outbox_fixed_long $_outbox_short; do
		printf "%s\n" "${w%=}"
	done
	for k in $_outbox_keywords; do
		printf -- "--%s\n" "${k//_/-}"
	done' sh "$COMP/outbox" | sort -u >"$T/options"
t_ok "the bash completion's option lists were read" \
	test "$(wc -l <"$T/options")" -gt 80

# check SHELL DIR: the answers in DIR/NAME (one word a line) hold what each
# query must offer.
check() {
	_c_sh=$1
	_c_dir=$2
	t_like "$_c_sh: --tls-tr completes to --tls-trust-file" \
		"$_c_dir/tls_tr" '^--tls-trust-file=?$'
	t_like "$_c_sh: --tls-trust-file= offers system" \
		"$_c_dir/trust" '^(--tls-trust-file=)?system$'
	for _c_a in gmail work default; do
		t_like "$_c_sh: -a offers account $_c_a from the user's file" \
			"$_c_dir/account" "^$_c_a\$"
		t_like "$_c_sh: --account= offers account $_c_a" \
			"$_c_dir/account_long" "^(--account=)?$_c_a\$"
	done
	t_like "$_c_sh: -a after -C FILE offers FILE's account" \
		"$_c_dir/account_file" '^other$'
	t_unlike "$_c_sh: -a after -C FILE does not read the user's file" \
		"$_c_dir/account_file" '^gmail$'
	for _c_id in "$ID1" "$ID2"; do
		t_like "$_c_sh: --remove= offers queue id $_c_id" \
			"$_c_dir/queue" "^(--remove=)?$_c_id\$"
	done
	for _c_b in 8BITMIME 7BIT; do
		t_like "$_c_sh: -B offers $_c_b" "$_c_dir/body" "^$_c_b\$"
	done
	t_like "$_c_sh: completes for sendmail too" \
		"$_c_dir/sendmail" '^--tls-trust-file=?$'
	t_like "$_c_sh: completes for mailq too" "$_c_dir/mailq" '^--json$'
	sed 's/=$//' "$_c_dir/short" "$_c_dir/long" | sort -u >"$_c_dir/all"
	_c_missing=$(comm -23 "$T/options" "$_c_dir/all" | tr '\n' ' ')
	t_is "$_c_sh: offers every option of the bash completion's lists" \
		"" "$_c_missing"
	t_unlike "$_c_sh: never offers --password, --oauth2-client-secret or --eval" \
		"$_c_dir/all" '^--(password|oauth2-client-secret|eval)$'
	t_like "$_c_sh: --oauth2-provider= offers microsoft" \
		"$_c_dir/oauth2" '^(--oauth2-provider=)?microsoft$'
	t_like "$_c_sh: offers --authorize" "$_c_dir/all" '^--authorize$'
}

# ---- bash: _outbox with the words as readline splits them ('=' is in
# COMP_WORDBREAKS, so --opt=value is three words, and --opt= two).
cat >"$T/bash-query" <<'EOB'
. "$1"
read -r -a words <<<"$2"
[[ $2 == *" " ]] && words+=("")
COMP_WORDS=()
for w in "${words[@]}"; do
	case $w in
	--*=) COMP_WORDS+=("${w%%=*}" "=") ;;
	--*=*) COMP_WORDS+=("${w%%=*}" "=" "${w#*=}") ;;
	*) COMP_WORDS+=("$w") ;;
	esac
done
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_outbox 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"
EOB
mkdir "$T/bash"
bash -c '. "$1"; complete -p outbox sendmail mailq' sh "$COMP/outbox" \
	>"$T/bash/complete-p" 2>&1
for name in outbox sendmail mailq; do
	t_like "bash: complete -p shows _outbox for $name" "$T/bash/complete-p" \
		"^complete -F _outbox $name\$"
done
while IFS='|' read -r name line; do
	bash "$T/bash-query" "$COMP/outbox" "$line" >"$T/bash/$name"
done <"$T/queries"
check bash "$T/bash"

# ---- zsh: compinit in an interactive zsh -f in a pseudo-terminal; the
# driver types each query and TAB, and the wrapped compadd writes what it
# would offer (its -O result: the words that match) to a file per query.
cat >"$T/driver.zsh" <<'EOZ'
# driver.zsh FPATHDIR OUTDIR QUERIES: answers each "NAME|line" of QUERIES
# into OUTDIR/NAME.
zmodload zsh/zpty || exit 3
dir=$1 out=$2 queries=$3
# wait_for FILE: until FILE exists (10 s at most), reading the terminal.
wait_for() {
	local i=0 junk
	until [[ -f $1 ]]; do
		zpty -r t junk 2>/dev/null
		sleep 0.05
		(( ++i < 200 )) || { print -u2 "no answer for $1"; zpty -d t; exit 1; }
	done
}
# settle FILE: until FILE has content, 3 s at most (some queries offer
# nothing, so an empty FILE is not an error).
settle() {
	local i=0 junk
	until [[ -s $1 ]]; do
		zpty -r t junk 2>/dev/null
		sleep 0.05
		(( ++i < 60 )) || return 0
	done
}
zpty -b t zsh -f -i || exit 3
zpty -w t "PS1='' PS2='' RPS1=''; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w t 'setopt no_auto_list no_list_ambiguous no_beep
compadd() {
	local -a m
	if (( ${argv[(I)-[OAD]]} )); then
		builtin compadd "$@"
		return
	fi
	builtin compadd -O m "$@"
	(( $#m )) && print -rl -- "${m[@]}" >>$answer
	builtin compadd "$@"
}'
zpty -w t "print ready >${(q)out}/.ready"
wait_for $out/.ready
for q in "${(@f)$(<$queries)}"; do
	name=${q%%|*}
	zpty -w t "answer=${(q)out}/$name; : >\$answer"
	zpty -w -n t "${q#*|}"$'\t'
	# Let the completion run before more keys arrive: with typeahead
	# pending, zsh may cut completion short (seen on a busy machine).
	settle $out/$name
	zpty -w -n t $'\C-u'
	zpty -w t "print >${(q)out}/.$name.done"
	wait_for $out/.$name.done
done
zpty -d t
EOZ
if ! command -v zsh >/dev/null 2>&1; then
	t_skip "zsh completion" "zsh not installed (apt-get install zsh)"
elif ! zsh -fc 'zmodload zsh/zpty' 2>/dev/null; then
	t_skip "zsh completion" "zsh has no zpty module"
else
	mkdir "$T/zsh"
	zsh -f "$T/driver.zsh" "$COMP" "$T/zsh" "$T/queries" </dev/null \
		>"$T/zsh.out" 2>&1
	status=$?
	ok "$status" "zsh: the driver answered every query" ||
		diag_file "$T/zsh.out"
	if [ "$status" -eq 0 ]; then
		check zsh "$T/zsh"
	fi
fi

# ---- fish: complete -C after sourcing the file; descriptions cut off.
if ! command -v fish >/dev/null 2>&1; then
	t_skip "fish completion" "fish not installed (apt-get install fish)"
else
	mkdir "$T/fish"
	while IFS='|' read -r name line; do
		# shellcheck disable=SC2016
		Q=$line fish --no-config -c 'source $argv[1]; and complete -C "$Q"' \
			"$COMP/outbox.fish" 2>>"$T/fish.err" | cut -f1 >"$T/fish/$name"
	done <"$T/queries"
	t_is "fish: loading and completing print no error" "" "$(cat "$T/fish.err")"
	check fish "$T/fish"
fi

done_testing
