#!/usr/bin/env bash
# Writes tests/fixtures/dumps/: small dumps made by the real tools, so that the
# SQL dump and SQLite extractors are tested on what mysqldump, pg_dump and
# sqlite3 actually write, not on hand-written imitations.
#
#   bash scripts/make-dump-fixtures.sh      (as root: installs Debian packages)
#
# It installs mariadb-server, mariadb-client, postgresql and sqlite3 when they
# are missing, starts a throwaway MariaDB server and a throwaway PostgreSQL
# cluster under a temporary directory (unix sockets only: MariaDB runs with
# --skip-networking, PostgreSQL with listen_addresses=''), loads the same
# synthetic rows into both and into SQLite, and dumps them:
#
#   mysqldump-default.sql          mysqldump (MariaDB) with its defaults
#   mysqldump-hex-blob.sql         mysqldump --hex-blob
#   mysqldump-complete-insert.sql  mysqldump --skip-extended-insert --complete-insert
#   pg_dump-plain.sql              pg_dump (COPY … FROM stdin)
#   pg_dump-inserts.sql            pg_dump --inserts
#   pg_dump-column-inserts.sql     pg_dump --column-inserts
#   pg_dump-custom.dump            pg_dump -Fc (piscan reports it as skipped)
#   sqlite.db                      the SQLite database
#   sqlite3-dump.sql               sqlite3 sqlite.db .dump
#   expected.json                  the findings each fixture must give, as
#                                  (table, row, field, kind), derived from the
#                                  generated data (never from running piscan)
#
# Every value is synthetic (fixed seed): resident IDs with a valid MOD 11-2
# check character, Luhn-valid cards with 622848/621700 BINs, mobile numbers in
# assigned segments. Nothing outside the temporary directory and
# tests/fixtures/dumps is written (apart from the package installation); the
# servers are stopped and the temporary directory removed on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/tests/fixtures/dumps"

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb-dump >/dev/null 2>&1 || command -v mysqldump >/dev/null 2>&1 || need+=(mariadb-client)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y mariadb-server mariadb-client postgresql sqlite3
fi

MARIADBD="$(command -v mariadbd || echo /usr/sbin/mariadbd)"
MYSQLDUMP="$(command -v mysqldump || command -v mariadb-dump)"
MARIADB="$(command -v mariadb || command -v mysql)"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

TMP="$(mktemp -d /tmp/piscan-dumps.XXXXXX)"
MY_PID=""
PG_STARTED=""
cleanup() {
    set +e
    if [ -n "$MY_PID" ]; then
        kill "$MY_PID" 2>/dev/null
        wait "$MY_PID" 2>/dev/null
    fi
    if [ -n "$PG_STARTED" ]; then
        (cd "$TMP" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg" -m fast -w stop >/dev/null 2>&1)
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# No client history files, no user option files.
export MYSQL_HISTFILE=/dev/null PSQL_HISTORY=/dev/null PSQLRC=/dev/null

# ---------------------------------------------------------------- the data
# Writes $TMP/mysql.sql, $TMP/pg.sql, $TMP/sqlite.sql and $TMP/expected.json.
python3 - "$TMP" <<'PY'
import json, random, sys

tmp = sys.argv[1]
rng = random.Random(20240501)

AREAS = ["110101", "110105", "310104", "320102", "330106", "350102",
         "440106", "440301", "510104", "610113"]
WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]

def resident_id():
    first17 = "%s%04d%02d%02d%03d" % (rng.choice(AREAS), rng.randint(1955, 2003),
                                     rng.randint(1, 12), rng.randint(1, 28),
                                     rng.randint(0, 999))
    s = sum(int(c) * w for c, w in zip(first17, WEIGHTS))
    return first17 + "10X98765432"[s % 11]

def luhn_complete(body):
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:  # doubled: these are every other digit from the check digit
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)

def card():
    return luhn_complete(rng.choice(["622848", "621700"]) +
                         "".join(str(rng.randint(0, 9)) for _ in range(12)))

