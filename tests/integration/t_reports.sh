#!/usr/bin/env bash
# kehu report (docs/architecture.md#reports): a small company whose every
# figure is known — stage changes, follow-ups, orders, a ticket — and each
# report kind checked against it, as an admin, as a rep (their own
# customers only), as a manager (the team's) and as service (no amounts,
# top refused). Periods: --since/--until choose, an until before since and
# an unknown kind are refused naming the flag. --csv is a table; --svg a
# well-formed standalone SVG; the human output draws bars.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user li.lei sales east
kehu_add_user zhao.qiang sales west
kehu_add_user wang.jl manager east
kehu_add_user wang.fang service

add() {   # USER NAME: prints the new customer's id
  expect_exit 0 kehu_as "$1" --json customer add --name "$2" --industry 制造 --size 100-500
  out_jq -r .id
}
c1=$(add li.lei 报表甲公司)
c2=$(add li.lei 报表乙公司)
c3=$(add li.lei 报表丙公司)
d1=$(add zhao.qiang 报表丁公司)
d2=$(add zhao.qiang 报表戊公司)
# stages: c1 potential -> intent -> closed; c2 -> intent; d1 -> lost
expect_exit 0 kehu_as li.lei customer stage "$c1" intent
expect_exit 0 kehu_as li.lei customer stage "$c1" closed
expect_exit 0 kehu_as li.lei customer stage "$c2" intent
expect_exit 0 kehu_as zhao.qiang customer stage "$d1" lost --reason 预算取消
# follow-ups: li.lei 2 phone + 1 visit, zhao.qiang 1 phone
expect_exit 0 kehu_as li.lei followup add "$c1" --method phone --summary 电话一
expect_exit 0 kehu_as li.lei followup add "$c2" --method phone --summary 电话二
expect_exit 0 kehu_as li.lei followup add "$c1" --method visit --summary 拜访
expect_exit 0 kehu_as zhao.qiang followup add "$d1" --method phone --summary 电话三
# orders: c1 two (80000 + 40000), d1 one (5000)
expect_exit 0 kehu_as li.lei order add "$c1" --amount 80000 --product 设备
expect_exit 0 kehu_as li.lei order add "$c1" --amount 40000 --product 服务
expect_exit 0 kehu_as zhao.qiang order add "$d1" --amount 5000 --product 配件
# a ticket, answered
expect_exit 0 kehu_as wang.fang --json ticket add "$c1" --subject 无法登录
ticket=$(out_jq -r .id)
expect_exit 0 kehu_as wang.fang ticket update "$ticket" --status in_progress

report() {   # USER KIND [FLAGS...]: the report as JSON in $OUT
  local user=$1 kind=$2
  shift 2
  expect_exit 0 kehu_as "$user" --json report "$kind" "$@"
}
row() {   # KEY [KEY2]: the count of that row of $OUT
  out_jq --arg k "$1" --arg k2 "${2:-}" \
    '[.rows[] | select(.key == $k and (($k2 == "") or (.key2 == $k2))) | .count] | add // 0'
}

# --- counts by a field: everyone's, a rep's, a manager's -----------------------------
report admin stage
expect_eq 2 "$(row potential)" "admin: potential customers"
expect_eq 1 "$(row intent)" "admin: intent"
expect_eq 1 "$(row closed)" "admin: closed"
expect_eq 1 "$(row lost)" "admin: lost"
expect_eq stage "$(out_jq -r .kind)" "the report's kind"
report li.lei stage
expect_eq 3 "$(out_jq '[.rows[].count] | add')" "li.lei sees his 3 customers only"
report wang.jl owner
expect_eq 3 "$(row li.lei)" "the east manager: li.lei's customers"
expect_eq 0 "$(row zhao.qiang)" "the east manager: none of the west's"
report admin size
expect_eq 5 "$(row 100-500)" "customers by size"
report admin summary
expect_eq 5 "$(row customers)" "summary: customers"

