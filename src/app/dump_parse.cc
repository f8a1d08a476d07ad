#include "app/dump_parse.h"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>

#include "core/text_fold.h"
#include "core/utf8.h"
#include "vault/nir.h"

namespace medvault::app {
namespace {

constexpr size_t kSniffRecords = 50;  // records looked at to choose the separator
constexpr size_t kSampleRows = 1000;  // rows looked at to type the columns
constexpr double kKindShare = 0.6;    // share of a column's non-empty values that decides
constexpr size_t kMaxColumns = 256;   // wider records are cut (no dump needs more)
constexpr int kMinYear = 1880;
constexpr int kMaxYear = 2100;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 4180 records with `sep`: quotes around a field, "" inside quotes, CR LF or LF line ends,
// line breaks inside quotes kept. Reads at most `max_records` (0: all).
std::vector<std::vector<std::string>> SplitCsv(std::string_view text, char sep,
                                               size_t max_records) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  bool field_started = false;  // something was read for this field (even "")
  auto end_field = [&] {
    if (record.size() < kMaxColumns) record.push_back(std::string(Trim(field)));
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    end_field();
    const bool blank = record.size() == 1 && record[0].empty();
    if (!blank) records.push_back(std::move(record));
    record.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (max_records != 0 && records.size() >= max_records) return records;
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"' && Trim(field).empty()) {
      field.clear();
      quoted = true;
      field_started = true;
    } else if (c == sep) {
      end_field();
    } else if (c == '\n') {
      end_record();
    } else if (c != '\r' || (i + 1 < text.size() && text[i + 1] != '\n')) {
      field += c;
      field_started = true;
    }
  }
  if (field_started || !field.empty() || !record.empty()) end_record();
  return records;
}

// The separator whose records have the most consistent number of fields (more than one).
char SniffSeparator(std::string_view text) {
  char best = ',';
  double best_score = 0;
  for (char sep : {',', ';', '\t', '|'}) {
    const auto records = SplitCsv(text, sep, kSniffRecords);
    if (records.empty()) continue;
    std::map<size_t, size_t> widths;
    for (const auto& r : records) ++widths[r.size()];
    const auto mode = std::max_element(widths.begin(), widths.end(),
                                       [](auto& a, auto& b) { return a.second < b.second; });
    if (mode->first < 2) continue;
    // Consistency first; among equally consistent separators, more columns.
    const double score = static_cast<double>(mode->second) / static_cast<double>(records.size()) +
                         static_cast<double>(mode->first) * 1e-4;
    if (score > best_score) {
      best_score = score;
      best = sep;
    }
  }
  return best;
}

std::string HeaderKey(std::string_view header) {
  std::string folded = FoldForSearch(header);
  std::erase_if(folded, [](char c) { return c == '_' || c == '/' || c == '(' || c == ')'; });
  return folded;
}

bool Has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// The kind a header name announces, kOther when it announces nothing we know.
DumpColumnKind KindFromHeader(std::string_view header) {
  const std::string h = HeaderKey(header);
  if (h.empty()) return DumpColumnKind::kOther;
  if (Has(h, "mail") || Has(h, "courriel")) return DumpColumnKind::kEmail;
  if (Has(h, "naiss") || Has(h, "birth") || h == "dob" || h == "ddn" || Has(h, "nele")) {
    return DumpColumnKind::kBirthDate;
  }
  if (Has(h, "prenom") || Has(h, "given") || Has(h, "first") || Has(h, "forename")) {
    return DumpColumnKind::kGiven;
  }
  if (h == "nir" || Has(h, "secu") || Has(h, "ssn") || Has(h, "insee") || h == "nss" ||
      h == "ins" || Has(h, "numss") || Has(h, "nir")) {
    return DumpColumnKind::kNir;
  }
  if (Has(h, "tel") || Has(h, "phone") || Has(h, "mobile") || Has(h, "portable") || Has(h, "gsm")) {
    return DumpColumnKind::kPhone;
  }
  if (h == "name" || h == "fullname" || h == "nomcomplet" || h == "patient" || h == "identite" ||
      h == "nomprenom") {
    return DumpColumnKind::kName;
  }
  if (Has(h, "nom") || Has(h, "family") || Has(h, "last") || Has(h, "surname") ||
      Has(h, "patronyme")) {
    return DumpColumnKind::kFamily;
  }
  return DumpColumnKind::kOther;
}

