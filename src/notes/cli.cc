#include "notes/cli.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>

namespace medvault::notes {
namespace {

using OrderedJson = nlohmann::ordered_json;

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

std::string ErrorLine(std::size_t line_number, const std::string& message) {
  OrderedJson error;
  error["line"] = line_number;
  error["error"] = message;
  return error.dump();
}

std::string ClassificationLine(const nlohmann::json& id, const Classification& result) {
  OrderedJson line;
  line["id"] = id;
  line["categories"] = OrderedJson::array();
  for (const Category category : result.categories)
    line["categories"].push_back(CategoryId(category));
  line["qualifiers"] = OrderedJson::array();
  for (const Qualifier qualifier : result.qualifiers) {
    line["qualifiers"].push_back(QualifierId(qualifier));
  }
  line["spans"] = OrderedJson::array();
  for (const Span& span : result.spans) {
    OrderedJson entry;
    entry["start"] = span.start;
    entry["end"] = span.end;
    entry["category"] = CategoryId(span.category);
    line["spans"].push_back(std::move(entry));
  }
  // The id is copied from valid JSON input, so replacing invalid UTF-8 never triggers; it keeps
  // dump() from throwing whatever happens.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Parses one line; on failure returns a message that names the problem, never the content.
Result<nlohmann::json> ParseObject(const std::string& line) {
  try {
    nlohmann::json parsed = nlohmann::json::parse(line);
    if (!parsed.is_object()) return InvalidArgument("not a JSON object");
    return parsed;
  } catch (const nlohmann::json::parse_error& error) {
    return InvalidArgument("invalid JSON at byte " + std::to_string(error.byte));
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument("invalid JSON");
  }
}

std::string Fixed(double value) {
  std::array<char, 16> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.3f", value);
  return buffer.data();
}

std::string Pad(std::string text, std::size_t width) {
  if (text.size() < width) text.insert(0, width - text.size(), ' ');
  return text;
}

std::string PadRight(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

void PrintRow(std::ostream& out, const std::string& name, const Confusion& counts) {
  constexpr std::size_t kNameWidth = 16;
  constexpr std::size_t kNumberWidth = 10;
  out << PadRight(name, kNameWidth) << Pad(Fixed(counts.precision()), kNumberWidth)
      << Pad(Fixed(counts.recall()), kNumberWidth) << Pad(Fixed(counts.f1()), kNumberWidth)
      << Pad(std::to_string(counts.support()), kNumberWidth) << '\n';
}

}  // namespace

double Confusion::precision() const {
  const std::size_t predicted = true_positives + false_positives;
  if (predicted == 0) return false_negatives == 0 ? 1.0 : 0.0;
  return static_cast<double>(true_positives) / static_cast<double>(predicted);
}

double Confusion::recall() const {
  const std::size_t expected = true_positives + false_negatives;
  if (expected == 0) return false_positives == 0 ? 1.0 : 0.0;
  return static_cast<double>(true_positives) / static_cast<double>(expected);
}

double Confusion::f1() const {
  const double p = precision();
  const double r = recall();
  return p + r == 0.0 ? 0.0 : 2.0 * p * r / (p + r);
}

void Confusion::Add(bool expected, bool predicted) {
  if (expected && predicted) ++true_positives;
  if (!expected && predicted) ++false_positives;
  if (expected && !predicted) ++false_negatives;
}

double EvalReport::false_alerts_per_thousand_clean() const {
  if (clean_notes == 0) return 0.0;
  return 1000.0 * static_cast<double>(clean_notes_flagged) / static_cast<double>(clean_notes);
}

int RunClassifyJsonl(const Classifier& classifier, std::istream& in, std::ostream& out) {
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (IsBlank(line)) continue;
    const Result<nlohmann::json> parsed = ParseObject(line);
    if (!parsed.ok()) {
      out << ErrorLine(line_number, parsed.status().message()) << '\n';
      continue;
    }
    const auto text = parsed->find("text");
    if (text == parsed->end() || !text->is_string()) {
      out << ErrorLine(line_number, "missing string field \"text\"") << '\n';
      continue;
    }
    const auto id = parsed->find("id");
    const nlohmann::json id_value = id == parsed->end() ? nlohmann::json() : *id;
    out << ClassificationLine(id_value, classifier.Classify(text->get_ref<const std::string&>()))
        << '\n';
  }
  out.flush();
  return 0;
}

int RunClassifyJsonl(std::istream& in, std::ostream& out, std::ostream& err) {
  Result<std::unique_ptr<Classifier>> classifier = Classifier::Load();
  if (!classifier.ok()) {
    err << "notes classify: cannot load the lexicons: " << classifier.status().message() << '\n';
    return 1;
  }
  return RunClassifyJsonl(**classifier, in, out);
}

Result<EvalReport> Evaluate(const Classifier& classifier, std::istream& labelled) {
  EvalReport report;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(labelled, line)) {
    ++line_number;
    if (IsBlank(line)) continue;
    const std::string where = "line " + std::to_string(line_number) + ": ";
    Result<nlohmann::json> parsed = ParseObject(line);
    if (!parsed.ok()) return InvalidArgument(where + parsed.status().message());
    const nlohmann::json& entry = *parsed;
    const auto text = entry.find("text");
    const auto categories = entry.find("categories");
    const auto qualifiers = entry.find("qualifiers");
    if (text == entry.end() || !text->is_string() || categories == entry.end() ||
        !categories->is_array() || qualifiers == entry.end() || !qualifiers->is_array()) {
      return InvalidArgument(where + "expected \"text\", \"categories\" and \"qualifiers\"");
    }
    std::array<bool, kCategoryCount> expected_categories{};
    std::array<bool, kQualifierCount> expected_qualifiers{};
    for (const auto& id : *categories) {
      const auto category = id.is_string() ? CategoryFromId(id.get<std::string>()) : std::nullopt;
      if (!category) return InvalidArgument(where + "unknown category");
      expected_categories[Index(*category)] = true;
    }
    for (const auto& id : *qualifiers) {
      const auto qualifier = id.is_string() ? QualifierFromId(id.get<std::string>()) : std::nullopt;
      if (!qualifier) return InvalidArgument(where + "unknown qualifier");
      expected_qualifiers[Index(*qualifier)] = true;
    }

    const Classification result = classifier.Classify(text->get_ref<const std::string&>());
    std::array<bool, kCategoryCount> predicted_categories{};
    std::array<bool, kQualifierCount> predicted_qualifiers{};
    for (const Category category : result.categories) predicted_categories[Index(category)] = true;
    for (const Qualifier qualifier : result.qualifiers) {
      predicted_qualifiers[Index(qualifier)] = true;
    }

    bool expected_sensitive = false;
    for (const Category category : kAllCategories) {
      const std::size_t i = Index(category);
      report.per_category[i].Add(expected_categories[i], predicted_categories[i]);
      report.category_micro.Add(expected_categories[i], predicted_categories[i]);
      expected_sensitive = expected_sensitive || expected_categories[i];
    }
    for (const Qualifier qualifier : kAllQualifiers) {
      const std::size_t i = Index(qualifier);
      report.per_qualifier[i].Add(expected_qualifiers[i], predicted_qualifiers[i]);
      report.qualifier_micro.Add(expected_qualifiers[i], predicted_qualifiers[i]);
    }
    report.sensitive.Add(expected_sensitive, result.sensitive());
    ++report.notes;
    if (!expected_sensitive) {
      ++report.clean_notes;
      if (result.sensitive()) ++report.clean_notes_flagged;
    }
  }
  return report;
}

void PrintReport(const EvalReport& report, std::ostream& out) {
  out << "category         precision    recall        F1   support\n";
  for (const Category category : kAllCategories) {
    PrintRow(out, std::string(CategoryId(category)), report.per_category[Index(category)]);
  }
  PrintRow(out, "micro (cat.)", report.category_micro);
  out << '\n';
  for (const Qualifier qualifier : kAllQualifiers) {
    PrintRow(out, std::string(QualifierId(qualifier)), report.per_qualifier[Index(qualifier)]);
  }
  PrintRow(out, "micro (qual.)", report.qualifier_micro);
  out << '\n';
  PrintRow(out, "sensitive note", report.sensitive);
  out << "notes: " << report.notes << ", clean: " << report.clean_notes
      << ", clean flagged: " << report.clean_notes_flagged
      << ", false alerts per 1000 clean notes: " << Fixed(report.false_alerts_per_thousand_clean())
      << '\n';
}

int RunEval(const std::string& devset_path, std::ostream& out, std::ostream& err) {
  std::ifstream labelled(devset_path, std::ios::binary);
  if (!labelled) {
    err << "notes eval: cannot read " << devset_path << '\n';
    return 1;
  }
  Result<std::unique_ptr<Classifier>> classifier = Classifier::Load();
  if (!classifier.ok()) {
    err << "notes eval: cannot load the lexicons: " << classifier.status().message() << '\n';
    return 1;
  }
  const Result<EvalReport> report = Evaluate(**classifier, labelled);
  if (!report.ok()) {
    err << "notes eval: " << devset_path << ": " << report.status().message() << '\n';
    return 1;
  }
  PrintReport(*report, out);
  return 0;
}

}  // namespace medvault::notes
