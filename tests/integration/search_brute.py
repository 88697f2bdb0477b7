"""Search against a brute-force scan (docs/architecture.md#search).

Reads every customer and contact through `kehu export ... --format json`,
computes for each query the matches and their order by scanning all of
them, and pages through `kehu customer search` (following next_cursor to
the end) for the same query: the two lists of ids must be equal.

The scan's rules, for the queries this test makes (Chinese terms of two
characters or more with no legal form in them, Latin words, both mixed):
a term matches a customer when its folded text stands in one of the
customer's name, short name, tags or contacts' names -- a Latin word as the
start of a word there; the order is exact name, then names starting with
the query, then the rest, newest first within each.

usage: search_brute.py USER KEHU_ARGS_JSON  (env: how to run kehu as USER)
"""
import json
import os
import random
import subprocess
import sys
import unicodedata

KEHU = os.environ["KEHU_BIN"]
TIMEOUT = float(os.environ.get("KEHU_CMD_TIMEOUT", "60"))
LEGAL = ("有限责任公司", "股份有限公司", "有限公司")


def kehu(user, *args):
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = os.path.join(os.environ["KEHU_TMP"], "users", user)
    env["KEHU_PASSWORD"] = "adminpass" if user == "admin" else user + "-pass"
    r = subprocess.run([KEHU, "--user", user, "--json", *args], env=env, capture_output=True,
                       text=True, timeout=TIMEOUT)
    if r.returncode != 0:
        sys.exit(f"kehu {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    for marker in ("ERROR: AddressSanitizer", "runtime error:"):
        if marker in r.stderr:
            sys.exit(f"kehu {' '.join(args)}: the sanitizers reported:\n{r.stderr}")
    return json.loads(r.stdout)


def fold(s):
    return unicodedata.normalize("NFKC", s or "").casefold()


def is_cjk(ch):
    cp = ord(ch)
    return 0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FFFF


def latin_words(text):
    words, cur = [], ""
    for ch in fold(text):
        if ch.isalnum() and not is_cjk(ch):
            cur += ch
        else:
            if cur:
                words.append(cur)
            cur = ""
    if cur:
        words.append(cur)
    return words


def key_of(cid):
    # C + YYYYMMDD + sequence: the date above, the day's sequence below
    return int(cid[1:9]) << 32 | int(cid[9:])


def term_matches(term, fields):
    t = fold(term)
    if all(is_cjk(ch) for ch in t):
        return any(t in fold(f) for f in fields)
    if all(ch.isalnum() and not is_cjk(ch) for ch in t):
        return any(w.startswith(t) for f in fields for w in latin_words(f))
    # mixed (上海nova): the whole term in one field
    return any(t in fold(f) for f in fields)


def expected(query_terms, customers, contacts_of, visible, stage=None):
    q = fold(" ".join(query_terms))
    out = []
    for c in customers:
        if not visible(c) or (stage and c.get("stage") != stage):
            continue
        fields = [c.get("name"), c.get("short_name")] + list(c.get("tags") or []) + contacts_of.get(c["id"], [])
        fields = [f for f in fields if f]
        if not all(term_matches(t, fields) for t in query_terms):
            continue
        name = fold(c.get("name"))
        rank = 0 if name == q else 1 if name.startswith(q) else 2
        out.append((rank, -key_of(c["id"]), c["id"]))
    out.sort()
    return [cid for _, _, cid in out]


def searched(user, query_terms, limit, stage=None):
    ids, cursor, pages = [], None, 0
    while True:
        args = ["customer", "search", *query_terms, "--limit", str(limit)]
        if stage:
            args += ["--stage", stage]
        if cursor:
            args += ["--cursor", cursor]
        page = kehu(user, *args)
        ids += [c["id"] for c in page["items"]]
        cursor = page.get("next_cursor")
        pages += 1
        if not cursor:
            return ids
        if pages > 400:
            sys.exit(f"search {query_terms}: more than 400 pages")


def main():
    customers = kehu("admin", "export", "customers", "--format", "json")
    contacts = kehu("admin", "export", "contacts", "--format", "json")
    if isinstance(customers, dict):
        customers = customers.get("items", customers.get("customers", []))
    if isinstance(contacts, dict):
        contacts = contacts.get("items", contacts.get("contacts", []))
    contacts_of = {}
    for k in contacts:
        contacts_of.setdefault(k.get("customer_id") or k.get("customer"), []).append(k.get("name"))
    live = [c for c in customers if not c.get("deleted")]
    if len(live) < 1000:
        sys.exit(f"only {len(live)} customers exported")

    rng = random.Random(20261205)
    queries = []
    # two, three and four Chinese characters from the names (not from a legal form)
    cjk_names = [c["name"] for c in live if all(is_cjk(ch) for ch in c["name"])]
    for n in (2, 2, 2, 3, 4, 4):
        for _ in range(100):
            name = rng.choice(cjk_names)
            for form in LEGAL:
                name = name.replace(form, "")
            if len(name) < n:
                continue
            i = rng.randrange(len(name) - n + 1)
            queries.append([name[i:i + n]])
            break
    # the first two and four characters of a name: prefix matches
    for n in (2, 4):
        queries.append([rng.choice(cjk_names)[:n]])
    # Latin words and their starts, and a Chinese city with a Latin brand
    words = sorted({w for c in live for w in latin_words(c["name"])
                    if len(w) >= 4 and w not in ("limited", "company", "corp")})
    w = rng.choice(words)
    queries += [[w], [w[:3]]]
    mixed = [c["name"] for c in live if any(is_cjk(ch) for ch in c["name"]) and latin_words(c["name"])]
    if mixed:
        m = rng.choice(mixed)
        lw = latin_words(m)[0]
        at = fold(m).index(lw)
        queries.append([fold(m)[max(0, at - 2):at + len(lw)]])
    # two terms, and the exact names added by the test script
    queries.append([queries[0][0], queries[3][0]])
    queries += [["星河"], ["星河贸易"]]

    admin_all = lambda c: True
    checked = 0
    for i, q in enumerate(queries):
        want = expected(q, live, contacts_of, admin_all)
        if len(want) > 600:
            continue   # too many pages for one test; the walk is the same
        got = searched("admin", q, 7 if i % 3 == 0 else 25)
        if got != want:
            sys.exit(f"search {q} as admin: {len(got)} ids, the scan {len(want)}\n"
                     f"  first differences: {[(a, b) for a, b in zip(got, want) if a != b][:5]}\n"
                     f"  only searched: {sorted(set(got) - set(want))[:5]}\n"
                     f"  only scanned: {sorted(set(want) - set(got))[:5]}")
        checked += 1
        print(f"search {' '.join(q)}: {len(got)} matches, same as the scan")
    if checked < 8:
        sys.exit(f"only {checked} queries had a comparable number of matches")

    # a rep sees their own; a stage filter on top
    for user in ("rep1",):
        own = lambda c, u=user: c.get("owner") == u
        for q in queries[:6]:
            want = expected(q, live, contacts_of, own)
            got = searched(user, q, 25)
            if got != want:
                sys.exit(f"search {q} as {user}: {got[:5]}..., the scan {want[:5]}...")
        q = queries[0]
        want = expected(q, live, contacts_of, admin_all, stage="intent")
        got = searched("admin", q, 25, stage="intent")
        if got != want:
            sys.exit(f"search {q} --stage intent: {len(got)} ids, the scan {len(want)}")
    print(f"{checked} queries as admin, 6 as rep1, one with --stage: all as the scan")


main()
