//! Joda-Time style date patterns, as Confluent's `path.format` uses them
//! (`'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH`). Text fields are English (locale C/en).

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike};
use std::fmt::Write;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// The time zone ID Joda prints for `ZZZ` (`Asia/Tokyo`, `UTC`).
pub trait ZoneId {
    fn zone_id(&self) -> &str;
}

impl ZoneId for chrono_tz::Tz {
    fn zone_id(&self) -> &str {
        self.name()
    }
}

impl ZoneId for chrono::Utc {
    fn zone_id(&self) -> &str {
        "UTC"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year,
    WeekYear,
    Century,
    Era,
    Month,
    DayOfMonth,
    DayOfYear,
    DayOfWeek,
    DayOfWeekText,
    WeekOfYear,
    Hour24,
    Hour24From1,
    Hour12,
    Hour12From0,
    HalfDay,
    Minute,
    Second,
    Fraction,
    Offset,
    ZoneId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Field { field: Field, width: usize },
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JodaPattern {
    tokens: Vec<Token>,
    source: String,
}

impl JodaPattern {
    /// Compiles `pattern`; the error says which letter or quote is wrong and where.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                let (text, next) = read_quoted(&chars, i)?;
                push_literal(&mut tokens, &text);
                i = next;
            } else if c.is_ascii_alphabetic() {
                let width = chars[i..].iter().take_while(|&&x| x == c).count();
                let field = field_for(c).ok_or_else(|| {
                    format!("unsupported pattern letter '{c}' at position {i} (quote literal text with '...')")
                })?;
                // Joda: Z is +0900, ZZ +09:00, ZZZ and longer the zone ID.
                let field = if field == Field::Offset && width >= 3 { Field::ZoneId } else { field };
                tokens.push(Token::Field { field, width });
                i += width;
            } else {
                push_literal(&mut tokens, &c.to_string());
                i += 1;
            }
        }
        Ok(JodaPattern { tokens, source: pattern.to_string() })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the output uses month or weekday names (these depend on the locale).
    pub fn uses_text(&self) -> bool {
        self.tokens.iter().any(|t| match t {
            Token::Field { field: Field::Month, width } => *width >= 3,
            Token::Field { field: Field::DayOfWeekText | Field::HalfDay | Field::Era, .. } => true,
            _ => false,
        })
    }

    pub fn format<Tz: TimeZone + ZoneId>(&self, time: &DateTime<Tz>) -> String {
        let mut out = String::with_capacity(32);
        for token in &self.tokens {
            match token {
                Token::Literal(text) => out.push_str(text),
                Token::Field { field, width } => write_field(&mut out, *field, *width, time),
            }
        }
        out
    }
}

fn read_quoted(chars: &[char], start: usize) -> Result<(String, usize), String> {
    if chars.get(start + 1) == Some(&'\'') {
        return Ok(("'".into(), start + 2));
    }
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                text.push('\'');
                i += 2;
                continue;
            }
            return Ok((text, i + 1));
        }
        text.push(chars[i]);
        i += 1;
    }
    Err(format!("unterminated quote starting at position {start}"))
}

fn push_literal(tokens: &mut Vec<Token>, text: &str) {
    if let Some(Token::Literal(last)) = tokens.last_mut() {
        last.push_str(text);
    } else {
        tokens.push(Token::Literal(text.to_string()));
    }
}

fn field_for(letter: char) -> Option<Field> {
    Some(match letter {
        'y' | 'Y' | 'u' => Field::Year,
        'x' => Field::WeekYear,
        'C' => Field::Century,
        'G' => Field::Era,
        'M' => Field::Month,
        'd' => Field::DayOfMonth,
        'D' => Field::DayOfYear,
        'e' => Field::DayOfWeek,
        'E' => Field::DayOfWeekText,
        'w' => Field::WeekOfYear,
        'H' => Field::Hour24,
        'k' => Field::Hour24From1,
        'h' => Field::Hour12,
        'K' => Field::Hour12From0,
        'a' => Field::HalfDay,
        'm' => Field::Minute,
        's' => Field::Second,
        'S' => Field::Fraction,
        'Z' => Field::Offset,
        _ => return None,
    })
}