# --- the funnel: steps reached, conversion, transitions ----------------------------------
report admin funnel
expect_eq "potential intent closed lost" "$(out_jq -r '[.rows[].key] | join(" ")')" "the funnel's steps in order"
expect_eq 5 "$(row potential)" "reached potential"
expect_eq 2 "$(row intent)" "reached intent"
expect_eq 1 "$(row closed)" "reached closed"
expect_eq 0.4 "$(out_jq '.rows[] | select(.key == "potential") | .value')" "potential -> intent conversion"
expect_eq 0.5 "$(out_jq '.rows[] | select(.key == "intent") | .value')" "intent -> closed conversion"
expect_eq 2 "$(out_jq '[.transitions[] | select(.key == "potential" and .key2 == "intent") | .count] | add')" \
  "potential -> intent transitions"
expect_eq 1 "$(out_jq '[.transitions[] | select(.key == "potential" and .key2 == "lost") | .count] | add')" \
  "potential -> lost transitions"

# --- tiers: c1 high (2 orders, 120000.00), d1 potential, the rest normal ------------------
report admin tiers
expect_eq "high potential churn_risk normal" "$(out_jq -r '[.rows[].key] | join(" ")')" "the tiers in order"
expect_eq 1 "$(row high)" "high customers"
expect_eq 1 "$(row potential)" "potential customers"
expect_eq 3 "$(row normal)" "normal customers"
expect_eq 2 "$(out_jq '[.transitions[] | select(.key == "normal" and .key2 == "potential") | .count] | add')" \
  "normal -> potential moves"
expect_eq 1 "$(out_jq '[.transitions[] | select(.key == "potential" and .key2 == "high") | .count] | add')" \
  "potential -> high moves"
report admin churn
expect_eq 0 "$(out_jq '.rows | length')" "no churn-risk customer yet"
# a ticket rated 1 puts c2 at risk: listed with its owner and why
expect_exit 0 kehu_as li.lei order add "$c2" --amount 100 --product 耗材
expect_exit 0 kehu_as wang.fang --json ticket add "$c2" --subject 很不满意
expect_exit 0 kehu_as wang.fang ticket update "$(out_jq -r .id)" --status closed --satisfaction 1
report wang.jl churn
expect_eq "$c2" "$(out_jq -r '.rows[0].key')" "the churn-risk customer"
expect_eq li.lei "$(out_jq -r '.rows[0].owner')" "its owner"
expect_match '^rated 1' "$(out_jq -r '.rows[0].reason')" "why it is at risk"
report zhao.qiang churn
expect_eq 0 "$(out_jq '.rows | length')" "the west's rep does not see the east's churn list"

# --- activity: per rep and method; a rep sees only follow-ups on his customers -----------
report admin activity
expect_eq 2 "$(row li.lei phone)" "li.lei's phone calls"
expect_eq 1 "$(row li.lei visit)" "li.lei's visits"
expect_eq 1 "$(row zhao.qiang phone)" "zhao.qiang's phone calls"
report li.lei activity
expect_eq 0 "$(row zhao.qiang phone)" "li.lei does not see the west's follow-ups"

# --- top: revenue; service is refused ------------------------------------------------------
report admin top
expect_eq "$c1" "$(out_jq -r '.rows[0].key')" "the top customer"
expect_eq 120000.00 "$(out_jq -r '.rows[0].amount')" "its 12-month revenue"
expect_eq 2 "$(out_jq '.rows[0].count')" "its orders"
expect_exit 4 kehu_as wang.fang --json report top

# --- KPIs -------------------------------------------------------------------------------------
report admin kpi
kpi() { out_jq --arg k "$1" '.rows[] | select(.key == $k) | .value'; }
expect_eq 0.2 "$(kpi conversion_rate)" "conversion rate: 1 closed of 5"
expect_eq 333 "$(out_jq '.rows[] | select(.key == "repurchase_rate") | .value * 1000 | round')" \
  "repurchase rate: 1 of 3 buyers (c1, c2, d1) ordered twice, in thousandths"
expect_eq 0.2 "$(kpi churn_rate)" "churn rate: 1 lost of 5"
expect_eq 1 "$(kpi within_sla)" "both answered tickets were within their SLA"
expect_eq 2 "$(out_jq '.rows[] | select(.key == "avg_response_hours") | .count')" "tickets answered"
report wang.fang kpi
expect_eq 0 "$(out_jq '[.rows[] | select(has("amount"))] | length')" "service sees no amounts"