def mobile():
    return rng.choice(["138", "139", "186"]) + "".join(str(rng.randint(0, 9)) for _ in range(8))

def email():
    return "%s%d@corp-mail.cn" % (rng.choice(["zhang.wei", "li.na", "wang.fang", "liu.yang"]),
                                  rng.randint(1, 99))

def luhn_ok(n):
    total = 0
    for i, c in enumerate(reversed(n)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛"]

users, orders = [], []
for i in range(1, 21):
    uid = resident_id()
    phone = mobile()
    cno = card() if i % 5 != 0 else None  # every fifth user has no card
    kinds = {"id_no": ["cn_resident_id"], "phone": ["cn_mobile"]}
    if cno:
        kinds["card_no"] = ["bank_card"]
    t = i % 6
    if t == 1:
        note = '客户来电说："我的手机号是 %s"。\n地址里有\'单引号\'和"双引号"，路径 C:\\temp\\new\\' % mobile()
        kinds["note"] = ["cn_mobile"]
    elif t == 2:
        note = "核验记录\n身份证 %s\t已核验\\完成" % resident_id()
        kinds["note"] = ["cn_resident_id"]
    elif t == 3:
        note = "备注：无"
    elif t == 4:
        note = "退款到卡 %s，联系 %s" % (card(), email())
        kinds["note"] = ["bank_card", "email"]
    elif t == 5:
        note = 'O\'Brien 的 "VIP" 客户\r\n\\N 不是空值, tab\there'
    else:
        note = None
    # A PNG-like blob holding runs of ASCII digits that look like a mobile
    # number, a resident ID and a card: binary, so never to be reported.
    avatar = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"13812345678" + b"\x00\xff\xfe" +
              uid.encode() + b"'\\\"\n" + b" 6228480000000000000 " + bytes([0xff, 0xd8, 0xff, i]) +
              bytes(rng.randrange(256) for _ in range(24)))
    created = "2024-%02d-%02d %02d:%02d:%02d" % (1 + i % 12, 1 + i, 8 + i % 10, (7 * i) % 60, (13 * i) % 60)
    users.append(dict(id=i, name=rng.choice(SURNAMES) + rng.choice(GIVEN), id_no=uid, phone=phone,
                      card_no=cno, note=note, avatar=avatar, created_at=created, kinds=kinds))

for i in range(1, 16):
    u = users[(i * 7) % len(users)]
    m = mobile()
    form = i % 3
    contact = m if form == 0 else ("+86 %s %s %s" % (m[:3], m[3:7], m[7:]) if form == 1
                                   else "%s-%s-%s" % (m[:3], m[3:7], m[7:]))
    mail = email() if i % 2 else None
    kinds = {"contact_phone": ["cn_mobile"]}
    if mail:
        kinds["email"] = ["email"]
    orders.append(dict(id=i, user_id=u["id"], amount="%d.%02d" % (rng.randint(10, 9999), rng.randint(0, 99)),
                       contact_phone=contact, email=mail,
                       address="%s市%s区幸福路%d号%d室" % (rng.choice(["北京", "上海", "杭州", "成都"]),
                                                       rng.choice(["东城", "徐汇", "西湖", "锦江"]),
                                                       rng.randint(1, 200), rng.randint(101, 1808)),
                       ordered_at="2024-06-%02d 1%d:00:00" % (i, i % 10), kinds=kinds))

# Self-check of the generator.
for u in users:
    assert len(u["id_no"]) == 18 and u["phone"][:3] in ("138", "139", "186")
    assert u["card_no"] is None or (len(u["card_no"]) == 19 and luhn_ok(u["card_no"]))

USER_COLS = ["id", "name", "id_no", "phone", "card_no", "note", "avatar", "created_at"]
ORDER_COLS = ["id", "user_id", "amount", "contact_phone", "email", "address", "ordered_at"]

def lit(v, dialect):
    if v is None:
        return "NULL"
    if isinstance(v, bytes):
        return ("'\\x%s'::bytea" % v.hex()) if dialect == "pg" else "X'%s'" % v.hex()
    if isinstance(v, int):
        return str(v)
    if dialect == "mysql":
        v = v.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    else:
        v = v.replace("'", "''")
    return "'%s'" % v

