//! Scanner-level tests: candidate finding, boundaries and kind precedence.

use super::*;
use crate::synth::{self, Rng};

fn found(text: &str) -> Vec<(Kind, &str)> {
    let mut out = Vec::new();
    scan(text.as_bytes(), None, &mut out);
    out.iter()
        .map(|m| (m.kind, &text[m.start..m.end]))
        .collect()
}

fn found_in_field<'a>(text: &'a str, field: &str) -> Vec<(Kind, &'a str)> {
    let mut out = Vec::new();
    scan(text.as_bytes(), Some(field), &mut out);
    out.iter()
        .map(|m| (m.kind, &text[m.start..m.end]))
        .collect()
}

const ID: &str = "110105199003071239";

#[test]
fn id_fixture_is_valid() {
    assert!(resident_id::validate(ID.as_bytes()).is_some());
}

#[test]
fn resident_id_between_cjk_and_punctuation() {
    let text = format!("身份证号{ID}。");
    assert_eq!(found(&text), vec![(Kind::ResidentId, ID)]);
    let x = "11010519491231002X";
    assert_eq!(found(&format!("id={x};")), vec![(Kind::ResidentId, x)]);
    let lower = "11010519491231002x";
    assert_eq!(
        found(&format!("({lower})")),
        vec![(Kind::ResidentId, lower)]
    );
}

#[test]
fn boundary_rule_rejects_longer_tokens() {
    for text in [
        format!("9{ID}"),          // 19-digit run
        format!("{ID}7"),          // 19-digit run
        format!("a{ID}"),          // letter before
        format!("{ID}b"),          // letter after
        format!("0x{ID}ff"),       // hex blob
        format!("order 1{ID}12."), // 21-digit order id
        format!("deadbeef{ID}cafe"),
    ] {
        assert_eq!(found(&text), vec![], "{text}");
    }
}

#[test]
fn timestamps_uuids_and_hashes_yield_nothing() {
    for text in [
        "ts=1700000000123 level=info",
        "2024-01-15T10:23:45.123+08:00 request done in 13812345678ns",
        "id 550e8400-e29b-41d4-a716-446655440000",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "order 6222021234567890123456",
        "pi=3.14159265358979",
        "version 13812345678.1",
    ] {
        assert_eq!(found(text), vec![], "{text}");
    }
}

#[test]
fn mobile_forms() {
    for (text, value) in [
        ("tel 13812345678", "13812345678"),
        ("手机:+86 138 1234 5678,", "+86 138 1234 5678"),
        ("0086-138-1234-5678", "0086-138-1234-5678"),
        ("call 138-1234-5678 now", "138-1234-5678"),
        ("138 1234 5678", "138 1234 5678"),
        ("+8613812345678", "8613812345678"),
        ("联系人张三13812345678", "13812345678"),
    ] {
        assert_eq!(found(text), vec![(Kind::Mobile, value)], "{text}");
    }
    for text in [
        "14012345678",
        "10012345678",
        "138 1234 5678 9",
        "1381234567",
        "138-1234-56789",
    ] {
        assert_eq!(found(text), vec![], "{text}");
    }
}

#[test]
fn bank_cards_plain_and_grouped() {
    let mut rng = Rng::new(1);
    let card = synth::bank_card(&mut rng);
    assert_eq!(
        found(&format!("卡号{card},")),
        vec![(Kind::BankCard, card.as_str())]
    );
    let grouped = "6222 0212 9837 4658";
    assert!(bank_card::validate(grouped.replace(' ', "").as_bytes()).is_some());
    assert_eq!(found(grouped), vec![(Kind::BankCard, grouped)]);
    assert_eq!(
        found("4532-0151-1283-0366"),
        vec![(Kind::BankCard, "4532-0151-1283-0366")]
    );
    // Luhn failure, grouped and plain.
    assert_eq!(found("6222 0212 9837 4659"), vec![]);
    assert_eq!(found("4111111111111112"), vec![]);
    // A long chain of groups is not a card, nor is any part of it.
    assert_eq!(found("6222 0212 3456 7890 1284 1111 2222"), vec![]);
}

#[test]
fn imei_needs_context() {
    let imei = "490154203237518";
    assert_eq!(found(&format!("IMEI: {imei}")), vec![(Kind::Imei, imei)]);
    assert_eq!(found(&format!("设备号{imei}")), vec![(Kind::Imei, imei)]);
    assert_eq!(found_in_field(imei, "device_id"), vec![(Kind::Imei, imei)]);
    assert_eq!(found(&format!("value {imei}")), vec![]);
}

