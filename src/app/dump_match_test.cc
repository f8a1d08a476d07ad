#include "app/dump_match.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "app/audit_wiring.h"
#include "app/generator.h"
#include "audit/access_log.h"
#include "audit/patient_index.h"
#include "core/file.h"
#include "core/testing/temp_dir.h"
#include "store/sqlite/sqlite_log_store.h"
#include "vault/nir.h"

namespace medvault::app {
namespace {

using nlohmann::json;

// Accents removed, case kept: how a dump that went through an ASCII-only system looks.
std::string StripAccents(const std::string& s) {
  static const std::pair<const char*, const char*> kMap[] = {
      {"é", "e"}, {"è", "e"}, {"ê", "e"}, {"ë", "e"}, {"É", "E"}, {"È", "E"},  {"à", "a"},
      {"â", "a"}, {"ä", "a"}, {"À", "A"}, {"î", "i"}, {"ï", "i"}, {"ô", "o"},  {"ö", "o"},
      {"ù", "u"}, {"û", "u"}, {"ü", "u"}, {"ç", "c"}, {"Ç", "C"}, {"œ", "oe"}, {"ÿ", "y"}};
  std::string out = s;
  for (const auto& [from, to] : kMap) {
    for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at)) {
      out.replace(at, std::string_view(from).size(), to);
    }
  }
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return s;
}

std::string Two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

std::string Phone(const vault::Patient& p) {
  for (const auto& t : p.contact.telecom) {
    if (t.system == "phone") return t.value;
  }
  return "";
}

std::string Email(const vault::Patient& p) {
  for (const auto& t : p.contact.telecom) {
    if (t.system == "email") return t.value;
  }
  return "";
}

std::string Given(const vault::Patient& p) {
  std::string out;
  for (const auto& g : p.identity.given) out += (out.empty() ? "" : " ") + g;
  return out;
}

// "0612345678" → "+33 6 12 34 56 78" or "06.12.34.56.78".
std::string International(const std::string& phone) {
  std::string out = "+33 " + phone.substr(1, 1);
  for (size_t i = 2; i < phone.size(); i += 2) out += " " + phone.substr(i, 2);
  return out;
}
std::string Dotted(const std::string& phone) {
  std::string out = phone.substr(0, 2);
  for (size_t i = 2; i < phone.size(); i += 2) out += "." + phone.substr(i, 2);
  return out;
}