fn write_field<Tz: TimeZone + ZoneId>(out: &mut String, field: Field, width: usize, t: &DateTime<Tz>) {
    let number = |out: &mut String, value: i64| {
        let _ = write!(out, "{value:0width$}");
    };
    match field {
        Field::Year | Field::WeekYear => {
            let year = if field == Field::Year { t.year() } else { t.iso_week().year() };
            if width == 2 {
                number(out, i64::from(year.rem_euclid(100)));
            } else {
                number(out, i64::from(year));
            }
        }
        Field::Century => number(out, i64::from(t.year() / 100)),
        Field::Era => out.push_str(if t.year() > 0 { "AD" } else { "BC" }),
        Field::Month if width >= 4 => out.push_str(MONTHS[t.month0() as usize]),
        Field::Month if width == 3 => out.push_str(&MONTHS[t.month0() as usize][..3]),
        Field::Month => number(out, i64::from(t.month())),
        Field::DayOfMonth => number(out, i64::from(t.day())),
        Field::DayOfYear => number(out, i64::from(t.ordinal())),
        Field::DayOfWeek => number(out, i64::from(t.weekday().number_from_monday())),
        Field::DayOfWeekText => {
            let name = WEEKDAYS[t.weekday().num_days_from_monday() as usize];
            out.push_str(if width >= 4 { name } else { &name[..3] });
        }
        Field::WeekOfYear => number(out, i64::from(t.iso_week().week())),
        Field::Hour24 => number(out, i64::from(t.hour())),
        Field::Hour24From1 => number(out, i64::from(if t.hour() == 0 { 24 } else { t.hour() })),
        Field::Hour12 => number(
            out,
            i64::from(match t.hour() % 12 {
                0 => 12,
                h => h,
            }),
        ),
        Field::Hour12From0 => number(out, i64::from(t.hour() % 12)),
        Field::HalfDay => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
        Field::Minute => number(out, i64::from(t.minute())),
        Field::Second => number(out, i64::from(t.second())),
        Field::Fraction => write_fraction(out, t.nanosecond() % 1_000_000_000, width),
        Field::Offset => write_offset(out, t.offset().fix().local_minus_utc(), width),
        Field::ZoneId => out.push_str(t.timezone().zone_id()),
    }
}

/// Joda prints `S` fields as the leading digits of the fraction, truncated, not rounded.
fn write_fraction(out: &mut String, nanos: u32, width: usize) {
    let digits = format!("{nanos:09}");
    let shown = width.min(9);
    out.push_str(&digits[..shown]);
    out.extend(std::iter::repeat_n('0', width - shown));
}

fn write_offset(out: &mut String, seconds: i32, width: usize) {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    let separator = if width >= 2 { ":" } else { "" };
    let _ = write!(out, "{sign}{:02}{separator}{:02}", minutes / 60, minutes % 60);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use chrono_tz::Asia::Tokyo;

    fn utc(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).unwrap()
    }

    #[test]
    fn seed_path_format() {
        let p = JodaPattern::parse("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH").unwrap();
        // 2022-04-18T01:23:45.123Z is 10:23 in Tokyo.
        let t = utc(1_650_245_025_123).with_timezone(&Tokyo);
        assert_eq!(p.format(&t), "year=2022/month=04/day=18/hour=10");
    }

    #[test]
    fn timestamp_file_format_truncates_millis() {
        let p = JodaPattern::parse("yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap();
        assert_eq!(p.format(&utc(1_650_245_025_123)), "2022-04-18T01:23:45.123");
        assert_eq!(p.format(&utc(999)), "1970-01-01T00:00:00.999");
    }

    #[test]
    fn text_fields_and_escaped_quotes() {
        let p = JodaPattern::parse("EEE, dd MMM yyyy hh:mm a 'o''clock' Z ZZ").unwrap();
        let t = utc(1_650_245_025_123).with_timezone(&Tokyo);
        assert_eq!(p.format(&t), "Mon, 18 Apr 2022 10:23 AM o'clock +0900 +09:00");
        assert!(p.uses_text());
        assert!(!JodaPattern::parse("YYYY/MM").unwrap().uses_text());
    }

    #[test]
    fn three_zone_letters_print_the_zone_id_as_joda_does() {
        let p = JodaPattern::parse("YYYY ZZZ ZZZZ").unwrap();
        assert_eq!(p.format(&utc(1_650_245_025_123).with_timezone(&Tokyo)), "2022 Asia/Tokyo Asia/Tokyo");
        assert_eq!(p.format(&utc(0)), "1970 UTC UTC");
    }

    #[test]
    fn bad_patterns_say_where() {
        assert!(JodaPattern::parse("'year=YYYY").unwrap_err().contains("unterminated quote"));
        let err = JodaPattern::parse("year=YYYY").unwrap_err();
        assert!(err.contains("'r'") && err.contains("position 3"), "{err}");
    }
}
