//! Dollar budgets: `budget: {usd, window}` on a key, a team or a route. A request is admitted
//! while the spend of its scope's current window is under the budget; its real cost is added
//! when it ends, to the window it ends in. Windows are fixed and the same on every replica
//! (UTC, on Redis's clock when the spend is shared): `1d` a calendar day, `7d` a week from
//! Monday 00:00, `month` a calendar month, any other duration (`30d`, `12h`, `10s`) back to
//! back from 1970-01-01 00:00 UTC.
//!
//! Amounts are counted in nano-dollars (10⁻⁹ USD) as integers, so Redis adds them exactly.

use std::time::Duration;

const DAY: u64 = 86_400;
/// 1970-01-01 was a Thursday: shifted by three days, weeks start on Mondays.
const WEEK_OFFSET: u64 = 3 * DAY;

/// A budget of `nano` nano-dollars per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub nano: u64,
    pub window: BudgetWindow,
}

impl Budget {
    /// `usd` per `window`; `None` when `usd` is negative or not a number.
    pub fn new(usd: f64, window: BudgetWindow) -> Option<Budget> {
        (usd.is_finite() && usd >= 0.0).then(|| Budget {
            nano: to_nano(usd),
            window,
        })
    }

    pub fn usd(&self) -> f64 {
        from_nano(self.nano)
    }
}

/// USD → nano-dollars (rounded; negative and NaN are 0).
pub fn to_nano(usd: f64) -> u64 {
    let nano = (usd * 1e9).round();
    if nano.is_finite() && nano > 0.0 {
        nano as u64
    } else {
        0
    }
}

pub fn from_nano(nano: u64) -> f64 {
    nano as f64 / 1e9
}

/// When a budget's spend starts again from zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetWindow {
    /// Back-to-back windows of `secs` seconds, the first starting `offset` seconds before
    /// the Unix epoch.
    Every { secs: u64, offset: u64 },
    /// Calendar months (UTC).
    Month,
}

impl BudgetWindow {
    /// `1d`, `7d`, `month`, or any duration of at least a second (`30d`, `12h`, `10s`).
    pub fn parse(text: &str) -> Result<BudgetWindow, String> {
        match text.trim() {
            "month" => return Ok(BudgetWindow::Month),
            "7d" | "1w" => {
                return Ok(BudgetWindow::Every {
                    secs: 7 * DAY,
                    offset: WEEK_OFFSET,
                })
            }
            _ => {}
        }
        let d = humantime::parse_duration(text)
            .map_err(|e| format!("\"{text}\" is not month or a duration like 1d, 7d, 30d: {e}"))?;
        if d < Duration::from_secs(1) || d.subsec_nanos() != 0 {
            return Err(format!("\"{text}\": a window is a whole number of seconds"));
        }
        Ok(BudgetWindow::Every {
            secs: d.as_secs(),
            offset: 0,
        })
    }

    /// The label of the window in Redis keys and metrics: `month`, or its length in seconds
    /// with its offset (`86400s`, `604800s+259200`).
    pub fn label(&self) -> String {
        match self {
            BudgetWindow::Month => "month".to_string(),
            BudgetWindow::Every { secs, offset: 0 } => format!("{secs}s"),
            BudgetWindow::Every { secs, offset } => format!("{secs}s+{offset}"),
        }
    }

    /// The window as a person writes it: `month`, `7d`, `1d`, `12h`, `10m`, `90s`.
    pub fn text(&self) -> String {
        match *self {
            BudgetWindow::Month => "month".to_string(),
            BudgetWindow::Every { secs, offset } if offset == WEEK_OFFSET && secs == 7 * DAY => {
                "7d".to_string()
            }
            BudgetWindow::Every { secs, .. } if secs % DAY == 0 => format!("{}d", secs / DAY),
            BudgetWindow::Every { secs, .. } if secs % 3600 == 0 => format!("{}h", secs / 3600),
            BudgetWindow::Every { secs, .. } if secs % 60 == 0 => format!("{}m", secs / 60),
            BudgetWindow::Every { secs, .. } => format!("{secs}s"),
        }
    }

    /// The window Unix time `now` (seconds) falls in, and the seconds left until it ends
    /// (at least 1).
    pub fn at(&self, now: u64) -> (u64, u64) {
        let (id, left) = match *self {
            BudgetWindow::Every { secs, offset } => {
                let s = now + offset;
                (s / secs, secs - s % secs)
            }
            BudgetWindow::Month => {
                let (y, m) = year_month(now / DAY);
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let next = days_from_civil(ny, nm) * DAY;
                (y * 12 + m - 1, next.saturating_sub(now))
            }
        };
        (id, left.max(1))
    }
}

/// The year and month (1–12) of day `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch). The Lua of [`super::shared`] does
/// the same sums on Redis's clock.
fn year_month(days: u64) -> (u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m)
}

