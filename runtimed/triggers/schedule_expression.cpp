// EventBridge Scheduler's schedule expressions (see schedule_expression.hpp).
#include "runtimed/triggers/schedule_expression.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace runtimed {

namespace {

constexpr int kFirstYear = 1970;
constexpr int kLastYear = 2199;
constexpr std::array<std::string_view, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kWeekdays = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

std::vector<std::string_view> split(std::string_view text, char by) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(by, start);
    out.push_back(text.substr(start, at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

std::optional<int> number(std::string_view text) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// A field's value: a number, or one of `names` (upper case; names[0] is `first`).
template <size_t N>
std::optional<int> value(std::string_view text, const std::array<std::string_view, N>* names,
                         int first) {
  if (auto n = number(text)) return n;
  if (!names) return std::nullopt;
  std::string upper(text);
  std::ranges::transform(upper, upper.begin(), [](unsigned char c) { return std::toupper(c); });
  for (size_t i = 0; i < N; ++i)
    if ((*names)[i] == upper) return first + static_cast<int>(i);
  return std::nullopt;
}

// One numeric field: a comma list of `*`, `n`, `a-b`, each with an optional `/step`; names when
// given. Sets bits value - base.
template <size_t Bits, size_t N = 1>
std::expected<std::bitset<Bits>, std::string> numeric_field(
    std::string_view text, std::string_view field, int lo, int hi, int base = 0,
    const std::array<std::string_view, N>* names = nullptr) {
  std::bitset<Bits> out;
  auto bad = [&] {
    return std::unexpected(fmt::format(
        "cron: the {} field '{}' is not valid (values {}-{}, with , - * /)", field, text, lo, hi));
  };
  for (std::string_view item : split(text, ',')) {
    int step = 1;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      auto s = number(item.substr(slash + 1));
      if (!s || *s < 1) return bad();
      step = *s;
      item = item.substr(0, slash);
    }
    int from = lo, to = hi;
    if (item != "*") {
      const size_t dash = item.find('-');
      auto a = value(item.substr(0, dash), names, lo);
      if (!a) return bad();
      from = *a;
      to = step > 1 ? hi : *a;
      if (dash != std::string_view::npos) {
        auto b = value(item.substr(dash + 1), names, lo);
        if (!b) return bad();
        to = *b;
      }
    }
    if (from < lo || to > hi || from > to) return bad();
    for (int v = from; v <= to; v += step) out.set(static_cast<size_t>(v - base));
  }
  return out;
}

std::expected<void, std::string> day_of_month_field(std::string_view text, CronSchedule& c) {
  if (text == "?") {
    c.any_day_of_month = true;
    return {};
  }
  std::string numeric;
  for (std::string_view item : split(text, ',')) {
    if (item == "L") {
      c.last_day_of_month = true;
    } else if (item.size() > 1 && item.back() == 'W') {
      auto n = number(item.substr(0, item.size() - 1));
      if (!n || *n < 1 || *n > 31)
        return std::unexpected(fmt::format("cron: '{}' is not a day of month for W", item));
      c.nearest_weekday_to = *n;
    } else {
      if (!numeric.empty()) numeric += ',';
      numeric += item;
    }
  }
  if (numeric.empty()) return {};
  auto days = numeric_field<32>(numeric, "day-of-month", 1, 31);
  if (!days) return std::unexpected(days.error());
  c.days_of_month = *days;
  return {};
}

std::expected<void, std::string> day_of_week_field(std::string_view text, CronSchedule& c) {
  if (text == "?") {
    c.any_day_of_week = true;
    return {};
  }
  std::string numeric;
  for (std::string_view item : split(text, ',')) {
    if (item == "L") {
      c.days_of_week.set(7);  // the week's last day, Saturday
    } else if (item.size() > 1 && item.back() == 'L') {
      auto n = value(item.substr(0, item.size() - 1), &kWeekdays, 1);
      if (!n || *n < 1 || *n > 7)
        return std::unexpected(fmt::format("cron: '{}' is not a day of week for L", item));
      c.last_weekday_of_month = *n;
    } else if (const size_t hash = item.find('#'); hash != std::string_view::npos) {
      auto n = value(item.substr(0, hash), &kWeekdays, 1);
      auto k = number(item.substr(hash + 1));
      if (!n || *n < 1 || *n > 7 || !k || *k < 1 || *k > 5)
        return std::unexpected(fmt::format("cron: '{}' is not a day of week n#k (k 1-5)", item));
      c.nth_weekday = *n;
      c.nth = *k;
    } else {
      if (!numeric.empty()) numeric += ',';
      numeric += item;
    }
  }
  if (numeric.empty()) return {};
  auto days = numeric_field<8>(numeric, "day-of-week", 1, 7, 0, &kWeekdays);
  if (!days) return std::unexpected(days.error());
  c.days_of_week |= *days;
  return {};
}

std::expected<CronSchedule, std::string> parse_cron(std::string_view body) {
  std::vector<std::string_view> fields;
  for (std::string_view f : split(body, ' '))
    if (!f.empty()) fields.push_back(f);
  if (fields.size() != 6)
    return std::unexpected(fmt::format(
        "cron() takes 6 fields (minutes hours day-of-month month day-of-week year), not {}",
        fields.size()));
  CronSchedule c;
  auto minutes = numeric_field<60>(fields[0], "minutes", 0, 59);
  if (!minutes) return std::unexpected(minutes.error());
  c.minutes = *minutes;
  auto hours = numeric_field<24>(fields[1], "hours", 0, 23);
  if (!hours) return std::unexpected(hours.error());
  c.hours = *hours;
  if (auto ok = day_of_month_field(fields[2], c); !ok) return std::unexpected(ok.error());
  auto months = numeric_field<13>(fields[3], "month", 1, 12, 0, &kMonths);
  if (!months) return std::unexpected(months.error());
  c.months = *months;
  if (auto ok = day_of_week_field(fields[4], c); !ok) return std::unexpected(ok.error());
  auto years = numeric_field<230>(fields[5], "year", kFirstYear, kLastYear, kFirstYear);
  if (!years) return std::unexpected(years.error());
  c.years = *years;
  if (c.any_day_of_month == c.any_day_of_week)
    return std::unexpected(
        "cron: exactly one of day-of-month and day-of-week must be ? (the other says which days)");
  return c;
}

std::expected<RateSchedule, std::string> parse_rate(std::string_view body, bool allow_seconds) {
  const auto parts = split(body, ' ');
  auto n = parts.size() == 2 ? number(parts[0]) : std::nullopt;
  if (!n || *n < 1)
    return std::unexpected("rate() takes a positive whole number and a unit: rate(5 minutes)");
  const std::string_view unit = parts[1];
  const std::string_view singular = unit.ends_with('s') ? unit.substr(0, unit.size() - 1) : unit;
  if ((*n == 1) != (singular == unit))
    return std::unexpected(fmt::format(
        "rate(): a value of 1 takes a singular unit (1 minute), others a plural one (5 minutes)"));
  int64_t seconds = 0;
  if (singular == "minute")
    seconds = 60;
  else if (singular == "hour")
    seconds = 3600;
  else if (singular == "day")
    seconds = 86400;
  else if (singular == "second" && allow_seconds)
    seconds = 1;
  else
    return std::unexpected(
        fmt::format("rate(): the unit '{}' is not minute(s), hour(s) or day(s)", unit));
  return RateSchedule{std::chrono::seconds(seconds * *n)};
}

std::expected<AtSchedule, std::string> parse_at(std::string_view body) {
  // yyyy-mm-ddThh:mm:ss
  auto bad = [&] {
    return std::unexpected(fmt::format("at() takes yyyy-mm-ddThh:mm:ss, not '{}'", body));
  };
  if (body.size() != 19 || body[4] != '-' || body[7] != '-' || body[10] != 'T' || body[13] != ':' ||
      body[16] != ':')
    return bad();
  auto y = number(body.substr(0, 4)), mo = number(body.substr(5, 2)), d = number(body.substr(8, 2));
  auto h = number(body.substr(11, 2)), mi = number(body.substr(14, 2)),
       s = number(body.substr(17, 2));
  if (!y || !mo || !d || !h || !mi || !s || *h > 23 || *mi > 59 || *s > 59) return bad();
  const std::chrono::year_month_day ymd{std::chrono::year(*y),
                                        std::chrono::month(static_cast<unsigned>(*mo)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return bad();
  return AtSchedule{std::chrono::local_days(ymd) + std::chrono::hours(*h) +
                    std::chrono::minutes(*mi) + std::chrono::seconds(*s)};
}

// A local time in `tz` as an instant: a time in a DST gap is the gap's end, a repeated one its
// first occurrence.
Seconds to_sys(const date::time_zone* tz, std::chrono::local_seconds local) {
  const date::local_seconds l{local.time_since_epoch()};
  const date::local_info info = tz->get_info(l);
  switch (info.result) {
    case date::local_info::nonexistent:
      return Seconds{info.first.end.time_since_epoch()};
    case date::local_info::ambiguous:
    case date::local_info::unique:
    default:
      return Seconds{(l - info.first.offset).time_since_epoch()};
  }
}

bool day_matches(const CronSchedule& c, std::chrono::year_month_day ymd) {
  using namespace std::chrono;
  const int y = static_cast<int>(ymd.year());
  const unsigned m = static_cast<unsigned>(ymd.month());
  const unsigned d = static_cast<unsigned>(ymd.day());
  if (y < kFirstYear || y > kLastYear || !c.years.test(static_cast<size_t>(y - kFirstYear)) ||
      !c.months.test(m))
    return false;
  const unsigned last =
      static_cast<unsigned>(year_month_day_last(ymd.year(), month_day_last(ymd.month())).day());
  const unsigned wd = weekday(sys_days(ymd)).c_encoding();  // 0 = Sunday
  if (!c.any_day_of_month) {
    if (c.days_of_month.test(d)) return true;
    if (c.last_day_of_month && d == last) return true;
    if (c.nearest_weekday_to > 0) {
      // The weekday nearest to day n, within the month.
      unsigned n = std::min(static_cast<unsigned>(c.nearest_weekday_to), last);
      const unsigned nwd =
          weekday(sys_days(year_month_day(ymd.year(), ymd.month(), day(n)))).c_encoding();
      if (nwd == 6)
        n = n == 1 ? 3 : n - 1;  // Saturday: Friday, or Monday after a 1st
      else if (nwd == 0)
        n = n == last ? n - 2 : n + 1;  // Sunday: Monday, or Friday at the end
      if (d == n) return true;
    }
    return false;
  }
  if (c.days_of_week.test(wd + 1)) return true;
  if (c.last_weekday_of_month == static_cast<int>(wd + 1) && d + 7 > last) return true;
  if (c.nth_weekday == static_cast<int>(wd + 1) && static_cast<int>((d - 1) / 7 + 1) == c.nth)
    return true;
  return false;
}

}  // namespace

std::expected<ScheduleExpression, std::string> parse_schedule_expression(std::string_view text,
                                                                         bool allow_seconds) {
  const size_t open = text.find('(');
  if (open == std::string_view::npos || !text.ends_with(')'))
    return std::unexpected(
        fmt::format("'{}' is not a schedule expression: rate(...), cron(...) or at(...)", text));
  const std::string_view kind = text.substr(0, open);
  const std::string_view body = text.substr(open + 1, text.size() - open - 2);
  if (kind == "rate") {
    auto r = parse_rate(body, allow_seconds);
    if (!r) return std::unexpected(r.error());
    return ScheduleExpression{*r};
  }
  if (kind == "cron") {
    auto c = parse_cron(body);
    if (!c) return std::unexpected(c.error());
    return ScheduleExpression{*c};
  }
  if (kind == "at") {
    auto a = parse_at(body);
    if (!a) return std::unexpected(a.error());
    return ScheduleExpression{*a};
  }
  return std::unexpected(
      fmt::format("'{}' is not a schedule expression: rate(...), cron(...) or at(...)", text));
}

bool valid_time_zone(const std::string& zone) {
  try {
    return date::locate_zone(zone) != nullptr;
  } catch (const std::exception&) {
    return false;
  }
}

std::optional<Seconds> next_fire(const ScheduleExpression& expression, const std::string& zone,
                                 Seconds anchor, Seconds after) {
  using namespace std::chrono;
  if (const auto* rate = std::get_if<RateSchedule>(&expression.kind)) {
    if (after < anchor) return anchor + rate->every;
    const auto periods = (after - anchor) / rate->every + 1;
    return anchor + periods * rate->every;
  }
  const date::time_zone* tz = nullptr;
  try {
    tz = date::locate_zone(zone);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (const auto* at = std::get_if<AtSchedule>(&expression.kind)) {
    const Seconds when = to_sys(tz, at->when);
    if (when > after) return when;
    return std::nullopt;
  }
  const auto& cron = std::get<CronSchedule>(expression.kind);
  const auto local_after = tz->to_local(date::sys_seconds{after.time_since_epoch()});
  // A day before, in case a DST shift moves the first candidate across midnight.
  auto day = floor<days>(local_seconds{local_after.time_since_epoch()}) - days(1);
  const auto end = local_days(year(kLastYear + 1) / January / 1);
  for (; day < end; day += days(1)) {
    const year_month_day ymd{day};
    if (static_cast<int>(ymd.year()) < kFirstYear) continue;
    if (!day_matches(cron, ymd)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!cron.hours.test(static_cast<size_t>(h))) continue;
      for (int m = 0; m < 60; ++m) {
        if (!cron.minutes.test(static_cast<size_t>(m))) continue;
        const Seconds when = to_sys(tz, day + hours(h) + minutes(m));
        if (when > after) return when;
      }
    }
  }
  return std::nullopt;
}

}  // namespace runtimed
