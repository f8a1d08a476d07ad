#include <cstdio>

#include "core/clock.h"
#include "core/date.h"

namespace medvault {
namespace {
constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}
}  // namespace

std::string FormatIsoTime(UnixMicros t) {
  int64_t secs = t / kMicrosPerSecond;
  if (t < 0 && t % kMicrosPerSecond != 0) --secs;
  int64_t days = secs / kSecondsPerDay;
  int64_t rem = secs % kSecondsPerDay;
  if (rem < 0) {
    rem += kSecondsPerDay;
    --days;
  }
  const Date d = CivilFromDays(days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", d.year, d.month, d.day,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

Result<UnixMicros> ParseIsoTime(std::string_view s) {
  MV_ASSIGN_OR_RETURN(Date d, ParseDate(s.substr(0, 10)));
  int64_t secs = DaysFromCivil(d) * kSecondsPerDay;
  if (s.size() == 10) return secs * kMicrosPerSecond;
  int hh = 0, mm = 0, ss = 0;
  if (s[10] != 'T' || !Digits(s, 11, 2, &hh) || s.size() < 19 || s[13] != ':' ||
      !Digits(s, 14, 2, &mm) || s[16] != ':' || !Digits(s, 17, 2, &ss) || hh > 23 || mm > 59 ||
      ss > 60) {
    return InvalidArgument("not an ISO 8601 time (YYYY-MM-DDThh:mm:ssZ)");
  }
  secs += hh * 3600 + mm * 60 + ss;
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100'000;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return InvalidArgument("not an ISO 8601 time: empty fraction");
  }
  if (pos < s.size() && s[pos] == 'Z' && pos + 1 == s.size()) {
    return secs * kMicrosPerSecond + micros;
  }
  int oh = 0, om = 0;
  if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && Digits(s, pos + 1, 2, &oh) &&
      s[pos + 3] == ':' && Digits(s, pos + 4, 2, &om) && oh < 24 && om < 60) {
    const int64_t offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    return (secs - offset) * kMicrosPerSecond + micros;
  }
  return InvalidArgument("not an ISO 8601 time: missing Z or offset");
}

}  // namespace medvault