std::string Spaced(const std::string& nir) {
  return nir.substr(0, 1) + " " + nir.substr(1, 2) + " " + nir.substr(3, 2) + " " +
         nir.substr(5, 2) + " " + nir.substr(7, 3) + " " + nir.substr(10, 3);
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// One dump row of patient p in format `format` (0..4).
std::string Row(const vault::Patient& p, int format, size_t n) {
  const Date& b = *p.identity.birth_date;
  switch (format) {
    case 0:  // , with header: nom,prenom,date_naissance,telephone,email,nir
      return p.identity.family + "," + Given(p) + "," + FormatDate(b) + "," + Phone(p) + "," +
             Email(p) + "," + p.insurance.nir + "\n";
    case 1:  // ; no header, other order, accents lost, no NIR
      return Email(p) + ";" + Two(b.day) + "/" + Two(b.month) + "/" + std::to_string(b.year) + ";" +
             StripAccents(Given(p)) + ";" + Upper(StripAccents(p.identity.family)) + ";" +
             International(Phone(p)) + "\n";
    case 2:  // tab with header: NIR (spaced, key dropped on every other row), Nom, Prénom, Ville
      return (n % 2 ? Spaced(p.insurance.nir) : p.insurance.nir.substr(0, 13)) + "\t" +
             p.identity.family + "\t" + p.identity.given[0] + "\t" + p.contact.addresses[0].city +
             "\n";
    case 3:  // | quoted, no header: full name, DDMMYYYY, dotted phone
      return Quote(Upper(p.identity.given[0]) + " " + Upper(p.identity.family)) + "|" +
             Quote(Two(b.day) + Two(b.month) + std::to_string(b.year)) + "|" +
             Quote(Dotted(Phone(p))) + "\n";
    default: {  // JSON lines
      json j = {{"first_name", StripAccents(p.identity.given[0])},
                {"last_name", p.identity.family},
                {"dob", std::to_string(b.year) + "/" + Two(b.month) + "/" + Two(b.day)}};
      if (n % 3 != 0) j["mobile"] = Dotted(Phone(p));
      return j.dump() + "\n";
    }
  }
}

const char* kHeaders[] = {"nom,prenom,date_naissance,telephone,email,nir\n", "",
                          "NIR\tNom\tPrénom\tVille\n", "", ""};

// A NIR no patient has: same person, order number 9xx.
std::string ForeignNir(const std::string& nir, int n) {
  std::string first13 = nir.substr(0, 10) + std::to_string(900 + n % 99);
  const int key = vault::NirControlKey(first13);
  return first13 + Two(key);
}

class BreachMatch : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitVault(vault_, {}).ok());
    // Canaries are drawn at random from the same distributions as the generated strangers; at the
    // widest spacing few exist, so a stranger that happens to look like one stays improbable. The
    // test adds its own canaries below.
    const std::string toml = vault_ + "/medvault.toml";
    std::string config = *ReadFile(toml);
    const size_t guard = config.find("[guard]\n");
    ASSERT_NE(guard, std::string::npos);
    config.insert(guard + 8, "canary_spacing = 1000\n");
    ASSERT_TRUE(WriteFileAtomic(toml, config).ok());
    auto ctx = VaultContext::Open(vault_);
    ASSERT_TRUE(ctx.ok());
    ctx_ = std::move(ctx).value();
    a_ = *ctx_->AddPractice("Cabinet A");
    b_ = *ctx_->AddPractice("Cabinet B");
  }

  // Imports `n` generated patients, the first `in_a` into practice A, the rest into B.
  void ImportPatients(int n, int in_a) {
    Generator gen(42);
    for (int i = 0; i < n; ++i) patients_.push_back(gen.NextPatient());
    for (int part = 0; part < 2; ++part) {
      size_t next = part == 0 ? 0 : static_cast<size_t>(in_a);
      const size_t end = part == 0 ? static_cast<size_t>(in_a) : patients_.size();
      auto imported = ctx_->patients().Import(
          part == 0 ? a_ : b_, [&]() -> Result<std::optional<vault::Patient>> {
            if (next == end) return std::optional<vault::Patient>();
            return std::optional<vault::Patient>(patients_[next++]);
          });
      ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    }
  }

  // A canary of `practice`: a generated person with a NIR, phone and e-mail of its own.
  vault::Patient AddCanary(const std::string& practice, int n) {
    Generator gen(1000 + static_cast<uint64_t>(n));
    vault::Patient p = gen.NextPatient();
    p.insurance.nir = ForeignNir(p.insurance.nir, 50 + n);
    p.contact.telecom = {{"phone", "07990000" + Two(n)},
                         {"email", "contact" + std::to_string(n) + "@canary.example"}};
    auto created = ctx_->patients().Create(practice, p, /*canary=*/true);
    EXPECT_TRUE(created.ok());
    return *created;
  }

  void Record(const std::vector<audit::Leaf>& leaves) {
    auto log_store = store::OpenSqliteLogStore(ctx_->LogPath());
    ASSERT_TRUE(log_store.ok());
    const crypto::SigningKey key = crypto::SigningKey::FromSeed(*ctx_->keyring().LogSigningSeed());
    KeyringAuditKeys keys(ctx_->keyring());
    audit::AccessLog log(**log_store, keys, key, ctx_->clock(), ctx_->random(),
                         {ctx_->config().log_origin});
    ASSERT_TRUE(log.Start().ok());
    for (const auto& leaf : leaves) ASSERT_TRUE(log.Append(leaf).ok());
    log.Stop();
  }

  audit::Leaf Received(const std::string& login, const std::string& practice,
                       std::vector<std::string> ids) {
    audit::Leaf leaf;
    leaf.time = ctx_->clock().Now();
    leaf.practice_id = practice;
    leaf.account = login;
    leaf.role = Role::kPractitioner;
    leaf.source = "198.51.100.7";
    leaf.action = "patient.search";
    leaf.resource_type = "Patient";
    leaf.patient_ids = std::move(ids);
    leaf.field_groups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact);
    leaf.outcome = 200;
    leaf.decision = audit::GuardDecision::kAllow;
    return leaf;
  }

  json Match(const std::vector<std::string>& files, int* code) {
    MatchRequest request;
    request.data_dir = vault_;
    request.files = files;
    std::ostringstream out, err;
    *code = RunBreachMatch(request, out, err);
    if (*code != 0) return json{{"error", err.str()}};
    return json::parse(out.str());
  }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_.Sub(name);
    std::ofstream(path) << content;
    return path;
  }

  testing::TempDir dir_;
  std::string vault_ = dir_.Sub("v");
  std::unique_ptr<VaultContext> ctx_;
  std::string a_, b_;
  std::vector<vault::Patient> patients_;
};

