#!/usr/bin/env bash
# kehu-admin rotate-key (docs/operations.md#rotating-the-data-key): every
# sealed value encrypted again under a new key generation while kehud runs.
# - Under write load: three real `kehu` clients keep adding contacts and
#   orders (bounded in count and time) while rotate-key runs; afterwards
#   every acknowledged write and every record written before reads back
#   through kehu (an attachment byte for byte), byte 0 of every value of
#   every sealed table (mdb_dump, lmdb-utils) is the new generation, a phone
#   written before is nowhere in the data file in clear, and verify passes.
# - Interrupted: rotate-key killed with SIGKILL mid-way (real data makes it
#   take a while: 48 MB of attachments; the kill comes once seal:rotating is
#   in meta) leaves the rotation in progress; a run that cannot read an
#   older generation's key file stops with an error naming the table and
#   key, changing nothing; run again with the file back, it resumes and
#   completes, and the older generation's key file is gone.
# - kehud restarted reads everything; --help needs no data directory.
# shellcheck source=tests/integration/lib.sh disable=SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

export LC_ALL=C
command -v mdb_dump >/dev/null || fail "mdb_dump is required (scripts/deps.sh installs lmdb-utils)"

# The tables holding sealed values (server/store/rotate.c: the sealed kinds
# of common/records.c, then the attachment bytes).
SEALED_TABLES=(contact need contract order attachment_data)

# seal_generations: "GEN COUNT" lines, GEN two hex digits: byte 0 of every
# value of the sealed tables, counted, in one mdb_dump per table.
seal_generations() {
  local t out=$KEHU_TMP/gens
  : >"$out"
  for t in "${SEALED_TABLES[@]}"; do
    timeout "$KEHU_CMD_TIMEOUT" mdb_dump -s "$t" "$KEHU_DATA/db" 2>"$KEHU_TMP/dump.err" |
      awk '/^HEADER=END$/ { data = 1; n = 0; next }
           /^DATA=END$/ { data = 0; next }
           data && n++ % 2 == 1 { print substr($0, 2, 2) }' >>"$out" ||
      fail "mdb_dump -s $t $KEHU_DATA/db failed: $(cat "$KEHU_TMP/dump.err")"
  done
  sort "$out" | uniq -c | awk '{ print $2, $1 }'
}

# expect_all_under GEN: every sealed value has byte 0 = GEN.
expect_all_under() {
  local want gens
  want=$(printf '%02x' "$1")
  gens=$(seal_generations)
  [[ "$gens" =~ ^$want\ [0-9]+$ ]] ||
    fail "sealed values by generation (hex, count) after rotating to $1: ${gens:-(none)}"
}

