#!/usr/bin/env bash
# Issue 3: thousands of mixed writes from parallel real clients (customer
# add/update/stage/delete/restore, contact add/update/delete, follow-up,
# need, contract, order and ticket adds), then `kehu-admin verify` confirms
# every index entry has its record and every record is indexed, while the
# server runs and after it stopped; the customers listed are exactly those
# added minus deleted plus restored. Then verify must fail on copies of the
# data directory with one index entry removed (dump, edit, load with
# lmdb-utils) or one dangling entry added.
#
# Under the sanitizers (KEHU_SANITIZED, lib.sh) each of the 8 jobs runs 120
# commands instead of 400 (960 writes, not 3,200): the count proves nothing
# more there. 120 is ten rounds of the job's 12 operations, so every kind of
# write, the restores (every other round) and the contact updates (every
# other round) all happen, from the same 8 parallel clients of three users;
# what ASan and UBSan look for shows in the first rounds, while 3,200
# sanitized writes took 229 s on a slower machine. The unsanitized build
# runs the full 3,200 (ctest --test-dir build).
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

JOBS=${KEHU_MIXED_JOBS:-8}
if ((KEHU_SANITIZED)); then
  PER_JOB=${KEHU_MIXED_PER_JOB:-120}
else
  PER_JOB=${KEHU_MIXED_PER_JOB:-400}
fi
# Seconds for all the jobs (a hang guard: 3,200 writes take about 25 s here).
DEADLINE=${KEHU_MIXED_DEADLINE:-$(kehu_scaled 120)}

kehu_start_server
kehu_add_user s1 sales east
kehu_add_user s2 sales west
for u in admin s1 s2; do
  expect_exit 0 kehu_as "$u" login
done

results=$KEHU_TMP/results
mkdir -p "$results"

