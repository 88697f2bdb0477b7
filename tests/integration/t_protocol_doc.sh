#!/usr/bin/env bash
# docs/protocol.md and proto/kehu.proto are enough to write a client: a
# Python client written from them alone (doc_client.py, protobuf code made
# here by protoc from proto/kehu.proto) logs in and reads a customer that
# the real kehu CLI added, and a wrong password gets UNAUTHENTICATED.
# shellcheck source=tests/integration/lib.sh disable=SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Debian's python3-protobuf lives under /usr/bin/python3; a python3 earlier
# on PATH (a virtualenv, pyenv) may lack it.
python=""
for candidate in /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null &&
     "$candidate" -c 'import google.protobuf' 2>/dev/null; then
    python=$(command -v "$candidate")
    break
  fi
done
[[ -n "$python" ]] || fail "no python3 with the protobuf module (scripts/deps.sh installs python3-protobuf)"
command -v protoc >/dev/null || fail "protoc is required (scripts/deps.sh installs protobuf-compiler)"

pb_dir=$KEHU_TMP/pb
mkdir -p "$pb_dir"
protoc --proto_path="$KEHU_SRC/proto" --python_out="$pb_dir" "$KEHU_SRC/proto/kehu.proto" ||
  fail "protoc --python_out failed on proto/kehu.proto"
[[ -f "$pb_dir/kehu_pb2.py" ]] || fail "protoc did not write kehu_pb2.py"

# doc_client ARGS...: bounded like any command; the password comes from
# KEHU_PASSWORD in the caller's environment.
doc_client() {
  PYTHONPATH=$pb_dir timeout "$KEHU_CMD_TIMEOUT" "$python" \
    "$KEHU_SRC/tests/integration/doc_client.py" "$@"
}

kehu_start_server

# The customer comes from the real CLI; the Python client creates nothing.
name="杭州青禾食品有限公司 Protocol Doc"
expect_exit 0 kehu_as admin --json customer add --name "$name" --stage potential
id=$(out_jq .id)
expect_match '^C[0-9]{11,}$' "$id" "customer id from kehu customer add"

KEHU_PASSWORD=adminpass expect_exit 0 doc_client "$KEHU_SERVER" "$KEHU_CA" admin "$id"
expect_eq "$name" "$OUT" "the name the protocol-doc client read"

# A wrong password: the status UNAUTHENTICATED, whose number is exit code 3.
KEHU_PASSWORD=not-the-password expect_exit 3 doc_client "$KEHU_SERVER" "$KEHU_CA" admin "$id"
expect_match '^UNAUTHENTICATED: ' "$ERR" "stderr for a wrong password"
expect_eq "" "$OUT" "stdout for a wrong password"

expect_server_alive
kehu_stop_server