# meta_u64 NAME: meta's 8-byte value under NAME, in decimal; empty when absent.
meta_u64() {
  local hex
  hex=$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')
  timeout "$KEHU_CMD_TIMEOUT" mdb_dump -s meta "$KEHU_DATA/db" >"$KEHU_TMP/meta.dump" ||
    fail "mdb_dump -s meta failed"
  hex=$(awk -v want=" $hex" '/^HEADER=END$/ { data = 1; n = 0; next }
        data && n++ % 2 == 0 { key = $0; next }
        data && key == want { print substr($0, 2); exit }' "$KEHU_TMP/meta.dump")
  [[ -z "$hex" ]] || echo $((16#$hex))
}

# --- before: records of every sealed kind, an attachment, seeded customers ------
kehu_start_server
PHONE=13912345678
expect_exit 0 kehu_as admin --json customer add --name RotateKeyCustomer
cid=$(out_jq .id)
expect_exit 0 kehu_as admin --json contact add "$cid" --name 轮换联系人 --phone "$PHONE" \
  --email rotate.secret@example.com
first_contact=$(out_jq .id)
expect_exit 0 kehu_as admin --json contract add "$cid" --number ROT-HT-1 --amount 98765.43 \
  --signed 2024-01-01 --start 2024-01-01 --end 2025-01-01
expect_exit 0 kehu_as admin --json order add "$cid" --amount 45678.91 --product 轮换产品
expect_exit 0 kehu_as admin --json need add "$cid" --kind product --description 预算 --budget 31415.92
head -c 600000 /dev/urandom >"$KEHU_TMP/small.bin"
expect_exit 0 kehu_as admin --json attach add "$cid" "$KEHU_TMP/small.bin"
small=$(out_jq .id)
# 48 MB of attachment bytes (12 MB each, 48 sealed chunks) make a rotation
# take long enough to be killed mid-way; the seeded customers bring 2,000
# contacts.
bigs=()
for i in 1 2 3 4; do
  head -c $((12 * 1024 * 1024)) /dev/urandom >"$KEHU_TMP/big$i.bin"
  expect_exit 0 kehu_as admin --json attach add "$cid" "$KEHU_TMP/big$i.bin"
  bigs+=("$(out_jq .id)")
done
expect_exit 0 kehu_admin seed "$KEHU_DATA" --customers 1000
expect_all_under 1

# check_reads: every record above and every acknowledged write of the load
# reads back through kehu.
check_reads() {
  local line kind id value w
  expect_exit 0 kehu_as admin --json contact list "$cid"
  expect_eq "[\"$PHONE\"]" "$(out_jq -c --arg id "$first_contact" '.items[] | select(.id == $id) | .phones')" \
    "the phone read back"
  expect_exit 0 kehu_as admin --json contract list "$cid"
  expect_eq 98765.43 "$(out_jq '.items[0].amount')" "the contract amount read back"
  expect_exit 0 kehu_as admin --json order list "$cid"
  expect_eq 45678.91 "$(out_jq '.items[0].amount')" "the order amount read back"
  expect_exit 0 kehu_as admin --json need list "$cid"
  expect_eq 31415.92 "$(out_jq '.items[0].budget')" "the need budget read back"
  expect_exit 0 kehu_as admin attach get "$small" -o "$KEHU_TMP/small.out"
  cmp -s "$KEHU_TMP/small.bin" "$KEHU_TMP/small.out" || fail "attachment $small changed"
  for i in 1 4; do
    expect_exit 0 kehu_as admin attach get "${bigs[i - 1]}" -o "$KEHU_TMP/big.out"
    cmp -s "$KEHU_TMP/big$i.bin" "$KEHU_TMP/big.out" || fail "attachment ${bigs[i - 1]} changed"
  done
  for ((w = 1; w <= WRITERS; w++)); do
    expect_exit 0 kehu_as admin --json contact list "${wcust[w]}" --limit 500
    local contacts=$OUT
    expect_exit 0 kehu_as admin --json order list "${wcust[w]}" --limit 500
    local orders=$OUT
    while read -r kind id value; do
      if [[ $kind == contact ]]; then
        OUT=$contacts
        expect_eq "[\"$value\"]" "$(out_jq -c --arg id "$id" '.items[] | select(.id == $id) | .phones')" \
          "the phones of contact $id (writer $w)"
      else
        OUT=$orders
        expect_eq "$value" "$(out_jq --arg id "$id" '.items[] | select(.id == $id) | .amount')" \
          "the amount of order $id (writer $w)"
      fi
    done <"$W/$w.acked"
  done
}

# --- rotation under write load -------------------------------------------------------
WRITERS=3
WRITES=${KEHU_ROTATE_WRITES:-40}            # per writer
LOAD_LIMIT=$(kehu_scaled 60)                # per writer, a hang guard
W=$KEHU_TMP/writers
STOP=$W/stop
mkdir -p "$W"
wcust=()
for ((w = 1; w <= WRITERS; w++)); do
  expect_exit 0 kehu_as admin --json customer add --name "RotateWriter$w"
  wcust[w]=$(out_jq .id)
  mkdir -p "$W/cfg$w"
  : >"$W/$w.acked"
done

# writer W: alternately a contact (a phone of its own) and an order (an
# amount of its own), each acknowledged one logged; any failure is logged too.
writer() {
  local w=$1 i out end=$((SECONDS + LOAD_LIMIT)) phone amount
  export XDG_CONFIG_HOME=$W/cfg$w KEHU_PASSWORD=adminpass
  for ((i = 0; i < WRITES && SECONDS < end; i++)); do
    [[ -e "$STOP" ]] && break
    if ((i % 2 == 0)); then
      phone=139$(printf '%02d%06d' "$w" "$i")
      if out=$(kehu --user admin --json contact add "${wcust[w]}" --name "W$w-$i" --phone "$phone" 2>>"$W/$w.err"); then
        echo "contact $(jq -r .id <<<"$out") $phone" >>"$W/$w.acked"
      else
        echo "contact add $i failed" >>"$W/$w.failed"
      fi
    else
      amount=$((w * 1000 + i)).25
      if out=$(kehu --user admin --json order add "${wcust[w]}" --amount "$amount" --product P 2>>"$W/$w.err"); then
        echo "order $(jq -r .id <<<"$out") $amount" >>"$W/$w.acked"
      else
        echo "order add $i failed" >>"$W/$w.failed"
      fi
    fi
  done
}

pids=()
for ((w = 1; w <= WRITERS; w++)); do
  writer "$w" &
  pids+=($!)
done
# rotate once every writer has written (bounded wait)
limit=$(kehu_scaled 30)
for ((i = 0; i < limit * 20; i++)); do
  ready=0
  for ((w = 1; w <= WRITERS; w++)); do
    [[ -s "$W/$w.acked" ]] && ready=$((ready + 1))
  done
  ((ready == WRITERS)) && break
  sleep 0.05
done
((ready == WRITERS)) || fail "the writers had not all written within $limit s"
before=$(cat "$W"/*.acked | wc -l)
expect_exit 0 kehu_admin rotate-key "$KEHU_DATA"
expect_match '^re-sealed [0-9]+ values under key generation 2; [0-9]+ sealed values in all, 0 remain under older keys' \
  "$OUT" "rotate-key's summary"
during=$(($(cat "$W"/*.acked | wc -l) - before))
kehu_wait_all "$(kehu_scaled 120)" "${pids[@]}"
((STILL_RUNNING == 0)) || fail "the writers did not finish within $(kehu_scaled 120) s"
[[ ! -e "$W/1.failed" && ! -e "$W/2.failed" && ! -e "$W/3.failed" ]] ||
  fail "writes failed during the rotation: $(cat "$W"/*.failed) $(cat "$W"/*.err)"
acked=$(cat "$W"/*.acked | wc -l)
note "$acked writes acknowledged, $during of them while rotate-key ran"
((acked > before)) || fail "no write was acknowledged after rotate-key started"
[[ -f "$KEHU_DATA/keys/seal-2.key" ]] || fail "no key file $KEHU_DATA/keys/seal-2.key"
expect_eq 600 "$(stat -c %a "$KEHU_DATA/keys/seal-2.key")" "the mode of keys/seal-2.key"
expect_eq 32 "$(stat -c %s "$KEHU_DATA/keys/seal-2.key")" "the size of keys/seal-2.key"
expect_eq 2 "$(meta_u64 seal:gen)" "meta seal:gen"
expect_eq "" "$(meta_u64 seal:rotating)" "meta seal:rotating after the rotation"
expect_all_under 2
check_reads
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_exit 0 kehu_admin audit export "$KEHU_DATA" --format json
expect_match '"action": *"rotate_key"' "$OUT" "the audit log's rotate_key entry"

# --- interrupted: kill -9 mid-way, then a run that lacks a key, then resumed --------
# The kill comes once meta names the rotation (seal:rotating) and a little
# after; a run that finished before the kill is a rotation like any other,
# and the next attempt kills sooner.
delay_ms=$((100 * KEHU_TIME_FACTOR))
interrupted=0
for attempt in 1 2 3; do
  gen=$(($(meta_u64 seal:gen) + 1))
  "$KEHU_BUILD/kehu-admin" rotate-key "$KEHU_DATA" >"$KEHU_TMP/rotate.out" 2>&1 &
  rpid=$!
  limit=$(kehu_scaled 30)
  for ((i = 0; i < limit * 50; i++)); do
    [[ "$(meta_u64 seal:rotating)" == "$gen" ]] && break
    kehu_alive "$rpid" || break
    sleep 0.02
  done
  sleep "$((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000)))"
  kill -KILL "$rpid" 2>/dev/null || true
  wait "$rpid" 2>/dev/null || true
  # mid-way: the rotation in progress, values left under the generation before
  if [[ "$(meta_u64 seal:rotating)" == "$gen" ]] &&
     seal_generations | grep -q "^$(printf '%02x' $((gen - 1))) "; then
    interrupted=1
    break
  fi
  note "attempt $attempt: rotate-key was not caught mid-way ($(tr '\n' ' ' <"$KEHU_TMP/rotate.out")); again, sooner"
  delay_ms=$((delay_ms / 4))
done
((interrupted)) || fail "rotate-key could not be killed mid-way in 3 attempts"
old=$((gen - 1))
note "killed the rotation to generation $gen with values by generation: $(seal_generations | tr '\n' ' ')"
expect_eq "$gen" "$(meta_u64 seal:gen)" "seal:gen after the kill"
# kehud seals under the new generation at once and reads both meanwhile
expect_exit 0 kehu_as admin --json contact add "$cid" --name 中途联系人 --phone 13800001111
mid_contact=$(out_jq .id)
check_reads

# a run without the older generation's key file stops, naming the value
mv "$KEHU_DATA/keys/seal-$old.key" "$KEHU_TMP/seal-$old.key"
expect_exit 1 kehu_admin rotate-key "$KEHU_DATA"
expect_match "resuming the rotation to key generation $gen" "$OUT" "the resumed run's first line"
expect_match "cannot unseal the value in [a-z_]+ under key [0-9a-f]+ \\(key generation $old\\)" "$ERR" \
  "the error of a run lacking keys/seal-$old.key"
expect_match "stays in progress" "$ERR" "the error of a run lacking keys/seal-$old.key"
expect_eq "$gen" "$(meta_u64 seal:rotating)" "seal:rotating after the failed run"
mv "$KEHU_TMP/seal-$old.key" "$KEHU_DATA/keys/seal-$old.key"

expect_exit 0 kehu_admin rotate-key "$KEHU_DATA"
expect_match "resuming the rotation to key generation $gen" "$OUT" "the resumed run"
expect_match "under key generation $gen; [0-9]+ sealed values in all, 0 remain under older keys" \
  "$OUT" "the resumed run's summary"
expect_eq "" "$(meta_u64 seal:rotating)" "seal:rotating after the resumed run"
[[ ! -e "$KEHU_DATA/keys/seal-$old.key" ]] || fail "keys/seal-$old.key is still there"
[[ ! -e "$KEHU_DATA/keys/seal-2.key" ]] || fail "keys/seal-2.key is still there"
[[ -f "$KEHU_DATA/keys/seal-$gen.key" ]] || fail "keys/seal-$gen.key is missing"
expect_all_under "$gen"
expect_exit 0 kehu_admin verify "$KEHU_DATA"

# --- kehud restarted reads everything ----------------------------------------------
kehu_stop_server
kehu_start_server
check_reads
expect_exit 0 kehu_as admin --json contact list "$cid"
expect_eq '["13800001111"]' "$(out_jq -c --arg id "$mid_contact" '.items[] | select(.id == $id) | .phones')" \
  "the contact added mid-rotation, after the restart"
for i in 2 3; do
  expect_exit 0 kehu_as admin attach get "${bigs[i - 1]}" -o "$KEHU_TMP/big.out"
  cmp -s "$KEHU_TMP/big$i.bin" "$KEHU_TMP/big.out" || fail "attachment ${bigs[i - 1]} changed"
done
kehu_stop_server

# --- no plaintext in the file; --help needs no data directory -----------------------
db=$KEHU_DATA/db/data.mdb
(($(grep -a -c -F -e RotateKeyCustomer "$db" || true) > 0)) ||
  fail "the customer name is not in $db: the check cannot see plaintext"
for secret in "$PHONE" rotate.secret 13800001111 "$(head -n 1 "$W/1.acked" | cut -d' ' -f3)"; do
  n=$(grep -a -c -F -e "$secret" "$db" || true)
  ((n == 0)) || fail "'$secret' appears in clear in $db ($n lines)"
done
expect_exit 0 kehu_admin rotate-key --help
expect_match '^usage: kehu-admin rotate-key DATADIR' "$OUT" "rotate-key --help"
expect_exit 2 kehu_admin rotate-key
expect_match 'DATADIR is required' "$ERR" "rotate-key without DATADIR"
expect_exit 5 kehu_admin rotate-key "$KEHU_TMP/no-such-dir"
