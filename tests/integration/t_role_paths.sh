#!/usr/bin/env bash
# Every read path, as every role: get, list, list --deleted, search, export,
# each report kind, reminder list --all, events pushed to watch, and audit.
# For each user the test knows which customers the access rules let them
# read (README "Roles") and checks that nothing else appears — by id, by
# name, by a contact's phone — and that service never sees an amount.
#
# Users: li.lei and han.mei sales in team east, zhao.qiang sales west,
# sales2 sales without a team, wang.jl manager east, wang.fang service,
# qian.cw finance, admin.
# shellcheck source=tests/integration/lib.sh disable=SC2016
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user li.lei sales east
kehu_add_user han.mei sales east
kehu_add_user zhao.qiang sales west
kehu_add_user sales2 sales
kehu_add_user wang.jl manager east
kehu_add_user wang.fang service
kehu_add_user qian.cw finance
USERS=(admin li.lei han.mei zhao.qiang sales2 wang.jl wang.fang qian.cw)

# Everyone watches from the start: what is pushed to them is checked too.
for u in "${USERS[@]}"; do
  expect_exit 0 kehu_as "$u" whoami
  kehu_as "$u" --json watch >"$KEHU_TMP/watch.$u" 2>"$KEHU_TMP/watch.$u.err" &
  eval "WATCH_${u//./_}=$!"
done

long_ago=$(date -d '-200 days' '+%Y-%m-%d %H:%M')
ends_soon=$(date -d '+20 days' +%F)
signed=$(date -d '-300 days' +%F)

# One customer per owner; each with a contact (a phone only readers may see),
# a follow-up 200 days ago (so each is dormant at once), an order and a
# contract whose amounts are unique enough to grep for.
declare -A CUST NAME PHONE
n=0
for owner in li.lei han.mei zhao.qiang sales2 admin; do
  n=$((n + 1))
  NAME[$owner]="路径测试${owner//./}贸易有限公司"
  PHONE[$owner]="1390000000$n"
  expect_exit 0 kehu_as admin --json customer add --name "${NAME[$owner]}" --owner "$owner" \
    --industry 制造 --region 华东 --source 展会
  CUST[$owner]=$(out_jq .id)
  c=${CUST[$owner]}
  expect_exit 0 kehu_as admin --json contact add "$c" --name "联系人$n" --phone "${PHONE[$owner]}"
  expect_exit 0 kehu_as admin --json followup add "$c" --method phone --summary 很久以前 --at "$long_ago"
  expect_exit 0 kehu_as admin --json order add "$c" --amount "77777$n.11" --product 设备
  expect_exit 0 kehu_as admin --json contract add "$c" --number "HT-PATH-$n" --amount "66666$n.22" \
    --signed "$signed" --start "$signed" --end "$ends_soon"
done
# A ticket for service to work, and a customer li.lei deletes.
expect_exit 0 kehu_as admin --json ticket add "${CUST[zhao.qiang]}" --subject 设备故障 --assignee wang.fang
expect_exit 0 kehu_as admin --json customer add --name 路径测试回收站客户 --owner li.lei
BINNED=$(out_jq .id)
expect_exit 0 kehu_as li.lei customer delete "$BINNED"
expect_exit 0 kehu_as admin --json customer add --name 路径测试回收站西区 --owner zhao.qiang
BINNED_WEST=$(out_jq .id)
expect_exit 0 kehu_as zhao.qiang customer delete "$BINNED_WEST"

# Who may read which customer (README "Roles"): by owner.
readers_of() { # owner -> users who may read that owner's customers
  case $1 in
    li.lei) echo "admin li.lei wang.jl wang.fang qian.cw" ;;
    han.mei) echo "admin han.mei wang.jl wang.fang qian.cw" ;;
    zhao.qiang) echo "admin zhao.qiang wang.fang qian.cw" ;;
    sales2) echo "admin sales2 wang.fang qian.cw" ;;
    admin) echo "admin wang.fang qian.cw" ;;
  esac
}
may_read() { # user owner
  [[ " $(readers_of "$2") " == *" $1 "* ]]
}
# Amounts: everyone who may read a customer's orders, i.e. readers but service.
sees_money() { [[ "$1" != wang.fang ]]; }