# One job: PER_JOB commands as USER on customers of its own, writing the
# counts to $results/J.counts and any unexpected failure to $results/J.failed.
mixed_job() {
  set +e
  local j=$1 user=$2
  local config=$KEHU_TMP/clients/$j
  mkdir -p "$config"
  cp -a "$KEHU_TMP/users/$user/kehu" "$config/"
  export XDG_CONFIG_HOME=$config
  unset KEHU_PASSWORD
  local -a ids=() binned=() contacts=()
  local adds=0 deletes=0 restores=0 ok=0 k op id rc phone out
  local stages=(intent closed lost potential)
  run() { # run EXPECTED_EXIT ARGS... (output in $out)
    local want=$1
    shift
    rc=0
    out=$(timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu" --user "$user" --json "$@" 2>"$config/err") || rc=$?
    if ((rc == want)); then
      ok=$((ok + 1))
      return 0
    fi
    printf 'job %s (%s): kehu %s: exit %s, expected %s: %s\n' "$j" "$user" "$*" "$rc" "$want" \
      "$(head -c 300 "$config/err")" >>"$results/$j.failed"
    return 1
  }
  add_customer() {
    if run 0 customer add --name "混合写入客户 ${j}号 第${k}位" --tag "mix$((k % 3))" \
         --region "区域$((k % 7))"; then
      if [[ "$out" =~ \"id\":[[:space:]]*\"(C[0-9]+)\" ]]; then
        ids+=("${BASH_REMATCH[1]}")
        adds=$((adds + 1))
      else
        echo "job $j: no id in the output of customer add: ${out:0:200}" >>"$results/$j.failed"
      fi
    fi
  }
  for ((k = 1; k <= PER_JOB; k++)); do
    if ((${#ids[@]} < 3)); then
      add_customer
      continue
    fi
    id=${ids[RANDOM % ${#ids[@]}]}
    op=$((k % 12))
    case $op in
      0 | 6) add_customer ;;
      1)
        printf -v phone '139%02d%06d' "$j" "$k"
        if run 0 contact add "$id" --name "联系人$k" --phone "$phone" --email "c$j.$k@mix.example.com" &&
           [[ "$out" =~ \"id\":[[:space:]]*\"(CT[0-9]+)\" ]]; then
          contacts+=("${BASH_REMATCH[1]}:$id")
        fi
        ;;
      2) run 0 followup add "$id" --method phone --summary "第${k}次跟进" --next 回访 --due 2099-01-01 ;;
      3) run 0 customer update "$id" --region "更新区域$k" --tag "upd$((k % 4))" ;;
      4)
        run 0 contract add "$id" --number "MIX-$j-$k" --amount "$k.$((k % 100))" \
          --signed 2024-01-01 --start 2024-01-01 --end 2026-12-31
        ;;
      5) run 0 order add "$id" --amount "$((k * 3)).50" --product "产品$((k % 5))" --quantity $((k % 9 + 1)) ;;
      7) run 0 customer stage "$id" "${stages[k % 4]}" --reason "第${k}步" ;;
      8) run 0 need add "$id" --kind service --description "需求$k" --budget "$k" ;;
      9)
        if run 0 customer delete "$id"; then
          deletes=$((deletes + 1))
          binned+=("$id")
          local -a keep=()
          local x
          for x in "${ids[@]}"; do [[ "$x" == "$id" ]] || keep+=("$x"); done
          ids=("${keep[@]}")
        fi
        ;;
      10)
        # Every other binned customer is restored; the rest stay binned.
        if ((${#binned[@]} > 0 && (k / 12) % 2 == 0)); then
          id=${binned[-1]}
          if run 0 customer restore "$id"; then
            restores=$((restores + 1))
            unset 'binned[-1]'
            ids+=("$id")
          fi
        else
          run 0 followup add "$id" --method visit --summary "拜访$k"
        fi
        ;;
      11)
        # A contact of a live customer: its phone changed, or it is deleted.
        local pick="" c
        for c in "${contacts[@]}"; do
          [[ " ${ids[*]} " == *" ${c#*:} "* ]] && pick=$c
        done
        if [[ -n "$pick" ]] && ((k % 24 == 11)); then
          printf -v phone '137%02d%06d' "$j" "$k"
          run 0 contact update "${pick%%:*}" --phone "$phone" --title "职位$k"
        elif [[ -n "$pick" ]]; then
          if run 0 contact delete "${pick%%:*}"; then
            local -a rest=()
            for c in "${contacts[@]}"; do [[ "$c" == "$pick" ]] || rest+=("$c"); done
            contacts=("${rest[@]}")
          fi
        elif [[ "$user" == admin ]]; then
          run 0 ticket add "$id" --subject "工单$k"
        else
          run 0 contact add "$id" --name "备用联系人$k"
        fi
        ;;
    esac
  done
  echo "$adds $deletes $restores $ok" >"$results/$j.counts"
}

start=$SECONDS
pids=()
for ((j = 1; j <= JOBS; j++)); do
  case $((j % 4)) in
    1) user=s1 ;;
    2) user=s2 ;;
    *) user="admin" ;;
  esac
  mixed_job "$j" "$user" &
  pids+=($!)
done
kehu_wait_all "$DEADLINE" "${pids[@]}"
running=$STILL_RUNNING
elapsed=$((SECONDS - start))
expect_server_alive
((running == 0)) || fail "$running of $JOBS jobs were still running after ${DEADLINE}s"