TEST_F(BreachMatch, TenThousandRowsInFiveFormatsMatchOurPatientsAndNameTheSourceAccount) {
  ImportPatients(10'000, 6'000);
  const vault::Patient canary_a1 = AddCanary(a_, 1);
  const vault::Patient canary_a2 = AddCanary(a_, 2);
  const vault::Patient canary_b = AddCanary(b_, 3);
  // dr.thief (practice A) received A's canaries in a list; dr.honest only real patients.
  Record({Received("dr.thief", a_, {canary_a1.id, canary_a2.id}), Received("dr.honest", a_, {}),
          Received("dr.honest", a_, {ctx_->data().ListPatients(a_, 0, 1)->at(0).id})});

  // 9,800 of our patients (every 50th left out) and 200 people who are not ours, shuffled.
  std::vector<std::pair<vault::Patient, bool>> people;  // (person, is ours)
  std::set<std::string> included;
  for (size_t i = 0; i < patients_.size(); ++i) {
    if (i % 50 == 49) continue;
    people.emplace_back(patients_[i], true);
  }
  Generator strangers(99);
  for (int i = 0; i < 200; ++i) {
    vault::Patient p = strangers.NextPatient();
    p.insurance.nir = ForeignNir(p.insurance.nir, i);
    people.emplace_back(p, false);
  }
  SeededRandom shuffle(7);
  for (size_t i = people.size() - 1; i > 0; --i) {
    std::swap(people[i], people[shuffle.Uniform(i + 1)]);
  }
  std::vector<std::string> content(5);
  for (int f = 0; f < 5; ++f) content[static_cast<size_t>(f)] = kHeaders[f];
  // Import gave the patients ids; map back by NIR to know which ids the dump holds.
  std::map<std::string, std::string> id_by_nir;
  for (const std::string& practice : {a_, b_}) {
    int64_t after = 0;
    for (;;) {
      auto page = ctx_->patients().List(practice, after, 1000, MaskOf(FieldGroup::kInsurance));
      ASSERT_TRUE(page.ok());
      for (const auto& p : page->patients) id_by_nir[p.insurance.nir] = p.id;
      if (!page->next_cursor) break;
      after = *page->next_cursor;
    }
  }
  for (size_t i = 0; i < people.size(); ++i) {
    const int format = static_cast<int>(i / 2000);
    content[static_cast<size_t>(format)] += Row(people[i].first, format, i);
    if (people[i].second) included.insert(id_by_nir.at(people[i].first.insurance.nir));
  }
  content[1] += Row(canary_a1, 1, 1) + Row(canary_a2, 1, 2);
  content[4] += Row(canary_b, 4, 4);
  std::vector<std::string> files;
  const char* names[] = {"comma.csv", "semicolon.csv", "tabs.tsv", "pipes.txt", "lines.jsonl"};
  for (int f = 0; f < 5; ++f) files.push_back(Write(names[f], content[static_cast<size_t>(f)]));

  int code = 0;
  const json report = Match(files, &code);
  ASSERT_EQ(code, 0) << report.dump();
  EXPECT_EQ(report["rows"], 10'003);
  std::set<std::string> matched;
  for (const auto& p : report["patients"]) matched.insert(p["id"].get<std::string>());
  size_t true_matches = 0;
  std::vector<std::string> false_matches;
  for (const auto& id : matched) {
    if (included.contains(id)) {
      ++true_matches;
    } else {
      false_matches.push_back(id);
    }
  }
  EXPECT_TRUE(false_matches.empty()) << false_matches.size() << " false matches";
  EXPECT_GE(static_cast<double>(true_matches), 0.99 * static_cast<double>(included.size()))
      << true_matches << " of " << included.size();
  // Per format, most rows matched (the strangers are 2 %).
  for (const auto& f : report["files"]) {
    EXPECT_GE(f["matched_rows"].get<int64_t>(), 1900) << f.dump();
  }
  // Practices and their counts.
  std::map<std::string, int64_t> per_practice;
  for (const auto& p : report["practices"]) per_practice[p["id"]] = p["patients"];
  int64_t in_a = 0;
  for (const auto& id : matched) in_a += ctx_->data().GetPatient(a_, id).ok() ? 1 : 0;
  EXPECT_EQ(per_practice[a_], in_a);
  EXPECT_EQ(per_practice[a_] + per_practice[b_], static_cast<int64_t>(matched.size()));
  // The canaries, and who received them.
  ASSERT_EQ(report["canaries"].size(), 3u);
  ASSERT_EQ(report["sources"]["accounts"].size(), 1u);
  EXPECT_EQ(report["sources"]["accounts"][0]["login"], "dr.thief");
  EXPECT_EQ(report["sources"]["accounts"][0]["practice"], a_);
  EXPECT_EQ(report["sources"]["accounts"][0]["canaries"], 2);
  ASSERT_EQ(report["sources"]["practices_stored_data"].size(), 1u);
  EXPECT_EQ(report["sources"]["practices_stored_data"][0]["practice"], b_);
  // Only candidates were decrypted, and every one of them is in the access log.
  const int64_t decrypted = report["decrypted"];
  EXPECT_LE(decrypted, static_cast<int64_t>(matched.size() + 3 + matched.size() / 20));
  auto log_store = store::OpenSqliteLogStore(ctx_->LogPath());
  KeyringAuditKeys keys(ctx_->keyring());
  audit::PatientIndex index(**log_store, keys);
  const std::string in_a_id =
      *std::find_if(matched.begin(), matched.end(),
                    [&](const std::string& id) { return ctx_->data().GetPatient(a_, id).ok(); });
  auto history = index.ForPatient(a_, in_a_id);
  ASSERT_TRUE(history.ok());
  bool logged = false;
  for (const auto& leaf : *history) logged = logged || leaf.action == "breach.match";
  EXPECT_TRUE(logged);
  EXPECT_GE(report["log"]["leaves"].get<int64_t>(), 10);
}

TEST_F(BreachMatch, StrangersAloneMatchNobody) {
  ImportPatients(500, 300);
  Generator strangers(99);
  std::string csv = "nom;prenom;ddn;tel;nir\n";
  for (int i = 0; i < 300; ++i) {
    vault::Patient p = strangers.NextPatient();
    const Date& b = *p.identity.birth_date;
    csv += p.identity.family + ";" + p.identity.given[0] + ";" + FormatDate(b) + ";" + Phone(p) +
           ";" + ForeignNir(p.insurance.nir, i) + "\n";
  }
  int code = 0;
  const json report = Match({Write("strangers.csv", csv)}, &code);
  ASSERT_EQ(code, 0);
  EXPECT_EQ(report["matched_rows"], 0);
  EXPECT_TRUE(report["patients"].empty());
  EXPECT_LT(report["decrypted"].get<int64_t>(), 30);
}

TEST_F(BreachMatch, AMissingFileIsAnInputError) {
  int code = 0;
  const json report = Match({dir_.Sub("absent.csv")}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(report["error"].get<std::string>().find("absent.csv"), std::string::npos);
}

}  // namespace
}  // namespace medvault::app
