#pragma once
// Calendar dates without time zones (birth dates, appointment days). Proleptic Gregorian.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace medvault {

struct Date {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31
  friend bool operator==(const Date&, const Date&) = default;
};

bool IsLeapYear(int year);
int DaysInMonth(int year, int month);
// True when the date exists (1 <= month <= 12, day within the month, 1800 <= year <= 2200).
bool IsValidDate(const Date& d);
// Days since 1970-01-01 (negative before).
int64_t DaysFromCivil(const Date& d);
Date CivilFromDays(int64_t days);

// Strictly YYYY-MM-DD; rejects impossible dates. The message names no value.
Result<Date> ParseDate(std::string_view text);
std::string FormatDate(const Date& d);

}  // namespace medvault