# check_output USER WHAT TEXT: TEXT holds nothing of a customer USER may
# not read, and no amount when USER is service.
check_output() {
  local user=$1 what=$2 text=$3 owner i
  for owner in "${!CUST[@]}"; do
    may_read "$user" "$owner" && continue
    for i in "${CUST[$owner]}" "${NAME[$owner]}" "${PHONE[$owner]}"; do
      [[ "$text" != *"$i"* ]] || fail "$what as $user shows '$i' of $owner's customer"
    done
  done
  if ! sees_money "$user"; then
    [[ ! "$text" =~ (77777|66666)[0-9] ]] || fail "$what as $user shows an amount: $text"
    [[ "$text" != *'"amount"'* ]] || fail "$what as $user carries an amount field: $text"
  fi
}

# expected ids, sorted, of the live customers USER may read
expected_ids() {
  local user=$1 owner
  for owner in "${!CUST[@]}"; do
    if may_read "$user" "$owner"; then echo "${CUST[$owner]}"; fi
  done | sort | tr '\n' ' '
}

for u in "${USERS[@]}"; do
  want=$(expected_ids "$u")
  # get: 0 for what they may read, 4 for the rest
  for owner in "${!CUST[@]}"; do
    if may_read "$u" "$owner"; then
      expect_exit 0 kehu_as "$u" --json customer get "${CUST[$owner]}"
    else
      expect_exit 4 kehu_as "$u" --json customer get "${CUST[$owner]}"
    fi
    check_output "$u" "customer get ${CUST[$owner]}" "$OUT"
  done
  # list and search: exactly the customers they may read
  expect_exit 0 kehu_as "$u" --json customer list --limit 500
  got=$(out_jq '.items[].id' | grep -v -e "$BINNED" | sort | tr '\n' ' ')
  expect_eq "$want" "$got" "customer list as $u"
  check_output "$u" "customer list" "$OUT"
  expect_exit 0 kehu_as "$u" --json customer search 路径测试
  got=$(out_jq '.items[].id' | sort | tr '\n' ' ')
  expect_eq "$want" "$got" "customer search as $u"
  check_output "$u" "customer search" "$OUT"
  expect_exit 0 kehu_as "$u" --json customer search "${PHONE[li.lei]}"
  check_output "$u" "customer search by phone" "$OUT"
  # export: admin, manager and sales their own; service and finance none
  case $u in
    wang.fang | qian.cw) expect_exit 4 kehu_as "$u" export customers --format json -o "$KEHU_TMP/x.json" ;;
    *)
      expect_exit 0 kehu_as "$u" export customers --format json -o "$KEHU_TMP/x.json"
      got=$(jq -r '.[].id' "$KEHU_TMP/x.json" | sort | tr '\n' ' ')
      expect_eq "$want" "$got" "export customers as $u"
      check_output "$u" "export customers" "$(cat "$KEHU_TMP/x.json")"
      ;;
  esac
  # every report kind
  for kind in summary stage industry region source owner activity top; do
    code=0
    "$KEHU_BUILD/kehu" --version >/dev/null
    OUT=""
    XDG_CONFIG_HOME=$KEHU_TMP/users/$u KEHU_PASSWORD=$(kehu_password_of "$u") \
      timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu" --user "$u" --json report "$kind" \
      >"$KEHU_TMP/report.out" 2>"$KEHU_TMP/report.err" || code=$?
    OUT=$(cat "$KEHU_TMP/report.out")
    if [[ $kind == top ]] && ! sees_money "$u"; then
      expect_eq 4 "$code" "report top as $u (service sees no revenue): exit"
    else
      expect_eq 0 "$code" "report $kind as $u: exit ($(cat "$KEHU_TMP/report.err"))"
    fi
    check_output "$u" "report $kind" "$OUT"
  done
  # top: the customers by revenue are the ones they may read
  if sees_money "$u"; then
    expect_exit 0 kehu_as "$u" --json report top
    got=$(out_jq '.rows[].key' | awk '{print $1}' | sort | tr '\n' ' ')
    expect_eq "$want" "$got" "report top as $u"
  fi
  # records across customers: contracts (money) and tickets
  if sees_money "$u"; then
    expect_exit 0 kehu_as "$u" --json contract list --limit 500
    got=$(out_jq '[.items[].customer_id] | unique | .[]' | sort | tr '\n' ' ')
    expect_eq "$want" "$got" "customers of contract list as $u"
  else
    code=0
    kehu_as "$u" --json contract list --limit 500 >"$KEHU_TMP/c.out" 2>/dev/null || code=$?
    OUT=$(cat "$KEHU_TMP/c.out")
    [[ $code == 4 || $(out_jq '.items | length') == 0 ]] ||
      fail "contract list as $u (service) shows contracts: $OUT"
  fi
  check_output "$u" "contract list" "$OUT"
  expect_exit 0 kehu_as "$u" --json contract list --expiring-within 60 --limit 500
  check_output "$u" "contract list --expiring-within" "$OUT"
  expect_exit 0 kehu_as "$u" --json ticket list --limit 500
  check_output "$u" "ticket list" "$OUT"
  # a customer's own records, where the role reads them
  for owner in "${!CUST[@]}"; do
    for what in contact followup order; do
      code=0
      kehu_as "$u" --json "$what" list "${CUST[$owner]}" >"$KEHU_TMP/r.out" 2>/dev/null || code=$?
      OUT=$(cat "$KEHU_TMP/r.out")
      if ! may_read "$u" "$owner"; then
        expect_eq 4 "$code" "$what list of $owner's customer as $u: exit"
      fi
      check_output "$u" "$what list ${CUST[$owner]}" "$OUT"
    done
  done
  expect_exit 0 kehu_as "$u" --json customer dupes
  check_output "$u" "customer dupes" "$OUT"
  # the recycle bin: admin all, the owner theirs, the owner's manager the team's
  expect_exit 0 kehu_as "$u" --json customer list --deleted
  got=$(out_jq '.items[].id' | sort | tr '\n' ' ')
  case $u in
    admin) want_bin=$(printf '%s\n' "$BINNED" "$BINNED_WEST" | sort | tr '\n' ' ') ;;
    li.lei | wang.jl) want_bin="$BINNED " ;;
    zhao.qiang) want_bin="$BINNED_WEST " ;;
    *) want_bin="" ;;
  esac
  expect_eq "$want_bin" "$got" "customer list --deleted as $u"
  # audit: the admin's alone
  if [[ $u == admin ]]; then
    expect_exit 0 kehu_as "$u" --json audit --limit 50
  else
    expect_exit 4 kehu_as "$u" --json audit --limit 50
  fi