#[test]
fn passport_needs_context() {
    assert_eq!(
        found("护照号码:E12345678"),
        vec![(Kind::Passport, "E12345678")]
    );
    assert_eq!(
        found("passport_no=EA1234567;"),
        vec![(Kind::Passport, "EA1234567")]
    );
    assert_eq!(
        found_in_field("G12345678", "护照"),
        vec![(Kind::Passport, "G12345678")]
    );
    assert_eq!(found("part E12345678"), vec![]);
    assert_eq!(found("passport XE12345678"), vec![]);
}

#[test]
fn email_ipv4_mac() {
    assert_eq!(
        found("mail zhang@corp.cn from 192.168.3.4 hw 00:1a:2b:3c:4d:5e"),
        vec![
            (Kind::Email, "zhang@corp.cn"),
            (Kind::Ipv4, "192.168.3.4"),
            (Kind::MacAddress, "00:1a:2b:3c:4d:5e")
        ]
    );
    assert_eq!(
        found("aa-bb-cc-dd-ee-0f"),
        vec![(Kind::MacAddress, "aa-bb-cc-dd-ee-0f")]
    );
    // A mobile number as the local part is an email, not a phone.
    assert_eq!(
        found("13812345678@139.com"),
        vec![(Kind::Email, "13812345678@139.com")]
    );
}

#[test]
fn ipv4_confidence_rises_with_context() {
    let mut out = Vec::new();
    scan(b"client_ip=10.1.2.3", None, &mut out);
    assert_eq!(out[0].confidence, Confidence::High);
    out.clear();
    scan(b"build 10.1.2.3", None, &mut out);
    assert_eq!(out[0].confidence, Confidence::Medium);
}

#[test]
fn several_values_in_order_without_overlap() {
    let mut rng = Rng::new(2);
    let id = synth::resident_id(&mut rng);
    let phone = synth::mobile(&mut rng);
    let text = format!("{id},{phone},{id}\n{phone}");
    let mut out = Vec::new();
    scan(text.as_bytes(), None, &mut out);
    assert_eq!(out.len(), 4);
    assert!(out.windows(2).all(|w| w[0].end <= w[1].start));
}

#[test]
fn long_run_after_short_groups_stands_alone() {
    assert_eq!(found(&format!("12-34-{ID}")), vec![(Kind::ResidentId, ID)]);
    assert_eq!(found(&format!("12 {ID}")), vec![(Kind::ResidentId, ID)]);
    assert_eq!(
        found("2024-01-15-13812345678"),
        vec![(Kind::Mobile, "13812345678")]
    );
}

#[test]
fn decimals_and_email_local_parts_glue() {
    assert_eq!(found(&format!("3.{ID}")), vec![]);
    assert_eq!(found(&format!("{ID}.5")), vec![]);
    assert_eq!(found(&format!("{ID}.")), vec![(Kind::ResidentId, ID)]);
}

#[test]
fn file_statistics_flag_tables_of_chance_numbers() {
    // Stroke-code style numbers: digits 1-5 only, about half in a segment.
    let mut rng = Rng::new(3);
    let table: String = (0..200)
        .map(|_| {
            let digits: String = (0..10)
                .map(|_| char::from(b'1' + rng.below(5) as u8))
                .collect();
            format!("# 1{digits}\n")
        })
        .collect();
    let mut stats = Stats::default();
    let mut out = Vec::new();
    scan_counting(table.as_bytes(), Evidence::default(), &mut out, &mut stats);
    assert_eq!(stats.mobile_candidates, 200);
    assert!(!out.is_empty(), "some pass by chance");
    assert!(stats.implausible(Kind::Mobile));

    let phones: String = (0..200)
        .map(|_| format!("{}\n", synth::mobile(&mut rng)))
        .collect();
    let mut stats = Stats::default();
    scan_counting(
        phones.as_bytes(),
        Evidence::default(),
        &mut Vec::new(),
        &mut stats,
    );
    assert!(!stats.implausible(Kind::Mobile));
}

#[test]
fn card_statistics_and_patterns() {
    let mut rng = Rng::new(4);
    let noise: String = (0..100).map(|_| format!("62{} ", rng.digits(14))).collect();
    let mut stats = Stats::default();
    scan_counting(
        noise.as_bytes(),
        Evidence::default(),
        &mut Vec::new(),
        &mut stats,
    );
    assert_eq!(stats.card_candidates, 100);
    assert!(stats.implausible(Kind::BankCard));
    assert!(
        !stats.implausible(Kind::Mobile),
        "too few candidates to judge"
    );
    assert_eq!(found("x 5454545454545454 y"), vec![]);
}

