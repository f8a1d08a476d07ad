#include "notes/lexicon.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "notes/lexicons_embedded.h"
#include "notes/normalize.h"

namespace medvault::notes {
namespace {

constexpr std::string_view kGuardFile = "guards.txt";
constexpr std::string_view kPartnerFile = "about_partner.txt";
constexpr std::string_view kRegexPrefix = "re:";
constexpr std::string_view kUpperCasePrefix = "=";
constexpr std::string_view kGuardCategoryPrefix = "@";

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// Splits "first rest" at the first space or tab.
std::pair<std::string_view, std::string_view> SplitFirstWord(std::string_view text) {
  const std::size_t space = text.find_first_of(" \t");
  if (space == std::string_view::npos) return {text, {}};
  return {text.substr(0, space), Trim(text.substr(space + 1))};
}

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string_view Stem(std::string_view file) {
  const std::size_t dot = file.rfind('.');
  return dot == std::string_view::npos ? file : file.substr(0, dot);
}

// Category and guard terms share one syntax: "re:REGEX", or an optional "=" then a literal.
Result<Pattern> ParseTerm(std::string_view term, const std::string& origin) {
  Pattern pattern;
  pattern.origin = origin;
  if (term.starts_with(kRegexPrefix)) {
    const std::string_view regex = Trim(term.substr(kRegexPrefix.size()));
    if (regex.empty()) return InvalidArgument(origin + ": empty regex");
    for (const char c : regex) {
      // Regexes run over folded text, so an accent or upper-case letter could never match.
      if ((static_cast<unsigned char>(c) & 0x80U) != 0) {
        return InvalidArgument(origin + ": regex must be written folded (no accents)");
      }
    }
    pattern.regex = std::string(regex);
    return pattern;
  }
  if (term.starts_with(kUpperCasePrefix)) {
    pattern.upper_case_only = true;
    term = Trim(term.substr(kUpperCasePrefix.size()));
  }
  const std::string folded = FoldTerm(term);
  if (Trim(folded).empty()) return InvalidArgument(origin + ": empty term");
  pattern.regex = TermToRegex(Trim(folded));
  return pattern;
}

Result<CueScope> ParseScope(std::string_view token, std::size_t* words, const std::string& origin) {
  if (token == ">") return CueScope::kClauseForward;
  if (token == ">>") return CueScope::kSentenceForward;
  if (token == "<") return CueScope::kClauseBackward;
  if (token == "<<") return CueScope::kSentenceBackward;
  if (token == "<>") return CueScope::kClause;
  if (token == "<<>>") return CueScope::kSentence;
  if (token == "^") return CueScope::kClauseOpening;
  if (token.size() >= 2 && (token[0] == '+' || token[0] == '-')) {
    std::size_t count = 0;
    for (const char c : token.substr(1)) {
      if (c < '0' || c > '9') return InvalidArgument(origin + ": bad word count in scope");
      count = count * 10 + static_cast<std::size_t>(c - '0');
    }
    *words = count;
    return token[0] == '+' ? CueScope::kWordsAfterCue : CueScope::kWordsBeforeCue;
  }
  return InvalidArgument(origin + ": unknown scope '" + std::string(token) +
                         "' (expected > >> < << <> <<>> ^ +N -N)");
}

}  // namespace

std::vector<std::string> RequiredLexiconFiles() {
  std::vector<std::string> files;
  for (const Category category : kAllCategories) {
    files.push_back(std::string(CategoryId(category)) + ".txt");
  }
  for (const Qualifier qualifier : kAllQualifiers) {
    files.push_back(std::string(QualifierId(qualifier)) + ".txt");
  }
  files.emplace_back(kPartnerFile);
  files.emplace_back(kGuardFile);
  return files;
}

const LexiconTexts& EmbeddedLexicons() {
  static const LexiconTexts texts = [] {
    LexiconTexts built;
    for (std::size_t i = 0; i < kEmbeddedLexiconFileCount; ++i) {
      built.emplace(std::string(kEmbeddedLexiconFiles[i].name),
                    std::string(kEmbeddedLexiconFiles[i].text));
    }
    return built;
  }();
  return texts;
}

Result<LexiconTexts> ReadLexiconDirectory(const std::string& directory) {
  LexiconTexts texts;
  for (const std::string& name : RequiredLexiconFiles()) {
    const std::filesystem::path path = std::filesystem::path(directory) / name;
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("lexicon file not found or unreadable: " + path.string());
    std::ostringstream content;
    content << in.rdbuf();
    texts.emplace(name, content.str());
  }
  return texts;
}

std::optional<std::string> FindLexiconDirectory(
    const std::optional<std::string>& explicit_directory) {
  if (explicit_directory) return explicit_directory;
  if (const char* from_env = std::getenv("MEDVAULT_LEXICONS"); from_env && *from_env) {
    return std::string(from_env);
  }
  std::vector<std::filesystem::path> candidates;
  std::error_code error;
  const std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    candidates.push_back(executable.parent_path() / ".." / "data" / "lexicons");
    candidates.push_back(executable.parent_path() / ".." / ".." / "data" / "lexicons");
  }
  candidates.emplace_back("/usr/share/medvault/lexicons");
  for (const auto& candidate : candidates) {
    if (std::filesystem::is_directory(candidate, error)) {
      return candidate.lexically_normal().string();
    }
  }
  return std::nullopt;
}