/// Days from 1970-01-01 to the first of month `m` of year `y` (`days_from_civil`).
fn days_from_civil(y: u64, m: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// Lua for Redis with the same window sums as [`BudgetWindow::at`]:
/// `window_of(now, secs, offset)` (`secs` 0: calendar month) returns the window id and the
/// seconds left.
pub(super) const WINDOW_LUA: &str = r"
local function window_of(now, secs, offset)
  local id, left
  if secs > 0 then
    local s = now + offset
    id, left = math.floor(s / secs), secs - (s % secs)
  else
    local z = math.floor(now / 86400) + 719468
    local era = math.floor(z / 146097)
    local doe = z - era * 146097
    local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
    local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
    local mp = math.floor((5 * doy + 2) / 153)
    local m = mp < 10 and mp + 3 or mp - 9
    local y = yoe + era * 400
    if m <= 2 then y = y + 1 end
    local ny, nm = y, m + 1
    if nm == 13 then ny, nm = y + 1, 1 end
    local yy = ny
    if nm <= 2 then yy = ny - 1 end
    local era2 = math.floor(yy / 400)
    local yoe2 = yy - era2 * 400
    local mp2 = nm > 2 and nm - 3 or nm + 9
    local doe2 = yoe2 * 365 + math.floor(yoe2 / 4) - math.floor(yoe2 / 100) + math.floor((153 * mp2 + 2) / 5)
    id, left = y * 12 + m - 1, (era2 * 146097 + doe2 - 719468) * 86400 - now
  end
  if left < 1 then left = 1 end
  return id, left
end
";

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07 00:30:00 UTC (a Monday).
    const NOW: u64 = 1_796_603_400;

    #[test]
    fn windows_parse_and_fall_on_calendar_boundaries() {
        assert_eq!(BudgetWindow::parse("month"), Ok(BudgetWindow::Month));
        let day = BudgetWindow::parse("1d").unwrap();
        // 30 minutes into the day: 23.5 hours left.
        assert_eq!(day.at(NOW), (NOW / DAY, 23 * 3600 + 1800));
        assert_eq!(day.label(), "86400s");
        // 7d: the week began this Monday at 00:00, so 6 days 23.5 hours are left.
        let week = BudgetWindow::parse("7d").unwrap();
        assert_eq!(week.at(NOW).1, 6 * DAY + 23 * 3600 + 1800);
        assert_eq!(week.label(), "604800s+259200");
        // A Sunday 23:59:59 is the week's last second.
        assert_eq!(week.at(NOW - 30 * 60 - 1).1, 1);
        assert_eq!(week.at(NOW - 30 * 60 - 1).0 + 1, week.at(NOW).0);
        // Short windows (tests use them): back to back from the epoch.
        let ten = BudgetWindow::parse("10s").unwrap();
        assert_eq!(ten.at(NOW + 3), (NOW / 10, 7));
        assert!(BudgetWindow::parse("500ms").is_err());
        for text in ["month", "7d", "1d", "30d", "12h", "10m", "10s"] {
            assert_eq!(BudgetWindow::parse(text).unwrap().text(), text);
        }
        assert!(BudgetWindow::parse("weekly").is_err());
    }

    #[test]
    fn months_are_calendar_months() {
        // 2026-12-07 00:30: 24 days 23.5 hours to 2027-01-01.
        let (id, left) = BudgetWindow::Month.at(NOW);
        assert_eq!(id, 2026 * 12 + 11);
        assert_eq!(left, 24 * DAY + 23 * 3600 + 1800);
        // 2028-02-29 12:00 (a leap year): 12 hours to March.
        let leap = days_from_civil(2028, 2) * DAY + 28 * DAY + 12 * 3600;
        assert_eq!(BudgetWindow::Month.at(leap), (2028 * 12 + 1, 12 * 3600));
        // The first second of a month is in it, with the whole month left.
        let march = days_from_civil(2027, 3) * DAY;
        assert_eq!(BudgetWindow::Month.at(march), (2027 * 12 + 2, 31 * DAY));
        assert_eq!(BudgetWindow::Month.at(march - 1), (2027 * 12 + 1, 1));
        assert_eq!(days_from_civil(1970, 1), 0);
        assert_eq!(days_from_civil(2000, 3), 11_017);
    }

    #[test]
    fn amounts_are_nano_dollars() {
        assert_eq!(to_nano(0.000_000_05), 50);
        assert_eq!(to_nano(50.0), 50_000_000_000);
        assert_eq!(to_nano(-1.0), 0);
        assert_eq!(to_nano(f64::NAN), 0);
        assert!(Budget::new(-0.5, BudgetWindow::Month).is_none());
        assert_eq!(Budget::new(1.5, BudgetWindow::Month).unwrap().usd(), 1.5);
    }
}
