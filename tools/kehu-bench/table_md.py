#!/usr/bin/env python3
"""BENCH.md's target table as markdown, from the raw outputs table.sh left in OUT
(docs/architecture.md#measuring-the-targets).

    python3 tools/kehu-bench/table_md.py OUT > OUT/table.md
"""
import json
import os
import re
import sys

out = sys.argv[1]


def read_figs(step):
    figs = {}
    path = os.path.join(out, step, "figures.tsv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("\t")
                if value != "":
                    figs[key] = value
    return figs


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


peer = read_figs("peer")
kehu = read_figs("kehu")
l1 = read_figs("l1")
q1 = read_figs("q1")
p1 = read_figs("p1")
i1 = read_figs("i1")
b1 = read_figs("b1")
seed = dict((row[0], row[1]) for row in read_tsv(os.path.join(out, "seed.tsv")) if len(row) > 1)
runs = read_tsv(os.path.join(out, "runs.tsv"))
rounds = set()
for figs in (peer, kehu, l1, q1, p1, i1, b1):
    for key in figs:
        m = re.search(r"\.r(\d+)$", key)
        if m:
            rounds.add(int(m.group(1)))


def pg_rows():
    """{(round, op, clients): {tps, p99, conn}} from pg_bench.sh's summaries."""
    rows = {}
    base = os.path.join(out, "peer")
    if not os.path.isdir(base):
        return rows
    for d in sorted(os.listdir(base)):
        path = os.path.join(base, d, "pg_summary.md")
        if not d.startswith("round") or not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) < 10 or not cells[0].isdigit():
                    continue
                rounds.add(int(cells[0]))
                rows[(int(cells[0]), cells[1], int(cells[2]))] = {
                    "tps": num(cells[3]), "p99": num(cells[6]), "conn": num(cells[9])}
    return rows


def kehu_rows():
    """{(round, op, connections): kehu-bench's JSON object}."""
    rows = {}
    base = os.path.join(out, "kehu")
    if not os.path.isdir(base):
        return rows
    for name in sorted(os.listdir(base)):
        m = re.match(r"round(\d+)\.jsonl$", name)
        if not m:
            continue
        rounds.add(int(m.group(1)))
        with open(os.path.join(base, name), encoding="utf-8") as f:
            for line in f:
                if line.startswith("{"):
                    try:
                        o = json.loads(line)
                    except ValueError:
                        continue
                    rows[(int(m.group(1)), o["op"], o["connections"])] = o
    return rows


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


pg = pg_rows()
kb = kehu_rows()
rounds = sorted(rounds) or [1]


def fmt_rate(v):
    return "—" if v is None else f"{v:,.0f}/s"