std::string TermToRegex(std::string_view folded_term) {
  std::string regex;
  if (!folded_term.empty() && IsWordByte(folded_term.front())) regex += "\\b";
  bool last_was_space = false;
  for (const char c : folded_term) {
    if (c == ' ' || c == '\t') {
      if (!last_was_space) regex += "[\\s\\-]+";
      last_was_space = true;
      continue;
    }
    last_was_space = false;
    if (c == '-') {
      regex += "[\\s\\-]?";
    } else if (c == '\'') {
      regex += "'\\s*";
    } else if (c == '*') {
      regex += "\\w*";
    } else if (IsWordByte(c)) {
      regex += c;
    } else {
      constexpr std::string_view kHex = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(c);
      regex += "\\x";
      regex += kHex[byte >> 4U];
      regex += kHex[byte & 0x0FU];
    }
  }
  if (!folded_term.empty() && (IsWordByte(folded_term.back()) || folded_term.back() == '*')) {
    regex += "\\b";
  }
  return regex;
}

Result<std::optional<Pattern>> ParseLexiconLine(std::string_view file, std::string_view line,
                                                const std::string& origin) {
  line = Trim(line);
  if (line.empty() || line.front() == '#') return std::optional<Pattern>();
  const std::string_view stem = Stem(file);

  if (file == kGuardFile) {
    std::optional<Category> only;
    if (line.starts_with(kGuardCategoryPrefix)) {
      const auto [tag, rest] = SplitFirstWord(line.substr(kGuardCategoryPrefix.size()));
      only = CategoryFromId(tag);
      if (!only) return InvalidArgument(origin + ": unknown category '" + std::string(tag) + "'");
      line = rest;
    }
    MV_ASSIGN_OR_RETURN(Pattern pattern, ParseTerm(line, origin));
    pattern.kind = PatternKind::kGuard;
    pattern.category = only;
    return std::optional<Pattern>(std::move(pattern));
  }

  const bool partner = file == kPartnerFile;
  const std::optional<Qualifier> qualifier =
      partner ? std::optional<Qualifier>(Qualifier::kAboutRelative) : QualifierFromId(stem);
  if (qualifier) {
    const auto [scope_token, term] = SplitFirstWord(line);
    if (term.empty()) return InvalidArgument(origin + ": expected 'SCOPE TERM'");
    std::size_t words = 0;
    MV_ASSIGN_OR_RETURN(const CueScope scope, ParseScope(scope_token, &words, origin));
    MV_ASSIGN_OR_RETURN(Pattern pattern, ParseTerm(term, origin));
    if (pattern.upper_case_only) return InvalidArgument(origin + ": '=' is for category terms");
    pattern.kind = PatternKind::kCue;
    pattern.qualifier = *qualifier;
    pattern.scope = scope;
    pattern.words = words;
    pattern.partner = partner;
    return std::optional<Pattern>(std::move(pattern));
  }

  const std::optional<Category> category = CategoryFromId(stem);
  if (!category) return InvalidArgument(origin + ": not a lexicon file name");
  MV_ASSIGN_OR_RETURN(Pattern pattern, ParseTerm(line, origin));
  pattern.kind = PatternKind::kTerm;
  pattern.category = category;
  return std::optional<Pattern>(std::move(pattern));
}

Result<std::vector<Pattern>> ParseLexicons(const LexiconTexts& texts) {
  std::vector<Pattern> patterns;
  for (const std::string& name : RequiredLexiconFiles()) {
    const auto found = texts.find(name);
    if (found == texts.end()) return NotFound("lexicon file missing: " + name);
    std::istringstream lines(found->second);
    std::string line;
    std::size_t line_number = 0;
    while (std::getline(lines, line)) {
      ++line_number;
      MV_ASSIGN_OR_RETURN(std::optional<Pattern> pattern,
                          ParseLexiconLine(name, line, name + ":" + std::to_string(line_number)));
      if (pattern) patterns.push_back(std::move(*pattern));
    }
  }
  return patterns;
}

}  // namespace medvault::notes
