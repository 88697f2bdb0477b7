#!/usr/bin/env bash
# Value tiers (docs/architecture.md#value-tiers): orders and ticket ratings
# move a customer's tier in their own write (high: 2 orders of 100000.00 in
# all within 90 days; potential: one small recent order; churn_risk: a
# ticket rated 1; back when the rating changes); customer list / search /
# export --tier find exactly those; customer get shows the tier and its
# basis, without amounts for service. Then the server's clock moves 95
# days on (a restart with a new KEHU_CLOCK_OFFSET): the potential customer
# becomes churn_risk with nobody touching it, its owner gets a churn_risk
# reminder and the tier history shows the change; a rating 95 days old no
# longer counts. An unknown tier is refused naming the flag; a bad [tiers]
# value refuses the config.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

kehu_expect_config_refused tiers negative_rating 5
kehu_expect_config_refused tiers high_window_days 0
kehu_conf_set tiers high_window_days 90
kehu_conf_set tiers negative_rating 2

kehu_start_server
kehu_add_user sala sales east
kehu_add_user serv service

add() {
  expect_exit 0 kehu_as sala --json customer add --name "$1"
  out_jq -r .id
}
tier_of() {
  expect_exit 0 kehu_as sala --json customer get "$1"
  out_jq -r .tier
}
high=$(add 价值分层测试甲有限公司)
pot=$(add 价值分层测试乙有限公司)
rated=$(add 价值分层测试丙有限公司)
plain=$(add 价值分层测试丁有限公司)
expect_eq normal "$(tier_of "$plain")" "a new customer's tier"

# high: two orders, 100000.00 in all (the threshold itself counts)
expect_exit 0 kehu_as sala order add "$high" --amount 60000 --product 服务器
expect_eq potential "$(tier_of "$high")" "after one order of 60000.00"
expect_exit 0 kehu_as sala order add "$high" --amount 40000 --product 存储
expect_eq high "$(tier_of "$high")" "after a second order, 100000.00 in all"
expect_exit 0 kehu_as sala order add "$pot" --amount 500 --product 耗材
expect_eq potential "$(tier_of "$pot")" "after one small order"
expect_exit 0 kehu_as sala order add "$rated" --amount 800 --product 耗材
expect_exit 0 kehu_as serv --json ticket add "$rated" --subject 无法登录
ticket=$(out_jq -r .id)
# the owner watches: the 流失预警 is pushed the moment the rating lands
expect_exit 0 kehu_as sala login
watch_start sala owner
expect_exit 0 kehu_as serv ticket update "$ticket" --status closed --satisfaction 1
expect_eq churn_risk "$(tier_of "$rated")" "after a rating of 1"
watch_wait owner ".reminder.kind == \"churn_risk\" and .reminder.customer_id == \"$rated\"" 5 ||
  fail "kehu watch did not print the owner's churn_risk reminder for $rated within $(kehu_scaled 5) s:
$(cut -c1-300 "$KEHU_TMP/watch-owner.tsv")"
watch_stop owner

# get: the tier, why, and the figures; --json adds tier_basis
expect_exit 0 kehu_as sala customer get "$high"
expect_match 'tier: +high \(2 orders in 90 days, 100000\.00 yuan in 365 days; last order [0-9-]{10}; 3 months: 2 orders, 100000\.00; 12 months: 2 orders, 100000\.00\)' \
  "$OUT" "customer get: the tier line"
expect_exit 0 kehu_as sala --json customer get "$high"
expect_eq "2 100000.00 100000.00" \
  "$(out_jq -r '.tier_basis | "\(.orders_3m) \(.amount_3m) \(.amount_12m)"')" "the basis in JSON"
expect_match '^[0-9-]{10}T[0-9:]{8}Z$' "$(out_jq -r .tier_basis.last_order_at)" "last_order_at"
expect_eq "potential high" "$(out_jq -r '[.tier_history[].to] | join(" ")')" "the tier history"
expect_exit 0 kehu_as sala --json customer get "$rated"
expect_match '^rated 1 on [0-9-]{10}$' "$(out_jq -r .tier_basis.reason)" "why churn_risk"
expect_match 'T' "$(out_jq -r .tier_basis.last_negative_at)" "last_negative_at"
# service sees the tier and the counts, never an amount
expect_exit 0 kehu_as serv --json customer get "$high"
expect_eq "high 2 null null" \
  "$(out_jq -r '.tier_basis | "high \(.orders_3m) \(.amount_3m) \(.amount_12m)"')" \
  "the basis as service sees it"
