#include "app/import.h"

#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "api/fhir_patient.h"

namespace medvault::app {
namespace {

// Parses without exceptions; an error names the position, never the content.
Result<nlohmann::json> ParseJson(std::string_view text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(where + ": not valid JSON (truncated or malformed)");
  return j;
}

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// One NDJSON line parsed into a patient; an error names the line and the field, never a value.
Result<vault::Patient> ParseLine(std::string_view line, int64_t line_no) {
  const std::string where = "line " + std::to_string(line_no);
  MV_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(line, where));
  Result<vault::Patient> p = api::PatientFromFhir(j);
  if (!p.ok()) return p.status().WithContext(where);
  return p;
}

// Reads and parses NDJSON on a thread of its own, kChunk lines at a time, while the caller
// validates, seals and stores the patients parsed before: the JSON work overlaps the rest of the
// import. At most kMaxChunks chunks wait in the queue, so memory stays flat whatever the file
// size. The first error (a line that does not parse, a read error) ends the reading: it is handed
// over in its place, after the patients of the lines before it. Used by one caller thread.
class NdjsonReader {
 public:
  explicit NdjsonReader(std::istream& in) : in_(in) {
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error&) {
      inline_ = true;  // no thread to be had: parse on the caller's, one line at a time
    }
  }
  ~NdjsonReader() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  NdjsonReader(const NdjsonReader&) = delete;
  NdjsonReader& operator=(const NdjsonReader&) = delete;

  // The next patient, std::nullopt at the end of the file, or the error of its line.
  Result<std::optional<vault::Patient>> Next() {
    if (next_ == current_.size()) {
      current_.clear();
      next_ = 0;
      if (inline_) {
        Read(&current_, 1);
      } else {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [&] { return !queue_.empty(); });
        current_ = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        changed_.notify_all();
      }
    }
    Item& item = current_[next_++];
    line_ = item.line;
    if (!item.error.ok()) return item.error;
    return std::move(item.patient);
  }

  // The line of the entry Next() returned last.
  int64_t line() const { return line_; }

 private:
  static constexpr size_t kChunk = 256;
  static constexpr size_t kMaxChunks = 8;

  struct Item {
    int64_t line = 0;
    Status error;
    std::optional<vault::Patient> patient;  // empty with an OK error: the end of the file
  };

  // Appends up to `max` items to *chunk; true once the last item (end or error) is in.
  bool Read(std::vector<Item>* chunk, size_t max) {
    while (chunk->size() < max) {
      Item& item = chunk->emplace_back();
      if (!std::getline(in_, text_)) {
        item.line = line_no_ + 1;
        if (in_.bad()) item.error = Internal("read error at line " + std::to_string(line_no_ + 1));
        return true;
      }
      item.line = ++line_no_;
      if (IsBlank(text_)) {
        chunk->pop_back();
        continue;
      }
      Result<vault::Patient> p = ParseLine(text_, line_no_);
      if (!p.ok()) {
        item.error = p.status();
        return true;
      }
      item.patient = std::move(p).value();
    }
    return false;
  }

  void Run() {
    for (bool last = false; !last;) {
      std::vector<Item> chunk;
      chunk.reserve(kChunk);
      last = Read(&chunk, kChunk);
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return stop_ || queue_.size() < kMaxChunks; });
      if (stop_) return;
      queue_.push_back(std::move(chunk));
      lock.unlock();
      changed_.notify_all();
    }
  }

  std::istream& in_;
  // The reading thread's.
  std::string text_;
  int64_t line_no_ = 0;
  // The caller's.
  std::vector<Item> current_;
  size_t next_ = 0;
  int64_t line_ = 0;
  bool inline_ = false;

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::vector<Item>> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;                    // GUARDED_BY(mu_)
  std::thread thread_;                   // started last, joined first
};

Result<int64_t> ImportNdjson(vault::Patients& patients, const std::string& practice_id,
                             std::ifstream& in) {
  NdjsonReader reader(in);
  vault::PatientSource next = [&]() { return reader.Next(); };
  return patients.Import(practice_id, next,
                         [&] { return "line " + std::to_string(reader.line()); });
}

Result<int64_t> ImportBundle(vault::Patients& patients, const std::string& practice_id,
                             const std::string& text) {
  MV_ASSIGN_OR_RETURN(nlohmann::json bundle, ParseJson(text, "bundle"));
  if (!bundle.is_object() || bundle.value("resourceType", "") != "Bundle") {
    return InvalidArgument("bundle: resourceType must be Bundle");
  }
  const auto it = bundle.find("entry");
  if (it == bundle.end()) return int64_t{0};
  if (!it->is_array()) return InvalidArgument("bundle: entry must be an array");
  size_t index = 0;
  vault::PatientSource next = [&]() -> Result<std::optional<vault::Patient>> {
    if (index >= it->size()) return std::optional<vault::Patient>();
    const nlohmann::json& entry = (*it)[index];
    const std::string where = "entry " + std::to_string(index + 1);
    ++index;
    if (!entry.is_object() || !entry.contains("resource")) {
      return InvalidArgument(where + ": resource: required");
    }
    Result<vault::Patient> p = api::PatientFromFhir(entry["resource"]);
    if (!p.ok()) return p.status().WithContext(where);
    return std::optional<vault::Patient>(std::move(p).value());
  };
  return patients.Import(practice_id, next);
}

}  // namespace

Result<int64_t> ImportPatientsFile(vault::Patients& patients, const std::string& practice_id,
                                   const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + path);
  std::string first;
  std::getline(in, first);
  // One complete Patient object on the first line means NDJSON; anything else is a Bundle.
  nlohmann::json probe = nlohmann::json::parse(first, nullptr, false);
  const bool ndjson = !probe.is_discarded() && probe.is_object() &&
                      probe.value("resourceType", "") == "Patient";
  in.clear();
  in.seekg(0);
  if (ndjson) return ImportNdjson(patients, practice_id, in);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument(path + ": empty file");
  }
  return ImportBundle(patients, practice_id, text);
}

}  // namespace medvault::app
