//! Synthetic personal data: checksum-valid fakes for tests, benchmarks, the
//! bundled examples and the corpus generator.
//!
//! Nothing here is a real person's data. Values are drawn from a seeded
//! generator so every test and benchmark input is reproducible.

use std::io::Write as _;

use crate::detect::{luhn, resident_id, Kind};

/// A small, fast, seeded pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` random ASCII digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// Area codes known to `patterns/regions.txt`, used for generated IDs.
const AREAS: &[&str] = &[
    "110101", "110105", "310104", "320102", "330106", "350102", "440106", "440301", "510104",
    "610113",
];

/// A valid 18-character resident ID number with a known area code.
pub fn resident_id(rng: &mut Rng) -> String {
    let area = rng.pick(AREAS);
    let year = 1950 + rng.below(55);
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    let first17 = format!("{area}{year:04}{month:02}{day:02}{}", rng.digits(3));
    let check = resident_id::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

/// A Luhn-valid 19-digit card number with a Chinese bank BIN, never one
/// the validator takes for a test pattern (a run of 8 ascending digits,
/// which random digits hold about once in 10^6).
pub fn bank_card(rng: &mut Rng) -> String {
    loop {
        let bin = rng.pick(&["622202", "621700", "622848", "621661", "621799"]);
        let card = luhn_complete(&format!("{bin}{}", rng.digits(12)));
        if !crate::detect::bank_card::is_patterned(card.as_bytes()) {
            return card;
        }
    }
}

/// An 11-digit mobile number in an assigned segment.
pub fn mobile(rng: &mut Rng) -> String {
    let segment = rng.pick(&["138", "139", "150", "186", "177", "199", "135", "189"]);
    format!("{segment}{}", rng.digits(8))
}

/// A Luhn-valid 15-digit IMEI.
pub fn imei(rng: &mut Rng) -> String {
    luhn_complete(&format!("35{}", rng.digits(12)))
}

/// A passport number of the `E` + 8 digits shape.
pub fn passport(rng: &mut Rng) -> String {
    format!("E{}", rng.digits(8))
}

/// An email address at a made-up domain.
pub fn email(rng: &mut Rng) -> String {
    let user = rng.pick(&["zhang.wei", "li.na", "wang.fang", "liu.yang", "chen.jie"]);
    let domain = rng.pick(&["corp-mail.cn", "example-hr.com", "mail.test-co.net"]);
    format!("{user}{}@{domain}", rng.below(100))
}

/// A private-range IPv4 address.
pub fn ipv4(rng: &mut Rng) -> String {
    format!(
        "10.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
}

/// `rows` lines of a table of whole days in seconds (`("2399-01-05",
/// 13537929600),`): 11-digit numbers in valid mobile segments, every one
/// a multiple of 100, the kind of table the statistics rule of
/// [`crate::detect::Stats::implausible`] is for.
pub fn whole_days_table(rows: u64) -> String {
    (0..rows)
        .map(|i| {
            format!(
                "(\"2399-01-{i:02}\", {}),\n",
                13_537_929_600u64 + i * 86_400
            )
        })
        .collect()
}

/// A locally administered MAC address.
pub fn mac(rng: &mut Rng) -> String {
    let octets: Vec<String> = (0..5).map(|_| format!("{:02x}", rng.below(256))).collect();
    format!("02:{}", octets.join(":"))
}

/// One synthetic user row of a database export: id, name, resident ID,
/// phone (a BIGINT in the dump), card, 19-digit order id (a distractor),
/// and a note with quotes and escapes.
pub fn user_row(rng: &mut Rng, i: u64) -> [String; 7] {
    [
        i.to_string(),
        "张三".to_string(),
        resident_id(rng),
        mobile(rng),
        bank_card(rng),
        format!(
            "{}",
            1_000_000_000_000_000_000 + rng.below(8_000_000_000_000_000_000)
        ),
        "it''s a \\\"note\\\" 备注".to_string(),
    ]
}

/// Lines of an application dump: one extended `INSERT` per table, cut
/// like mysqldump's into statements of about [`Self::STATEMENT`] bytes.
struct AppDump<W: std::io::Write> {
    out: W,
    written: u64,
    /// Table of the open statement and its length so far.
    open: Option<(&'static str, usize)>,
}

impl<W: std::io::Write> AppDump<W> {
    const STATEMENT: usize = 1 << 20;
    const HEAD: &'static str = "-- MySQL dump 10.13  Distrib 8.0.36\n\
/*!40101 SET NAMES utf8mb4 */;\n\
CREATE TABLE `users` (`id` bigint, `username` varchar(64), `id_no` char(18), \
`phone` varchar(20), `email` varchar(128), `password_hash` char(60), \
`register_ip` varchar(45), `created_at` datetime);\n\
CREATE TABLE `orders` (`id` bigint, `order_no` bigint, `user_id` bigint, \
`amount` decimal(12,2), `status` varchar(16), `created_at` datetime, `paid_at` datetime);\n\
CREATE TABLE `events` (`id` bigint, `event_id` char(36), `user_id` bigint, \
`type` varchar(32), `payload` json, `created_at` datetime);\n";

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.written += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    /// Appends one row (`(…)`) of `table`, opening or cutting statements.
    fn row(&mut self, table: &'static str, row: &[u8]) -> std::io::Result<()> {
        match self.open {
            Some((t, len)) if t == table && len < Self::STATEMENT => {
                self.write(b",")?;
                self.open = Some((t, len + row.len() + 1));
            }
            _ => {
                self.close()?;
                self.write(format!("INSERT INTO `{table}` VALUES ").as_bytes())?;
                self.open = Some((table, row.len()));
            }
        }
        self.write(row)
    }

    fn close(&mut self) -> std::io::Result<()> {
        if self.open.take().is_some() {
            self.write(b";\n")?;
        }
        Ok(())
    }
}

/// Writes a MySQL dump of an application's database to `out`, at least
/// `size` bytes; returns how many. A `users` table (resident ID, phone,
/// email, register IP and a bcrypt hash per row) takes about 5.5 % of it;
/// `orders` (19-digit order numbers, amounts, times) and `events` (UUIDs,
/// JSON payloads with escaped quotes) hold nothing personal. Rows are
/// written in `INSERT` statements of about 1 MiB, one per line, as
/// mysqldump cuts them. The same arguments give the same bytes.
pub fn app_dump<W: std::io::Write>(out: W, size: u64, seed: u64) -> std::io::Result<u64> {
    let mut dump = AppDump {
        out,
        written: 0,
        open: None,
    };
    dump.write(AppDump::<W>::HEAD.as_bytes())?;
    let mut rng = Rng::new(seed);
    let mut row = Vec::with_capacity(512);
    let hex = |rng: &mut Rng, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
            .collect()
    };
    // Seconds around 2024-05-17.
    let when = |rng: &mut Rng| {
        let t = 1_715_900_000 + rng.below(30 * 86_400);
        let (d, s) = (t / 86_400 - 19_860, t % 86_400);
        format!(
            "2024-05-{:02} {:02}:{:02}:{:02}",
            1 + d % 28,
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    };
    // Tables one after another, as mysqldump writes them; users take
    // about 5.5 % of the bytes of a user's rows with their orders and events.
    let mut users = 0u64;
    while dump.written < size * 55 / 1000 {
        users += 1;
        row.clear();
        let _ = write!(
            row,
            "({users},'user{users}','{}','{}','{}','$2b$12${}','{}','{}')",
            resident_id(&mut rng),
            mobile(&mut rng),
            email(&mut rng),
            hex(&mut rng, 53),
            ipv4(&mut rng),
            when(&mut rng),
        );
        dump.row("users", &row)?;
    }
    for order in 1..=10 * users {
        row.clear();
        let _ = write!(
            row,
            "({order},{},{},{}.{:02},'{}','{}','{}')",
            1_790_000_000_000_000_000 + rng.below(9_000_000_000_000_000),
            1 + rng.below(users),
            rng.below(5_000),
            rng.below(100),
            rng.pick(&["PAID", "SHIPPED", "CREATED", "REFUNDED"]),
            when(&mut rng),
            when(&mut rng),
        );
        dump.row("orders", &row)?;
    }
    let mut event = 0;
    while event < 10 * users || dump.written < size {
        event += 1;
        row.clear();
        let _ = write!(
            row,
            "({event},'{}-{}-{}-{}-{}',{},'{}','{{\\\"ts\\\":{},\\\"sku\\\":{},\\\"page\\\":\\\"/items/{}\\\",\\\"sha\\\":\\\"{}\\\"}}','{}')",
            hex(&mut rng, 8),
            hex(&mut rng, 4),
            hex(&mut rng, 4),
            hex(&mut rng, 4),
            hex(&mut rng, 12),
            1 + rng.below(users),
            rng.pick(&["view", "add_to_cart", "checkout", "login"]),
            1_715_900_000_000 + rng.below(30 * 86_400_000),
            rng.below(100_000),
            rng.below(100_000),
            hex(&mut rng, 40),
            when(&mut rng),
        );
        dump.row("events", &row)?;
    }
    dump.close()?;
    Ok(dump.written)
}

/// The start of a MySQL 8 style dump of a `users` table of [`user_row`]s,
/// up to the `VALUES` of its one extended `INSERT` (a single line holding
/// the whole table); [`dump_tuple`] writes the rows, `;\n` ends it.
pub const DUMP_HEAD: &str = "-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\n\
CREATE TABLE `users` (\n  `id` int,\n  `name` varchar(32),\n  `id_no` char(18),\n  \
`phone` bigint,\n  `card_no` varchar(19),\n  `order_seq` bigint,\n  `note` text\n);\n\
INSERT INTO `users` VALUES ";

/// Appends a [`user_row`] as a tuple of the dump's `INSERT`, after a comma
/// unless it is the first.
pub fn dump_tuple(row: &[String; 7], first: bool, out: &mut Vec<u8>) {
    if !first {
        out.push(b',');
    }
    let [id, name, id_no, phone, card, order, note] = row;
    out.extend_from_slice(
        format!("({id},'{name}','{id_no}',{phone},'{card}',{order},'{note}')").as_bytes(),
    );
}

const SERVICES: &[&str] = &[
    "order-service",
    "user-center",
    "payment-gateway",
    "inventory",
    "notify-worker",
    "auth",
];
const LEVELS: &[&str] = &[
    "INFO", "INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARN", "ERROR",
];
const MESSAGES: &[&str] = &[
    "订单已创建",
    "用户登录成功",
    "支付回调处理完成",
    "库存扣减失败，准备重试",
    "request completed",
    "cache miss, loading from db",
    "upstream responded slowly",
    "token refreshed",
    "消息已投递到队列",
    "retrying after backoff",
];
const HOSTS: &[&str] = &[
    "https://api.shop-internal.cn",
    "http://user-center.svc.cluster.local:8080",
    "https://pay.gateway-prod.com",
    "https://cdn.static-assets.net",
];
const PATHS: &[&str] = &[
    "/v2/orders",
    "/api/v1/users",
    "/callback/notify",
    "/items/sku",
    "/static/img/banner",
];
const STATUS: &[u32] = &[200, 200, 201, 204, 400, 404, 500];

/// Appends `n` random lowercase hex digits.
fn hex(rng: &mut Rng, n: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bits = 0u64;
    for i in 0..n {
        if i % 16 == 0 {
            bits = rng.next_u64();
        }
        out.push(HEX[(bits & 15) as usize]);
        bits >>= 4;
    }
}

/// Appends one value of `kind` under the key a log would print it with
/// (` 身份证号:…`, ` imei=…`, ` client_ip=…`); nothing for a custom kind.
pub fn planted(rng: &mut Rng, kind: Kind, out: &mut Vec<u8>) {
    let _ = match kind {
        Kind::ResidentId => write!(out, " 身份证号:{}", resident_id(rng)),
        Kind::BankCard => write!(out, " card_no={}", bank_card(rng)),
        Kind::Mobile => write!(out, " phone={}", mobile(rng)),
        Kind::Imei => write!(out, " imei={}", imei(rng)),
        Kind::Passport => write!(out, " passport_no={}", passport(rng)),
        Kind::Email => write!(out, " email={}", email(rng)),
        Kind::Ipv4 => write!(out, " client_ip={}", ipv4(rng)),
        Kind::MacAddress => write!(out, " mac={}", mac(rng)),
        _ => Ok(()),
    };
}

/// Realistic application log lines for benchmarks and the comparison
/// corpus: ISO timestamps, levels, 19-digit request ids, 13-digit
/// millisecond timestamps, UUIDs, SHA-256 hashes, URLs, `key=value` pairs
/// and Chinese messages: the distractors a scanner must not report.
#[derive(Debug, Clone)]
pub struct LogLines {
    /// Millisecond clock, advancing a little each line.
    ms: u64,
}

impl LogLines {
    /// Lines whose clock starts at `start_ms` (Unix milliseconds).
    pub fn new(start_ms: u64) -> LogLines {
        LogLines { ms: start_ms }
    }

    /// Appends one line, ending in `\n`, carrying one value of `plant` if
    /// given.
    pub fn write(&mut self, rng: &mut Rng, plant: Option<Kind>, out: &mut Vec<u8>) {
        self.ms += rng.below(50);
        let ms = self.ms;
        let secs_of_day = (ms / 1000 + 8 * 3600) % 86_400;
        let _ = write!(
            out,
            "2024-05-17T{:02}:{:02}:{:02}.{:03}+08:00 {:<5} [{}] req_id={} ts={ms} trace_id=",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60,
            ms % 1000,
            rng.pick(LEVELS),
            rng.pick(SERVICES),
            // Snowflake-style 19-digit id.
            1_790_000_000_000_000_000 + rng.below(9_000_000_000_000_000),
        );
        for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if i > 0 {
                out.push(b'-');
            }
            hex(rng, n, out);
        }
        let _ = write!(out, " msg=\"{}\"", rng.pick(MESSAGES));
        let _ = match rng.below(4) {
            0 => write!(
                out,
                " url={}{}/{}?page={}&size=20",
                rng.pick(HOSTS),
                rng.pick(PATHS),
                rng.below(100_000),
                1 + rng.below(50),
            ),
            1 => {
                out.extend_from_slice(b" sha256=");
                hex(rng, 64, out);
                Ok(())
            }
            2 => write!(
                out,
                " method=POST status={} latency_ms={} bytes={} retries={}",
                rng.pick(STATUS),
                rng.below(2_000),
                rng.below(100_000),
                rng.below(3),
            ),
            _ => write!(
                out,
                " 用户ID={} 耗时={}.{:02}ms version=3.{}.{}",
                rng.below(10_000_000),
                rng.below(500),
                rng.below(100),
                rng.below(20),
                rng.below(10),
            ),
        };
        if let Some(kind) = plant {
            planted(rng, kind, out);
        }
        out.push(b'\n');
    }
}

/// An Excel 97–2003 workbook (`.xls`, BIFF8) of one sheet named `sheet`
/// holding `rows`: numbers of up to 15 digits as number cells (a phone
/// stored as a number), other text as shared strings. For tests and
/// benchmarks of the `.xls` reader.
pub fn xls_roster(sheet: &str, rows: &[Vec<String>]) -> Vec<u8> {
    crate::extract::sheet::xls_write::roster(sheet, rows)
}

/// An Excel binary workbook (`.xlsb`) of one sheet named `sheet` holding
/// `rows`, laid out as [`xls_roster`] lays out its cells. For tests of the
/// `.xlsb` path.
pub fn xlsb_roster(sheet: &str, rows: &[Vec<String>]) -> Vec<u8> {
    crate::extract::sheet::xlsb_write::roster(sheet, rows)
}

/// Appends the Luhn check digit to `payload`.
pub fn luhn_complete(payload: &str) -> String {
    let check = luhn::check_digit(payload.as_bytes()) as char;
    format!("{payload}{check}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{bank_card, imei, mobile, Confidence};

    #[test]
    fn generated_values_validate() {
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            assert_eq!(
                resident_id::validate(resident_id(&mut rng).as_bytes()),
                Some(Confidence::High)
            );
            assert_eq!(
                bank_card::validate(bank_card(&mut rng).as_bytes()),
                Some(Confidence::High)
            );
            assert!(mobile::is_valid(mobile(&mut rng).as_bytes()));
            assert!(imei::is_valid(imei(&mut rng).as_bytes()));
        }
    }
}