def inserts(dialect):
    out = []
    for table, cols, rows in (("users", USER_COLS, users), ("orders", ORDER_COLS, orders)):
        for r in rows:
            vals = [int(r[c]) if c == "phone" else r[c] for c in cols]
            out.append("INSERT INTO %s (%s) VALUES (%s);" % (
                table, ", ".join(cols), ", ".join(lit(v, dialect) for v in vals)))
    return "\n".join(out) + "\n"

schema = {
    "mysql": """
CREATE TABLE users (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(32) NOT NULL,
  id_no CHAR(18) NOT NULL,
  phone BIGINT NOT NULL,
  card_no VARCHAR(19) DEFAULT NULL,
  note TEXT,
  avatar BLOB,
  created_at DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id INT NOT NULL,
  amount DECIMAL(10,2) NOT NULL,
  contact_phone VARCHAR(20) NOT NULL,
  email VARCHAR(64) DEFAULT NULL,
  address TEXT,
  ordered_at DATETIME NOT NULL,
  FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
""",
    "pg": """
CREATE TABLE users (
  id integer PRIMARY KEY,
  name varchar(32) NOT NULL,
  id_no char(18) NOT NULL,
  phone bigint NOT NULL,
  card_no varchar(19),
  note text,
  avatar bytea,
  created_at timestamp NOT NULL
);
CREATE TABLE orders (
  id serial PRIMARY KEY,
  user_id integer NOT NULL REFERENCES users (id),
  amount numeric(10,2) NOT NULL,
  contact_phone varchar(20) NOT NULL,
  email varchar(64),
  address text,
  ordered_at timestamp NOT NULL
);
""",
    "sqlite": """
PRAGMA foreign_keys=ON;
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name VARCHAR(32) NOT NULL,
  id_no CHAR(18) NOT NULL,
  phone BIGINT NOT NULL,
  card_no VARCHAR(19),
  note TEXT,
  avatar BLOB,
  created_at TEXT NOT NULL
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users (id),
  amount NUMERIC(10,2) NOT NULL,
  contact_phone VARCHAR(20) NOT NULL,
  email VARCHAR(64),
  address TEXT,
  ordered_at TEXT NOT NULL
);
""",
}
for dialect in ("mysql", "pg", "sqlite"):
    with open("%s/%s.sql" % (tmp, dialect), "w", encoding="utf-8") as f:
        if dialect == "pg":
            f.write("SET standard_conforming_strings = on;\n")
        f.write(schema[dialect])
        f.write("BEGIN;\n" if dialect != "mysql" else "START TRANSACTION;\n")
        f.write(inserts(dialect))
        f.write("COMMIT;\n")

# Expected findings: the same for every fixture that piscan reads (rows are
# numbered in insertion order, which is primary-key order in every dump).
findings = []
for table, rows in (("users", users), ("orders", orders)):
    for n, r in enumerate(rows, 1):
        for field, ks in r["kinds"].items():
            for k in ks:
                findings.append([table, n, field, k])
findings.sort()
readable = ["mysqldump-default.sql", "mysqldump-hex-blob.sql", "mysqldump-complete-insert.sql",
            "pg_dump-plain.sql", "pg_dump-inserts.sql", "pg_dump-column-inserts.sql",
            "sqlite3-dump.sql", "sqlite.db"]
# Written by hand so that it stays small and one finding is one line:
# {"binary_fields": [[table, field]], "fixtures": {file: {"findings":
# [[table, row, field, kind], ...]} or {"skipped": true, "reason_contains": …}}}
d = lambda v: json.dumps(v, ensure_ascii=False)
lines = ['{', ' "binary_fields": [["users", "avatar"]],',
         ' "_comment": "generated by scripts/make-dump-fixtures.sh from the data it loaded; each finding is [table, row, field, kind]",',
         ' "fixtures": {']
for name in readable:
    lines.append('  %s: {"findings": [' % d(name))
    lines.append(",\n".join("   " + d(f) for f in findings))
    lines.append('  ]},')