#[test]
fn precision_rules_from_second_dogfooding() {
    // Published test cards: only with card context, and then medium.
    assert_eq!(found("4111-1111-1111-1111"), vec![]);
    assert_eq!(found("Visa = \"4229989800000003\""), vec![]);
    let mut out = Vec::new();
    scan(b"card_number: 4111111111111111", None, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].confidence,
        Confidence::Medium,
        "test card in context"
    );
    // Low-entropy scheme-range numbers (Braintree, mysql docs).
    for text in ["x 4012888888881882 y", "format_time(342342342342345);"] {
        assert_eq!(found(text), vec![], "{text}");
    }
    // A scheme-range Luhn pass among big integers is one of them …
    for text in [
        "check_normalize(5503284107318959, 446, 11, 11270725851789228032, 435);",
        "g = 15735193600000000*t**16 + 4828147466240000*t**12",
    ] {
        assert_eq!(found(text), vec![], "{text}");
    }
    // … but a real card next to an ID, a phone, or an epoch-ms time stays.
    let visa = "4532015112830366";
    for text in [
        format!("张三 {ID} {visa}"),
        format!("1700000000123 pay {visa}"),
        format!("11010519491231002X {visa}"),
    ] {
        assert!(found(&text).contains(&(Kind::BankCard, visa)), "{text}");
    }
    // A synthetic bank-BIN card among big integers is still reported:
    // the rule is for scheme ranges only.
    let mut rng = Rng::new(9);
    let bank = synth::bank_card(&mut rng);
    assert!(
        found(&format!("{bank} 11270725851789228032")).contains(&(Kind::BankCard, bank.as_str()))
    );

    // Mobiles: near powers of two, round numbers, after a time word.
    for text in [
        "impl ToUInt for Const<17179869183> {",
        "check_concise_float(17179870208, 0, 17179869184.0_f32);",
        "1.5e10 equals 15000000000",
        "\"timestamp\": 19287398741,",
        "UNIX seconds: @15583032000",
        "- 13340783196*x**35 + 38910617655*x**34",
        "54*249**(1/2))**(1/3) + 13478400000*I*3**(1/2)",
        "y = 2**13340783196",
    ] {
        assert_eq!(found(text), vec![], "{text}");
    }
    let phone = synth::mobile(&mut rng);
    assert_eq!(
        found(&format!("user {phone} login")),
        vec![(Kind::Mobile, phone.as_str())]
    );
    assert_eq!(
        found(&format!("联系人 **{phone}** 张三")),
        vec![(Kind::Mobile, phone.as_str())],
        "markdown bold is no arithmetic"
    );
    assert_eq!(
        found(&format!("{ID}*")),
        vec![(Kind::ResidentId, ID)],
        "a trailing star is no operator"
    );
    assert_eq!(
        found(&format!("timestamp 2024-01-01 phone {phone}")),
        vec![(Kind::Mobile, phone.as_str())],
        "a phone word outweighs a time word"
    );

    // IPv4: versions, placeholders and SVG path numbers need context.
    for text in [
        "dpkg (1.15.5.4) unstable; urgency=low",
        "XFree86 4.3.99.16 Bring the tree up to date",
        "assertBadSplit(\"42.42.42.42.\")",
        "('http://12.34.56.78:5432/foo/', 5432)",
        "<path d=\"M11 18c0 1.52-.87 2.83-2.12 3.51.98.32 2.03.5\"/>",
        "io.quarkus 3.38.2 3.40.1 3.40.1.1 3.40.1.2",
    ] {
        assert_eq!(found(text), vec![], "{text}");
    }
    for (text, ip) in [
        ("client_ip=4.3.99.16", "4.3.99.16"),
        ("from [199.164.235.226]", "199.164.235.226"),
        ("10.0.0.1 10.0.0.2", "10.0.0.2"),
        ("host 3.5.140.2 up", "3.5.140.2"),
    ] {
        assert!(found(text).contains(&(Kind::Ipv4, ip)), "{text}");
    }
}

#[test]
fn mobile_round_table_is_implausible() {
    // Whole days in seconds: valid segments, every one a multiple of 100.
    let table = synth::whole_days_table(30);
    let mut stats = Stats::default();
    let mut out = Vec::new();
    scan_counting(table.as_bytes(), Evidence::default(), &mut out, &mut stats);
    assert_eq!(out.len(), 30);
    assert!(stats.implausible(Kind::Mobile));
    // A list of real-shaped numbers is not.
    let mut rng = Rng::new(3);
    let list: String = (0..30)
        .map(|_| format!("{}\n", synth::mobile(&mut rng)))
        .collect();
    let mut stats = Stats::default();
    scan_counting(
        list.as_bytes(),
        Evidence::default(),
        &mut Vec::new(),
        &mut stats,
    );
    assert!(!stats.implausible(Kind::Mobile));
}