expect_exit 0 kehu_as serv customer get "$high"
if grep -q '100000\.00 yuan\|, 100000\.00' <<<"$OUT"; then
  fail "service sees an amount: $OUT"
fi

# the filters find exactly the right ones
ids() { out_jq -r '[.items[].id] | sort | join(" ")'; }
expect_exit 0 kehu_as sala --json customer list --tier high
expect_eq "$high" "$(ids)" "customer list --tier high"
expect_exit 0 kehu_as sala --json customer list --tier potential
expect_eq "$pot" "$(ids)" "customer list --tier potential"
expect_exit 0 kehu_as sala --json customer search 价值分层测试 --tier churn_risk
expect_eq "$rated" "$(ids)" "customer search --tier churn_risk"
expect_exit 0 kehu_as sala --json customer search 价值分层测试 --tier normal
expect_eq "$plain" "$(ids)" "customer search --tier normal"
expect_exit 0 kehu_as sala export customers --format json --tier high -o "$KEHU_TMP/high.json"
expect_eq "$high" "$(jq -r '[.[].id] | join(" ")' "$KEHU_TMP/high.json")" "export --tier high"
for cmd in "customer list" "customer search 价值分层测试" "export customers --format json -o $KEHU_TMP/x.json"; do
  # shellcheck disable=SC2086
  expect_exit 7 kehu_as sala $cmd --tier gold
  expect_match 'tier' "$ERR" "$cmd --tier gold: the error"
done

# a better rating takes the customer back
expect_exit 0 kehu_as serv ticket update "$ticket" --satisfaction 5
expect_eq potential "$(tier_of "$rated")" "after the rating became 5"
expect_exit 0 kehu_as serv ticket update "$ticket" --satisfaction 2
expect_eq churn_risk "$(tier_of "$rated")" "after the rating became 2"

# 95 days later, with no write to any of them
kehu_stop_server
shift_server_clock '+95 days'
kehu_start_server
limit=$(kehu_scaled 20)
for ((i = 0; i < limit * 10; i++)); do
  [[ "$(tier_of "$pot")" == churn_risk ]] && break
  sleep 0.1
done
expect_eq churn_risk "$(tier_of "$pot")" "the potential customer 95 days after its order"
expect_exit 0 kehu_as sala --json customer get "$pot"
expect_eq "potential churn_risk" \
  "$(out_jq -r '.tier_history[-1] | "\(.from) \(.to)"')" "the last change in its history"
expect_match '^no order for 9[45] days$' "$(out_jq -r '.tier_history[-1].reason')" \
  "the reason kept in the history"
expect_eq churn_risk "$(tier_of "$high")" "the high customer 95 days after its orders"
expect_eq normal "$(tier_of "$plain")" "the customer without orders"
for ((i = 0; i < limit * 10; i++)); do
  expect_exit 0 kehu_as sala --json reminder list
  [[ -n "$(out_jq -r --arg id "$pot" '.items[] | select(.kind == "churn_risk" and .customer_id == $id) | .id')" ]] && break
  sleep 0.1
done
expect_match '^客户 价值分层测试乙有限公司 有流失风险：no order for' \
  "$(out_jq -r --arg id "$pot" '.items[] | select(.kind == "churn_risk" and .customer_id == $id) | .message')" \
  "the owner's churn_risk reminder"
expect_exit 0 kehu_as sala --json customer list --tier churn_risk
expect_eq "$(printf '%s\n' "$high" "$pot" "$rated" | sort | tr '\n' ' ' | sed 's/ $//')" "$(ids)" \
  "customer list --tier churn_risk after 95 days"

# the rating is 95 days old: a new order makes the rated customer potential
expect_exit 0 kehu_as sala order add "$rated" --amount 300 --product 耗材
expect_eq potential "$(tier_of "$rated")" "a new order after the rating aged"

kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