done

# Reminders: dormant ones reach the owner and the owner's team's managers
# (none for a rep without a team); contract ones the owner and finance.
reminder_customers() { # user -> sorted distinct customer ids of reminder list --all
  expect_exit 0 kehu_as "$1" --json reminder list --all --limit 500
  out_jq '.items[].customer_id // empty' | sort -u | tr '\n' ' '
}
for u in "${USERS[@]}"; do
  got=$(reminder_customers "$u")
  check_output "$u" "reminder list --all" "$OUT"
  for id in $got; do
    [[ " $(expected_ids "$u") " == *" $id "* ]] ||
      fail "reminder list --all of $u names $id, which $u may not read"
  done
done
expect_exit 0 kehu_as wang.jl --json reminder list --all --limit 500
got=$(out_jq '[.items[] | select(.kind == "dormant") | .customer_id] | sort | join(" ")')
want=$(printf '%s\n' "${CUST[li.lei]}" "${CUST[han.mei]}" | sort | tr '\n' ' ')
expect_eq "${want% }" "$got" "wang.jl's dormant reminders (his team's two customers)"
expect_exit 0 kehu_as sales2 --json reminder list --all --limit 500
expect_eq "${CUST[sales2]}" "$(out_jq '[.items[] | select(.kind == "dormant") | .customer_id] | join(" ")')" \
  "sales2's dormant reminders"
expect_exit 0 kehu_as qian.cw --json reminder list --all --limit 500
expect_eq 5 "$(out_jq '[.items[] | select(.kind == "contract_expiry") | .record_id] | unique | length')" \
  "contracts finance is reminded of (every one)"

# Pushed events: every watcher got its own due reminders, and only those.
# Wait (bounded) until wang.jl's two dormant reminders have arrived.
for ((i = 0; i < $(kehu_scaled 40); i++)); do
  (($(grep -c '"dormant"' "$KEHU_TMP/watch.wang.jl" 2>/dev/null || true) >= 2)) && break
  sleep 0.25
done
pids=()
for u in "${USERS[@]}"; do
  v=WATCH_${u//./_}
  pids+=("${!v}")
done
kill -TERM "${pids[@]}" 2>/dev/null || true
kehu_wait_all "$(kehu_scaled 10)" "${pids[@]}"
for u in "${USERS[@]}"; do
  check_output "$u" "events pushed to watch" "$(cat "$KEHU_TMP/watch.$u")"
done
(($(grep -c '"dormant"' "$KEHU_TMP/watch.wang.jl") >= 2)) ||
  fail "wang.jl's watch did not receive his team's dormant reminders: $(cat "$KEHU_TMP/watch.wang.jl")"
grep -q "${CUST[sales2]}" "$KEHU_TMP/watch.sales2" ||
  fail "sales2's watch did not receive the dormant reminder of their customer"
expect_server_alive