// The kind of one value, judged alone (kOther if none).
DumpColumnKind KindOfValue(std::string_view v) {
  if (ReadLooseEmail(v)) return DumpColumnKind::kEmail;
  if (ReadLooseNir(v)) return DumpColumnKind::kNir;
  if (ReadLooseDate(v)) return DumpColumnKind::kBirthDate;
  if (ReadLoosePhone(v)) return DumpColumnKind::kPhone;
  if (LooksLikeName(v)) return DumpColumnKind::kName;
  return DumpColumnKind::kOther;
}

// Kinds of the columns from their values, over up to kSampleRows rows from `first`.
std::vector<DumpColumnKind> KindsFromValues(const std::vector<std::vector<std::string>>& rows,
                                            size_t first, size_t width) {
  constexpr size_t kKinds = 8;
  std::vector<std::array<size_t, kKinds>> counts(width, std::array<size_t, kKinds>{});
  std::vector<size_t> filled(width, 0);
  for (size_t r = first; r < rows.size() && r < first + kSampleRows; ++r) {
    for (size_t c = 0; c < width && c < rows[r].size(); ++c) {
      if (rows[r][c].empty()) continue;
      ++filled[c];
      ++counts[c][static_cast<size_t>(KindOfValue(rows[r][c]))];
    }
  }
  std::vector<DumpColumnKind> out(width, DumpColumnKind::kOther);
  for (size_t c = 0; c < width; ++c) {
    if (filled[c] == 0) continue;
    for (DumpColumnKind k :
         {DumpColumnKind::kEmail, DumpColumnKind::kNir, DumpColumnKind::kBirthDate,
          DumpColumnKind::kPhone, DumpColumnKind::kName}) {
      const double share =
          static_cast<double>(counts[c][static_cast<size_t>(k)]) / static_cast<double>(filled[c]);
      if (share >= kKindShare) {
        out[c] = k;
        break;
      }
    }
  }
  return out;
}

bool IsValueKind(DumpColumnKind k) {
  return k == DumpColumnKind::kEmail || k == DumpColumnKind::kNir ||
         k == DumpColumnKind::kBirthDate || k == DumpColumnKind::kPhone;
}

// Combines what the values say with what the header says.
DumpColumnKind Combine(DumpColumnKind from_values, DumpColumnKind from_header) {
  if (IsValueKind(from_values)) return from_values;
  if (from_header != DumpColumnKind::kOther) {
    const bool name_header = from_header == DumpColumnKind::kFamily ||
                             from_header == DumpColumnKind::kGiven ||
                             from_header == DumpColumnKind::kName;
    if (!name_header || from_values == DumpColumnKind::kName) return from_header;
    if (from_values == DumpColumnKind::kOther) return from_header;
  }
  return from_values;
}

// Is the first record a header? When at least one of its cells names a kind we know and none of
// its cells reads as a date, NIR, phone or e-mail.
bool FirstRecordIsHeader(const std::vector<std::string>& first) {
  bool named = false;
  for (const std::string& cell : first) {
    if (IsValueKind(KindOfValue(cell))) return false;
    named = named || KindFromHeader(cell) != DumpColumnKind::kOther;
  }
  return named;
}

void TypeColumns(ParsedDump* dump, size_t first_data_row) {
  const std::vector<DumpColumnKind> from_values =
      KindsFromValues(dump->rows, first_data_row, dump->columns.size());
  for (size_t c = 0; c < dump->columns.size(); ++c) {
    DumpColumn& column = dump->columns[c];
    column.header_kind = dump->header ? KindFromHeader(column.header) : DumpColumnKind::kOther;
    column.kind = Combine(from_values[c], column.header_kind);
  }
}

ParsedDump ParseCsv(std::string_view text) {
  ParsedDump dump;
  dump.format = "csv";
  dump.separator = SniffSeparator(text);
  auto records = SplitCsv(text, dump.separator, 0);
  if (records.empty()) return dump;
  size_t width = 0;
  for (const auto& r : records) width = std::max(width, r.size());
  dump.header = FirstRecordIsHeader(records[0]);
  dump.columns.resize(width);
  size_t first = 0;
  if (dump.header) {
    for (size_t c = 0; c < records[0].size(); ++c) dump.columns[c].header = records[0][c];
    first = 1;
  }
  dump.rows.reserve(records.size() - first);
  for (size_t r = first; r < records.size(); ++r) {
    records[r].resize(width);
    dump.rows.push_back(std::move(records[r]));
  }
  TypeColumns(&dump, 0);
  return dump;
}