# --- periods -----------------------------------------------------------------------------------
report admin stage --since "$(date -d tomorrow +%F)"
expect_eq 0 "$(out_jq '.rows | length')" "no customer created since tomorrow"
report admin stage --since "$(date -d yesterday +%F)" --until "$(date -d tomorrow +%F)"
expect_eq 5 "$(out_jq '[.rows[].count] | add')" "customers created since yesterday"
[[ "$(out_jq -r .since)" != null && "$(out_jq -r .until)" != null ]] || fail "the period in the reply: $OUT"
expect_exit 7 kehu_as admin --json report stage --since 2026-02-01 --until 2026-01-01
expect_match 'until' "$ERR" "an until before since names the flag"
expect_exit 7 kehu_as admin --json report bogus
expect_match 'summary, stage' "$ERR" "an unknown kind lists the kinds"

# --- CSV, SVG, bars ----------------------------------------------------------------------------
expect_exit 0 kehu_as admin report stage --csv
expect_match '^key,count' "$(head -n 1 <<<"$OUT")" "the CSV header"
expect_match 'potential,2' "$OUT" "a CSV row"
expect_exit 0 kehu_as admin report funnel --svg "$KEHU_TMP/funnel.svg"
python3 -c 'import sys, xml.dom.minidom; d = xml.dom.minidom.parse(sys.argv[1]); assert d.documentElement.tagName == "svg"' \
  "$KEHU_TMP/funnel.svg" || fail "the SVG is not well-formed: $(head -c 300 "$KEHU_TMP/funnel.svg")"
grep -q 'intent' "$KEHU_TMP/funnel.svg" || fail "the SVG names the funnel's steps"
# bars proportional to the counts: potential (2) twice as long as the others (1)
LANG=C.UTF-8 LC_ALL=C.UTF-8 expect_exit 0 kehu_as admin report stage
python3 - "$OUT" <<'PY' || fail "the stage bars are not proportional to the counts: $OUT"
import re, sys
rows = {}
for line in sys.argv[1].splitlines():
    m = re.match(r'^(\w+)\s+(\d+)\s+([█▏▎▍▌▋▊▉]+)\s*$', line)
    if m:
        rows[m.group(1)] = (int(m.group(2)), len(m.group(3)))
assert set(rows) == {"potential", "intent", "closed", "lost"}, rows
full = rows["potential"][1]
assert full >= 20, rows
for key, (n, cells) in rows.items():
    assert abs(cells - full * n / 2) <= 1, (key, n, cells, full)
PY
LANG=C.UTF-8 LC_ALL=C.UTF-8 expect_exit 0 kehu_as admin report funnel
python3 - "$OUT" <<'PY' || fail "the funnel's levels do not narrow with the counts: $OUT"
import re, sys
widths = {}
for line in sys.argv[1].splitlines():
    m = re.match(r'^(potential|intent|closed)\s+(\d+)\s+(.*)$', line)
    if m:
        widths[m.group(1)] = len(re.sub(r'[^█▏▎▍▌▋▊▉]', '', m.group(3)))
assert widths["potential"] > widths["intent"] > widths["closed"] > 0, widths
PY
LANG=C.UTF-8 LC_ALL=C.UTF-8 expect_exit 0 kehu_as admin report owner
expect_match 'li\.lei' "$OUT" "the owner report names li.lei"
grep -q '█' <<<"$OUT" || fail "no bar drawn in a UTF-8 locale: $OUT"
LANG=C LC_ALL=C expect_exit 0 kehu_as admin report owner
if LC_ALL=C grep -q $'[\x80-\xff]' <<<"$OUT"; then fail "non-ASCII bars in the C locale: $OUT"; fi
expect_server_alive

# --- summary's dormant follows [reminders] dormant_days, as the dormant reminder does -----
report admin summary
expect_eq 0 "$(row dormant)" "no customer dormant today"
kehu_stop_server
kehu_conf_set reminders dormant_days 3
KEHU_CLOCK_OFFSET=$((4 * 86400))   # the server's clock 4 days on
export KEHU_CLOCK_OFFSET
kehu_start_server
report admin summary
expect_eq 5 "$(row dormant)" "customers without contact for more than dormant_days = 3"
