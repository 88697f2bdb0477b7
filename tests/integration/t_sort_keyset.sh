#!/usr/bin/env bash
# Sorted customer lists page with key cursors (docs/architecture.md#sorted-lists):
# walked in pages of 7 while another client adds, renames and follows up
# customers, every sort shows no customer twice but one the change moved
# past the cursor (by updated: to the end), skips none that was there
# before the walk and left alone, and shows those in the sort's order; a
# rep's sorted list holds their own customers, a manager's the team's; a
# filter with a sort keeps to it; an older server's position cursor is
# refused by name; verify passes after it all.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"
command -v python3 >/dev/null || fail "python3 is required for this test"

kehu_init_data "$KEHU_DATA"
kehu_add_user rep1 sales east
kehu_add_user rep2 sales east
kehu_add_user rep3 sales west
kehu_add_user mgr1 manager east
expect_exit 0 kehu_admin seed "$KEHU_DATA" --customers 150
kehu_start_server
for name in "zeta Trading" "Zeta Trading Co" "ＡＢＣ Works" "abc works GmbH" "上海排序测试有限公司"; do
  expect_exit 0 kehu_as rep1 customer add --force --name "$name"
done

# walk USER SORT OUT [FILTER...]: every page of the sorted list, 7 a page,
# one line a row: id, owner, stage, created, updated, last contact, name.
walk() {
  local user=$1 sort=$2 out=$3 cursor="" pages=0
  shift 3
  : >"$out"
  while ((pages < 400)); do
    local args=(--json customer list --sort "$sort" --limit 7 "$@")
    [[ -n "$cursor" ]] && args+=(--cursor "$cursor")
    expect_exit 0 kehu_as "$user" "${args[@]}"
    out_jq -r '.items[] | [.id, .owner, .stage, .created_at, .updated_at,
                           (.last_contact_at // ""), .name] | @tsv' >>"$out"
    cursor=$(out_jq -r '.next_cursor // empty')
    pages=$((pages + 1))
    [[ -z "$cursor" ]] && return 0
  done
  fail "$user's list by $sort did not end within 400 pages"
}

# The customers as they are now, newest first (the plain list's order).
snapshot() {
  local cursor="" pages=0
  : >"$1"
  while ((pages < 20)); do
    local args=(--json customer list --limit 500)
    [[ -n "$cursor" ]] && args+=(--cursor "$cursor")
    expect_exit 0 kehu_as admin "${args[@]}"
    out_jq -r '.items[] | [.id, .owner, .stage, .created_at, .updated_at,
                           (.last_contact_at // ""), .name] | @tsv' >>"$1"
    cursor=$(out_jq -r '.next_cursor // empty')
    pages=$((pages + 1))
    [[ -z "$cursor" ]] && return 0
  done
  fail "the plain list did not end"
}

# Another client changes customers until told to stop: it adds some,
# renames some (which moves them in every sort: updated, name) and follows
# up others (last contact, updated); each changed id goes to TOUCHED first.
changer() {
  local snap=$1 touched=$2 stop=$3 i id
  mapfile -t ids < <(cut -f1 "$snap")
  for ((i = 0; i < 60; i++)); do
    [[ -e "$stop" ]] && return 0
    kehu_as admin customer add --force --name "并发新增$i号 Aa$RANDOM" >/dev/null 2>&1 || return 1
    id=${ids[RANDOM % ${#ids[@]}]}
    echo "$id" >>"$touched"
    kehu_as admin customer update "$id" --name "AAA 改名 $i $RANDOM" >/dev/null 2>&1 || return 1
    id=${ids[RANDOM % ${#ids[@]}]}
    echo "$id" >>"$touched"
    kehu_as admin followup add "$id" --method phone --summary "回访$i" >/dev/null 2>&1 || return 1
  done
}

# check SORT WALK SNAPSHOT TOUCHED: no id twice; every id of the snapshot
# not touched is there; those in the order of a quiet walk (QUIET) and,
# for all but name, in the order the field gives (ties newest first).
check() {
  python3 - "$@" <<'EOF' || fail "the walk by $1 broke keyset paging (above)"
import sys
sort, walk, snap, touched, quiet = sys.argv[1:6]
desc = sort.startswith('-')
field = sort.lstrip('-')
rows = [l.rstrip('\n').split('\t') for l in open(walk, encoding='utf-8') if l.strip()]
ids = [r[0] for r in rows]
changed = {l.strip() for l in open(touched, encoding='utf-8')}
# a changed row may show again at its new place (a later updated_at moves
# it past the cursor); no other row may
dup = {i for i in ids if ids.count(i) > 1} - changed
bad = []
if dup:
    bad.append('shown twice: %s' % sorted(dup))
left = {l.split('\t')[0] for l in open(snap, encoding='utf-8')} - changed
missing = left - set(ids)
if missing:
    bad.append('skipped: %s' % sorted(missing))
quiet_ids = [l.split('\t')[0] for l in open(quiet, encoding='utf-8')]
seq = [i for i in ids if i in left]
want = [i for i in quiet_ids if i in left]
if seq != want:
    bad.append('not in the order of a quiet walk: %s' %
               [(a, b) for a, b in zip(seq, want) if a != b][:3])
def newest(r):
    return (-int(r[0][1:9]), -int(r[0][9:]))
def value(r):
    if field == 'stage':
        funnel = ['potential', 'intent', 'closed', 'lost']
        return funnel.index(r[2]) if r[2] in funnel else 4
    return r[{'created': 3, 'updated': 4, 'last_contact': 5}[field]]
if field != 'name':
    kept = [r for r in rows if r[0] in left]
    for a, b in zip(kept, kept[1:]):
        va, vb = value(a), value(b)
        ok = (va > vb if desc else va < vb) if va != vb else newest(a) < newest(b)
        if not ok:
            bad.append('out of order: %s before %s' % (a[:6], b[:6]))
            break
if bad:
    print('%s: %d rows; ' % (sort, len(rows)) + '; '.join(bad), file=sys.stderr)
    sys.exit(1)
EOF
}

for sort in name -last_contact stage created updated; do
  snapshot "$KEHU_TMP/snap"
  walk admin "$sort" "$KEHU_TMP/quiet"
  expect_eq "$(wc -l <"$KEHU_TMP/snap")" "$(wc -l <"$KEHU_TMP/quiet")" \
    "rows of a quiet walk by $sort (every customer once)"
  : >"$KEHU_TMP/touched"
  rm -f "$KEHU_TMP/stop"
  changer "$KEHU_TMP/snap" "$KEHU_TMP/touched" "$KEHU_TMP/stop" &
  changer_pid=$!
  walk admin "$sort" "$KEHU_TMP/walk"
  touch "$KEHU_TMP/stop"
  kehu_wait_all "$(kehu_scaled 60)" "$changer_pid"
  ((STILL_RUNNING == 0)) || fail "the changing client did not stop"
  (($(wc -l <"$KEHU_TMP/touched") > 0)) || fail "nothing changed during the walk by $sort"
  check "$sort" "$KEHU_TMP/walk" "$KEHU_TMP/snap" "$KEHU_TMP/touched" "$KEHU_TMP/quiet"
done

# --- who sees what: a rep their own, a manager the team's ------------------
snapshot "$KEHU_TMP/snap"
awk -F'\t' '$2 == "rep1" {print $1}' "$KEHU_TMP/snap" | sort >"$KEHU_TMP/rep1.want"
awk -F'\t' '$2 == "rep1" || $2 == "rep2" || $2 == "mgr1" {print $1}' "$KEHU_TMP/snap" |
  sort >"$KEHU_TMP/mgr1.want"
(($(awk -F'\t' '$2 == "rep3"' "$KEHU_TMP/snap" | wc -l) > 0)) || fail "rep3 (west) owns nothing"
walk rep1 -updated "$KEHU_TMP/rep1.walk"
cut -f1 "$KEHU_TMP/rep1.walk" | sort >"$KEHU_TMP/rep1.got"
cmp -s "$KEHU_TMP/rep1.want" "$KEHU_TMP/rep1.got" ||
  fail "rep1's sorted list is not rep1's customers: $(diff "$KEHU_TMP/rep1.want" "$KEHU_TMP/rep1.got" | head -5)"
walk mgr1 name "$KEHU_TMP/mgr1.walk"
cut -f1 "$KEHU_TMP/mgr1.walk" | sort >"$KEHU_TMP/mgr1.got"
cmp -s "$KEHU_TMP/mgr1.want" "$KEHU_TMP/mgr1.got" ||
  fail "mgr1's sorted list is not the east team's customers: $(diff "$KEHU_TMP/mgr1.want" "$KEHU_TMP/mgr1.got" | head -5)"

# --- a filter with a sort ----------------------------------------------------
walk mgr1 -last_contact "$KEHU_TMP/intent" --stage intent
awk -F'\t' '($2 == "rep1" || $2 == "rep2" || $2 == "mgr1") && $3 == "intent" {print $1}' \
  "$KEHU_TMP/snap" | sort >"$KEHU_TMP/intent.want"
cut -f1 "$KEHU_TMP/intent" | sort >"$KEHU_TMP/intent.got"
cmp -s "$KEHU_TMP/intent.want" "$KEHU_TMP/intent.got" || fail "the team's intent customers by -last_contact"
: >"$KEHU_TMP/none"
check -last_contact "$KEHU_TMP/intent" "$KEHU_TMP/intent" "$KEHU_TMP/none" "$KEHU_TMP/intent"

# --- cursors of another order or of an older server ------------------------
expect_exit 0 kehu_as admin --json customer list --sort name --limit 3
cursor=$(out_jq -r .next_cursor)
expect_match '^k[0-9a-f]+$' "$cursor" "a sorted list's cursor"
expect_exit 7 kehu_as admin customer list --sort -name --cursor "$cursor"
expect_match "not by -name" "$ERR" "a cursor of another order"
expect_exit 7 kehu_as admin customer list --sort name --cursor o120
expect_match "older server" "$ERR" "a position cursor"

kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