#[test]
fn precision_rules_from_dogfooding() {
    for text in [
        "DeskPhoneNumber=+15555551212",       // North American number
        "BTRFS_SUPER_FLAG = 17179869184;",    // 2^34
        "525C 84AF 527D 5282 5281 5290 5293", // hex code points in groups
        "Section 6.1.7.1 and 1.2.3.4",        // single-digit quads
        "Upgrade to 3.11.10.25",              // version after a counter-word
        "ObjectIdentifier(\"2.5.29.31\")",
        "192.168.100.0/24",
        "alsa-topology-conf:all 1.2.5.1-2",
        "linux-2.6.35.9/arch",
        "61:29:\n         b2:53:ff:6c:04:bc", // wrapped certificate dump
        "dinsdale@example.com getty@tty1.service git@github.com",
        "ddcan002 apply 0 -> #2238000000000000",
        "ddshi048 shift 1234567890123456 +1 -> 2345678901234560",
    ] {
        assert_eq!(found(text), vec![], "{text}");
    }
    assert_eq!(found("ip 1.2.3.4"), vec![(Kind::Ipv4, "1.2.3.4")]);
    assert_eq!(
        found("version=3.1.2 client_ip=10.1.2.3"),
        vec![(Kind::Ipv4, "10.1.2.3")],
        "an IP word outweighs an earlier counter-word"
    );
    let mut out = Vec::new();
    scan(b"user 13812345678 login", None, &mut out);
    assert_eq!(out[0].confidence, Confidence::Medium, "bare mobile");
    out.clear();
    scan("手机号 13812345678".as_bytes(), None, &mut out);
    assert_eq!(out[0].confidence, Confidence::High, "mobile with context");
}

/// The scanning loop as it was before [`skip::Marks`]: every run of
/// digits, `@` and separator, byte by byte. The marked loop must find the
/// same values and count the same candidates.
fn scan_bytewise(text: &[u8]) -> (Vec<Match>, Stats) {
    let (mut out, mut stats) = (Vec::new(), Stats::default());
    let mut scanner = Scanner {
        text,
        field: Evidence::default(),
        out: &mut out,
        stats: &mut stats,
        last_end: 0,
        first_only: false,
    };
    let mut i = 0;
    while i < text.len() {
        i = match CLASS[text[i] as usize] {
            DIGIT => scanner.digit_run(i),
            AT => scanner.at_sign(i),
            SEP => scanner.separator(i),
            _ => i + 1,
        };
    }
    (out, stats)
}

fn scan_marked(text: &[u8]) -> (Vec<Match>, Stats) {
    let (mut out, mut stats) = (Vec::new(), Stats::default());
    scan_counting(text, Evidence::default(), &mut out, &mut stats);
    (out, stats)
}

#[test]
fn marked_loop_finds_what_the_bytewise_loop_finds_in_generated_logs() {
    let mut lines = synth::LogLines::new(1_715_930_625_000);
    let mut rng = Rng::new(7);
    let mut text = Vec::new();
    while text.len() < 2 << 20 {
        let plant = Kind::BUILTIN.get(rng.below(40) as usize).copied();
        lines.write(&mut rng, plant, &mut text);
    }
    let expected = scan_bytewise(&text);
    assert!(expected.0.len() > 100, "the log holds values");
    let found = scan_marked(&text);
    // The first value the two loops disagree on, with its text.
    let around = |m: Option<&Match>| {
        m.map(|m| {
            let text = &text[m.start.saturating_sub(40)..(m.end + 5).min(text.len())];
            (*m, String::from_utf8_lossy(text).into_owned())
        })
    };
    let apart = (0..found.0.len().max(expected.0.len()))
        .find(|&i| found.0.get(i) != expected.0.get(i))
        .map(|i| (around(found.0.get(i)), around(expected.0.get(i))));
    assert_eq!(found, expected, "first apart (marked, bytewise): {apart:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(10_000))]
    #[test]
    fn marked_loop_finds_what_the_bytewise_loop_finds(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "13812345678", "11010519491231002X", "6222021234567890128", "490154203237518",
                "E12345678", "a@qq.com", "10.1.2.3", "a4:5e:60:c2:11:0f", "138 1234 5678",
                "+86-138-1234-5678", "2024-05-17T15:23:45.145", "1234567", "12", "-", ":", ".",
                " ", "@", "x", "X", "\n", "手机", "9", "00", "*", "#", "+",
                "2024-05-17 15:23:45", "2024-05-17", ",123", "Z", "'", "86 138 1234 5678",
                "123456789", "ab:cd:ef:01:23", "0.1.2", "1790757761088459156", "1718695425145",
                "8613812345678", "E1234567", "b9-8995-", "3.11.2", "1345.80", "12.5", "192.168.",
            ]),
            0..40,
        ),
        cut in 0usize..400,
    ) {
        let text = parts.concat();
        let text = &text.as_bytes()[..cut.min(text.len())];
        proptest::prop_assert_eq!(scan_marked(text), scan_bytewise(text));
    }
}
