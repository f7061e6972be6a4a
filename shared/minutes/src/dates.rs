//! Due dates said in English or French, resolved against the meeting's day.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::text::{Folded, words};

const WEEKDAYS: [(&str, Weekday); 14] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
    ("lundi", Weekday::Mon),
    ("mardi", Weekday::Tue),
    ("mercredi", Weekday::Wed),
    ("jeudi", Weekday::Thu),
    ("vendredi", Weekday::Fri),
    ("samedi", Weekday::Sat),
    ("dimanche", Weekday::Sun),
];

const MONTHS: [(&str, u32); 28] = [
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("sept", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("janvier", 1),
    ("février", 2),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
];

/// Weekday and month names, for telling names of people from names of days.
pub(crate) fn is_calendar_word(folded_word: &str) -> bool {
    WEEKDAYS.iter().any(|(w, _)| *w == folded_word) || MONTHS.iter().any(|(m, _)| *m == folded_word)
}

/// The first due date mentioned in `text`, resolved against `meeting_date` (the meeting's day):
///
/// - `2026-03-20` (ISO) as is;
/// - `March 5`, `March 5th`, `5 March`, `5th of March`, `5 mars`, `1er mars` (optionally with a
///   year): that day of the meeting's year, or of the next year when it has already passed;
/// - `today`, `tonight`, `end of (the) day`, `aujourd'hui` → the meeting's day;
///   `tomorrow`, `demain` → the day after; `après-demain`, `day after tomorrow` → two days after;
/// - a weekday name (`by Friday`, `vendredi`, `avant lundi`) → the next such day strictly after
///   the meeting's day;
/// - `(by) the 15th` (after `by`, `before`, `on`, `until`, `for`, `due`), `d'ici le 15`, `avant
///   le 15`, `pour le 1er` (after `avant`, `d'ici`, `pour`, `jusqu'au`, `au plus tard`): that day
///   of the meeting's month, or of the next month when it has already passed;
/// - `today`, `tonight`, `end of (the) day`, `aujourd'hui`, `ce soir` → the meeting's day;
/// - `end of (the|this) week`, `this week`, `fin de (la|cette) semaine`, `cette semaine` → the
///   first Friday on or after it; `end of next week`, `fin de la semaine prochaine` → the
///   Friday after that;
/// - `next week`, `(la) semaine prochaine` → the Monday of the following week;
/// - `in|within N days|weeks`, `dans|d'ici|sous N jours|semaines` (N in digits or words, up to
///   thirty; `huit jours` is a week, `quinze jours` two) → that many days after;
/// - `end of (the) month`, `fin du mois` → the month's last day.
pub fn resolve_due_date(text: &str, meeting_date: NaiveDate) -> Option<NaiveDate> {
    let folded = Folded::new(text);
    let w = words(&folded.fold);
    let word = |i: usize| w.get(i).map(|(_, s)| s.as_str()).unwrap_or("");
    for i in 0..w.len() {
        if let Some(d) = iso_at(&folded.fold, &w, i) {
            return Some(d);
        }
        if let Some(d) = month_day_at(&w, i, meeting_date) {
            return Some(d);
        }
        if let Some(d) = day_of_month_at(&w, i, meeting_date) {
            return Some(d);
        }
        let found = match word(i) {
            "today" | "tonight" | "aujourd" => Some(meeting_date),
            "soir" if word(i.wrapping_sub(1)) == "ce" => Some(meeting_date),
            "end" | "fin" if next_week_end(&w, i) => {
                first_on_or_after(meeting_date, Weekday::Fri).and_then(|d| days_after(d, 7))
            }
            "this" if word(i + 1) == "week" => first_on_or_after(meeting_date, Weekday::Fri),
            "cette" if word(i + 1) == "semaine" => first_on_or_after(meeting_date, Weekday::Fri),
            "eod" => Some(meeting_date),
            "end" if word(i + 1) == "of" && (word(i + 2) == "day" || word(i + 3) == "day") => {
                Some(meeting_date)
            }
            "tomorrow" if word(i.wrapping_sub(1)) == "after" => days_after(meeting_date, 2),
            "tomorrow" => days_after(meeting_date, 1),
            "demain"
                if word(i.wrapping_sub(1)) == "après" || word(i.wrapping_sub(1)) == "apres" =>
            {
                days_after(meeting_date, 2)
            }
            "demain" => days_after(meeting_date, 1),
            "end" if word(i + 1) == "of" && (word(i + 2) == "week" || word(i + 3) == "week") => {
                first_on_or_after(meeting_date, Weekday::Fri)
            }
            "fin"
                if word(i + 1) == "de"
                    && (word(i + 2) == "semaine" || word(i + 3) == "semaine") =>
            {
                first_on_or_after(meeting_date, Weekday::Fri)
            }
            "end" if word(i + 1) == "of" && (word(i + 2) == "month" || word(i + 3) == "month") => {
                end_of_month(meeting_date)
            }
            "fin" if (word(i + 1) == "du" || word(i + 1) == "de") && word(i + 2) == "mois" => {
                end_of_month(meeting_date)
            }
            "next" if word(i + 1) == "week" => next_monday(meeting_date),
            "in" | "within" | "dans" | "ici" | "sous" => {
                in_days(&w, i + 1).and_then(|n| days_after(meeting_date, n))
            }
            "semaine" if word(i + 1) == "prochaine" => next_monday(meeting_date),
            "prochaine" if word(i + 1) == "semaine" => next_monday(meeting_date),
            other => WEEKDAYS
                .iter()
                .find(|(name, _)| *name == other)
                .and_then(|&(_, day)| first_on_or_after(meeting_date.succ_opt()?, day)),
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// `end of next week`, `fin de la semaine prochaine` starting at word `i`.
fn next_week_end(w: &[(usize, String)], i: usize) -> bool {
    let word = |k: usize| w.get(k).map_or("", |(_, s)| s.as_str());
    match word(i) {
        "end" => word(i + 1) == "of" && word(i + 2) == "next" && word(i + 3) == "week",
        "fin" => {
            word(i + 1) == "de"
                && ((word(i + 2) == "la" && word(i + 3) == "semaine" && word(i + 4) == "prochaine")
                    || (word(i + 2) == "semaine" && word(i + 3) == "prochaine"))
        }
        _ => false,
    }
}

/// `N days|weeks` / `N jours|semaines` starting at word `i`: the number of days.
fn in_days(w: &[(usize, String)], i: usize) -> Option<u64> {
    let word = |k: usize| w.get(k).map_or("", |(_, s)| s.as_str());
    let n: u64 = match word(i) {
        "a" | "an" | "one" | "un" | "une" => 1,
        "two" | "deux" => 2,
        "three" | "trois" => 3,
        "four" | "quatre" => 4,
        "five" | "cinq" => 5,
        "six" => 6,
        "seven" | "sept" => 7,
        "eight" | "huit" => 8,
        "ten" | "dix" => 10,
        "fifteen" | "quinze" => 15,
        digits => digits.parse().ok().filter(|n| (1..=30).contains(n))?,
    };
    match word(i + 1) {
        // "huit jours", "quinze jours": a week, two weeks.
        "jours" if n == 8 || n == 15 => Some((n - 1) / 7 * 7),
        "day" | "days" | "jour" | "jours" => Some(n),
        "week" | "weeks" | "semaine" | "semaines" => Some(n * 7),
        _ => None,
    }
}

/// A day of the month with no month, starting at word `i`: `the 15th` after `by`, `before`,
/// `on`, `until`, `for` or `due`; `le 15`, `le 1er` after `avant`, `d'ici`, `pour`, `jusqu'au`
/// (`au`) or `au plus tard`. The next such day on or after the meeting's.
fn day_of_month_at(w: &[(usize, String)], i: usize, meeting_date: NaiveDate) -> Option<NaiveDate> {
    let word = |k: usize| w.get(k).map_or("", |(_, s)| s.as_str());
    let d = day_number(word(i))?;
    let before = (word(i.wrapping_sub(1)), word(i.wrapping_sub(2)));
    let english = before.0 == "the"
        && word(i).ends_with(|c: char| c.is_alphabetic())
        && ["by", "before", "on", "until", "till", "for", "due"].contains(&before.1);
    let french = (before.0 == "le" && ["avant", "ici", "pour", "tard"].contains(&before.1))
        || (before.0 == "au" && before.1 == "jusqu");
    if !(english || french) {
        return None;
    }
    let this_month = NaiveDate::from_ymd_opt(meeting_date.year(), meeting_date.month(), d);
    match this_month {
        Some(date) if date >= meeting_date => Some(date),
        _ => {
            let (y, m) = if meeting_date.month() == 12 {
                (meeting_date.year() + 1, 1)
            } else {
                (meeting_date.year(), meeting_date.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, d)
        }
    }
}

fn days_after(date: NaiveDate, days: u64) -> Option<NaiveDate> {
    date.checked_add_days(Days::new(days))
}

fn first_on_or_after(date: NaiveDate, day: Weekday) -> Option<NaiveDate> {
    let ahead = (7 + day.num_days_from_monday() - date.weekday().num_days_from_monday()) % 7;
    days_after(date, u64::from(ahead))
}

fn next_monday(date: NaiveDate) -> Option<NaiveDate> {
    days_after(date, u64::from(7 - date.weekday().num_days_from_monday()))
}

fn end_of_month(date: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

/// `YYYY-MM-DD` starting at word `i`: three digit words joined by single `-`.
fn iso_at(fold: &[char], w: &[(usize, String)], i: usize) -> Option<NaiveDate> {
    let (y, m, d) = (w.get(i)?, w.get(i + 1)?, w.get(i + 2)?);
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    let joined = |a: &(usize, String), b: &(usize, String)| {
        b.0 == a.0 + a.1.chars().count() + 1 && fold.get(b.0 - 1) == Some(&'-')
    };
    if digits(&y.1, 4) && digits(&m.1, 2) && digits(&d.1, 2) && joined(y, m) && joined(m, d) {
        NaiveDate::from_ymd_opt(y.1.parse().ok()?, m.1.parse().ok()?, d.1.parse().ok()?)
    } else {
        None
    }
}

/// A day number word: `5`, `05`, `5th`, `1st`, `1er`.
fn day_number(word: &str) -> Option<u32> {
    let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
    let suffix = &word[digits.len()..];
    if digits.is_empty()
        || digits.len() > 2
        || !["", "st", "nd", "rd", "th", "er"].contains(&suffix)
    {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn month(word: &str) -> Option<u32> {
    MONTHS.iter().find(|(m, _)| *m == word).map(|&(_, n)| n)
}

/// `March 5[th][, 2027]` or `5[th] [of] March [2027]` starting at word `i`.
fn month_day_at(w: &[(usize, String)], i: usize, meeting_date: NaiveDate) -> Option<NaiveDate> {
    let word = |k: usize| w.get(k).map(|(_, s)| s.as_str());
    let (m, d, after) =
        if let (Some(m), Some(d)) = (month(word(i)?), word(i + 1).and_then(day_number)) {
            (m, d, i + 2)
        } else {
            let d = day_number(word(i)?)?;
            let k = if word(i + 1) == Some("of") {
                i + 2
            } else {
                i + 1
            };
            (month(word(k)?)?, d, k + 1)
        };
    let year = word(after)
        .filter(|y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()))
        .and_then(|y| y.parse::<i32>().ok());
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, m, d),
        None => {
            let this_year = NaiveDate::from_ymd_opt(meeting_date.year(), m, d)?;
            if this_year >= meeting_date {
                Some(this_year)
            } else {
                NaiveDate::from_ymd_opt(meeting_date.year() + 1, m, d)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wednesday 4 March 2026.
    fn wed() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 4).expect("a valid date")
    }

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn english_relative_and_absolute_dates() {
        let cases = [
            ("I'll do it today", d(2026, 3, 4)),
            ("by end of day", d(2026, 3, 4)),
            ("send it tomorrow", d(2026, 3, 5)),
            ("the day after tomorrow", d(2026, 3, 6)),
            ("by Friday", d(2026, 3, 6)),
            ("before Monday please", d(2026, 3, 9)),
            ("on Wednesday", d(2026, 3, 11)),
            ("by the end of the week", d(2026, 3, 6)),
            ("next week", d(2026, 3, 9)),
            ("by end of the month", d(2026, 3, 31)),
            ("due 2026-04-01.", d(2026, 4, 1)),
            ("by March 20", d(2026, 3, 20)),
            ("by March 20th, 2027", d(2027, 3, 20)),
            ("on the 5th of April", d(2026, 4, 5)),
            ("by February 1", d(2027, 2, 1)),
            ("no date here, version 2026-13-01", None),
            ("before the 15th", d(2026, 3, 15)),
            ("by the 2nd", d(2026, 4, 2)),
            ("the 2nd item on the list", None),
            ("this week", d(2026, 3, 6)),
            ("by the end of next week", d(2026, 3, 13)),
            ("in two weeks", d(2026, 3, 18)),
            ("within 3 days", d(2026, 3, 7)),
            ("in a week", d(2026, 3, 11)),
            ("in the room", None),
        ];
        for (text, expected) in cases {
            assert_eq!(resolve_due_date(text, wed()), expected, "{text}");
        }
    }

    #[test]
    fn french_relative_and_absolute_dates() {
        let cases = [
            ("je le fais aujourd\u{2019}hui", d(2026, 3, 4)),
            ("demain matin", d(2026, 3, 5)),
            ("après-demain", d(2026, 3, 6)),
            ("pour vendredi", d(2026, 3, 6)),
            ("avant lundi", d(2026, 3, 9)),
            ("d'ici la fin de semaine", d(2026, 3, 6)),
            ("à la fin de la semaine", d(2026, 3, 6)),
            ("la semaine prochaine", d(2026, 3, 9)),
            ("fin du mois", d(2026, 3, 31)),
            ("le 15 mars", d(2026, 3, 15)),
            ("le 1er avril", d(2026, 4, 1)),
            ("le 3 février", d(2027, 2, 3)),
            ("rien de prévu", None),
            ("d'ici le 15", d(2026, 3, 15)),
            ("avant le 1er", d(2026, 4, 1)),
            ("jusqu'au 20", d(2026, 3, 20)),
            ("le 15 personnes", None),
            ("ce soir", d(2026, 3, 4)),
            ("cette semaine", d(2026, 3, 6)),
            ("à la fin de la semaine prochaine", d(2026, 3, 13)),
            ("dans deux semaines", d(2026, 3, 18)),
            ("d'ici quinze jours", d(2026, 3, 18)),
            ("dans huit jours", d(2026, 3, 11)),
            ("sous 3 jours", d(2026, 3, 7)),
            ("d'ici lundi", d(2026, 3, 9)),
        ];
        for (text, expected) in cases {
            assert_eq!(resolve_due_date(text, wed()), expected, "{text}");
        }
    }

    #[test]
    fn end_of_week_on_a_friday_is_that_friday() {
        let friday = NaiveDate::from_ymd_opt(2026, 3, 6).expect("a valid date");
        assert_eq!(resolve_due_date("end of the week", friday), d(2026, 3, 6));
        assert_eq!(resolve_due_date("by Friday", friday), d(2026, 3, 13));
    }
}