std::string ScalarText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_float()) return v.dump();
  return std::string();
}

// Flattens nested objects into "a.b" keys; array elements of one key are joined with spaces.
void Flatten(const nlohmann::json& v, const std::string& key,
             std::vector<std::pair<std::string, std::string>>* out) {
  if (v.is_object() && v.contains("system") && v.contains("value") && v["system"].is_string()) {
    // FHIR-like {"system": "phone", "value": "..."}: one column per system.
    Flatten(v["value"], key + "." + v["system"].get<std::string>(), out);
  } else if (v.is_object()) {
    for (const auto& [k, child] : v.items()) Flatten(child, key.empty() ? k : key + "." + k, out);
  } else if (v.is_array()) {
    for (const auto& child : v) Flatten(child, key, out);
  } else {
    const std::string text = ScalarText(v);
    if (text.empty()) return;
    for (auto& [k, existing] : *out) {
      if (k == key) {
        existing += " " + text;
        return;
      }
    }
    out->emplace_back(key, text);
  }
}

ParsedDump ParseJsonObjects(const std::vector<nlohmann::json>& objects, size_t unreadable) {
  ParsedDump dump;
  dump.format = "jsonl";
  dump.header = true;
  dump.unreadable_lines = unreadable;
  std::map<std::string, size_t> column_of;
  for (const auto& object : objects) {
    std::vector<std::pair<std::string, std::string>> fields;
    Flatten(object, "", &fields);
    std::vector<std::string> row(dump.columns.size());
    for (auto& [key, value] : fields) {
      auto [it, added] = column_of.emplace(key, dump.columns.size());
      if (added) {
        if (dump.columns.size() >= kMaxColumns) {
          column_of.erase(it);
          continue;
        }
        dump.columns.push_back({key, DumpColumnKind::kOther});
        row.emplace_back();
      }
      row[it->second] = std::string(Trim(value));
    }
    dump.rows.push_back(std::move(row));
  }
  for (auto& row : dump.rows) row.resize(dump.columns.size());
  TypeColumns(&dump, 0);
  return dump;
}

ParsedDump ParseJsonLines(std::string_view text) {
  std::vector<nlohmann::json> objects;
  size_t unreadable = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++unreadable;
      continue;
    }
    objects.push_back(std::move(j));
  }
  return ParseJsonObjects(objects, unreadable);
}

}  // namespace

std::string_view DumpColumnKindName(DumpColumnKind kind) {
  switch (kind) {
    case DumpColumnKind::kOther:
      return "other";
    case DumpColumnKind::kFamily:
      return "family";
    case DumpColumnKind::kGiven:
      return "given";
    case DumpColumnKind::kName:
      return "name";
    case DumpColumnKind::kBirthDate:
      return "birth_date";
    case DumpColumnKind::kNir:
      return "nir";
    case DumpColumnKind::kPhone:
      return "phone";
    case DumpColumnKind::kEmail:
      return "email";
  }
  return "other";
}

ParsedDump ParseDump(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    ParsedDump empty;
    empty.format = "csv";
    return empty;
  }
  if (text[first] == '{') return ParseJsonLines(text);
  if (text[first] == '[') {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_discarded() && j.is_array()) {
      std::vector<nlohmann::json> objects;
      size_t unreadable = 0;
      for (auto& v : j) {
        if (v.is_object()) {
          objects.push_back(std::move(v));
        } else {
          ++unreadable;
        }
      }
      return ParseJsonObjects(objects, unreadable);
    }
  }
  return ParseCsv(text);
}