def fmt_ms(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:,.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def fmt_s(v):
    return "—" if v is None else f"{v:.2f} s"


def fmt_ratio(v):
    return "—" if v is None else (f"{v:.1f}x" if v >= 10 else f"{v:.2f}x")


def fmt_bytes(v):
    if v is None:
        return "—"
    if v >= 1 << 30:
        return f"{v / (1 << 30):.2f} GiB"
    if v >= 100 << 20:
        return f"{v / (1 << 20):.0f} MiB"
    return f"{v / (1 << 20):.1f} MiB"


def per_round(f):
    """'r1 / r2' from f(round) -> str or None."""
    cells = [f(r) for r in rounds]
    if all(c is None for c in cells):
        return "—"
    return " / ".join("—" if c is None else c for c in cells)


def verdict(oks):
    """oks: a bool (or None: not measured) per round."""
    oks = [ok for ok in oks if ok is not None]
    if not oks:
        return "—"
    if all(oks):
        return "yes"
    if not any(oks):
        return "**no**"
    return "round " + ", ".join(str(r) for r, ok in zip(rounds, oks) if ok) + " only"


def fig(figs, key, r=None):
    return num(figs.get(key if r is None else f"{key}.r{r}"))


table = []


def rate_row(tag, what, pg_op, pg_c, k_op, k_c, ratio_min, p99_max, target):
    def pv(r):
        return pg.get((r, pg_op, pg_c))

    def kv(r):
        return kb.get((r, k_op, k_c))

    def ratio(r):
        p, k = pv(r), kv(r)
        if not p or not k or not p["tps"]:
            return None
        return k["ops_per_s"] / p["tps"]

    def peer_cell(r):
        p = pv(r)
        return None if not p else f"{fmt_rate(p['tps'])} (p99 {fmt_ms(p['p99'])})"

    def kehu_cell(r):
        k = kv(r)
        if not k:
            return None
        cpu = k.get("server_cpu_ms_per_op")
        cpu = f", {cpu:.3f} ms CPU/op" if cpu is not None else ""
        err = f", {k['errors']} errors" if k.get("errors") else ""
        # what bounds a write: the pages it writes and the commit (write + sync)
        io = ""
        if k.get("commits") and k.get("server_kib_written_per_op") is not None and k_op in ("add", "update", "followup", "mix"):
            io = (f", {k['server_kib_written_per_op'] / 4:.1f} pages/op, "
                  f"{k['ops'] / k['commits']:.0f} ops/commit, commit {k['commit_ms_mean']:.1f} ms")
        return f"{fmt_rate(k['ops_per_s'])} (p99 {fmt_ms(k['p99_ms'])}{cpu}{io}{err})"

    def ok(r):
        q, k = ratio(r), kv(r)
        if q is None or k is None:
            return None
        return q >= ratio_min and (p99_max is None or k["p99_ms"] <= p99_max)

    table.append((tag, what, per_round(peer_cell), per_round(kehu_cell),
                  per_round(lambda r: fmt_ratio(ratio(r)) if ratio(r) is not None else None),
                  target, verdict([ok(r) for r in rounds])))


rate_row("R1", "a: get by id with contacts, 1 conn, depth 1", "a", 1, "get", 1, 1.5, 0.3,
         "≥ 1.5x the peer, p99 ≤ 0.3 ms")
rate_row("R2", "a, 32 conns (kehu: depth 8)", "a", 32, "get", 32, 6, None, "≥ 6x the peer")
rate_row("W1", "b: add a customer (durable, all indexes), 32 conns", "b", 32, "add", 32, 3, 20,
         "≥ 3x the peer, p99 ≤ 20 ms (sustained 60 s)")
rate_row("W2", "c: update with its version, 32 conns", "c", 32, "update", 32, 3, None, "≥ 3x the peer")
rate_row("W3", "d: add a follow-up (durable), 32 conns", "d", 32, "followup", 32, 2, 20,
         "≥ 2x the peer, p99 ≤ 20 ms")
rate_row("S1", "e: search a 2-character stem, 1 conn", "e", 1, "search", 1, 50, 2,
         "≥ 50x the peer, p99 ≤ 2 ms")
rate_row("S2", "e3: search 3+-character terms, 32 conns (kehu: depth 1)", "e3", 32, "search", 32, 10, 10,
         "≥ 10x the peer, p99 ≤ 10 ms")
rate_row("M1", "mix 70/10/5/5/10, 32 conns (kehu: depth 8)", "mix", 32, "mix", 32, 5, 10,
         "≥ 5x the peer, p99 ≤ 10 ms")

# L1
L1_KINDS = (("first", "first page"), ("next", "next page by cursor"), ("stage", "intent by last contact"))


def l1_cell(figs, r, unit_suffix=""):
    parts = []
    for key, label in L1_KINDS:
        v = figs.get(f"l1.{key}_ms.{r}")
        if v is None:
            continue
        parts.append(f"{label} {fmt_ms(num(v)) if num(v) is not None else v}")
    return ", ".join(parts) or None


def l1_ok(r):
    vals = [l1.get(f"l1.{k}_ms.r{r}") for k, _ in L1_KINDS]
    if all(v is None for v in vals):
        return None
    return all(num(v) is not None and num(v) <= 50 for v in vals if v is not None and not v.startswith("—"))


def l1_ratio(r):
    k, p = fig(l1, "l1.first_ms", r), fig(peer, "l1.first_ms", r)
    return None if k is None or not p else f"{k / p:.2f} (first page)"


peer_l1 = per_round(lambda r: l1_cell(peer, f"r{r}"))
if l1_cell(peer, "indexed"):
    peer_l1 += f"; with an index on (name, id) built in {fmt_ms(fig(peer, 'l1.index_build_ms'))}: " \
               + l1_cell(peer, "indexed")
table.append(("L1", "`customer list --sort name`: first page, next page; `--sort -last_contact --stage intent`"
              " (kehu: a new process each, median of 5; peer: the query, psql `\\timing`)",
              peer_l1, per_round(lambda r: l1_cell(l1, f"r{r}")), per_round(l1_ratio),
              "≤ 50 ms at any size, keyset cursors", verdict([l1_ok(r) for r in rounds])))

# Q1: the kinds BENCH.md names
Q1_KINDS = ("summary", "stage", "industry", "owner", "activity", "kpi")


def q1_kehu(r):
    parts = [f"{k} {fmt_ms(fig(q1, f'q1.{k}_ms', r))}" for k in Q1_KINDS if fig(q1, f"q1.{k}_ms", r) is not None]
    return ", ".join(parts) or None


def q1_peer(r):
    parts = [f"{k} {fmt_ms(fig(peer, f'q1.{k}_ms', r))}" for k in ("stage", "owner", "activity")
             if fig(peer, f"q1.{k}_ms", r) is not None]
    return ", ".join(parts) or None


def q1_ratio(r):
    parts = []
    for k in ("stage", "owner", "activity"):
        a, b = fig(q1, f"q1.{k}_ms", r), fig(peer, f"q1.{k}_ms", r)
        if a is not None and b:
            parts.append(f"{k} {a / b:.2f}")
    return ", ".join(parts) or None


def q1_ok(r):
    vals = [fig(q1, f"q1.{k}_ms", r) for k in Q1_KINDS]
    if all(v is None for v in vals):
        return None
    return all(v is not None and v <= 100 for v in vals)


table.append(("Q1", "`report summary/stage/industry/owner/activity/kpi` (kehu: a new process each, median of 3;"
              " peer: GROUP BY stage / owner, follow-ups of 30 days by owner, median of 3)",
              per_round(q1_peer), per_round(q1_kehu), per_round(q1_ratio),
              "≤ 100 ms at 1M", verdict([q1_ok(r) for r in rounds])))


# C1
def c1_peer(r):
    p = pg.get((r, "f", 1))
    psql = fig(peer, "c1.psql_ms", r)
    parts = []
    if psql is not None:
        parts.append(f"`psql -c` {fmt_ms(psql)}")
    if p:
        parts.append(f"pgbench -C {fmt_rate(p['tps'])} (connect {fmt_ms(p['conn'])})")
    return ", ".join(parts) or None


def c1_kehu(r):
    get, ver = fig(kehu, "c1.get_ms", r), fig(kehu, "c1.version_ms", r)
    k = kb.get((r, "connect", 1))
    parts = []
    if get is not None:
        parts.append(f"`kehu customer get` {fmt_ms(get)}, `kehu --version` {fmt_ms(ver)}")
    if k:
        parts.append(f"in-process reconnect {fmt_rate(k['ops_per_s'])}")
    return ", ".join(parts) or None


def c1_ratio(r):
    get, psql = fig(kehu, "c1.get_ms", r), fig(peer, "c1.psql_ms", r)
    return None if get is None or psql is None or not get else f"{get / psql:.2f} ({psql / get:.1f}x faster)"


def c1_ok(r):
    get, ver, psql = fig(kehu, "c1.get_ms", r), fig(kehu, "c1.version_ms", r), fig(peer, "c1.psql_ms", r)
    if get is None or ver is None:
        return None
    return get <= 2 * ver and (psql is None or psql / get >= 6)


table.append(("C1", f"f: a new process per get (median of {kehu.get('c1.runs', peer.get('c1.runs', 'N'))})",
              per_round(c1_peer), per_round(c1_kehu), per_round(c1_ratio),
              "≥ 6x faster than `psql -c`, ≤ 2x `kehu --version`", verdict([c1_ok(r) for r in rounds])))


# P1
def p1_cell(r):
    got = p1.get(f"p1.received.r{r}")
    if got is None:
        sub = p1.get(f"p1.subscribed_s.r{r}")
        return None if sub is None else "not every watcher subscribed"
    return (f"{int(num(got)):,}/{int(num(p1.get('p1.watchers', '0'))):,} received, last "
            f"{fmt_ms(fig(p1, 'p1.from_due_ms', r))} after due (fan-out {fmt_ms(fig(p1, 'p1.fanout_ms', r))}), "
            f"{p1.get(f'p1.kib_per_conn.r{r}', '?')} KiB per idle connection")


def p1_ok(r):
    got, due, kib = fig(p1, "p1.received", r), fig(p1, "p1.from_due_ms", r), fig(p1, "p1.kib_per_conn", r)
    if got is None:
        return False if p1.get(f"p1.subscribed_s.r{r}") is not None else None
    return got == num(p1.get("p1.watchers")) and due is not None and due <= 1000 and kib is not None and kib <= 48


table.append(("P1", f"push: {int(num(p1.get('p1.watchers', '10000'))):,} watchers, one reminder to all",
              "—", per_round(p1_cell), "—",
              "all within 1 s of due, ≤ 48 KiB per idle TLS connection", verdict([p1_ok(r) for r in rounds])))


# I1
def i1_cell(r):
    s = fig(i1, "i1.s", r)
    if s is None:
        return None
    acc, verify = i1.get(f"i1.accepted.r{r}"), i1.get(f"i1.verify.r{r}", "")
    return (f"{fmt_s(s)}" + (f" ({int(num(acc)):,} accepted" if acc else " (")
            + (", verify ok)" if verify.startswith("ok") else f", verify: {verify})"))


table.append(("I1", "import a CSV of N rows (one contact each) into a fresh kehud", "—", per_round(i1_cell), "—",
              "≤ 30 s for 1M rows, durable", verdict([None if fig(i1, "i1.s", r) is None else fig(i1, "i1.s", r) <= 30
                                                   for r in rounds])))


# B1
def b1_kehu(r):
    each, stopped, drop = fig(b1, "b1.mix_each_s", r), fig(b1, "b1.stopped_s", r), b1.get(f"b1.drop_pct.r{r}")
    if each is None and stopped is None:
        return None
    return f"under mix {fmt_s(each)} (kehud stopped {fmt_s(stopped)}), mix {drop or '?'} %"


def b1_ratio(r):
    each, copy = fig(b1, "b1.mix_each_s", r), fig(b1, "b1.copy_s", r)
    return None if each is None or not copy else fmt_ratio(each / copy)


def b1_ok(r):
    each, copy, drop = fig(b1, "b1.mix_each_s", r), fig(b1, "b1.copy_s", r), fig(b1, "b1.drop_pct", r)
    if each is None or not copy:
        return None
    return each / copy <= 1.2 and drop is not None and drop >= -20


table.append(("B1", "hot backup while mix runs (peer column: `mdb_copy -c` of the same store, kehud stopped)",
              per_round(lambda r: fmt_s(fig(b1, "b1.copy_s", r)) if fig(b1, "b1.copy_s", r) is not None else None),
              per_round(b1_kehu), per_round(b1_ratio), "≤ 1.2x `mdb_copy -c`, mix drops ≤ 20 %",
              verdict([b1_ok(r) for r in rounds])))

# D1 (one measurement, after the seed)
d1_peer = "—"
if fig(peer, "d1.tables_bytes") is not None:
    d1_peer = f"tables {fmt_bytes(fig(peer, 'd1.tables_bytes'))}, with indexes {fmt_bytes(fig(peer, 'd1.total_bytes'))}"
d1_kehu, d1_ratio, d1_ok = "—", "—", "—"
if fig(kehu, "d1.du_bytes") is not None:
    d1_kehu = (f"data directory {fmt_bytes(fig(kehu, 'd1.du_bytes'))} (pages in use {fmt_bytes(fig(kehu, 'd1.used_bytes'))}, "
               f"file {fmt_bytes(fig(kehu, 'd1.file_bytes'))})")
    if fig(peer, "d1.tables_bytes"):
        d1_ratio = f"{fig(kehu, 'd1.du_bytes') / fig(peer, 'd1.tables_bytes'):.2f} (of tables alone)"
        d1_ok = "yes" if fig(kehu, "d1.du_bytes") < fig(peer, "d1.tables_bytes") else "**no**"
table.append(("D1", "data size after the seed: N customers, 2N contacts, 3N follow-ups", d1_peer, d1_kehu, d1_ratio,
              "smaller than the peer's tables alone", d1_ok))


# T1
def t1_cell(r):
    listen, answer = fig(kehu, "t1.listen_ms", r), fig(kehu, "t1.answer_ms", r)
    return None if listen is None else f"listening {fmt_ms(listen)}, first list answered {fmt_ms(answer)}"


table.append(("T1", "kehud start with the seeded store, to its listening line (and to a first `kehu customer list`"
              " from a new process)", "—", per_round(t1_cell), "—", "≤ 0.2 s (no rebuild at start)",
              verdict([None if fig(kehu, "t1.listen_ms", r) is None else fig(kehu, "t1.listen_ms", r) <= 200
                       for r in rounds])))

# ---------------------------------------------------------------- the page
machine = {}
if os.path.exists(os.path.join(out, "machine.txt")):
    with open(os.path.join(out, "machine.txt"), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(": ")
            machine[k] = v
n_match = [re.search(r"\bN=(\d+)", row[2]) for row in runs if len(row) > 2]
n = int(n_match[-1].group(1)) if n_match and n_match[-1] else None
when = runs[-1][0] if runs else "?"

print(f"## The target table, {when[:10]} (N = {n:,})" if n else "## The target table")
print()
print(f"Machine: {machine.get('nproc', '?')} cores, {machine.get('memory', '?')}, {machine.get('cpu', '?')}, "
      f"{machine.get('kernel', '?')}. **The bench client runs on the same {machine.get('nproc', '2')} cores as the "
      f"server** (kehu-bench and kehud; pgbench and PostgreSQL). The peer ran first, then kehu; "
      f"each cell is round {' / round '.join(str(r) for r in rounds)}.")
print()
print("```sh")
for row in runs:
    print(f"{row[2]}   # {row[0]}, commit {row[1]}")
print("```")
print()
if n is not None and n != 1000000:
    print(f"The targets are for N = 1,000,000; at N = {n:,} \"met?\" says only whether these figures are within them.")
    print()
print("| # | operation | peer (PostgreSQL) | kehu | kehu ÷ peer | target | met? |")
print("|---|---|---|---|---|---|---|")
for row in table:
    print("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
print()
if seed.get("seed_s") or peer.get("load_s"):
    print(f"Loading N: kehu `kehu-admin seed` {seed.get('seed_s', '—')} s; the peer's pg_setup load "
          f"(tables, indexes, vacuum) {peer.get('load_s', '—')} s.".replace("— s", "—"))
    print()
tables = read_tsv(os.path.join(out, "kehu", "d1-tables.tsv"))
if tables:
    print("D1, kehu's largest tables (`mdb_stat -a`, branch + leaf + overflow pages; "
          f"{kehu.get('d1.free_pages', '?')} pages free in the file):")
    print()
    print("| table | pages | bytes | entries |")
    print("|---|---:|---:|---:|")
    for name, pages, size, entries in tables[:10]:
        print(f"| {name} | {int(pages):,} | {fmt_bytes(float(size))} | {int(entries):,} |")
    print()
sizes = read_tsv(os.path.join(out, "peer", "sizes.tsv"))
if sizes:
    print("D1, the peer: " + "; ".join(f"{t} {fmt_bytes(float(a))} ({fmt_bytes(float(b))} with indexes)"
                                       for t, a, b in sizes) + ".")
    print()
kinds = sorted({k.split(".")[1][:-3] for k in q1 if k.startswith("q1.")})
if kinds:
    print("Q1, every report kind (kehu, median of 3, ms): " + "; ".join(
        f"{k} " + " / ".join(q1.get(f"q1.{k}_ms.r{r}", "—") for r in rounds) for k in kinds) + ".")
    print()