shopt -s nullglob
failed_files=("$results"/*.failed)
shopt -u nullglob
if ((${#failed_files[@]} > 0)); then
  fail "$(cat "${failed_files[@]}" | wc -l) commands failed; the first ones:
$(cat "${failed_files[@]}" | head -n 10)"
fi
adds=0 deletes=0 restores=0 commands=0
for ((j = 1; j <= JOBS; j++)); do
  [[ -s "$results/$j.counts" ]] || fail "job $j wrote no counts"
  read -r a d r o <"$results/$j.counts"
  adds=$((adds + a)) deletes=$((deletes + d)) restores=$((restores + r)) commands=$((commands + o))
done
note "$commands writes from $JOBS parallel clients in ${elapsed}s, deadline ${DEADLINE}s ($adds adds, $deletes deletes, $restores restores)"
((commands >= JOBS * PER_JOB)) || fail "only $commands of $((JOBS * PER_JOB)) commands succeeded"

# Every live customer is listed, once (pages of 500, bounded).
expected=$((adds - deletes + restores))
: >"$KEHU_TMP/listed"
cursor=""
for ((page = 0; page < 100; page++)); do
  args=(--json customer list --limit 500)
  [[ -n "$cursor" ]] && args+=(--cursor "$cursor")
  expect_exit 0 kehu_as admin "${args[@]}"
  out_jq '.items[].id' >>"$KEHU_TMP/listed"
  cursor=$(out_jq '.next_cursor // empty')
  [[ -n "$cursor" ]] || break
done
[[ -z "$cursor" ]] || fail "customer list still had a next_cursor after 100 pages"
expect_eq "$expected" "$(wc -l <"$KEHU_TMP/listed")" "customers listed (added - deleted + restored)"
expect_eq "$expected" "$(sort -u "$KEHU_TMP/listed" | wc -l)" "distinct customers listed"

# verify while the server runs, and after it stopped.
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_match 'ok' "$OUT" "kehu-admin verify output (server running)"
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_match 'ok' "$OUT" "kehu-admin verify output"

# --- verify fails on a broken index -------------------------------------------
if ! command -v mdb_dump >/dev/null || ! command -v mdb_load >/dev/null; then
  note "mdb_dump/mdb_load (lmdb-utils) not found: skipping the broken-index checks"
  exit 0
fi
copy_data() { # copy_data DIR: the data directory without its LMDB files
  mkdir -p "$1/db"
  cp -a "$KEHU_DATA/." "$1/"
  rm -f "$1/db/"*
}
mdb_dump -a "$KEHU_DATA/db" >"$KEHU_TMP/all.dump" || fail "mdb_dump -a $KEHU_DATA/db failed"
grep -q '^database=cust_stage$' "$KEHU_TMP/all.dump" || fail "no cust_stage database in the dump"

# Control: the unedited dump loaded into a new environment still verifies.
copy_data "$KEHU_TMP/same"
mdb_load -f "$KEHU_TMP/all.dump" "$KEHU_TMP/same/db" 2>"$KEHU_TMP/load.err" ||
  fail "mdb_load of the dump failed: $(cat "$KEHU_TMP/load.err")"
expect_exit 0 kehu_admin verify "$KEHU_TMP/same"

# One stage-index entry removed: a record is no longer indexed.
awk '/^database=/ { db = substr($0, 10) }
     /^HEADER=END/ { data = 1; n = 0; print; next }
     /^DATA=END/ { data = 0 }
     data && db == "cust_stage" && ++n <= 2 { next }
     { print }' "$KEHU_TMP/all.dump" >"$KEHU_TMP/missing.dump"
[[ $(wc -l <"$KEHU_TMP/missing.dump") -eq $(($(wc -l <"$KEHU_TMP/all.dump") - 2)) ]] ||
  fail "could not remove one stage-index entry from the dump"
copy_data "$KEHU_TMP/missing"
mdb_load -f "$KEHU_TMP/missing.dump" "$KEHU_TMP/missing/db" 2>"$KEHU_TMP/load.err" ||
  fail "mdb_load of the edited dump failed: $(cat "$KEHU_TMP/load.err")"
rc=0
kehu_admin verify "$KEHU_TMP/missing" >"$KEHU_TMP/verify.out" 2>&1 || rc=$?
((rc != 0)) || fail "kehu-admin verify exited 0 with a stage-index entry removed:
$(head -n 5 "$KEHU_TMP/verify.out")"

# One dangling owner-index entry added: an index entry without its record.
copy_data "$KEHU_TMP/dangling"
cp -a "$KEHU_DATA/db/." "$KEHU_TMP/dangling/db/"
printf '%s\n' VERSION=3 format=print type=btree duplicates=1 dupsort=1 dupfixed=1 HEADER=END \
  ' ghost' ' \ff\ff\ff\ff\ff\ff\ff\ff' DATA=END >"$KEHU_TMP/dangling.dump"
mdb_load -s cust_owner -f "$KEHU_TMP/dangling.dump" "$KEHU_TMP/dangling/db" 2>"$KEHU_TMP/load.err" ||
  fail "mdb_load of a dangling owner entry failed: $(cat "$KEHU_TMP/load.err")"
rc=0
kehu_admin verify "$KEHU_TMP/dangling" >"$KEHU_TMP/verify.out" 2>&1 || rc=$?
((rc != 0)) || fail "kehu-admin verify exited 0 with a dangling owner-index entry:
$(head -n 5 "$KEHU_TMP/verify.out")"
# The original is untouched.
expect_exit 0 kehu_admin verify "$KEHU_DATA"