std::optional<Date> ReadLooseDate(std::string_view text) {
  text = Trim(text);
  const size_t cut = text.find_first_of("T ");
  if (cut != std::string_view::npos && cut >= 8) text = text.substr(0, cut);
  // Split into runs of digits separated by one of - / . (all the same).
  std::vector<std::string_view> parts;
  char sep = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && IsDigit(text[j])) ++j;
    if (j == i) return std::nullopt;
    parts.push_back(text.substr(i, j - i));
    if (j == text.size()) break;
    const char c = text[j];
    if (c != '-' && c != '/' && c != '.') return std::nullopt;
    if (sep != 0 && c != sep) return std::nullopt;
    sep = c;
    i = j + 1;
    if (i == text.size()) return std::nullopt;
  }
  auto num = [](std::string_view s) {
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  };
  auto valid = [](Date d) -> std::optional<Date> {
    if (d.year < kMinYear || d.year > kMaxYear || !IsValidDate(d)) return std::nullopt;
    return d;
  };
  if (parts.size() == 1) {
    const std::string_view s = parts[0];
    if (s.size() != 8) return std::nullopt;
    // DDMMYYYY first (the French way); YYYYMMDD if that is not a date.
    if (auto d = valid({num(s.substr(4, 4)), num(s.substr(2, 2)), num(s.substr(0, 2))})) return d;
    return valid({num(s.substr(0, 4)), num(s.substr(4, 2)), num(s.substr(6, 2))});
  }
  if (parts.size() != 3) return std::nullopt;
  if (parts[0].size() == 4 && parts[1].size() <= 2 && parts[2].size() <= 2) {
    return valid({num(parts[0]), num(parts[1]), num(parts[2])});
  }
  if (parts[2].size() == 4 && parts[0].size() <= 2 && parts[1].size() <= 2) {
    return valid({num(parts[2]), num(parts[1]), num(parts[0])});
  }
  return std::nullopt;
}

std::optional<std::string> ReadLooseNir(std::string_view text) {
  std::string compact;
  for (char c : Trim(text)) {
    if (c == ' ' || c == '.' || c == '-') continue;
    if (IsDigit(c)) {
      compact += c;
    } else if (c == 'a' || c == 'A' || c == 'b' || c == 'B') {
      compact += static_cast<char>(c & ~0x20);
    } else {
      return std::nullopt;
    }
    if (compact.size() > 15) return std::nullopt;
  }
  if (compact.size() == 13) {
    // Without its key: compute it (only 2A/2B may be letters), then validate the whole.
    for (size_t i = 0; i < compact.size(); ++i) {
      const bool corsica = i == 6 && compact[5] == '2' && (compact[6] == 'A' || compact[6] == 'B');
      if (!IsDigit(compact[i]) && !corsica) return std::nullopt;
    }
    const int key = vault::NirControlKey(compact);
    compact += static_cast<char>('0' + key / 10);
    compact += static_cast<char>('0' + key % 10);
  }
  if (compact.size() != 15 || !vault::ValidateNir(compact).ok()) return std::nullopt;
  return vault::CanonicalNir(compact);
}

std::optional<std::string> ReadLoosePhone(std::string_view text) {
  text = Trim(text);
  std::string digits;
  bool plus = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (IsDigit(c)) {
      digits += c;
    } else if (c == '+' && i == 0) {
      plus = true;
    } else if (c != ' ' && c != '.' && c != '-' && c != '(' && c != ')') {
      return std::nullopt;
    }
  }
  if (plus) {
    if (!digits.starts_with("33")) return std::nullopt;
    digits.erase(0, 2);
  } else if (digits.starts_with("0033")) {
    digits.erase(0, 4);
  }
  if (digits.starts_with("0")) digits.erase(0, 1);  // (0) after +33, or the national 0
  if (digits.size() != 9 || digits[0] == '0') return std::nullopt;
  return "0" + digits;
}

std::optional<std::string> ReadLooseEmail(std::string_view text) {
  text = Trim(text);
  if (text.starts_with("mailto:")) text.remove_prefix(7);
  const size_t at = text.find('@');
  if (at == 0 || at == std::string_view::npos || text.find('@', at + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view domain = text.substr(at + 1);
  const size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size()) return std::nullopt;
  if (text.find_first_of(" ,;\t") != std::string_view::npos) return std::nullopt;
  return FoldForSearch(text);
}

bool LooksLikeName(std::string_view text) {
  text = Trim(text);
  if (!IsValidUtf8(text)) return false;
  size_t letters = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) {
      ++letters;
    } else if (u >= 0x80) {
      // Multi-byte UTF-8: count lead bytes as letters (accents, other scripts); "’" is allowed.
      if ((u & 0xC0) == 0xC0) ++letters;
    } else if (u != ' ' && u != '-' && u != '\'' && u != '.') {
      return false;
    }
  }
  return letters >= 2;
}

}  // namespace medvault::app