lines.append('  "pg_dump-custom.dump": {"skipped": true, "reason_contains": "pg_restore"}')
lines += [' }', '}']
text = "\n".join(lines) + "\n"
json.loads(text)
with open("%s/expected.json" % tmp, "w", encoding="utf-8") as f:
    f.write(text)
PY

# ---------------------------------------------------------------- MariaDB
mkdir -p "$TMP/my"
mariadb-install-db --no-defaults --datadir="$TMP/my" --user=root \
    --auth-root-authentication-method=socket --skip-test-db >"$TMP/my-install.log" 2>&1 \
    || { cat "$TMP/my-install.log" >&2; exit 1; }
"$MARIADBD" --no-defaults --datadir="$TMP/my" --socket="$TMP/my.sock" --pid-file="$TMP/my.pid" \
    --log-error="$TMP/my.err" --tmpdir="$TMP" --skip-networking --user=root \
    --innodb-buffer-pool-size=16M --character-set-server=utf8mb4 >"$TMP/my.out" 2>&1 &
MY_PID=$!
for _ in $(seq 1 60); do
    [ -S "$TMP/my.sock" ] && "$MARIADB" --no-defaults --socket="$TMP/my.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.5
done
my() { "$MARIADB" --no-defaults --socket="$TMP/my.sock" -uroot --default-character-set=utf8mb4 "$@"; }
my -e 'CREATE DATABASE shop CHARACTER SET utf8mb4'
my shop <"$TMP/mysql.sql"

# ---------------------------------------------------------------- PostgreSQL
chmod 711 "$TMP"
mkdir -p "$TMP/pg" "$TMP/pgsock"
chown postgres: "$TMP/pg" "$TMP/pgsock"
chmod 755 "$TMP/pgsock"
(cd "$TMP" && runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/pg" -U postgres --auth=trust \
    -E UTF8 --no-locale >"$TMP/pg-init.log" 2>&1) || { cat "$TMP/pg-init.log" >&2; exit 1; }
(cd "$TMP" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pgsock/pg.log" -w \
    -o "-k $TMP/pgsock -c listen_addresses=''" start >/dev/null)
PG_STARTED=1
pg() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$TMP/pgsock" -U postgres "$@"; }
pg -d postgres -c 'CREATE DATABASE shop'
pg -d shop -f "$TMP/pg.sql"

# Neither server may listen on TCP.
if command -v ss >/dev/null 2>&1; then
    if ss -ltnpH 2>/dev/null | grep -E "pid=($MY_PID|$(head -n 1 "$TMP/pg/postmaster.pid"))," ; then
        echo "a server listens on TCP" >&2
        exit 1
    fi
fi

# ---------------------------------------------------------------- dumps
mkdir -p "$OUT"
rm -f "$OUT"/mysqldump-*.sql "$OUT"/pg_dump-* "$OUT"/sqlite3-dump.sql "$OUT"/sqlite.db "$OUT"/expected.json
dump() { "$MYSQLDUMP" --no-defaults --socket="$TMP/my.sock" -uroot --skip-dump-date "$@" shop; }
dump >"$OUT/mysqldump-default.sql"
dump --hex-blob >"$OUT/mysqldump-hex-blob.sql"
dump --skip-extended-insert --complete-insert >"$OUT/mysqldump-complete-insert.sql"

pgdump() { "$PGBIN/pg_dump" -h "$TMP/pgsock" -U postgres "$@" shop; }
pgdump >"$OUT/pg_dump-plain.sql"
pgdump --inserts >"$OUT/pg_dump-inserts.sql"
pgdump --column-inserts >"$OUT/pg_dump-column-inserts.sql"
pgdump -Fc -f "$OUT/pg_dump-custom.dump"

sqlite3 "$OUT/sqlite.db" <"$TMP/sqlite.sql"
sqlite3 "$OUT/sqlite.db" .dump >"$OUT/sqlite3-dump.sql"

cp "$TMP/expected.json" "$OUT/expected.json"
ls -l "$OUT" >&2
